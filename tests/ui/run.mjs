// Drives the dashboard in Debian's headless Chromium with playwright-core:
// sign in, upload a module, create a webhook (after a rejected invalid
// payload), call it, see the invocation; a second webhook with capture on:
// call it, replay the call (not committed, then committed), create an endpoint whose receiver
// fails (after a refused operator filter and a refused custom header), send an event, see the failed attempt, retry after the receiver
// recovers, see success. Then workspaces: create "Acme", switch to it (its
// pages are empty), issue and revoke a token, add an event type with a
// schema (a schema that is not JSON is caught first), set a quota and the
// portal's accent colour, get a portal link; back in default, the health
// page charts the endpoint's attempts; deleting Acme (it holds an event)
// asks first, then removes everything. Saves a screenshot of each page.
//
// Also: a "fetcher" webhook whose handler calls an identity service on
// loopback (its outbound host set in the form) and a host it may not call;
// the invocation shows both calls; the hosts are then changed.
//
//   node run.mjs <server-url> <admin-token> <component.wasm> <screenshot-dir> <fetcher.wasm>
//
// Exits non-zero with a message on the first expectation that fails.
import { chromium } from 'playwright-core';
import http from 'node:http';
import { mkdirSync } from 'node:fs';

const [server, token, wasm, shots, fetcherWasm] = process.argv.slice(2);
if (!fetcherWasm) {
  console.error('usage: node run.mjs <server-url> <admin-token> <component.wasm> <screenshot-dir> <fetcher.wasm>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const TIMEOUT = 15000;

// A receiver that fails (500) until told to recover.
let failing = true;
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    received.push({ failing, body });
    res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(failing ? 'receiver is down' : 'thanks');
  });
});
await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

