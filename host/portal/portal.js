// The customer portal: a workspace's customers manage their endpoints and
// see their deliveries. No framework and no build step: the files in
// host/portal/ are embedded in the binary as they are.
//
// The credential is the portal link's fragment (`/portal/#hhp_...`): taken
// on load, kept in sessionStorage (this tab only), removed from the address
// bar, and sent as a bearer token to the same /v1 API as any client. Never
// cookies: fetches omit them, so an operator signed in to the dashboard in
// the same browser lends this page nothing. Everything shown comes from the
// API and may be hostile (URLs, descriptions, response bodies): text only,
// built with createElement/textContent.
'use strict';

const STORAGE_KEY = 'hookhost_portal';
const state = { credential: null, session: null, readOnly: true, endpoints: [], cursor: null, tab: 'endpoints' };
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

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
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const local = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function notice(message) {
  const n = $('notice');
  n.textContent = message;
  n.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { n.hidden = true; }, 5000);
}

function showError(message) {
  $('error').replaceChildren(h('span', {}, message),
    h('button', { type: 'button', 'aria-label': 'Dismiss', onclick: clearError }, '×'));
  $('error').hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').replaceChildren();
}

class ApiFailure extends Error {}
/** The credential was refused: the page already says so. */
class Refused extends Error {}

/** Calls the API with the portal credential; throws ApiFailure with the server's message. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${state.credential}` };
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiFailure('The server could not be reached; try again.');
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (resp.status === 401) {
    refuse(data?.error?.message || 'this portal link is not valid');
    throw new Refused('refused');
  }
  if (!resp.ok) throw new ApiFailure(data?.error?.message || `The server answered HTTP ${resp.status}.`);
  return data;
}

/** Runs an action, showing a failure in the error bar; undefined on failure. */
async function run(action) {
  clearError();
  try {
    return await action();
  } catch (e) {
    if (!(e instanceof Refused)) showError(e.message);
    return undefined;
  }
}

/** Shows the server's complaint about a filter by its field too. */
async function withFieldError(errorEl, call) {
  try {
    return await call();
  } catch (e) {
    if (e instanceof ApiFailure && /^filter\b/.test(e.message)) errorEl.textContent = e.message;
    throw e;
  }
}

/** The filter textarea's JSON object; undefined when empty. */
function parseFilter(textarea, errorEl) {
  errorEl.textContent = '';
  const text = textarea.value.trim();
  if (!text) return { ok: true, value: undefined };
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    errorEl.textContent = `The filter is not valid JSON: ${e.message}`;
    return { ok: false };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    errorEl.textContent = 'The filter must be a JSON object, like {"data.amount": {"$gt": 10}}.';
    return { ok: false };
  }
  return { ok: true, value };
}

/** A button that acts on its second click ("Delete", then "Confirm delete"). */
function confirmButton(label, confirmLabel, cls, action) {
  const b = h('button', { type: 'button', class: cls }, label);
  const disarm = () => { b.textContent = label; b.classList.remove('armed'); };
  b.addEventListener('click', () => {
    if (!b.classList.contains('armed')) {
      b.textContent = confirmLabel;
      b.classList.add('armed');
      return;
    }
    disarm();
    run(action);
  });
  b.addEventListener('blur', disarm);
  return b;
}

