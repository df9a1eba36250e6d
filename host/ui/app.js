// The hookhost dashboard: a small single-page app over the admin API.
// No framework and no build step: the files in host/ui/ are embedded in
// the binary as they are. Every call goes to the same /v1 API as any
// client, authenticated by the session cookie, with the CSRF token in a
// header for changes. Times are shown in the viewer's local time.
//
// The admin token acts on one workspace at a time: the one chosen in the
// header's switcher (kept in localStorage), named on every /v1 call by the
// X-Hookhost-Workspace header.
'use strict';

const DEFAULT_WORKSPACE = 'default';
const WORKSPACE_KEY = 'hookhost_workspace';
const WORKSPACE_ID = /^(default|ws_[0-9a-f]{32})$/;

function storedWorkspace() {
  try {
    const id = localStorage.getItem(WORKSPACE_KEY);
    return id && WORKSPACE_ID.test(id) ? id : DEFAULT_WORKSPACE;
  } catch (e) {
    return DEFAULT_WORKSPACE;
  }
}

// gen counts the pages shown: a page that finishes loading after another
// one was chosen (or the workspace changed) is not drawn.
const state = { csrf: null, workspace: storedWorkspace(), workspaces: [], gen: 0 };
const main = () => document.getElementById('main');

/** A function that draws into #main (as h() takes children), as long as no other page was chosen meanwhile. */
function view() {
  const gen = state.gen;
  return (...nodes) => {
    if (gen === state.gen) main().replaceChildren(...nodes.flat(Infinity).filter((n) => n !== undefined && n !== null && n !== false));
  };
}

// --- helpers ------------------------------------------------------------

/** Builds an element: h('td', {class: 'x'}, 'text', child, ...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const local = (iso) => (iso ? new Date(iso).toLocaleString() : '');

function toast(message, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = isError ? 'error' : '';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

class ApiFailure extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}
/** A failure the page already handled (signed out, workspace gone): not reported again. */
class Quiet extends ApiFailure {}

/** Calls the admin API; throws ApiFailure with the server's message. */
async function api(method, path, body, raw = false) {
  const headers = {};
  if (state.csrf) headers['X-CSRF-Token'] = state.csrf;
  // /v1/workspaces... is the same in every workspace; naming one there
  // would fail if it were gone.
  const ws = state.workspace;
  const scoped = path.startsWith('/v1/') && !path.startsWith('/v1/workspaces');
  if (scoped) headers['X-Hookhost-Workspace'] = ws;
  let payload;
  if (body !== undefined) {
    if (raw) {
      payload = body;
      headers['Content-Type'] = 'application/octet-stream';
    } else {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }
  const resp = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (resp.status === 401 && path !== '/ui/login') {
    showLogin('Your session ended; sign in again.');
    throw new Quiet('signed out');
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const message = data?.error?.message || `HTTP ${resp.status}`;
    const names = scoped || path.startsWith(`/v1/workspaces/${ws}`);
    if (resp.status === 404 && names && ws !== DEFAULT_WORKSPACE && ws === state.workspace && message.startsWith('no workspace')) {
      workspaceGone(ws);
      throw new Quiet(message, resp.status);
    }
    throw new ApiFailure(message, resp.status);
  }
  return data;
}

/** Runs an action, reporting failure in the toast; returns its result. */
async function attempt(action, success) {
  try {
    const result = await action();
    if (success) toast(success);
    return result;
  } catch (e) {
    if (!(e instanceof Quiet)) toast(e.message, true);
    return undefined;
  }
}

function parseJsonField(textarea, errorEl, { optional = true } = {}) {
  const text = textarea.value.trim();
  errorEl.textContent = '';
  if (!text && optional) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    errorEl.textContent = `Not valid JSON: ${e.message}`;
    return { ok: false };
  }
}

