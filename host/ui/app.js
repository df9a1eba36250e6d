// The hookhost dashboard: a small single-page app over the admin API.
// No framework and no build step: the files in host/ui/ are embedded in
// the binary as they are. Every call goes to the same /v1 API as any
// client, authenticated by the session cookie, with the CSRF token in a
// header for changes. Times are shown in the viewer's local time.
'use strict';

const state = { csrf: null };
const main = () => document.getElementById('main');

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

class ApiFailure extends Error {}

/** Calls the admin API; throws ApiFailure with the server's message. */
async function api(method, path, body, raw = false) {
  const headers = {};
  if (state.csrf) headers['X-CSRF-Token'] = state.csrf;
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
    throw new ApiFailure('signed out');
  }
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiFailure(data?.error?.message || `HTTP ${resp.status}`);
  return data;
}

/** Runs an action, reporting failure in the toast; returns its result. */
async function attempt(action, success) {
  try {
    const result = await action();
    if (success) toast(success);
    return result;
  } catch (e) {
    if (!(e instanceof ApiFailure && e.message === 'signed out')) toast(e.message, true);
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
  main().replaceChildren(h('h1', {}, 'Modules'), form,
    table(['Name', 'Size', 'sha256', 'Used by webhooks', 'Updated', ''], rows, 'No modules yet: upload a handler component.'));
}

// --- webhooks ---------------------------------------------------------------

async function webhooksPage(params = new URLSearchParams()) {
  const q = new URLSearchParams({ limit: '50' });
  if (params.get('after')) q.set('after', params.get('after'));
  const [hooks, modules] = await Promise.all([api('GET', `/v1/webhooks?${q}`), api('GET', '/v1/modules')]);
  const module = h('select', { id: 'webhook-module', required: true },
    modules.data.map((m) => h('option', { value: m.name }, m.name)));
  const payload = h('textarea', { id: 'webhook-payload', placeholder: '{"tenant": "acme"}' });
  const payloadError = h('p', { class: 'error', id: 'payload-error' });
  const description = h('input', { type: 'text', id: 'webhook-description' });
  const form = h('form', { class: 'card', id: 'create-webhook' },
    h('h2', {}, 'Create a webhook'),
    h('label', {}, 'Module ', module),
    h('label', {}, 'Payload (JSON, optional) ', payload), payloadError,
    h('label', {}, 'Description ', description),
    h('button', { type: 'submit', disabled: !modules.data.length }, 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = parseJsonField(payload, payloadError);
    if (!p.ok) return;
    const body = { module: module.value, description: description.value };
    if (p.value !== undefined) body.payload = p.value;
    const w = await attempt(() => api('POST', '/v1/webhooks', body), 'Webhook created');
    if (w) webhooksPage(params);
  });

  const rows = hooks.data.map((w) => {
    const invocations = h('div', { class: 'invocations' });
    return [
      h('tr', { dataset: { webhook: w.id } },
        h('td', { class: 'mono' }, w.id),
        h('td', {}, w.module),
        h('td', {}, w.enabled ? 'enabled' : h('span', { class: 'muted' }, 'disabled')),
        h('td', {}, h('code', { class: 'webhook-url' }, w.url), ' ',
          h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(w.url).then(() => toast('URL copied'), () => toast(w.url)) }, 'Copy')),
        h('td', {}, w.payload === null ? h('span', { class: 'muted' }, 'none') : h('pre', {}, JSON.stringify(w.payload))),
        h('td', {}, local(w.created_at)),
        h('td', {}, h('div', { class: 'row-actions' },
          h('button', { onclick: async () => { if (await attempt(() => api('PATCH', `/v1/webhooks/${w.id}`, { enabled: !w.enabled }))) webhooksPage(params); } }, w.enabled ? 'Disable' : 'Enable'),
          h('button', { class: 'show-invocations', onclick: () => showInvocations(w.id, invocations) }, 'Invocations'),
          h('button', { class: 'danger', onclick: async () => { if (confirm(`Delete webhook ${w.id}?`) && await attempt(() => api('DELETE', `/v1/webhooks/${w.id}`), 'Deleted') !== undefined) webhooksPage(params); } }, 'Delete')))),
      h('tr', {}, h('td', { colspan: 7 }, invocations)),
    ];
  });
  main().replaceChildren(h('h1', {}, 'Webhooks'), form,
    table(['Id', 'Module', 'State', 'URL', 'Payload', 'Created', ''], rows.flat(), 'No webhooks yet.'),
    h('div', { class: 'pager' },
      params.get('after') ? h('a', { href: '#/webhooks' }, 'First page') : null, ' ',
      hooks.next_cursor ? h('a', { href: `#/webhooks?after=${encodeURIComponent(hooks.next_cursor)}` }, 'Next page') : null));
}