function table(headers, rows, attrs = {}, bodyAttrs = {}) {
  return h('table', attrs, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', bodyAttrs, rows));
}

// --- credential, refusal, branding --------------------------------------------

function takeCredential() {
  const fromLink = location.hash.slice(1).trim();
  if (fromLink) {
    try { sessionStorage.setItem(STORAGE_KEY, fromLink); } catch (e) { /* storage off (e.g. in a frame): memory only */ }
    history.replaceState(null, '', location.pathname + location.search);
    return fromLink;
  }
  try { return sessionStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
}

/** Replaces the page with the refusal. */
function refuse(message) {
  try { sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
  state.credential = null;
  $('nav').hidden = true;
  clearError();
  $('main').replaceChildren(h('div', { id: 'refused', class: 'card', role: 'alert' },
    h('h1', {}, 'The portal cannot open'),
    h('p', { class: 'refusal-reason' }, message),
    h('p', { class: 'muted' }, 'Portal links expire. Ask the service that sent you this link for a new one.')));
}

function applyBranding(s) {
  const name = s.display_name || 'Webhooks';
  $('portal-name').textContent = name;
  document.title = `${name}: webhooks`;
  const c = s.branding?.accent_color;
  if (typeof c === 'string' && /^#[0-9a-fA-F]{6}$/.test(c)) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16) / 255);
    const root = document.documentElement.style;
    root.setProperty('--accent', c);
    root.setProperty('--on-accent', 0.299 * r + 0.587 * g + 0.114 * b > 0.6 ? '#1d2330' : '#fff');
  }
  const logo = s.branding?.logo_url;
  if (typeof logo === 'string' && /^https?:\/\//i.test(logo)) {
    const img = $('logo');
    img.addEventListener('error', () => { img.hidden = true; });
    img.src = logo;
    img.hidden = false;
  }
  $('read-only-badge').hidden = !s.read_only;
}

// --- endpoints ----------------------------------------------------------------

/** Checkboxes over the catalogue (plus "*" and any other pattern already chosen). */
function eventPicker(selected = []) {
  const types = state.session.event_types;
  const known = new Set(['*', ...types.map((t) => t.name)]);
  const choice = (value, hint) => h('label', { class: 'event-choice' },
    h('input', { type: 'checkbox', name: 'events', value, checked: selected.includes(value) }), ' ',
    h('code', {}, value), hint ? h('span', { class: 'muted' }, ` ${hint}`) : null);
  const el = h('fieldset', { class: 'event-picker' },
    h('legend', {}, 'Events to receive (none ticked: all)'),
    choice('*', 'all events, also ones added later'),
    types.map((t) => choice(t.name, t.description)),
    selected.filter((e) => !known.has(e)).map((e) => choice(e, '')));
  const value = () => {
    const v = [...el.querySelectorAll('input:checked')].map((i) => i.value);
    return !v.length || v.includes('*') ? ['*'] : v;
  };
  return { el, value };
}

function createForm() {
  const url = h('input', { type: 'url', id: 'new-url', required: true, placeholder: 'https://example.com/webhooks' });
  const description = h('input', { type: 'text', id: 'new-description' });
  const picker = eventPicker();
  const filter = h('textarea', { id: 'new-filter', spellcheck: 'false', placeholder: '{"data.amount": {"$gt": 100}}' });
  const filterError = h('p', { class: 'error filter-error', id: 'new-filter-error' });
  const result = h('div', { id: 'create-result' });
  const form = h('form', { class: 'card', id: 'create-form' },
    h('h2', {}, 'Add an endpoint'),
    h('label', {}, 'URL ', url),
    h('label', {}, 'Description (optional) ', description),
    picker.el,
    h('label', {}, 'Filter (optional): only events matching this JSON are sent ', filter), filterError,
    h('button', { type: 'submit', id: 'create-endpoint', class: 'primary' }, 'Add endpoint'),
    result);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const f = parseFilter(filter, filterError);
      if (!f.ok) return;
      const body = { url: url.value.trim(), description: description.value, events: picker.value() };
      if (f.value !== undefined) body.filter = f.value;
      const ep = await withFieldError(filterError, () => api('POST', '/v1/endpoints', body));
      form.reset();
      result.replaceChildren(h('div', { class: 'card secret-box' },
        h('p', {}, 'Endpoint added. Its signing secret, to verify our signatures with (shown here once; later under "Show secret"):'),
        h('code', { id: 'new-secret' }, ep.secret)));
      await loadEndpoints();
    });
  });
  return form;
}

function editForm(ep) {
  const url = h('input', { type: 'url', class: 'edit-url', required: true, value: ep.url });
  const description = h('input', { type: 'text', class: 'edit-description', value: ep.description || '' });
  const picker = eventPicker(ep.events);
  const filter = h('textarea', { class: 'edit-filter', spellcheck: 'false' }, ep.filter ? JSON.stringify(ep.filter, null, 2) : '');
  const filterError = h('p', { class: 'error filter-error' });
  const form = h('form', { class: 'edit-form' },
    h('h2', {}, 'Edit endpoint'),
    h('label', {}, 'URL ', url),
    h('label', {}, 'Description ', description),
    picker.el,
    h('label', {}, 'Filter (empty: every event) ', filter), filterError,
    h('button', { type: 'submit', class: 'primary save-endpoint' }, 'Save'), ' ',
    h('button', { type: 'button', class: 'cancel-edit', onclick: () => form.remove() }, 'Cancel'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const f = parseFilter(filter, filterError);
      if (!f.ok) return;
      // Only what changed; `"filter": null` removes the filter.
      const patch = {};
      if (url.value.trim() !== ep.url) patch.url = url.value.trim();
      if (description.value !== (ep.description || '')) patch.description = description.value;
      const events = picker.value();
      if ([...events].sort().join('\n') !== [...ep.events].sort().join('\n')) patch.events = events;
      const newFilter = f.value === undefined ? null : f.value;
      if (JSON.stringify(newFilter) !== JSON.stringify(ep.filter ?? null)) patch.filter = newFilter;
      if (!Object.keys(patch).length) { form.remove(); notice('Nothing changed.'); return; }
      putEndpoint(await withFieldError(filterError, () => api('PATCH', `/v1/endpoints/${enc(ep.id)}`, patch)));
      notice('Endpoint saved.');
    });
  });
  return form;
}