// The identity service a handler calls out to.
const identity = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"name":"Ada"}');
});
await new Promise((ok) => identity.listen(0, '127.0.0.1', ok));
const identityHost = `127.0.0.1:${identity.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
// Refused requests (401s this test provokes) are logged by Chromium; other errors are not expected.
page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(e.message));

let step = 0;
async function shot(name) {
  step += 1;
  await page.screenshot({ path: `${shots}/${String(step).padStart(2, '0')}-${name}.png`, fullPage: true });
}
function fail(message) { throw new Error(message); }

try {
  // Sign in: a wrong token is refused, the right one opens the dashboard.
  await page.goto(`${server}/ui/`);
  await page.fill('#token', 'wrong');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#login-error:has-text("wrong admin token")');
  await shot('sign-in-refused');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
  // The session cookie lives on /ui and /v1 only, never on /hooks.
  const cookies = await context.cookies(`${server}/ui/`);
  const session = cookies.find((c) => c.name === 'hookhost_session') || fail('no session cookie');
  if (!session.httpOnly || session.sameSite !== 'Strict') fail(`session cookie flags: ${JSON.stringify(session)}`);
  const onHooks = (await context.cookies(`${server}/hooks/x`)).filter((c) => c.name === 'hookhost_session');
  if (onHooks.length) fail(`the session cookie would be sent to /hooks: ${JSON.stringify(onHooks)}`);
  // The API refuses a cookie-authenticated change without the CSRF header.
  const csrfless = await page.evaluate(async () => (await fetch('/v1/events', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"x","data":{}}',
  })).status);
  if (csrfless !== 401) fail(`a change without the CSRF token answered ${csrfless}`);

  const pathOf = (r) => new URL(r.url()).pathname;
  /** Runs `action` and returns the response to `method path` it caused. */
  const responseTo = async (method, path, action) => (await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && pathOf(r) === path), action()]))[0];

  // Modules: upload with the file picker.
  await page.click('#nav a[href="#/modules"]');
  await page.setInputFiles('#module-file', wasm);
  await page.fill('#module-name', 'echo');
  await page.click('#upload-module button[type=submit]');
  await page.waitForSelector('tr[data-module="echo"]');
  await shot('modules');

  // Webhooks: invalid JSON is caught before submit; then create.
  await page.click('#nav a[href="#/webhooks"]');
  await page.selectOption('#webhook-module', 'echo');
  await page.fill('#webhook-payload', '{"tenant": ');
  await page.click('#create-webhook button[type=submit]');
  await page.waitForSelector('#payload-error:has-text("Not valid JSON")');
  await shot('webhook-invalid-payload');
  await page.fill('#webhook-payload', '{"tenant": "acme"}');
  await page.click('#create-webhook button[type=submit]');
  const urlCell = await page.waitForSelector('code.webhook-url');
  const hookUrl = await urlCell.textContent();
  if (!hookUrl.startsWith(`${server}/hooks/wh_`)) fail(`webhook URL ${hookUrl}`);
  const webhookId = await page.getAttribute('tr[data-webhook]', 'data-webhook');
  await page.click('tr[data-webhook] button:has-text("Copy")');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== hookUrl) fail(`copied ${copied}, want ${hookUrl}`);

  // Call it, then see the invocation appear.
  const answer = await fetch(hookUrl, { method: 'POST', body: 'hello from the ui test' });
  const echoed = await answer.json();
  if (answer.status !== 200 || echoed.payload.tenant !== 'acme') fail(`webhook answered ${answer.status} ${JSON.stringify(echoed)}`);
  // The invocation log is written in the background: look until it shows.
  for (let i = 0; ; i += 1) {
    await page.click('tr[data-webhook] button.show-invocations');
    try {
      await page.waitForSelector('tr.invocation td:has-text("200")', { timeout: 500 });
      break;
    } catch (e) {
      if (i === 20) throw e;
    }
  }
  await shot('webhooks-with-invocation');

  // Capture and replay: a second webhook that keeps its requests (the
  // checkbox of the form), called once; its invocation offers Replay.
  await page.check('#webhook-capture');
  const createdHook = await responseTo('POST', '/v1/webhooks', () => page.click('#create-webhook button[type=submit]'));
  if (createdHook.status() !== 201) fail(`creating a capturing webhook answered ${createdHook.status()}: ${await createdHook.text()}`);
  if (createdHook.request().postDataJSON().capture !== true) fail(`the webhook form sent ${createdHook.request().postData()}`);
  const captureHook = await createdHook.json();
  if (captureHook.capture !== true) fail(`the new webhook ${JSON.stringify(captureHook)} does not capture`);
  const captureRow = `tr[data-webhook="${captureHook.id}"]`;
  await page.waitForSelector(`${captureRow} td.webhook-capture:has-text("on")`);
  await page.waitForSelector(`${captureRow} button.toggle-capture`);
  const replayCall = await fetch(`${captureHook.url}?x=1`, { method: 'POST', body: 'replay me' });
  const replayEcho = await replayCall.json();
  if (replayCall.status !== 200 || replayEcho.body !== 'replay me') fail(`the capturing webhook answered ${replayCall.status} ${JSON.stringify(replayEcho)}`);
  const captureBox = `[data-webhook-invocations="${captureHook.id}"]`;
  for (let i = 0; ; i += 1) {
    await page.click(`${captureRow} button.show-invocations`);
    try {
      await page.waitForSelector(`${captureBox} tr.invocation button.replay-invocation`, { timeout: 500 });
      break;
    } catch (e) {
      if (i === 20) throw e;
    }
  }
  await page.waitForSelector(`${captureBox} details.captured-request summary:has-text("POST ")`);
  if (!(await page.textContent(`${captureBox} details.captured-request summary code`)).endsWith('?x=1')) fail('the captured request does not show its query');
  await page.click(`${captureBox} details.captured-request summary`);
  await page.waitForSelector(`${captureBox} details.captured-request pre.captured-body:has-text("replay me")`);
  const invocationId = await page.getAttribute(`${captureBox} tr.invocation`, 'data-invocation');
  const replayPath = `/v1/webhooks/${captureHook.id}/invocations/${invocationId}/replay`;

  // Replay it, not committed: the original and the replay side by side.
  await page.click(`${captureBox} tr.invocation button.replay-invocation`);
  await page.waitForSelector('#replay-panel #replay-module option[value="echo"]', { state: 'attached' });
  if (await page.inputValue('#replay-module') !== 'echo') fail('the replay module is not the webhook\'s');
  const replayed = await responseTo('POST', replayPath, () => page.click('#run-replay'));
  if (replayed.status() !== 200) fail(`the replay answered ${replayed.status()}: ${await replayed.text()}`);
  const replayAsked = replayed.request().postDataJSON();
  if (replayAsked.commit !== false || replayAsked.module !== 'echo') fail(`the replay panel sent ${JSON.stringify(replayAsked)}`);
  for (const side of ['original', 'replay']) {
    const at = `#replay-result .replay-side[data-side="${side}"]`;
    await page.waitForSelector(`${at} .replay-status:text-is("200")`);
    await page.waitForSelector(`${at} .replay-outcome:text-is("ok")`);
    const body = await (await page.waitForSelector(`${at} pre.replay-body:has-text("replay me")`)).textContent();
    if (!body.includes('"body":"replay me"')) fail(`the ${side} response shown is ${body}`);
  }
  await page.waitForSelector('#replay-result .replay-committed[data-committed="false"]');
  const logged = await page.evaluate(async (path) => (await (await fetch(path, { headers: { 'X-Hookhost-Workspace': 'default' } })).json()).data.length,
    `/v1/webhooks/${captureHook.id}/invocations`);
  if (logged !== 1) fail(`an uncommitted replay left ${logged} invocations`);
  await shot('replay');

  // Committed: logged as a new invocation, which the list then shows.
  await page.check('#replay-commit');
  const committed = await responseTo('POST', replayPath, () => page.click('#run-replay'));
  if (committed.status() !== 200) fail(`the committed replay answered ${committed.status()}: ${await committed.text()}`);
  if (committed.request().postDataJSON().commit !== true) fail('the replay panel did not ask to commit');
  await page.waitForSelector('#replay-result .replay-committed[data-committed="true"]');
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, `${captureBox} tr.invocation`);
  await page.waitForSelector(`${captureBox} #replay-panel`);
  // Capture can be turned off again.
  const toggled = await responseTo('PATCH', `/v1/webhooks/${captureHook.id}`, () => page.click(`${captureRow} button.toggle-capture`));
  if (JSON.stringify(toggled.request().postDataJSON()) !== '{"capture":false}') fail(`the capture toggle sent ${toggled.request().postData()}`);
  await page.waitForSelector(`${captureRow} td.webhook-capture:has-text("off")`);

  // Outgoing calls: a webhook whose handler may call the identity service
  // (set in the form) calls it and a host it may not call; the invocation
  // lists both. Then its hosts are changed from the row.
  await page.click('#nav a[href="#/modules"]');
  await page.setInputFiles('#module-file', fetcherWasm);
  await page.fill('#module-name', 'fetcher');
  await page.click('#upload-module button[type=submit]');
  await page.waitForSelector('tr[data-module="fetcher"]');
  await page.click('#nav a[href="#/webhooks"]');
  await page.selectOption('#webhook-module', 'fetcher');
  await page.fill('#webhook-payload', '{"mode": "fetch"}');
  await page.fill('#webhook-outbound-hosts', ` ${identityHost} `);
  const createdFetcher = await responseTo('POST', '/v1/webhooks', () => page.click('#create-webhook button[type=submit]'));
  if (createdFetcher.status() !== 201) fail(`creating the fetcher webhook answered ${createdFetcher.status()}: ${await createdFetcher.text()}`);
  const sentHosts = JSON.stringify(createdFetcher.request().postDataJSON().outbound_hosts);
  if (sentHosts !== JSON.stringify([identityHost])) fail(`the webhook form sent outbound_hosts ${sentHosts}`);
  const fetcher = await createdFetcher.json();
  const fetcherRow = `tr[data-webhook="${fetcher.id}"]`;
  await page.waitForSelector(`${fetcherRow} td.webhook-outbound-hosts:has-text("${identityHost}")`);
  const fetched = await fetch(fetcher.url, {
    method: 'POST',
    body: JSON.stringify({ requests: [{ url: `http://${identityHost}/users/1` }, { url: 'http://127.0.0.1:9/nope' }] }),
  });
  if (fetched.status !== 200) fail(`the fetcher answered ${fetched.status}: ${await fetched.text()}`);
  const fetcherBox = `[data-webhook-invocations="${fetcher.id}"]`;
  for (let i = 0; ; i += 1) {
    await page.click(`${fetcherRow} button.show-invocations`);
    try {
      await page.waitForSelector(`${fetcherBox} li.outbound-call .call-status:text-is("200")`, { timeout: 500 });
      break;
    } catch (e) {
      if (i === 20) throw e;
    }
  }
  await page.waitForSelector(`${fetcherBox} li.outbound-call code:has-text("GET ${identityHost}/users/1")`);
  await page.waitForSelector(`${fetcherBox} li.outbound-call .call-error:has-text("outbound_hosts")`);
  await shot('outgoing-calls');
  page.once('dialog', (d) => d.accept('api.example.com, *.example.org'));
  const hostsPatched = await responseTo('PATCH', `/v1/webhooks/${fetcher.id}`, () => page.click(`${fetcherRow} button.edit-outbound-hosts`));
  if (JSON.stringify(hostsPatched.request().postDataJSON()) !== '{"outbound_hosts":["api.example.com","*.example.org"]}') fail(`the hosts editor sent ${hostsPatched.request().postData()}`);
  await page.waitForSelector(`${fetcherRow} td.webhook-outbound-hosts:has-text("*.example.org")`);

  // Endpoints: create one whose receiver fails; send a test (fails). A
  // refused operator filter shows the server's message by the field.
  await page.click('#nav a[href="#/endpoints"]');
  await page.fill('.endpoint-form input[name=url]', receiverUrl);
  await page.fill('.endpoint-form input[name=events]', 'order.*');
  await page.fill('.endpoint-form textarea[name=filter]', '{"$and": [{"data.order": {"$gtt": 1}}]}');
  await page.click('.endpoint-form button[type=submit]');
  await page.waitForSelector('.endpoint-form .filter-error:has-text("filter.$and[0].data.order: unknown operator $gtt")');
  await page.fill('.endpoint-form textarea[name=filter]', '{"data.order": {"$gt": 40}}');
  // A custom header hookhost sets itself is refused by the field; another is kept.
  await page.fill('.endpoint-form textarea[name=headers]', 'Webhook-Signature: forged');
  await page.click('.endpoint-form button[type=submit]');
  await page.waitForSelector('.endpoint-form .headers-error:has-text("cannot be overridden")');
  await page.fill('.endpoint-form textarea[name=headers]', 'X-Team: billing');
  await page.fill('.endpoint-form input[name=rate]', '50');
  await page.fill('.endpoint-form input[name=burst]', '5');
  await page.selectOption('.endpoint-form select[name=ordering]', 'fifo');
  await page.click('.endpoint-form button[type=submit]');
  await page.waitForSelector('code.secret');
  await page.waitForSelector('tr[data-endpoint] .endpoint-header:has-text("X-Team: billing")');
  await page.waitForSelector('tr[data-endpoint] .endpoint-rate:has-text("at most 50/s, burst 5")');
  await page.waitForSelector('tr[data-endpoint] .endpoint-order:has-text("fifo")');
  await page.click('tr[data-endpoint] button.test-endpoint');
  await page.waitForSelector('.test-result:has-text("Test failed (HTTP 500)")');
  await shot('endpoints');

  // Events: send one; its delivery fails.
  await page.click('#nav a[href="#/events"]');
  await page.fill('#event-type', 'order.paid');
  await page.fill('#event-data', '{"order": 42}');
  await page.click('#send-event button[type=submit]');
  await page.waitForSelector('td:has-text("order.paid")');
  await shot('events');

  // Deliveries: filter by endpoint, see the failed attempt, recover the
  // receiver, retry, see success.
  await page.click('#nav a[href="#/deliveries"]');
  const option = await page.waitForSelector('#filter-endpoint option:nth-child(2)', { state: 'attached' });
  const endpointId = await option.getAttribute('value');
  await page.selectOption('#filter-endpoint', endpointId);
  await page.waitForFunction(() => location.hash.includes('endpoint='));
  await page.waitForSelector('#filter-endpoint option[selected]', { state: 'attached' });
  await page.locator('tr[data-delivery]:has(td:has-text("order.paid")) a').click();
  await page.waitForSelector('#delivery-detail tr.attempt td:has-text("500")');
  await page.waitForSelector('#delivery-detail pre:has-text("receiver is down")');
  await shot('deliveries-failed-attempt');
  failing = false;
  await page.click('#retry-delivery');
  await page.waitForFunction(() => document.querySelector('#delivery-detail h2')?.textContent.endsWith('success'), null, { timeout: TIMEOUT });
  await page.waitForSelector('#delivery-detail tr.attempt td.ok:has-text("200")');
  await page.click('#refresh');
  await page.waitForSelector('tr[data-delivery] td.status-success');
  await shot('deliveries-retried');
  if (!received.some((r) => !r.failing && r.body.includes('"order":42'))) fail('the receiver never got the event after recovering');

  // Workspaces: create "Acme"; it joins the switcher; default cannot be deleted.
  await page.click('#nav a[href="#/workspaces"]');
  await page.waitForSelector('tr[data-workspace="default"]');
  if (await page.locator('tr[data-workspace="default"] button.delete-workspace').count()) fail('the default workspace offers Delete');
  await page.fill('#workspace-name', 'Acme');
  await page.fill('#workspace-description', 'a customer');
  const created = await responseTo('POST', '/v1/workspaces', () => page.click('#create-workspace button[type=submit]'));
  if (created.status() !== 201) fail(`creating a workspace answered ${created.status()}`);
  const acme = (await created.json()).id;
  if (!/^ws_[0-9a-f]{32}$/.test(acme)) fail(`workspace id ${acme}`);
  await page.waitForSelector(`tr[data-workspace="${acme}"]:has-text("Acme")`);
  await page.waitForSelector(`#workspace-switcher option[value="${acme}"]`, { state: 'attached' });

  // Switch to it: the choice is kept, sent on every call, and its pages are empty.
  await page.selectOption('#workspace-switcher', acme);
  const kept = await page.evaluate(() => localStorage.getItem('hookhost_workspace'));
  if (kept !== acme) fail(`localStorage keeps ${kept}, want ${acme}`);
  const modulesResp = await responseTo('GET', '/v1/modules', () => page.click('#nav a[href="#/modules"]'));
  const named = (await modulesResp.request().allHeaders())['x-hookhost-workspace'];
  if (named !== acme) fail(`GET /v1/modules named workspace ${named}, want ${acme}`);
  await page.waitForSelector('#main p:has-text("No modules yet")');
  if (await page.locator('tr[data-module]').count()) fail('Acme lists modules of default');
  await page.click('#nav a[href="#/webhooks"]');
  await page.waitForSelector('#main p:has-text("No webhooks yet")');
  if (await page.locator('tr[data-webhook]').count()) fail('Acme lists webhooks of default');

  // Tokens: create one (its secret shown once, and it works), revoke it.
  await page.click('#nav a[href="#/tokens"]');
  await page.waitForSelector('#workspace-quotas');
  await page.selectOption('#token-role', 'read');
  await page.fill('#token-description', 'ci reader');
  await page.click('#create-token button[type=submit]');
  const secret = (await (await page.waitForSelector('#new-token-secret')).textContent()).trim();
  if (!secret.startsWith('hhk_')) fail(`the new token's secret shown is ${JSON.stringify(secret)}`);
  const tokenRow = await page.waitForSelector('tr[data-token]:has-text("ci reader")');
  const tokenId = await tokenRow.getAttribute('data-token');
  if (!(await tokenRow.textContent()).includes(secret.slice(-4))) fail('the token row does not show the secret\'s hint');
  const withToken = () => fetch(`${server}/v1/modules`, { headers: { authorization: `Bearer ${secret}` } });
  if ((await withToken()).status !== 200) fail('the new token is refused');
  await shot('tokens');
  page.once('dialog', (d) => d.accept());
  await page.click(`tr[data-token="${tokenId}"] button.revoke-token`);
  await page.waitForSelector(`tr[data-token="${tokenId}"]`, { state: 'detached' });
  if ((await withToken()).status !== 401) fail('the revoked token still works');

  // Event types: a schema that is not JSON is caught before sending; then add one.
  await page.click('#nav a[href="#/event-types"]');
  let eventTypePosts = 0;
  const countPosts = (r) => { if (r.method() === 'POST' && pathOf(r) === '/v1/event-types') eventTypePosts += 1; };
  page.on('request', countPosts);
  await page.fill('#event-type-name', 'invoice.paid');
  await page.fill('#event-type-description', 'An invoice was paid');
  await page.fill('#event-type-schema', '{"type": "object", "required": [');
  await page.click('#create-event-type button[type=submit]');
  await page.waitForSelector('#event-type-schema-error:has-text("Not valid JSON")');
  if (eventTypePosts) fail('a schema that is not JSON was sent');
  const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } };
  await page.fill('#event-type-schema', JSON.stringify(schema));
  const typeResp = await responseTo('POST', '/v1/event-types', () => page.click('#create-event-type button[type=submit]'));
  page.off('request', countPosts);
  if (typeResp.status() !== 201) fail(`adding an event type answered ${typeResp.status()}: ${await typeResp.text()}`);
  const sentType = typeResp.request().postDataJSON();
  if (JSON.stringify(sentType.schema) !== JSON.stringify(schema)) fail(`sent schema ${JSON.stringify(sentType.schema)}`);
  await page.waitForSelector('tr[data-event-type="invoice.paid"]:has-text("An invoice was paid")');
  await shot('event-types');
  // The schema holds in Acme: an event without `amount` is refused, one with it is accepted.
  await page.click('#nav a[href="#/events"]');
  await page.fill('#event-type', 'invoice.paid');
  await page.fill('#event-data', '{"total": 5}');
  const refusedEvent = await responseTo('POST', '/v1/events', () => page.click('#send-event button[type=submit]'));
  if (refusedEvent.status() < 400) fail(`an event against the schema answered ${refusedEvent.status()}`);
  await page.waitForSelector('#toast.error:not([hidden])');
  await page.fill('#event-data', '{"amount": 5}');
  await page.click('#send-event button[type=submit]');
  await page.waitForSelector('td:has-text("invoice.paid")');

  // Quotas and branding, then a read-only portal link.
  await page.click('#nav a[href="#/workspaces"]');
  await page.click(`tr[data-workspace="${acme}"] button.edit-workspace`);
  await page.fill('#edit-workspace input[name=max_webhooks]', '1');
  await page.fill('#edit-workspace input[name=accent_color]', '#aa3300');
  const patched = await responseTo('PATCH', `/v1/workspaces/${acme}`, () => page.click('#edit-workspace button[type=submit]'));
  if (patched.status() !== 200) fail(`saving quotas answered ${patched.status()}: ${await patched.text()}`);
  const patch = patched.request().postDataJSON();
  if (JSON.stringify(patch.quotas) !== '{"max_webhooks":1}' || JSON.stringify(patch.branding) !== '{"accent_color":"#aa3300"}') {
    fail(`the quotas form sent ${JSON.stringify(patch)}`);
  }
  await page.waitForSelector(`tr[data-workspace="${acme}"] .workspace-quotas:has-text("webhooks ≤ 1")`);
  const swatch = await page.$eval(`tr[data-workspace="${acme}"] .swatch`, (el) => getComputedStyle(el).backgroundColor);
  if (swatch !== 'rgb(170, 51, 0)') fail(`the accent swatch is ${swatch}`);
  await page.click(`tr[data-workspace="${acme}"] button.portal-workspace`);
  await page.check('#portal-read-only');
  await page.selectOption('#portal-ttl', '24h');
  const linkResp = await responseTo('POST', `/v1/workspaces/${acme}/portal`, () => page.click('#create-portal-link'));
  const linkAsked = linkResp.request().postDataJSON();
  if (linkAsked.ttl !== '24h' || linkAsked.read_only !== true) fail(`the portal link form sent ${JSON.stringify(linkAsked)}`);
  const portalLink = await page.waitForSelector('a#portal-url');
  const portalUrl = await portalLink.getAttribute('href');
  if (!portalUrl.startsWith(`${server}/portal/#hhp_`)) fail(`portal link ${portalUrl}`);
  if ((await portalLink.textContent()) !== portalUrl) fail('the portal link shows another text than its address');
  if (await portalLink.getAttribute('target') !== '_blank' || !(await portalLink.getAttribute('rel')).includes('noopener')) fail('the portal link opens without noopener');
  await page.click('#copy-portal-url');
  if (await page.evaluate(() => navigator.clipboard.readText()) !== portalUrl) fail('the copied portal link differs');
  await shot('workspaces');

  // Back in default: the health page charts the endpoint's attempts and the webhook's invocation.
  await page.selectOption('#workspace-switcher', 'default');
  const statsResp = await responseTo('GET', '/v1/stats', () => page.click('#nav a[href="#/health"]'));
  if (statsResp.status() !== 200) fail(`GET /v1/stats answered ${statsResp.status()}: ${await statsResp.text()}`);
  if ((await statsResp.request().allHeaders())['x-hookhost-workspace'] !== 'default') fail('the health page did not ask for default');
  const stats = await statsResp.json();
  const epStats = stats.endpoints.find((e) => e.endpoint_id === endpointId) || fail(`the stats lack endpoint ${endpointId}`);
  if (epStats.failed < 1 || epStats.succeeded < 1) fail(`endpoint stats ${JSON.stringify(epStats)}: want a failed and a succeeded attempt`);
  const epChart = `.health-chart[data-endpoint-id="${endpointId}"]`;
  await page.waitForSelector(`${epChart}:has-text("of ${epStats.attempts} attempts succeeded")`);
  await page.waitForSelector(`${epChart} svg rect.bar-failed`);
  await page.waitForSelector(`${epChart} svg rect.bar-ok`);
  const whStats = stats.webhooks.find((w) => w.webhook_id === webhookId) || fail(`the stats lack webhook ${webhookId}`);
  if (whStats.invocations < 1) fail(`webhook stats ${JSON.stringify(whStats)}`);
  await page.waitForSelector(`.health-chart[data-webhook-id="${webhookId}"]:has-text("${whStats.invocations} invocation")`);
  await shot('health');

  // Deleting Acme (it holds an event) is refused first; "Delete everything" removes it.
  await page.click('#nav a[href="#/workspaces"]');
  page.once('dialog', (d) => d.accept());
  const refusedDelete = await responseTo('DELETE', `/v1/workspaces/${acme}`, () => page.click(`tr[data-workspace="${acme}"] button.delete-workspace`));
  if (refusedDelete.status() !== 409) fail(`deleting a workspace with records answered ${refusedDelete.status()}`);
  const conflict = (await refusedDelete.json()).error.message;
  await page.waitForSelector('#force-delete-workspace');
  if ((await page.textContent('#workspace-output .delete-conflict p')) !== conflict) fail(`the refusal shown is not the server's: ${conflict}`);
  page.once('dialog', (d) => d.accept());
  await page.click('#force-delete-workspace');
  await page.waitForSelector(`tr[data-workspace="${acme}"]`, { state: 'detached' });
  await page.waitForSelector(`#workspace-switcher option[value="${acme}"]`, { state: 'detached' });

  // Sign out: the session is gone.
  await page.click('#logout');
  await page.waitForSelector('#login');
  const after = await page.evaluate(async () => (await fetch('/v1/modules')).status);
  if (after !== 401) fail(`after sign-out the API answered ${after}`);
  if (consoleErrors.length) fail(`browser console errors: ${consoleErrors.join('; ')}`);
  console.log(`ui test passed; screenshots in ${shots}`);
} catch (e) {
  await shot('failure').catch(() => {});
  console.error(`ui test failed at step ${step}: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  identity.close();
  receiver.close();
}