function table(headers, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

// --- sign in --------------------------------------------------------------

function showLogin(message) {
  state.csrf = null;
  state.gen += 1;
  document.getElementById('nav').hidden = true;
  const err = h('p', { class: 'error', id: 'login-error' }, message || '');
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card', id: 'login' },
    h('h1', {}, 'Sign in'),
    h('label', {}, 'Admin token ', input),
    h('p', { class: 'muted' }, 'The token printed at first start, also in <data-dir>/admin-token.'),
    h('button', { type: 'submit' }, 'Sign in'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = await api('POST', '/ui/login', { token: input.value });
      state.csrf = s.csrf;
      document.getElementById('nav').hidden = false;
      await loadWorkspaces();
      if (!location.hash || location.hash === '#/') location.hash = '#/webhooks';
      else route();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  main().replaceChildren(form);
  input.focus();
}

// --- modules ----------------------------------------------------------------

async function modulesPage() {
  const render = view();
  const page = await api('GET', '/v1/modules');
  const file = h('input', { type: 'file', id: 'module-file', accept: '.wasm', required: true });
  const name = h('input', { type: 'text', id: 'module-name', required: true, pattern: '[A-Za-z0-9._\\-]{1,64}' });
  const form = h('form', { class: 'card', id: 'upload-module' },
    h('h2', {}, 'Upload a module'),
    h('label', {}, 'Component (.wasm) ', file),
    h('label', {}, 'Name ', name),
    h('button', { type: 'submit' }, 'Upload'));
  file.addEventListener('change', () => {
    if (!name.value && file.files[0]) name.value = file.files[0].name.replace(/\.wasm$/, '').replace(/[^A-Za-z0-9._-]/g, '-');
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const bytes = await file.files[0].arrayBuffer();
    toast('Uploading and compiling…');
    const m = await attempt(() => api('POST', `/v1/modules?name=${encodeURIComponent(name.value)}`, bytes, true),
      'Module uploaded');
    if (m) modulesPage();
  });
  const rows = page.data.map((m) => h('tr', { dataset: { module: m.name } },
    h('td', {}, m.name),
    h('td', { class: 'module-kind', title: m.world }, m.kind === 'handler' && m.world === 'wasi:http/proxy' ? 'handler (wasi:http)' : m.kind),
    h('td', {}, `${(m.size / 1024).toFixed(1)} KiB`),
    h('td', { class: 'mono', title: m.sha256 }, m.sha256.slice(0, 16) + '…'),
    h('td', {}, m.webhooks.length ? m.webhooks.map((w) => h('div', { class: 'mono' }, w)) : h('span', { class: 'muted' }, 'none')),
    h('td', {}, local(m.updated_at)),
    h('td', {}, h('button', {
      class: 'danger',
      onclick: async () => {
        if (confirm(`Delete module ${m.name}?`) && await attempt(() => api('DELETE', `/v1/modules/${encodeURIComponent(m.name)}`), 'Deleted') !== undefined) modulesPage();
      },
    }, 'Delete'))));
  render(h('h1', {}, 'Modules'), form,
    table(['Name', 'Kind', 'Size', 'sha256', 'Used by webhooks', 'Updated', ''], rows, 'No modules yet: upload a handler or transform component.'));
}

// --- webhooks ---------------------------------------------------------------

async function webhooksPage(params = new URLSearchParams()) {
  const render = view();
  const q = new URLSearchParams({ limit: '50' });
  if (params.get('after')) q.set('after', params.get('after'));
  const [hooks, modules] = await Promise.all([api('GET', `/v1/webhooks?${q}`), api('GET', '/v1/modules')]);
  const module = h('select', { id: 'webhook-module', required: true },
    modules.data.map((m) => h('option', { value: m.name }, m.name)));
  const payload = h('textarea', { id: 'webhook-payload', placeholder: '{"tenant": "acme"}' });
  const payloadError = h('p', { class: 'error', id: 'payload-error' });
  const description = h('input', { type: 'text', id: 'webhook-description' });
  const capture = h('input', { type: 'checkbox', id: 'webhook-capture' });
  const outbound = h('input', { type: 'text', id: 'webhook-outbound-hosts', placeholder: 'api.example.com, 127.0.0.1:9000' });
  const form = h('form', { class: 'card', id: 'create-webhook' },
    h('h2', {}, 'Create a webhook'),
    h('label', {}, 'Module ', module),
    h('label', {}, 'Payload (JSON, optional) ', payload), payloadError,
    h('label', {}, 'Description ', description),
    h('label', {}, 'Hosts its handler may call (comma-separated, optional) ', outbound),
    h('label', {}, capture, ' Keep requests for replay (capture)'),
    h('button', { type: 'submit', disabled: !modules.data.length }, 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = parseJsonField(payload, payloadError);
    if (!p.ok) return;
    const body = { module: module.value, description: description.value, capture: capture.checked, outbound_hosts: hostList(outbound.value) };
    if (p.value !== undefined) body.payload = p.value;
    const w = await attempt(() => api('POST', '/v1/webhooks', body), 'Webhook created');
    if (w) webhooksPage(params);
  });

  const rows = hooks.data.map((w) => {
    const invocations = h('div', { class: 'invocations', dataset: { webhookInvocations: w.id } });
    return [
      h('tr', { dataset: { webhook: w.id } },
        h('td', { class: 'mono' }, w.id),
        h('td', {}, w.module),
        h('td', {}, w.enabled ? 'enabled' : h('span', { class: 'muted' }, 'disabled')),
        h('td', {}, h('code', { class: 'webhook-url' }, w.url), ' ',
          h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(w.url).then(() => toast('URL copied'), () => toast(w.url)) }, 'Copy')),
        h('td', {}, w.payload === null ? h('span', { class: 'muted' }, 'none') : h('pre', {}, JSON.stringify(w.payload))),
        h('td', { class: `webhook-capture ${w.capture ? 'capture-on' : 'muted'}`, title: w.capture ? 'Requests and responses are kept for replay' : 'Requests are not kept' }, w.capture ? 'on' : 'off'),
        h('td', { class: 'webhook-outbound-hosts' }, w.outbound_hosts.length ? w.outbound_hosts.map((x) => h('div', { class: 'mono' }, x)) : h('span', { class: 'muted' }, 'none')),
        h('td', {}, local(w.created_at)),
        h('td', {}, h('div', { class: 'row-actions' },
          h('button', { onclick: async () => { if (await attempt(() => api('PATCH', `/v1/webhooks/${w.id}`, { enabled: !w.enabled }))) webhooksPage(params); } }, w.enabled ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'toggle-capture', onclick: async () => {
            if (await attempt(() => api('PATCH', `/v1/webhooks/${w.id}`, { capture: !w.capture }), w.capture ? 'Capture off' : 'Capture on: later requests are kept for replay')) webhooksPage(params);
          } }, w.capture ? 'Turn capture off' : 'Turn capture on'),
          h('button', { type: 'button', class: 'edit-outbound-hosts', onclick: async () => {
            const given = prompt('Hosts its handler may call (comma-separated; empty for none)', w.outbound_hosts.join(', '));
            if (given === null) return;
            if (await attempt(() => api('PATCH', `/v1/webhooks/${w.id}`, { outbound_hosts: hostList(given) }), 'Outbound hosts saved')) webhooksPage(params);
          } }, 'Outbound hosts'),
          h('button', { class: 'show-invocations', onclick: () => showInvocations(w, invocations) }, 'Invocations'),
          h('button', { class: 'danger', onclick: async () => { if (confirm(`Delete webhook ${w.id}?`) && await attempt(() => api('DELETE', `/v1/webhooks/${w.id}`), 'Deleted') !== undefined) webhooksPage(params); } }, 'Delete')))),
      h('tr', {}, h('td', { colspan: 9 }, invocations)),
    ];
  });
  render(h('h1', {}, 'Webhooks'), form,
    table(['Id', 'Module', 'State', 'URL', 'Payload', 'Capture', 'May call', 'Created', ''], rows.flat(), 'No webhooks yet.'),
    h('div', { class: 'pager' },
      params.get('after') ? h('a', { href: '#/webhooks' }, 'First page') : null, ' ',
      hooks.next_cursor ? h('a', { href: `#/webhooks?after=${encodeURIComponent(hooks.next_cursor)}` }, 'Next page') : null));
}

// --- captured requests and replay --------------------------------------------

/** Decodes base64 to text (UTF-8, invalid bytes replaced): {text, bytes}, or null if it is not base64. */
function decodeBase64(b64) {
  try {
    const binary = atob(b64 || '');
    const bytes = new Uint8Array(binary.length);
    for (let k = 0; k < binary.length; k += 1) bytes[k] = binary.charCodeAt(k);
    return { text: new TextDecoder('utf-8').decode(bytes), bytes: bytes.length };
  } catch (e) {
    return null;
  }
}

/** The size of a kept body: `total` bytes, and how much of it was kept if cut. */
function bodySize(decoded, total) {
  if (!decoded) return `${total} bytes`;
  return decoded.bytes < total ? `${total} bytes, first ${decoded.bytes} kept` : `${total} ${total === 1 ? 'byte' : 'bytes'}`;
}

function bodyView(decoded, cls) {
  if (!decoded) return h('p', { class: `error ${cls}` }, 'The kept body is not valid base64.');
  if (!decoded.text) return h('p', { class: `muted ${cls}` }, 'Empty body.');
  return h('pre', { class: cls }, decoded.text);
}

function headersView(headers) {
  if (!Array.isArray(headers) || !headers.length) return null;
  return h('pre', { class: 'captured-headers' }, headers.map((x) => (Array.isArray(x) ? `${x[0]}: ${x[1]}` : String(x))).join('\n'));
}

const requestTarget = (r) => (r.query ? `${r.path}?${r.query}` : r.path);

/** What a capturing webhook kept of an invocation: request and response, folded. */
function capturedDetail(i) {
  const parts = [];
  if (i.request) {
    const r = i.request;
    const d = decodeBase64(r.body_base64);
    const cut = d && d.bytes < r.body_bytes;
    parts.push(h('details', { class: 'captured captured-request' },
      h('summary', {}, 'Request ', h('code', { class: 'captured-target' }, `${r.method} ${requestTarget(r)}`),
        ` · ${bodySize(d, r.body_bytes)}`, cut ? h('span', { class: 'error' }, ' (cut: cannot be replayed)') : null),
      headersView(r.headers),
      bodyView(d, 'captured-body')));
  }
  if (i.response) {
    const r = i.response;
    const d = decodeBase64(r.body_base64);
    parts.push(h('details', { class: 'captured captured-response' },
      h('summary', {}, `Response ${r.status} · ${bodySize(d, r.body_bytes)}`),
      headersView(r.headers),
      bodyView(d, 'captured-body')));
  }
  return parts;
}

/** One run (original or replay) of a replay's answer. */
function replaySide(side, title, a) {
  const response = a.response;
  const decoded = response ? decodeBase64(response.body_base64) : null;
  return h('div', { class: 'replay-side', dataset: { side } },
    h('h4', {}, title),
    h('dl', {},
      h('dt', {}, 'Invocation'), h('dd', { class: 'mono replay-invocation-id' }, a.invocation_id),
      h('dt', {}, 'Module'), h('dd', { class: 'replay-module-name' }, a.module),
      h('dt', {}, 'Status'), h('dd', { class: `replay-status ${a.status < 400 ? 'ok' : 'error'}` }, a.status),
      h('dt', {}, 'Outcome'), h('dd', { class: 'replay-outcome' }, a.outcome),
      h('dt', {}, 'Error'), h('dd', { class: 'replay-error-text' }, a.error ? h('span', { class: 'error' }, a.error) : h('span', { class: 'muted' }, 'none')),
      h('dt', {}, 'Duration'), h('dd', { class: 'replay-duration' }, typeof a.duration_ms === 'number' ? `${a.duration_ms.toFixed(2)} ms` : ''),
      h('dt', {}, 'Response'), h('dd', { class: 'replay-response' },
        response ? `${response.status} · ${bodySize(decoded, response.body_bytes)}` : h('span', { class: 'muted' }, 'none'))),
    response ? headersView(response.headers) : null,
    response ? bodyView(decoded, 'replay-body') : null);
}