function cardFor(id) {
  return document.querySelector(`#endpoint-list [data-endpoint-id="${CSS.escape(id)}"]`);
}

/** Shows `nodes` under the endpoint's card. */
function output(id, ...nodes) {
  cardFor(id)?.querySelector('.endpoint-output').replaceChildren(...nodes);
}

/** Takes in a changed endpoint: its card is drawn anew. */
function putEndpoint(ep) {
  state.endpoints = state.endpoints.map((e) => (e.id === ep.id ? ep : e));
  cardFor(ep.id)?.replaceWith(endpointCard(ep));
  fillEndpointFilter();
}

function oneDayAgo() {
  const d = new Date(Date.now() - 24 * 3600 * 1000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

function endpointActions(ep) {
  const path = `/v1/endpoints/${enc(ep.id)}`;
  const showSecret = h('button', { type: 'button', class: 'show-secret', onclick: () => run(async () => {
    const s = await api('GET', `${path}/secret`);
    output(ep.id, h('div', { class: 'secret-box' },
      h('p', {}, 'Signing secret: ', h('code', { class: 'secret-value' }, s.secret)),
      (s.retired || []).map((r) => h('p', { class: 'muted' }, `A previous secret${r.public_key ? ` (${r.public_key})` : ''} still signs until ${local(r.expires_at)}.`))));
  }) }, 'Show secret');
  // A read-only link does not show signing secrets (the API refuses too).
  if (state.readOnly) return [];

  const since = h('input', { type: 'datetime-local', class: 'recover-since', required: true, value: oneDayAgo() });
  const recover = h('form', { class: 'recover-form' },
    h('label', {}, 'Send failed deliveries again, since ', since),
    h('button', { type: 'submit', class: 'recover-endpoint' }, 'Re-send'));
  recover.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(async () => {
      const t = new Date(since.value);
      if (Number.isNaN(t.getTime())) throw new ApiFailure('Choose a date and time to re-send from.');
      const r = await api('POST', `${path}/recover`, { since: t.toISOString() });
      output(ep.id, h('p', { class: 'ok recover-result' }, `${plural(r.requeued, 'delivery', 'deliveries')} queued again.`));
    });
  });
  return [
    h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'edit-endpoint', onclick: () => output(ep.id, editForm(ep)) }, 'Edit'),
      h('button', { type: 'button', class: 'toggle-endpoint', onclick: () => run(async () => {
        putEndpoint(await api('PATCH', path, { active: !ep.active }));
        notice(ep.active ? 'Endpoint disabled.' : 'Endpoint enabled.');
      }) }, ep.active ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'test-endpoint', onclick: () => run(async () => {
        output(ep.id, h('p', { class: 'muted' }, 'Sending a test event…'));
        const r = await api('POST', `${path}/test`).finally(() => output(ep.id));
        output(ep.id, h('div', { class: `test-result ${r.success ? 'ok' : 'error'}` },
          h('p', {}, r.success ? 'Test event delivered' : 'Test event failed',
            r.status_code != null ? ` (HTTP ${r.status_code})` : '',
            r.latency_ms != null ? ` in ${Math.round(r.latency_ms)} ms` : '', '.'),
          r.error ? h('p', { class: 'error' }, r.error) : null,
          r.response_body ? h('pre', {}, r.response_body) : null));
      }) }, 'Send test event'),
      showSecret,
      confirmButton('Rotate secret', 'Confirm rotate', 'rotate-secret', async () => {
        const r = await api('POST', `${path}/rotate-secret`);
        putEndpoint(r);
        output(ep.id, h('div', { class: 'secret-box' },
          h('p', {}, 'New signing secret: ', h('code', { class: 'secret-value' }, r.secret)),
          h('p', { class: 'muted' }, 'The previous secret keeps signing for a while, so your receiver can switch over.')));
      }),
      confirmButton('Delete', 'Confirm delete', 'delete-endpoint danger', async () => {
        await api('DELETE', path);
        state.endpoints = state.endpoints.filter((e) => e.id !== ep.id);
        cardFor(ep.id)?.remove();
        if (!state.endpoints.length) await loadEndpoints();
        fillEndpointFilter();
        notice('Endpoint deleted.');
      })),
    recover,
  ];
}