async function showInvocations(id, box, before) {
  const q = new URLSearchParams({ limit: '20' });
  if (before) q.set('before', before);
  const page = await attempt(() => api('GET', `/v1/webhooks/${id}/invocations?${q}`));
  if (!page) return;
  const rows = page.data.map((i) => [
    h('tr', { class: 'invocation' },
      h('td', {}, local(i.received_at)),
      h('td', {}, i.method),
      h('td', { class: 'mono' }, i.path),
      h('td', { class: i.status < 400 ? 'ok' : 'error' }, i.status),
      h('td', {}, i.outcome),
      h('td', {}, `${i.duration_ms.toFixed(2)} ms`),
      h('td', {}, i.error || ''),
      h('td', {}, `${i.emitted} / ${i.published}`)),
    i.output ? h('tr', {}, h('td', { colspan: 8 }, h('pre', {}, i.output))) : null,
  ]);
  box.replaceChildren(
    h('h2', {}, 'Recent invocations'),
    table(['Received', 'Method', 'Path', 'Status', 'Outcome', 'Duration', 'Error', 'Emitted / published'], rows.flat(), 'No invocations yet.'),
    h('div', { class: 'pager' },
      h('button', { onclick: () => showInvocations(id, box) }, 'Refresh'), ' ',
      page.next_cursor ? h('button', { onclick: () => showInvocations(id, box, page.next_cursor) }, 'Older') : null));
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
      ep.ordering === 'fifo' ? h('div', { class: 'muted endpoint-order' }, 'fifo') : null),
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
  main().replaceChildren(h('h1', {}, 'Endpoints'), create, output,
    table(['Id', 'URL', 'Events / filters', 'State', 'Signature', ''], rows, 'No endpoints yet.'));
}

// --- events -----------------------------------------------------------------

async function eventsPage(after) {
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
  main().replaceChildren(h('h1', {}, 'Events'), form,
    table(['Id', 'Type', 'Data', 'Source', 'Created', ''], rows, 'No events yet.'),
    h('div', { class: 'pager' },
      after ? h('button', { onclick: () => eventsPage() }, 'First page') : null, ' ',
      page.next_cursor ? h('button', { onclick: () => eventsPage(page.next_cursor) }, 'Newer') : null));
}

// --- deliveries ---------------------------------------------------------------

async function deliveriesPage(params = new URLSearchParams()) {
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
  main().replaceChildren(h('h1', {}, 'Deliveries'),
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

// --- routing ----------------------------------------------------------------

const pages = {
  modules: modulesPage,
  webhooks: (params) => webhooksPage(params),
  endpoints: endpointsPage,
  events: () => eventsPage(),
  deliveries: (params) => deliveriesPage(params),
};

async function route() {
  if (!state.csrf) return;
  const [name, query] = (location.hash.replace(/^#\//, '') || 'webhooks').split('?');
  const page = pages[name] || pages.webhooks;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${name}`);
  try {
    await page(new URLSearchParams(query || ''));
  } catch (e) {
    if (!(e instanceof ApiFailure && e.message === 'signed out')) main().replaceChildren(h('p', { class: 'error' }, e.message));
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('logout').addEventListener('click', async () => {
    await attempt(() => api('DELETE', '/ui/session'));
    showLogin('Signed out.');
  });
  try {
    const s = await fetch('/ui/session', { credentials: 'same-origin' });
    if (!s.ok) { showLogin(); return; }
    state.csrf = (await s.json()).csrf;
    document.getElementById('nav').hidden = false;
    route();
  } catch (e) {
    showLogin(e.message);
  }
});