function replayResult(out) {
  const records = Array.isArray(out.records) ? out.records : [];
  return [
    h('div', { class: 'replay-compare' },
      replaySide('original', 'Original', out.original),
      replaySide('replay', 'Replay', out.replay)),
    h('h4', {}, 'Emitted / published by the replay'),
    records.length
      ? h('ul', { class: 'replay-records' }, records.map((r) => h('li', { dataset: { kind: r.kind } },
        h('strong', {}, r.kind), ' ', h('code', {}, r.type), h('pre', {}, JSON.stringify(r.data)))))
      : h('p', { class: 'muted replay-records' }, 'Nothing.'),
    h('p', { class: `replay-committed ${out.committed ? 'ok' : 'muted'}`, dataset: { committed: String(!!out.committed) } },
      out.committed
        ? `Committed: logged as invocation ${out.replay.invocation_id}, and what it emitted or published was stored.`
        : 'Not committed: nothing was stored.'),
  ];
}

/** Opens the replay panel for invocation `inv` of webhook `hook` at the end of `box` (one panel at a time). */
async function openReplay(hook, inv, box) {
  document.getElementById('replay-panel')?.remove();
  const r = inv.request;
  const moduleSelect = h('select', { id: 'replay-module', class: 'inline' });
  const commit = h('input', { type: 'checkbox', id: 'replay-commit' });
  const run = h('button', { type: 'submit', id: 'run-replay', disabled: true }, 'Run replay');
  const result = h('div', { id: 'replay-result', 'aria-live': 'polite' });
  const panel = h('form', { class: 'card replay-panel', id: 'replay-panel', dataset: { webhook: hook.id, invocation: inv.id } },
    h('h3', {}, 'Replay ', h('span', { class: 'mono' }, inv.id)),
    h('p', { class: 'muted' }, h('code', {}, `${r.method} ${requestTarget(r)}`), ` received ${local(inv.received_at)}, answered ${inv.status}`),
    h('label', {}, 'Module ', moduleSelect),
    h('label', {}, commit, ' Commit (log it and store what it publishes)'),
    run, ' ', h('button', { type: 'button', class: 'close-replay', onclick: () => panel.remove() }, 'Close'),
    result);
  panel.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { commit: commit.checked };
    if (moduleSelect.value) body.module = moduleSelect.value;
    run.disabled = true;
    result.replaceChildren(h('p', { class: 'muted' }, 'Running…'));
    try {
      const out = await api('POST', `/v1/webhooks/${encodeURIComponent(hook.id)}/invocations/${encodeURIComponent(inv.id)}/replay`, body);
      result.replaceChildren(...replayResult(out));
      // A committed run is a new invocation: show it (the panel stays).
      if (out.committed) showInvocations(hook, box);
    } catch (e) {
      result.replaceChildren();
      if (!(e instanceof Quiet)) result.append(h('p', { class: 'error replay-error' }, e.message));
    } finally {
      run.disabled = false;
    }
  });
  box.append(panel);
  panel.scrollIntoView({ block: 'nearest' });
  const modules = await attempt(() => api('GET', '/v1/modules'));
  const names = (modules?.data || []).filter((m) => m.kind === 'handler').map((m) => m.name);
  if (!names.includes(hook.module)) names.unshift(hook.module);
  moduleSelect.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === hook.module }, n === hook.module ? `${n} (the webhook's)` : n)));
  moduleSelect.value = hook.module;
  run.disabled = false;
}

// "a, b ,c" -> ["a", "b", "c"]; the server checks each entry.
function hostList(text) {
  return text.split(',').map((x) => x.trim()).filter((x) => x);
}

// An invocation's outgoing calls and the follow-up webhooks it registered.
function callsDetail(i) {
  const calls = (i.calls || []).map((c) => h('li', { class: `outbound-call ${c.error ? 'error' : ''}` },
    h('code', {}, `${c.method} ${c.host}${c.path}`), ' → ',
    c.error ? h('span', { class: 'call-error' }, c.error) : h('span', { class: 'call-status' }, String(c.status)),
    h('span', { class: 'muted' }, ` (${c.duration_ms.toFixed(1)} ms)`)));
  const registered = (i.registered || []).map((id) => h('li', { class: 'registered-webhook' }, 'registered webhook ', h('code', {}, id)));
  return h('ul', { class: 'calls' }, ...calls, ...registered);
}

// The latest listing asked for, per invocations box: an older answer arriving later is not drawn.
const invocationLoads = new WeakMap();

async function showInvocations(hook, box, before) {
  const id = hook.id;
  const load = (invocationLoads.get(box) || 0) + 1;
  invocationLoads.set(box, load);
  const q = new URLSearchParams({ limit: '20' });
  if (before) q.set('before', before);
  const page = await attempt(() => api('GET', `/v1/webhooks/${id}/invocations?${q}`));
  if (!page || invocationLoads.get(box) !== load) return;
  const rows = page.data.map((i) => [
    h('tr', { class: 'invocation', dataset: { invocation: i.id } },
      h('td', {}, local(i.received_at)),
      h('td', {}, i.method),
      h('td', { class: 'mono' }, i.path),
      h('td', { class: i.status < 400 ? 'ok' : 'error' }, i.status),
      h('td', {}, i.outcome),
      h('td', {}, `${i.duration_ms.toFixed(2)} ms`),
      h('td', {}, i.error || ''),
      h('td', {}, `${i.emitted} / ${i.published}`),
      h('td', {}, i.request ? h('button', { type: 'button', class: 'replay-invocation', onclick: () => openReplay(hook, i, box) }, 'Replay') : null)),
    i.calls || i.registered ? h('tr', { class: 'invocation-calls' }, h('td', { colspan: 9 }, callsDetail(i))) : null,
    i.request || i.response ? h('tr', { class: 'invocation-detail' }, h('td', { colspan: 9 }, capturedDetail(i))) : null,
    i.output ? h('tr', {}, h('td', { colspan: 9 }, h('pre', {}, i.output))) : null,
  ]);
  // An open replay panel stays below the list.
  const panel = box.querySelector('#replay-panel');
  box.replaceChildren(
    h('h2', {}, 'Recent invocations'),
    table(['Received', 'Method', 'Path', 'Status', 'Outcome', 'Duration', 'Error', 'Emitted / published', ''], rows.flat(), 'No invocations yet.'),
    h('div', { class: 'pager' },
      h('button', { onclick: () => showInvocations(hook, box) }, 'Refresh'), ' ',
      page.next_cursor ? h('button', { onclick: () => showInvocations(hook, box, page.next_cursor) }, 'Older') : null),
    ...(panel ? [panel] : []));
}

// --- endpoints ----------------------------------------------------------------