function endpointCard(ep) {
  return h('article', { class: `card endpoint${ep.active ? '' : ' inactive'}`, dataset: { endpointId: ep.id } },
    h('div', { class: 'endpoint-head' },
      h('code', { class: 'endpoint-url' }, ep.url),
      h('span', { class: `endpoint-state ${ep.active ? 'state-active' : 'state-disabled'}` }, ep.active ? 'active' : 'disabled')),
    ep.disabled_reason ? h('p', { class: 'error disabled-reason' }, ep.disabled_reason) : null,
    ep.description ? h('p', { class: 'endpoint-description' }, ep.description) : null,
    h('p', { class: 'endpoint-events' }, 'Events: ', ep.events.includes('*') ? 'all' : ep.events.map((e, i) => [i ? ', ' : '', h('code', {}, e)])),
    ep.filter ? h('p', { class: 'endpoint-filter' }, 'Only when: ', h('code', {}, JSON.stringify(ep.filter))) : null,
    ep.failing_since ? h('p', { class: 'error' }, `Failing since ${local(ep.failing_since)}`) : null,
    h('p', { class: 'muted endpoint-meta' }, `Secret ${ep.secret_hint || ''} · ${ep.id}`),
    endpointActions(ep),
    h('div', { class: 'endpoint-output' }));
}

async function loadEndpoints() {
  const page = await api('GET', '/v1/endpoints');
  state.endpoints = page.data;
  $('endpoint-list').replaceChildren(...(page.data.length ? page.data.map(endpointCard)
    : [h('p', { class: 'muted', id: 'no-endpoints' }, 'No endpoints yet.')]));
  fillEndpointFilter();
}

// --- deliveries ---------------------------------------------------------------

const endpointLabel = (id) => state.endpoints.find((e) => e.id === id)?.url || id;

function fillEndpointFilter() {
  const select = $('delivery-endpoint');
  const current = select.value;
  select.replaceChildren(h('option', { value: '' }, 'all endpoints'),
    ...state.endpoints.map((e) => h('option', { value: e.id }, e.description ? `${e.url} (${e.description})` : e.url)));
  select.value = state.endpoints.some((e) => e.id === current) ? current : '';
}

function deliveryRow(d) {
  return h('tr', { dataset: { deliveryId: d.id } },
    h('td', {}, h('button', { type: 'button', class: 'link open-delivery', onclick: () => run(() => showDelivery(d.id)) }, d.id)),
    h('td', {}, d.event_type),
    h('td', { class: 'mono' }, endpointLabel(d.endpoint_id)),
    h('td', { class: `delivery-status status-${d.status}` }, d.status),
    h('td', {}, d.attempts),
    h('td', {}, d.last_status_code ?? ''),
    h('td', {}, d.last_error || ''),
    h('td', {}, d.status === 'pending' ? local(d.next_attempt_at) : ''),
    h('td', {}, local(d.created_at)));
}

async function loadDeliveries(more = false) {
  const q = new URLSearchParams({ limit: '50' });
  if ($('delivery-endpoint').value) q.set('endpoint', $('delivery-endpoint').value);
  if ($('delivery-status').value) q.set('status', $('delivery-status').value);
  if (more && state.cursor) q.set('before', state.cursor);
  const page = await api('GET', `/v1/deliveries?${q}`);
  state.cursor = page.next_cursor;
  const rows = page.data.map(deliveryRow);
  const tbody = $('delivery-rows');
  if (more && tbody) tbody.append(...rows);
  else {
    $('delivery-list').replaceChildren(rows.length
      ? table(['Delivery', 'Event', 'Endpoint', 'Status', 'Attempts', 'Last code', 'Last error', 'Next attempt', 'Created'],
        rows, { id: 'deliveries' }, { id: 'delivery-rows' })
      : h('p', { class: 'muted' }, 'No deliveries.'));
  }
  $('more-deliveries').hidden = !page.next_cursor;
}

async function showDelivery(id, message = '') {
  const d = await api('GET', `/v1/deliveries/${enc(id)}`);
  const rows = d.attempts.map((a) => h('tr', { class: 'attempt' },
    h('td', {}, a.attempt),
    h('td', {}, local(a.at)),
    h('td', { class: `attempt-status ${a.status_code >= 200 && a.status_code < 300 ? 'ok' : 'error'}` }, a.status_code ?? '—'),
    h('td', {}, a.latency_ms != null ? `${Math.round(a.latency_ms)} ms` : ''),
    h('td', {}, a.response_body ? h('pre', { class: 'attempt-body' }, a.response_body) : ''),
    h('td', { class: 'error' }, a.error || '')));
  const retry = state.readOnly ? null : h('button', { type: 'button', id: 'retry-delivery', class: 'primary', onclick: () => run(async () => {
    await api('POST', `/v1/deliveries/${enc(d.id)}/retry`);
    await showDelivery(d.id, 'Queued again: it is sent in a moment.');
    await loadDeliveries();
  }) }, 'Retry now');
  const box = $('delivery-detail');
  box.replaceChildren(h('div', { class: 'card' },
    h('div', { class: 'section-head' }, h('h2', {}, `Delivery ${d.id}`),
      h('button', { type: 'button', id: 'close-delivery', onclick: () => box.replaceChildren() }, 'Close')),
    h('p', {}, h('code', {}, d.event_type), ' (event ', h('code', {}, d.event_id), ') to ', h('code', {}, endpointLabel(d.endpoint_id)), ': ',
      h('strong', { class: `delivery-status status-${d.status}` }, d.status),
      d.status === 'pending' && d.next_attempt_at ? `, next attempt ${local(d.next_attempt_at)}` : ''),
    rows.length ? table(['#', 'At', 'Status', 'Latency', 'Response body', 'Error'], rows, { class: 'attempts' }) : h('p', { class: 'muted' }, 'No attempt yet.'),
    h('p', {}, retry, ' ', h('button', { type: 'button', onclick: () => run(() => showDelivery(d.id)) }, 'Reload'), ' ',
      h('span', { id: 'retry-result', class: 'ok', role: 'status' }, message))));
  box.scrollIntoView({ block: 'nearest' });
}

// --- health -------------------------------------------------------------------

const HEALTH_HOURS = 24;

function endpointHealth(e) {
  const known = state.endpoints.find((x) => x.id === e.endpoint_id);
  const box = h('article', { class: 'card health-chart', dataset: { endpointId: e.endpoint_id } },
    h('div', { class: 'endpoint-head' }, h('code', { class: 'endpoint-url' }, e.url),
      known?.description ? h('span', { class: 'muted' }, known.description) : null));
  if (!e.attempts) {
    box.append(h('p', { class: 'muted' }, `No attempts in the last ${HEALTH_HOURS} hours.`));
    return box;
  }
  const pct = e.succeeded === e.attempts ? 100 : Math.min(99, Math.round((100 * e.succeeded) / e.attempts));
  const summary = `${pct}% of ${plural(e.attempts, 'attempt', 'attempts')} succeeded`
    + `${e.latency_ms_p50 != null ? `, p50 ${ms(e.latency_ms_p50)}` : ''}${e.latency_ms_p95 != null ? `, p95 ${ms(e.latency_ms_p95)}` : ''}`;
  box.append(h('p', { class: `health-summary ${e.failed ? 'status-failed' : 'status-success'}` }, summary),
    hourlyChart(e.buckets, [[(b) => b.succeeded, 'bar-ok'], [(b) => b.failed, 'bar-failed']], [(b) => b.latency_ms_p50, 'latency'],
      (b) => `${local(b.start)}: ${plural(b.attempts, 'attempt', 'attempts')}, ${b.succeeded} succeeded, ${b.failed} failed`
        + `${b.latency_ms_p50 != null ? `, p50 ${ms(b.latency_ms_p50)}` : ''}`,
      summary),
    h('p', { class: 'legend' }, h('span', { class: 'key-ok' }, 'succeeded'), h('span', { class: 'key-failed' }, 'failed'),
      h('span', { class: 'key-latency' }, 'p50 response time')));
  return box;
}