function endpointForm(ep, onDone) {
  const url = h('input', { type: 'url', name: 'url', required: true, value: ep?.url || '' });
  const events = h('input', { type: 'text', name: 'events', required: true, value: ep ? ep.events.join(', ') : '*' });
  const filters = h('textarea', { name: 'filters', placeholder: '{"status": "published"}' },
    ep && Object.keys(ep.filters).length ? JSON.stringify(ep.filters) : '');
  const filtersError = h('p', { class: 'error' });
  const filter = h('textarea', { name: 'filter', placeholder: '{"data.amount": {"$gt": 100}, "type": {"$startsWith": "invoice."}}' },
    ep?.filter ? JSON.stringify(ep.filter) : '');
  const filterError = h('p', { class: 'error filter-error' });
  const headers = h('textarea', { name: 'headers', placeholder: 'X-Team: billing\nAuthorization: Bearer …' },
    ep ? Object.entries(ep.headers).map(([k, v]) => `${k}: ${v}`).join('\n') : '');
  const headersError = h('p', { class: 'error headers-error' });
  const rate = h('input', { name: 'rate', type: 'number', min: '1', max: '10000', placeholder: 'unlimited', value: ep?.rate_limit ? String(ep.rate_limit.per_second) : '' });
  const burst = h('input', { name: 'burst', type: 'number', min: '0', max: '10000', placeholder: '0', value: ep?.rate_limit ? String(ep.rate_limit.burst) : '' });
  const ordering = h('select', { name: 'ordering' },
    ['parallel', 'fifo'].map((o) => h('option', { value: o, selected: (ep?.ordering || 'parallel') === o }, o)));
  const signature = h('select', { name: 'signature' },
    ['standard', 'standard-ed25519', 'hex', 'typo3'].map((s) => h('option', { value: s, selected: ep?.signature === s }, s)));
  const transform = h('input', { type: 'text', name: 'transform', placeholder: 'none', pattern: '[A-Za-z0-9._\\-]{1,64}', value: ep?.transform || '' });
  const form = h('form', { class: 'card endpoint-form' },
    h('h2', {}, ep ? `Edit ${ep.id}` : 'Create an endpoint'),
    h('label', {}, 'URL ', url),
    h('label', {}, 'Event types (comma-separated: type, prefix.*, *) ', events),
    h('label', {}, 'Filters (JSON equality on data fields, optional) ', filters), filtersError,
    h('label', {}, 'Operator filter (JSON on type and data.* paths: $eq, $gt, $in, $startsWith, $and, $or, $not, …; optional) ', filter), filterError,
    h('label', {}, 'Headers added to every delivery (one "Name: value" a line, optional) ', headers), headersError,
    h('label', {}, 'Rate limit (deliveries per second, optional; excess ones wait) ', rate),
    h('label', {}, 'Burst (extra deliveries at once after a quiet spell) ', burst),
    h('label', {}, 'Order (fifo: in acceptance order, one at a time) ', ordering),
    h('label', {}, 'Signature ', signature),
    h('label', {}, 'Transform (a transform module run before the first send; optional) ', transform),
    h('button', { type: 'submit' }, ep ? 'Save' : 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = parseJsonField(filters, filtersError);
    const w = parseJsonField(filter, filterError);
    if (!f.ok || !w.ok) return;
    headersError.textContent = '';
    const extra = {};
    for (const line of headers.value.split('\n').filter((l) => l.trim())) {
      const at = line.indexOf(':');
      if (at < 0) { headersError.textContent = `"${line}" is not of the form "Name: value"`; return; }
      extra[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    const body = {
      url: url.value,
      events: events.value.split(',').map((s) => s.trim()).filter(Boolean),
      filters: f.value || {},
      // Empty means none (and removes one when editing).
      filter: w.value === undefined ? null : w.value,
      // Replaces every custom header (none removes them when editing).
      headers: extra,
      // Empty means unlimited (and removes a limit when editing).
      rate_limit: rate.value ? { per_second: Number(rate.value), burst: Number(burst.value || 0) } : null,
      ordering: ordering.value,
      signature: signature.value,
      // Empty means none (and removes one when editing).
      transform: transform.value.trim() || null,
    };
    const saved = await attempt(async () => {
      try {
        return await (ep ? api('PATCH', `/v1/endpoints/${ep.id}`, body) : api('POST', '/v1/endpoints', body));
      } catch (e) {
        // The server names the bad part of a refused filter: show it by the field.
        if (e instanceof ApiFailure && /^filter[.:]/.test(e.message)) filterError.textContent = e.message;
        if (e instanceof ApiFailure && /^headers:/.test(e.message)) headersError.textContent = e.message;
        throw e;
      }
    }, ep ? 'Saved' : 'Endpoint created');
    if (saved) onDone(saved);
  });
  return form;
}

async function endpointsPage() {
  const render = view();
  const page = await api('GET', '/v1/endpoints');
  const output = h('div', { id: 'endpoint-output' });
  const create = endpointForm(null, (ep) => endpointsPage().then(() => {
    document.getElementById('endpoint-output').replaceChildren(h('div', { class: 'card' },
      h('p', {}, ep.signature === 'standard-ed25519'
        ? 'Public key of the new endpoint, for receivers to verify with (also under "Secret"):'
        : 'Signing secret of the new endpoint (shown once here; also under "Secret"):'), h('code', { class: 'secret' }, ep.secret)));
  }));
  const rows = page.data.map((ep) => h('tr', { dataset: { endpoint: ep.id } },
    h('td', { class: 'mono' }, ep.id),
    h('td', { class: 'mono' }, ep.url),
    h('td', {}, ep.events.join(', '), Object.keys(ep.filters).length ? h('div', { class: 'muted' }, JSON.stringify(ep.filters)) : null,
      ep.filter ? h('div', { class: 'muted' }, `where ${JSON.stringify(ep.filter)}`) : null,
      Object.entries(ep.headers).map(([k, v]) => h('div', { class: 'muted endpoint-header' }, `${k}: ${v}`)),
      ep.rate_limit ? h('div', { class: 'muted endpoint-rate' }, `at most ${ep.rate_limit.per_second}/s, burst ${ep.rate_limit.burst}`) : null,
      ep.ordering === 'fifo' ? h('div', { class: 'muted endpoint-order' }, 'fifo') : null,
      ep.transform ? h('div', { class: 'muted endpoint-transform' }, `transform: ${ep.transform}`) : null),
    h('td', {}, ep.active ? 'active' : h('span', { class: 'error' }, 'disabled'), ep.disabled_reason ? h('div', { class: 'muted' }, ep.disabled_reason) : null,
      ep.failing_since ? h('div', { class: 'muted' }, `failing since ${local(ep.failing_since)}`) : null),
    h('td', {}, ep.signature),
    h('td', {}, h('div', { class: 'row-actions' },
      h('button', { onclick: async () => { if (await attempt(() => api('PATCH', `/v1/endpoints/${ep.id}`, { active: !ep.active }))) endpointsPage(); } }, ep.active ? 'Disable' : 'Enable'),
      h('button', { onclick: () => output.replaceChildren(endpointForm(ep, () => endpointsPage())) }, 'Edit'),
      h('button', { class: 'test-endpoint', onclick: async () => {
        const r = await attempt(() => api('POST', `/v1/endpoints/${ep.id}/test`));
        if (r) output.replaceChildren(h('div', { class: 'card test-result' },
          h('p', { class: r.success ? 'ok' : 'error' }, r.success ? 'Test delivered' : 'Test failed',
            r.status_code ? ` (HTTP ${r.status_code})` : '', r.latency_ms != null ? ` in ${r.latency_ms.toFixed(1)} ms` : ''),
          r.error ? h('p', { class: 'error' }, r.error) : null,
          r.response_body ? h('pre', {}, r.response_body) : null));
      } }, 'Send test'),
      h('button', { onclick: async () => {
        const s = await attempt(() => api('GET', `/v1/endpoints/${ep.id}/secret`));
        if (s) output.replaceChildren(h('div', { class: 'card' }, h('code', { class: 'secret' }, s.secret),
          s.retired.map((r) => h('p', { class: 'muted' }, `a rotated-out secret signs until ${local(r.expires_at)}`))));
      } }, 'Secret'),
      h('button', { onclick: async () => {
        if (!confirm('Rotate the secret? The old one keeps signing during the grace period.')) return;
        const r = await attempt(() => api('POST', `/v1/endpoints/${ep.id}/rotate-secret`), 'Secret rotated');
        if (r) output.replaceChildren(h('div', { class: 'card' }, h('p', {}, r.signature === 'standard-ed25519' ? 'New public key:' : 'New secret:'), h('code', { class: 'secret' }, r.secret)));
      } }, 'Rotate secret'),
      h('button', { class: 'danger', onclick: async () => { if (confirm(`Delete endpoint ${ep.id}?`) && await attempt(() => api('DELETE', `/v1/endpoints/${ep.id}`), 'Deleted') !== undefined) endpointsPage(); } }, 'Delete')))));
  render(h('h1', {}, 'Endpoints'), create, output,
    table(['Id', 'URL', 'Events / filters', 'State', 'Signature', ''], rows, 'No endpoints yet.'));
}

// --- events -----------------------------------------------------------------

async function eventsPage(after) {
  const render = view();
  const q = new URLSearchParams({ limit: '50' });
  if (after) q.set('after', after);
  const page = await api('GET', `/v1/events?${q}`);
  const type = h('input', { type: 'text', id: 'event-type', required: true, placeholder: 'user.updated' });
  const data = h('textarea', { id: 'event-data' }, '{}');
  const dataError = h('p', { class: 'error' });
  const form = h('form', { class: 'card', id: 'send-event' },
    h('h2', {}, 'Send an event'),
    h('label', {}, 'Type ', type),
    h('label', {}, 'Data (JSON) ', data), dataError,
    h('button', { type: 'submit' }, 'Send'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = parseJsonField(data, dataError, { optional: false });
    if (!d.ok) return;
    const r = await attempt(() => api('POST', '/v1/events', { type: type.value, data: d.value }));
    if (r) { toast(`Event ${r.id}: ${r.deliveries} deliveries`); eventsPage(after); }
  });
  const rows = page.data.map((e) => h('tr', {},
    h('td', { class: 'mono' }, e.id),
    h('td', {}, e.type),
    h('td', {}, h('pre', {}, JSON.stringify(e.data))),
    h('td', {}, e.source ? h('span', { class: 'mono' }, e.source.webhook_id) : h('span', { class: 'muted' }, 'API')),
    h('td', {}, local(e.created_at)),
    h('td', {}, h('a', { href: `#/deliveries?event=${e.id}` }, 'Deliveries'))));
  render(h('h1', {}, 'Events'), form,
    table(['Id', 'Type', 'Data', 'Source', 'Created', ''], rows, 'No events yet.'),
    h('div', { class: 'pager' },
      after ? h('button', { onclick: () => eventsPage() }, 'First page') : null, ' ',
      page.next_cursor ? h('button', { onclick: () => eventsPage(page.next_cursor) }, 'Newer') : null));
}

// --- deliveries ---------------------------------------------------------------

async function deliveriesPage(params = new URLSearchParams()) {
  const render = view();
  const endpoints = await api('GET', '/v1/endpoints');
  const q = new URLSearchParams({ limit: '50' });
  for (const k of ['endpoint', 'status', 'event', 'before']) if (params.get(k)) q.set(k, params.get(k));
  const page = await api('GET', `/v1/deliveries?${q}`);
  const endpoint = h('select', { id: 'filter-endpoint' }, h('option', { value: '' }, 'all endpoints'),
    endpoints.data.map((ep) => h('option', { value: ep.id, selected: params.get('endpoint') === ep.id }, `${ep.url} (${ep.id})`)));
  const status = h('select', { id: 'filter-status' }, ['', 'pending', 'success', 'failed'].map((s) =>
    h('option', { value: s, selected: (params.get('status') || '') === s }, s || 'any status')));
  const apply = () => {
    const p = new URLSearchParams();
    if (endpoint.value) p.set('endpoint', endpoint.value);
    if (status.value) p.set('status', status.value);
    if (params.get('event')) p.set('event', params.get('event'));
    location.hash = `#/deliveries?${p}`;
  };
  endpoint.addEventListener('change', apply);
  status.addEventListener('change', apply);
  const since = h('input', { type: 'datetime-local', id: 'recover-since' });
  const recover = h('form', { class: 'card', id: 'recover' },
    h('h2', {}, 'Recover an endpoint'),
    h('p', { class: 'muted' }, 'Re-sends the failed deliveries of the endpoint selected above, created since:'),
    since, ' ', h('button', { type: 'submit' }, 'Recover'));
  recover.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!endpoint.value) { toast('Select an endpoint first', true); return; }
    if (!since.value) { toast('Choose a time', true); return; }
    const r = await attempt(() => api('POST', `/v1/endpoints/${endpoint.value}/recover`, { since: new Date(since.value).toISOString() }));
    if (r) { toast(`${r.requeued} deliveries queued again`); deliveriesPage(params); }
  });
  const detail = h('div', { id: 'delivery-detail' });
  const rows = page.data.map((d) => h('tr', { dataset: { delivery: d.id } },
    h('td', { class: 'mono' }, h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); showDelivery(d.id, detail, () => deliveriesPage(params)); } }, d.id)),
    h('td', {}, d.event_type),
    h('td', { class: 'mono' }, d.endpoint_id),
    h('td', { class: `status-${d.status} ${d.status === 'success' ? 'ok' : d.status === 'failed' ? 'error' : ''}` }, d.status),
    h('td', {}, d.attempts),
    h('td', {}, d.last_status_code ?? ''),
    h('td', {}, d.last_error || ''),
    h('td', {}, local(d.next_attempt_at)),
    h('td', {}, local(d.created_at))));
  const older = new URLSearchParams(params);
  if (page.next_cursor) older.set('before', page.next_cursor);
  render(h('h1', {}, 'Deliveries'),
    h('div', { class: 'card' }, 'Filter: ', endpoint, ' ', status,
      params.get('event') ? h('span', {}, ` event ${params.get('event')} `, h('a', { href: '#/deliveries' }, '(all)')) : null),
    recover, detail,
    table(['Id', 'Event type', 'Endpoint', 'Status', 'Attempts', 'Last code', 'Last error', 'Next attempt', 'Created'], rows, 'No deliveries.'),
    h('div', { class: 'pager' },
      h('button', { id: 'refresh', onclick: () => deliveriesPage(params) }, 'Refresh'), ' ',
      page.next_cursor ? h('button', { onclick: () => { location.hash = `#/deliveries?${older}`; } }, 'Older') : null));
}

async function showDelivery(id, box, refresh) {
  const d = await attempt(() => api('GET', `/v1/deliveries/${id}`));
  if (!d) return;
  const rows = d.attempts.map((a) => h('tr', { class: 'attempt' },
    h('td', {}, a.attempt),
    h('td', {}, local(a.at)),
    h('td', { class: a.status_code >= 200 && a.status_code < 300 ? 'ok' : 'error' }, a.status_code ?? '—'),
    h('td', {}, `${a.latency_ms.toFixed(1)} ms`),
    h('td', {}, h('pre', {}, a.response_body)),
    h('td', {}, a.error || '')));
  box.replaceChildren(h('div', { class: 'card' },
    h('h2', {}, `Delivery ${d.id}: ${d.status}`),
    table(['#', 'At', 'Status', 'Latency', 'Response body', 'Error'], rows, 'No attempt yet.'),
    h('p', {}, h('button', { id: 'retry-delivery', onclick: async () => {
      if (!await attempt(() => api('POST', `/v1/deliveries/${d.id}/retry`), 'Queued again')) return;
      // Follow the new attempt for a few seconds, then show it.
      for (let i = 0; i < 20; i += 1) {
        await new Promise((r) => setTimeout(r, 500));
        const now = await attempt(() => api('GET', `/v1/deliveries/${id}`));
        if (!now || now.attempts.length > d.attempts.length) break;
      }
      // Re-render the list, then this detail in the new page's box.
      await refresh();
      showDelivery(id, document.getElementById('delivery-detail') || box, refresh);
    } }, 'Retry now'), ' ', h('button', { onclick: () => showDelivery(id, box, refresh) }, 'Reload'))));
}

// --- workspaces ---------------------------------------------------------------