async function loadHealth() {
  const stats = await api('GET', `/v1/stats?hours=${HEALTH_HOURS}`);
  const nodes = stats.endpoints.length ? stats.endpoints.map(endpointHealth) : [h('p', { class: 'muted' }, 'No endpoints yet.')];
  if (stats.truncated) nodes.unshift(h('p', { class: 'error' }, 'Only the most recent attempts of this period could be counted: the numbers are incomplete.'));
  $('health-list').replaceChildren(...nodes);
}

// --- page -------------------------------------------------------------------

function sections() {
  const types = state.session.event_types;
  const endpointSelect = h('select', { id: 'delivery-endpoint', onchange: () => run(() => loadDeliveries()) });
  const statusSelect = h('select', { id: 'delivery-status', onchange: () => run(() => loadDeliveries()) },
    ['', 'pending', 'success', 'failed'].map((s) => h('option', { value: s }, s || 'any status')));
  return {
    endpoints: h('section', { id: 'endpoints-section' },
      h('div', { class: 'section-head' }, h('h1', {}, 'Endpoints'),
        h('button', { type: 'button', id: 'refresh-endpoints', onclick: () => run(loadEndpoints) }, 'Refresh')),
      h('p', { class: 'muted' }, 'The URLs we send your webhooks to, each signed with its endpoint\'s secret.'),
      h('div', { id: 'endpoint-list' }),
      state.readOnly ? null : createForm()),
    deliveries: h('section', { id: 'deliveries-section' },
      h('div', { class: 'section-head' }, h('h1', {}, 'Deliveries'),
        h('button', { type: 'button', id: 'refresh-deliveries', onclick: () => run(() => loadDeliveries()) }, 'Refresh')),
      h('div', { class: 'filters' }, h('label', {}, 'Endpoint ', endpointSelect), h('label', {}, 'Status ', statusSelect)),
      h('div', { id: 'delivery-detail' }),
      h('div', { id: 'delivery-list' }),
      h('p', { class: 'pager' }, h('button', { type: 'button', id: 'more-deliveries', hidden: true, onclick: () => run(() => loadDeliveries(true)) }, 'More'))),
    health: h('section', { id: 'health-section' },
      h('div', { class: 'section-head' }, h('h1', {}, 'Health'),
        h('button', { type: 'button', id: 'refresh-health', onclick: () => run(loadHealth) }, 'Refresh')),
      h('p', { class: 'muted' }, `Delivery attempts to each endpoint per hour over the last ${HEALTH_HOURS} hours, and how long your server took to answer.`),
      h('div', { id: 'health-list' })),
    catalogue: h('section', { id: 'catalogue-section' },
      h('h1', {}, 'Event types'),
      types.length
        ? table(['Event type', 'Description'], types.map((t) => h('tr', { dataset: { eventType: t.name } },
          h('td', {}, h('code', {}, t.name)),
          h('td', {}, t.description || '',
            t.schema ? h('details', {}, h('summary', {}, 'Data schema'), h('pre', {}, JSON.stringify(t.schema, null, 2))) : null))), { id: 'catalogue' })
        : h('p', { class: 'muted' }, 'No event types are listed; endpoints can subscribe to all events.')),
  };
}

function showTab(name) {
  state.tab = name;
  for (const [key, section] of Object.entries(state.sections)) section.hidden = key !== name;
  for (const b of document.querySelectorAll('#nav button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  if (name === 'deliveries') run(() => loadDeliveries());
  if (name === 'health') run(loadHealth);
}

window.addEventListener('DOMContentLoaded', async () => {
  state.credential = takeCredential();
  if (!state.credential) {
    refuse('There is no portal link here: open the whole link you were given (it ends in #hhp_…).');
    return;
  }
  let s;
  try {
    s = await api('GET', '/v1/portal/session');
  } catch (e) {
    if (!(e instanceof Refused)) {
      $('main').replaceChildren(h('p', { class: 'error' }, 'The portal could not load.'));
      showError(e.message);
    }
    return;
  }
  state.session = s;
  state.readOnly = Boolean(s.read_only);
  applyBranding(s);
  state.sections = sections();
  $('main').replaceChildren(...Object.values(state.sections));
  for (const b of document.querySelectorAll('#nav button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('nav').hidden = false;
  showTab('endpoints');
  await run(loadEndpoints);
});