const QUOTAS = [
  ['max_modules', 'modules', 'Most modules'],
  ['max_webhooks', 'webhooks', 'Most webhooks'],
  ['max_endpoints', 'endpoints', 'Most endpoints'],
  ['events_per_second', 'events/s', 'Events per second (POST /v1/events)'],
  ['invocations_per_second', 'invocations/s', 'Handler invocations per second'],
];
const COLOR = /^#[0-9a-fA-F]{6}$/;

function quotaSummary(quotas = {}) {
  const set = QUOTAS.filter(([k]) => quotas[k] != null).map(([k, label]) => `${label} ≤ ${quotas[k]}`);
  return set.length ? set.join(' · ') : 'unlimited';
}

/** Loads the workspaces into the switcher; falls back to default if the chosen one is gone. */
async function loadWorkspaces() {
  const page = await api('GET', '/v1/workspaces');
  state.workspaces = [...page.data].sort((a, b) => (b.id === DEFAULT_WORKSPACE) - (a.id === DEFAULT_WORKSPACE));
  if (!state.workspaces.some((w) => w.id === state.workspace)) setWorkspace(DEFAULT_WORKSPACE);
  const select = document.getElementById('workspace-switcher');
  select.replaceChildren(...state.workspaces.map((w) => h('option', { value: w.id, title: w.id },
    w.id === DEFAULT_WORKSPACE ? (w.name === DEFAULT_WORKSPACE ? w.name : `${w.name} (default)`) : `${w.name} (${w.id.slice(0, 9)}…)`)));
  select.value = state.workspace;
}

function setWorkspace(id) {
  state.workspace = id;
  try { localStorage.setItem(WORKSPACE_KEY, id); } catch (e) { /* storage off: this tab only */ }
  const select = document.getElementById('workspace-switcher');
  if (select) select.value = id;
}

/** Acts on workspace `id` from now on and shows the current page anew (without a list position or filter of the other one). */
function chooseWorkspace(id) {
  setWorkspace(id);
  const [name, query] = location.hash.replace(/^#\//, '').split('?');
  if (query && name !== 'health') location.hash = `#/${name}`;
  else route();
}

/** The chosen workspace was deleted elsewhere: back to default. */
function workspaceGone(id) {
  setWorkspace(DEFAULT_WORKSPACE);
  toast(`Workspace ${id} no longer exists: showing the default workspace.`, true);
  attempt(loadWorkspaces);
  route();
}

const workspaceName = () => state.workspaces.find((w) => w.id === state.workspace)?.name || state.workspace;

function workspaceForm(w, onDone) {
  const q = w.quotas || {};
  const b = w.branding || {};
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '100', value: w.name });
  const description = h('input', { type: 'text', name: 'description', value: w.description || '' });
  const quotas = QUOTAS.map(([k, , label]) => [k, h('input', {
    type: 'number', name: k, min: k.endsWith('_per_second') ? '1' : '0', max: k.endsWith('_per_second') ? '100000' : null,
    step: '1', placeholder: 'unlimited', value: q[k] != null ? String(q[k]) : '',
  }), label]);
  const displayName = h('input', { type: 'text', name: 'display_name', maxlength: '100', placeholder: w.name, value: b.display_name || '' });
  const accent = h('input', { type: 'text', name: 'accent_color', placeholder: '#2563eb (empty: the portal\'s own)', value: b.accent_color || '' });
  const picker = h('input', { type: 'color', name: 'accent_picker', value: COLOR.test(b.accent_color || '') ? b.accent_color : '#2563eb', 'aria-label': 'Pick the accent colour' });
  picker.addEventListener('input', () => { accent.value = picker.value; });
  accent.addEventListener('input', () => { if (COLOR.test(accent.value)) picker.value = accent.value.toLowerCase(); });
  const logo = h('input', { type: 'url', name: 'logo_url', placeholder: 'https://example.com/logo.png', value: b.logo_url || '' });
  const error = h('p', { class: 'error', id: 'edit-workspace-error' });
  const form = h('form', { class: 'card', id: 'edit-workspace' },
    h('h2', {}, `Edit ${w.name} (${w.id})`),
    h('label', {}, 'Name ', name),
    h('label', {}, 'Description ', description),
    h('fieldset', {}, h('legend', {}, 'Quotas (empty: unlimited)'),
      quotas.map(([, input, label]) => h('label', {}, `${label} `, input))),
    h('fieldset', {}, h('legend', {}, 'Portal branding (empty: the default)'),
      h('label', {}, 'Display name ', displayName),
      h('label', {}, 'Accent colour ', h('span', { class: 'color-pick' }, accent, picker)),
      h('label', {}, 'Logo URL ', logo)),
    error,
    h('button', { type: 'submit' }, 'Save'), ' ',
    h('button', { type: 'button', onclick: () => form.remove() }, 'Cancel'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const accentValue = accent.value.trim();
    if (accentValue && !COLOR.test(accentValue)) { error.textContent = 'The accent colour must be #rrggbb.'; return; }
    // Both objects are replaced whole: only what is set is sent.
    const body = { name: name.value, description: description.value, quotas: {}, branding: {} };
    for (const [k, input] of quotas) if (input.value !== '') body.quotas[k] = Number(input.value);
    if (displayName.value.trim()) body.branding.display_name = displayName.value.trim();
    if (accentValue) body.branding.accent_color = accentValue;
    if (logo.value.trim()) body.branding.logo_url = logo.value.trim();
    const saved = await attempt(async () => {
      try {
        return await api('PATCH', `/v1/workspaces/${encodeURIComponent(w.id)}`, body);
      } catch (e) {
        if (!(e instanceof Quiet)) error.textContent = e.message;
        throw e;
      }
    }, 'Saved');
    if (saved) onDone(saved);
  });
  return form;
}

function portalLinkForm(w) {
  const readOnly = h('input', { type: 'checkbox', id: 'portal-read-only' });
  const ttl = h('select', { id: 'portal-ttl' }, [['15m', '15 minutes'], ['1h', '1 hour'], ['24h', '24 hours'], ['7d', '7 days']]
    .map(([v, label]) => h('option', { value: v, selected: v === '1h' }, label)));
  const result = h('div', { id: 'portal-link-result' });
  const form = h('form', { class: 'card', id: 'portal-link' },
    h('h2', {}, `Customer portal of ${w.name}`),
    h('p', { class: 'muted' }, 'A signed link to this workspace\'s endpoints, deliveries and event types; anyone holding it gets in until it expires.'),
    h('label', {}, readOnly, ' Read only (no changes, no signing secrets)'),
    h('label', {}, 'Valid for ', ttl),
    h('button', { type: 'submit', id: 'create-portal-link' }, 'Create link'),
    result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const l = await attempt(() => api('POST', `/v1/workspaces/${encodeURIComponent(w.id)}/portal`, { ttl: ttl.value, read_only: readOnly.checked }));
    if (!l) return;
    result.replaceChildren(h('div', { class: 'portal-link-out' },
      h('p', {}, h('a', { id: 'portal-url', class: 'mono', href: l.url, target: '_blank', rel: 'noopener' }, l.url)),
      h('p', {}, h('button', { type: 'button', id: 'copy-portal-url', onclick: () => navigator.clipboard.writeText(l.url).then(() => toast('Link copied'), () => toast('Copy failed: select the link', true)) }, 'Copy'), ' ',
        h('span', { class: 'muted' }, `${l.read_only ? 'Read only; ' : ''}expires ${local(l.expires_at)}`))));
  });
  return form;
}

async function workspacesPage() {
  const render = view();
  await loadWorkspaces();
  const output = h('div', { id: 'workspace-output' });
  const name = h('input', { type: 'text', id: 'workspace-name', required: true, maxlength: '100' });
  const description = h('input', { type: 'text', id: 'workspace-description' });
  const create = h('form', { class: 'card', id: 'create-workspace' },
    h('h2', {}, 'Create a workspace'),
    h('label', {}, 'Name ', name),
    h('label', {}, 'Description ', description),
    h('button', { type: 'submit' }, 'Create'));
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const w = await attempt(() => api('POST', '/v1/workspaces', { name: name.value, description: description.value }), 'Workspace created');
    if (w) workspacesPage();
  });
  const remove = async (w, force = false) => {
    const path = `/v1/workspaces/${encodeURIComponent(w.id)}${force ? '?force=true' : ''}`;
    try {
      await api('DELETE', path);
    } catch (e) {
      if (e instanceof Quiet) return;
      if (e.status !== 409 || force) { toast(e.message, true); return; }
      // It holds records: say what, and offer to remove them too.
      output.replaceChildren(h('div', { class: 'card delete-conflict' },
        h('p', { class: 'error' }, e.message),
        h('button', { type: 'button', class: 'danger', id: 'force-delete-workspace', onclick: () => {
          if (confirm(`Delete workspace ${w.name} with all its modules, webhooks, endpoints, events, tokens and event types?`)) remove(w, true);
        } }, 'Delete everything'), ' ',
        h('button', { type: 'button', onclick: () => output.replaceChildren() }, 'Cancel')));
      return;
    }
    toast('Workspace deleted');
    if (w.id === state.workspace) setWorkspace(DEFAULT_WORKSPACE);
    workspacesPage();
  };
  const rows = state.workspaces.map((w) => {
    const accent = w.branding?.accent_color;
    const swatch = h('span', { class: 'swatch', title: accent || '' });
    if (accent && COLOR.test(accent)) swatch.style.backgroundColor = accent;
    else swatch.hidden = true;
    return h('tr', { dataset: { workspace: w.id } },
      h('td', {}, w.name, w.id === state.workspace ? h('span', { class: 'badge' }, 'current') : null,
        w.description ? h('div', { class: 'muted' }, w.description) : null),
      h('td', { class: 'mono' }, w.id),
      h('td', { class: 'workspace-quotas' }, quotaSummary(w.quotas)),
      h('td', { class: 'workspace-branding' }, swatch, ' ', w.branding?.display_name || h('span', { class: 'muted' }, w.name),
        w.branding?.logo_url ? h('div', { class: 'muted mono' }, w.branding.logo_url) : null),
      h('td', {}, local(w.created_at)),
      h('td', {}, h('div', { class: 'row-actions' },
        w.id === state.workspace ? null : h('button', { type: 'button', class: 'use-workspace', onclick: () => chooseWorkspace(w.id) }, 'Switch to'),
        h('button', { type: 'button', class: 'edit-workspace', onclick: () => output.replaceChildren(workspaceForm(w, () => workspacesPage())) }, 'Quotas & branding'),
        h('button', { type: 'button', class: 'portal-workspace', onclick: () => output.replaceChildren(portalLinkForm(w)) }, 'Portal link'),
        w.id === DEFAULT_WORKSPACE ? null : h('button', { type: 'button', class: 'danger delete-workspace', onclick: () => {
          if (confirm(`Delete workspace ${w.name} (${w.id})?`)) remove(w);
        } }, 'Delete'))));
  });
  render(h('h1', {}, 'Workspaces'), create, output,
    table(['Name', 'Id', 'Quotas', 'Portal branding', 'Created', ''], rows));
}

// --- tokens ---------------------------------------------------------------------

async function tokensPage() {
  const render = view();
  const base = `/v1/workspaces/${encodeURIComponent(state.workspace)}`;
  const [w, page] = await Promise.all([api('GET', base), api('GET', `${base}/tokens`)]);
  const role = h('select', { id: 'token-role' },
    h('option', { value: 'admin' }, 'admin: everything in the workspace'),
    h('option', { value: 'read' }, 'read: look only'));
  const description = h('input', { type: 'text', id: 'token-description' });
  const expires = h('input', { type: 'datetime-local', id: 'token-expires' });
  const output = h('div', { id: 'token-output' });
  const form = h('form', { class: 'card', id: 'create-token' },
    h('h2', {}, 'Create a token'),
    h('label', {}, 'Role ', role),
    h('label', {}, 'Description ', description),
    h('label', {}, 'Expires (optional) ', expires),
    h('button', { type: 'submit' }, 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { role: role.value, description: description.value };
    if (expires.value) {
      const at = new Date(expires.value);
      if (Number.isNaN(at.getTime())) { toast('Choose a valid expiry', true); return; }
      body.expires_at = at.toISOString();
    }
    const t = await attempt(() => api('POST', `${base}/tokens`, body), 'Token created');
    if (!t) return;
    await tokensPage();
    document.getElementById('token-output')?.replaceChildren(h('div', { class: 'card token-secret' },
      h('p', {}, `New ${t.role} token ${t.id}. Copy it now: it is not shown again.`),
      h('code', { class: 'secret', id: 'new-token-secret' }, t.secret), ' ',
      h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(t.secret).then(() => toast('Token copied'), () => toast('Copy failed: select the token', true)) }, 'Copy')));
  });
  const now = Date.now();
  const rows = page.data.map((t) => h('tr', { dataset: { token: t.id } },
    h('td', { class: 'mono' }, t.id),
    h('td', {}, t.role),
    h('td', {}, t.description || ''),
    h('td', { class: 'mono' }, `…${t.hint}`),
    h('td', {}, local(t.created_at)),
    h('td', {}, t.expires_at ? h('span', { class: Date.parse(t.expires_at) < now ? 'error' : '' }, local(t.expires_at)) : h('span', { class: 'muted' }, 'never')),
    h('td', {}, h('button', { type: 'button', class: 'danger revoke-token', onclick: async () => {
      if (confirm(`Revoke token ${t.id}? Clients using it are refused from now on.`)
        && await attempt(() => api('DELETE', `${base}/tokens/${encodeURIComponent(t.id)}`), 'Token revoked') !== undefined) tokensPage();
    } }, 'Revoke'))));
  render(h('h1', {}, `Tokens of ${w.name}`),
    h('div', { class: 'card', id: 'workspace-quotas' },
      h('strong', {}, 'Quotas '), h('span', { class: 'muted' }, '(edited on the Workspaces page)'),
      h('dl', { class: 'quota-list' }, QUOTAS.flatMap(([k, , label]) => [h('dt', {}, label), h('dd', { dataset: { quota: k } }, w.quotas?.[k] ?? 'unlimited')]))),
    form, output,
    table(['Id', 'Role', 'Description', 'Ends in', 'Created', 'Expires', ''], rows, 'No tokens: only the admin token reaches this workspace.'));
}

// --- event types ------------------------------------------------------------------

async function eventTypesPage() {
  const render = view();
  const page = await api('GET', '/v1/event-types');
  const name = h('input', { type: 'text', id: 'event-type-name', required: true, placeholder: 'invoice.paid' });
  const description = h('input', { type: 'text', id: 'event-type-description' });
  const schema = h('textarea', { id: 'event-type-schema', spellcheck: 'false', placeholder: '{"type": "object", "required": ["amount"]}' });
  const schemaError = h('p', { class: 'error', id: 'event-type-schema-error' });
  const form = h('form', { class: 'card', id: 'create-event-type' },
    h('h2', {}, 'Add or replace an event type'),
    h('label', {}, 'Name ', name),
    h('label', {}, 'Description (shown in the customer portal) ', description),
    h('label', {}, 'JSON Schema of its data (optional; events that do not match are refused) ', schema), schemaError,
    h('button', { type: 'submit' }, 'Save'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const s = parseJsonField(schema, schemaError);
    if (!s.ok) return;
    if (s.value !== undefined && typeof s.value !== 'boolean' && (s.value === null || typeof s.value !== 'object' || Array.isArray(s.value))) {
      schemaError.textContent = 'A JSON Schema is an object (or true / false).';
      return;
    }
    const body = { name: name.value.trim(), description: description.value };
    if (s.value !== undefined) body.schema = s.value;
    const saved = await attempt(async () => {
      try {
        return await api('POST', '/v1/event-types', body);
      } catch (e) {
        if (!(e instanceof Quiet)) schemaError.textContent = e.message;
        throw e;
      }
    }, 'Event type saved');
    if (saved) eventTypesPage();
  });
  const rows = page.data.map((t) => h('tr', { dataset: { eventType: t.name } },
    h('td', {}, h('code', {}, t.name)),
    h('td', {}, t.description || ''),
    h('td', {}, t.schema !== undefined && t.schema !== null ? h('details', {}, h('summary', {}, 'schema'), h('pre', {}, JSON.stringify(t.schema, null, 2))) : h('span', { class: 'muted' }, 'none')),
    h('td', {}, local(t.updated_at)),
    h('td', {}, h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'edit-event-type', onclick: () => {
        name.value = t.name;
        description.value = t.description || '';
        schema.value = t.schema !== undefined && t.schema !== null ? JSON.stringify(t.schema, null, 2) : '';
        name.focus();
      } }, 'Edit'),
      h('button', { type: 'button', class: 'danger delete-event-type', onclick: async () => {
        if (confirm(`Delete event type ${t.name}? Its events are no longer checked.`)
          && await attempt(() => api('DELETE', `/v1/event-types/${encodeURIComponent(t.name)}`), 'Deleted') !== undefined) eventTypesPage();
      } }, 'Delete')))));
  render(h('h1', {}, `Event types of ${workspaceName()}`), form,
    table(['Name', 'Description', 'Schema', 'Updated', ''], rows, 'No event types: any type is accepted, unchecked.'));
}

// --- health -------------------------------------------------------------------

const lastHours = (hours) => (hours === 1 ? 'the last hour' : `the last ${hours} hours`);

function legend(...items) {
  return h('p', { class: 'legend' }, items.map(([cls, text]) => h('span', { class: cls }, text)));
}

function endpointHealth(e, hours) {
  const box = h('div', { class: 'card health-chart', dataset: { endpointId: e.endpoint_id } },
    h('h3', {}, h('span', { class: 'mono' }, e.url), ' ', h('span', { class: 'muted mono' }, e.endpoint_id)));
  if (!e.attempts) {
    box.append(h('p', { class: 'muted' }, `No attempts in ${lastHours(hours)}.`));
    return box;
  }
  const pct = e.succeeded === e.attempts ? 100 : Math.min(99, Math.round((100 * e.succeeded) / e.attempts));
  const summary = `${pct}% of ${e.attempts} ${e.attempts === 1 ? 'attempt' : 'attempts'} succeeded`
    + `${e.latency_ms_p50 != null ? `, p50 ${ms(e.latency_ms_p50)}` : ''}${e.latency_ms_p95 != null ? `, p95 ${ms(e.latency_ms_p95)}` : ''}`;
  box.append(h('p', { class: `health-summary ${e.failed ? 'error' : 'ok'}` }, summary),
    hourlyChart(e.buckets, [[(b) => b.succeeded, 'bar-ok'], [(b) => b.failed, 'bar-failed']], [(b) => b.latency_ms_p50, 'latency'],
      (b) => `${local(b.start)}: ${b.attempts} attempts, ${b.succeeded} succeeded, ${b.failed} failed${b.latency_ms_p50 != null ? `, p50 ${ms(b.latency_ms_p50)}` : ''}`,
      summary),
    legend(['key-ok', 'succeeded'], ['key-failed', 'failed'], ['key-latency', 'p50 latency']));
  return box;
}

function webhookHealth(w, hours) {
  const box = h('div', { class: 'card health-chart', dataset: { webhookId: w.webhook_id } }, h('h3', {}, h('span', { class: 'mono' }, w.webhook_id)));
  if (!w.invocations) {
    box.append(h('p', { class: 'muted' }, `No invocations in ${lastHours(hours)}.`));
    return box;
  }
  const summary = `${w.invocations} ${w.invocations === 1 ? 'invocation' : 'invocations'}, ${w.errors} ${w.errors === 1 ? 'error' : 'errors'}`
    + `${w.duration_ms_p50 != null ? `, p50 ${ms(w.duration_ms_p50)}` : ''}`;
  box.append(h('p', { class: `health-summary ${w.errors ? 'error' : 'ok'}` }, summary),
    hourlyChart(w.buckets, [[(b) => b.invocations - b.errors, 'bar-ok'], [(b) => b.errors, 'bar-failed']], [(b) => b.duration_ms_p50, 'latency'],
      (b) => `${local(b.start)}: ${b.invocations} invocations, ${b.errors} errors${b.duration_ms_p50 != null ? `, p50 ${ms(b.duration_ms_p50)}` : ''}`,
      summary),
    legend(['key-ok', 'succeeded'], ['key-failed', 'errors'], ['key-latency', 'p50 duration']));
  return box;
}

async function healthPage(params = new URLSearchParams()) {
  const render = view();
  const asked = Number(params.get('hours'));
  const hours = Number.isInteger(asked) && asked >= 1 && asked <= 168 ? asked : 24;
  const stats = await api('GET', `/v1/stats?hours=${hours}`);
  const period = h('select', { id: 'health-hours', class: 'inline', onchange: (ev) => { location.hash = `#/health?hours=${ev.target.value}`; } },
    [1, 6, 24, 72, 168].map((n) => h('option', { value: String(n), selected: n === hours }, `last ${n === 1 ? 'hour' : n === 168 ? '7 days' : `${n} hours`}`)));
  render(h('h1', {}, `Health of ${workspaceName()}`),
    h('div', { class: 'card' }, 'Period: ', period, ' ', h('button', { type: 'button', id: 'refresh-health', onclick: () => healthPage(params) }, 'Refresh'),
      h('span', { class: 'muted' }, ` ${local(stats.since)} – ${local(stats.until)}, per hour`)),
    stats.truncated ? h('p', { class: 'error' }, 'More records than can be read at once: only the most recent were counted, so the numbers are incomplete.') : null,
    h('h2', {}, 'Endpoints: delivery attempts'),
    stats.endpoints.length ? stats.endpoints.map((e) => endpointHealth(e, hours)) : h('p', { class: 'muted' }, 'No endpoints.'),
    h('h2', {}, 'Webhooks: handler invocations'),
    stats.webhooks.length ? stats.webhooks.map((w) => webhookHealth(w, hours)) : h('p', { class: 'muted' }, 'No webhooks.'));
}

// --- routing ----------------------------------------------------------------

const pages = {
  modules: modulesPage,
  webhooks: (params) => webhooksPage(params),
  endpoints: endpointsPage,
  events: () => eventsPage(),
  deliveries: (params) => deliveriesPage(params),
  'event-types': eventTypesPage,
  health: (params) => healthPage(params),
  workspaces: workspacesPage,
  tokens: tokensPage,
};

async function route() {
  if (!state.csrf) return;
  state.gen += 1;
  const gen = state.gen;
  const [asked, query] = (location.hash.replace(/^#\//, '') || 'webhooks').split('?');
  const name = Object.hasOwn(pages, asked) ? asked : 'webhooks';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${name}`);
  try {
    await pages[name](new URLSearchParams(query || ''));
  } catch (e) {
    if (!(e instanceof Quiet) && gen === state.gen) main().replaceChildren(h('p', { class: 'error' }, e.message));
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('logout').addEventListener('click', async () => {
    await attempt(() => api('DELETE', '/ui/session'));
    showLogin('Signed out.');
  });
  document.getElementById('workspace-switcher').addEventListener('change', (ev) => chooseWorkspace(ev.target.value));
  try {
    const s = await fetch('/ui/session', { credentials: 'same-origin' });
    if (!s.ok) { showLogin(); return; }
    state.csrf = (await s.json()).csrf;
    document.getElementById('nav').hidden = false;
    await attempt(loadWorkspaces);
    route();
  } catch (e) {
    showLogin(e.message);
  }
});
