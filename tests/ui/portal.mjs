// Drives the customer portal in Debian's headless Chromium with
// playwright-core: open a workspace's portal link, see its branding, its
// endpoints and nothing of another workspace; create an endpoint (after a
// filter that is not JSON is caught), edit, disable and enable it, see and
// rotate its secret, send it a test event; see deliveries and a failed
// attempt, retry it, recover an endpoint; delete the endpoint; see the
// failing endpoint's health chart. Then a
// read-only link shows no changing action, and an expired, an altered and
// a missing link are refused. Saves screenshots along the way.
//
//   node portal.mjs <config.json>
//
// The config (written by the Rust test that starts the server) holds:
// base, link, read_only_link, expired_link, tampered_link, receiver,
// failing_receiver, a_endpoints, a_failed_delivery, b_endpoints, b_urls,
// b_deliveries, event_type, display_name, accent_color, shots, and
// optionally event_description (default "An invoice was paid").
//
// Prints a line per passed step; exits non-zero with a message on the first
// expectation that fails.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node portal.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const required = ['base', 'link', 'read_only_link', 'expired_link', 'tampered_link', 'receiver', 'a_endpoints',
  'a_failed_delivery', 'b_endpoints', 'b_urls', 'b_deliveries', 'event_type', 'display_name', 'accent_color', 'shots'];
const missing = required.filter((k) => cfg[k] === undefined);
if (missing.length) {
  console.error(`${configPath} lacks ${missing.join(', ')}`);
  process.exit(2);
}
const eventDescription = cfg.event_description || 'An invoice was paid';
mkdirSync(cfg.shots, { recursive: true });
const TIMEOUT = 15000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

function fail(message) { throw new Error(message); }
const fragment = (link) => new URL(link).hash.slice(1);

// Every portal page opened, with what it asked of the API.
const opened = [];
let current = null;
const consoleErrors = [];

/** Opens `link` in a fresh context (no shared sessionStorage), in UTC. */
async function open(link, { refused = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const entry = { link, page, refused, requests: [], failures: [] };
  opened.push(entry);
  current = page;
  // Refused requests (the 401s provoked here) are logged by Chromium; other
  // errors (a CSP violation, a script error) are not expected.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(`${link}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${link}: ${e.message}`));
  page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/v1/')) entry.requests.push(r); });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/v1/') && r.status() >= 400) {
      entry.failures.push(`${r.request().method()} ${new URL(r.url()).pathname} answered ${r.status()}`);
    }
  });
  await page.goto(link);
  return page;
}

/** Waits for an element matching `selector` whose text contains `text`. */
async function expectText(scope, selector, text, what) {
  try {
    await scope.locator(selector).filter({ hasText: text }).first().waitFor();
  } catch {
    const found = await scope.locator(selector).allTextContents().catch(() => []);
    fail(`${what}: no ${selector} containing ${JSON.stringify(text)}; found ${JSON.stringify(found)}`);
  }
}

/** Fails if any element matching `selector` is visible. */
async function expectNoneVisible(page, selector, what) {
  for (const el of await page.locator(selector).all()) {
    if (await el.isVisible()) fail(`${what}: ${selector} is visible`);
  }
}

/** Runs `action` and returns the API response to `method path` it caused. */
async function apiCall(page, method, path, action) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path),
    action(),
  ]);
  return resp;
}

async function expectStatus(resp, status) {
  if (resp.status() !== status) {
    fail(`${resp.request().method()} ${new URL(resp.url()).pathname} answered ${resp.status()}, want ${status}: ${await resp.text()}`);
  }
}

/** Fails if the page shows anything of workspace B. */
async function expectNothingOfB(page, where) {
  const html = await page.content();
  for (const x of [...cfg.b_endpoints, ...cfg.b_urls, ...cfg.b_deliveries]) {
    if (html.includes(x)) fail(`${where}: the page shows ${x} of another workspace`);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: `${cfg.shots}/${name}.png`, fullPage: true });
}

let step = 0;
function passed(message) { console.log(`step ${step} ok: ${message}`); }

try {
  // 1. The link opens the workspace: name, accent, its endpoints, none of B's.
  step = 1;
  const page = await open(cfg.link);
  const card = (id) => page.locator(`#endpoint-list [data-endpoint-id="${id}"]`);
  await page.waitForFunction((name) => document.getElementById('portal-name')?.textContent === name, cfg.display_name)
    .catch(async () => fail(`header shows ${JSON.stringify(await page.textContent('#portal-name'))}, want ${JSON.stringify(cfg.display_name)}`));
  for (const id of cfg.a_endpoints) await card(id).waitFor().catch(() => fail(`endpoint ${id} of the workspace is not listed`));
  if (new URL(page.url()).hash) fail(`the credential stays in the address bar: ${page.url()}`);
  const stored = await page.evaluate(() => sessionStorage.getItem('hookhost_portal'));
  if (stored !== fragment(cfg.link)) fail(`sessionStorage holds ${JSON.stringify(stored)}, not the link's credential`);
  const accent = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim());
  if (accent.toLowerCase() !== cfg.accent_color.toLowerCase()) fail(`--accent is ${JSON.stringify(accent)}, want ${cfg.accent_color}`);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(cfg.accent_color.slice(i, i + 2), 16));
  const buttonColor = await page.evaluate(() => getComputedStyle(document.getElementById('create-endpoint')).backgroundColor);
  if (buttonColor !== `rgb(${r}, ${g}, ${b})`) fail(`the create button's background is ${buttonColor}, want the accent ${cfg.accent_color}`);
  await expectNothingOfB(page, 'endpoints');
  await shot(page, 'portal-endpoints');
  // A reload (the fragment gone) keeps working from sessionStorage.
  await page.reload();
  await card(cfg.a_endpoints[0]).waitFor().catch(() => fail('after a reload the endpoints are not listed'));
  passed('the link opens the workspace with its name, accent and endpoints, nothing of another workspace');

  // 2. The catalogue; create an endpoint (a filter that is not JSON is caught first).
  step = 2;
  await page.click('#tab-catalogue');
  await expectText(page, `#catalogue tr[data-event-type="${cfg.event_type}"]`, eventDescription, 'catalogue');
  await page.click('#tab-endpoints');
  await page.fill('#new-url', cfg.receiver);
  await page.fill('#new-description', 'portal test endpoint');
  await page.check(`#create-form input[name=events][value="${cfg.event_type}"]`);
  const filter = { 'data.amount': { $gt: 10 } };
  await page.fill('#new-filter', '{"data.amount": ');
  const entry = opened[opened.length - 1];
  const postsBefore = entry.requests.filter((q) => q.method() === 'POST').length;
  await page.click('#create-endpoint');
  await expectText(page, '#new-filter-error', 'not valid JSON', 'a filter that is not JSON');
  if (entry.requests.filter((q) => q.method() === 'POST').length !== postsBefore) fail('a filter that is not JSON was sent');
  await page.fill('#new-filter', JSON.stringify(filter));
  const createResp = await apiCall(page, 'POST', '/v1/endpoints', () => page.click('#create-endpoint'));
  await expectStatus(createResp, 201);
  const sent = createResp.request().postDataJSON();
  const want = { url: cfg.receiver, description: 'portal test endpoint', events: [cfg.event_type], filter };
  if (!isDeepStrictEqual(sent, want)) fail(`created with ${JSON.stringify(sent)}, want ${JSON.stringify(want)}`);
  const created = await createResp.json();
  const id = created.id;
  const newSecret = (await page.locator('#new-secret').textContent()).trim();
  if (!newSecret.startsWith('whsec_') || newSecret !== created.secret) fail(`the new secret shown is ${JSON.stringify(newSecret)}`);
  await card(id).waitFor().catch(() => fail(`the new endpoint ${id} is not listed`));
  await expectText(card(id), '.endpoint-url', cfg.receiver, 'new endpoint URL');
  await expectText(card(id), '.endpoint-events', cfg.event_type, 'new endpoint events');
  await expectText(card(id), '.endpoint-filter', '"$gt":10', 'new endpoint filter');
  await shot(page, 'portal-created');
  passed(`created ${id} with a filter; secret shown once`);

  // 3. Edit its description (only that is sent); disable it, enable it again.
  step = 3;
  await card(id).locator('button.edit-endpoint').click();
  await card(id).locator('.edit-description').fill('portal test endpoint, edited');
  const editResp = await apiCall(page, 'PATCH', `/v1/endpoints/${id}`, () => card(id).locator('button.save-endpoint').click());
  await expectStatus(editResp, 200);
  const patch = editResp.request().postDataJSON();
  if (!isDeepStrictEqual(patch, { description: 'portal test endpoint, edited' })) fail(`the edit sent ${JSON.stringify(patch)}`);
  await expectText(card(id), '.endpoint-description', 'portal test endpoint, edited', 'edited description');
  let toggle = await apiCall(page, 'PATCH', `/v1/endpoints/${id}`, () => card(id).locator('button.toggle-endpoint').click());
  await expectStatus(toggle, 200);
  if (!isDeepStrictEqual(toggle.request().postDataJSON(), { active: false })) fail(`disabling sent ${toggle.request().postData()}`);
  await expectText(card(id), '.endpoint-state', 'disabled', 'disabled endpoint');
  toggle = await apiCall(page, 'PATCH', `/v1/endpoints/${id}`, () => card(id).locator('button.toggle-endpoint').click());
  await expectStatus(toggle, 200);
  if (!isDeepStrictEqual(toggle.request().postDataJSON(), { active: true })) fail(`enabling sent ${toggle.request().postData()}`);
  await expectText(card(id), '.endpoint-state', 'active', 'enabled endpoint');
  passed('edited the description, disabled and enabled the endpoint');

  // 4. See the secret; rotate it (two clicks): the shown secret changes.
  step = 4;
  await card(id).locator('button.show-secret').click();
  await expectText(card(id), '.secret-value', 'whsec_', 'secret');
  const before = (await card(id).locator('.secret-value').textContent()).trim();
  if (before !== created.secret) fail(`the secret shown (${before}) is not the one given at creation`);
  await card(id).locator('button.rotate-secret').click();
  await expectText(card(id), 'button.rotate-secret', 'Confirm', 'rotation asks for a second click');
  const rotateResp = await apiCall(page, 'POST', `/v1/endpoints/${id}/rotate-secret`, () => card(id).locator('button.rotate-secret').click());
  await expectStatus(rotateResp, 200);
  const rotated = (await rotateResp.json()).secret;
  await page.waitForFunction(([sel, old]) => {
    const t = document.querySelector(sel)?.textContent.trim();
    return t && t.startsWith('whsec_') && t !== old;
  }, [`#endpoint-list [data-endpoint-id="${id}"] .secret-value`, before])
    .catch(() => fail('the shown secret did not change after rotating'));
  const after = (await card(id).locator('.secret-value').textContent()).trim();
  if (after !== rotated) fail(`after rotating the page shows ${after}, the API gave ${rotated}`);
  passed('secret shown and rotated');

  // 5. A test event reaches the receiver.
  step = 5;
  const testResp = await apiCall(page, 'POST', `/v1/endpoints/${id}/test`, () => card(id).locator('button.test-endpoint').click());
  await expectStatus(testResp, 200);
  const test = await testResp.json();
  await expectText(card(id), '.test-result', 'HTTP 200', 'test result');
  await expectText(card(id), '.test-result', 'delivered', 'test result');
  passed(`test event delivered (${test.delivery_id})`);

  // 6. Deliveries: the test one is listed, B's are not; the failed one's attempt.
  step = 6;
  await page.click('#tab-deliveries');
  const row = (d) => page.locator(`#deliveries tr[data-delivery-id="${d}"]`);
  await row(test.delivery_id).waitFor().catch(() => fail(`the test delivery ${test.delivery_id} is not listed`));
  await row(cfg.a_failed_delivery).waitFor().catch(() => fail(`the failed delivery ${cfg.a_failed_delivery} is not listed`));
  await expectNothingOfB(page, 'deliveries');
  // Filtered by endpoint: only that endpoint's deliveries.
  const ep0 = cfg.a_endpoints[0];
  const filtered = await apiCall(page, 'GET', '/v1/deliveries', () => page.selectOption('#delivery-endpoint', ep0));
  await expectStatus(filtered, 200);
  if (new URL(filtered.url()).searchParams.get('endpoint') !== ep0) fail(`the endpoint filter asked ${filtered.url()}`);
  const onlyEp0 = (await filtered.json()).data;
  if (onlyEp0.some((d) => d.endpoint_id !== ep0)) fail('the endpoint filter listed deliveries to other endpoints');
  await row(test.delivery_id).waitFor({ state: 'detached' }).catch(() => fail('the endpoint filter still lists the test delivery'));
  const shown = await page.locator('#deliveries tr[data-delivery-id]').count();
  if (shown !== onlyEp0.length) fail(`the filtered list shows ${shown} deliveries, the API gave ${onlyEp0.length}`);
  await apiCall(page, 'GET', '/v1/deliveries', () => page.selectOption('#delivery-endpoint', ''));
  await row(test.delivery_id).waitFor().catch(() => fail('without the filter the test delivery is not listed'));
  await row(cfg.a_failed_delivery).locator('button.open-delivery').click();
  await expectText(page, '#delivery-detail tr.attempt .attempt-status', '500', 'failed attempt status');
  await expectText(page, '#delivery-detail tr.attempt pre.attempt-body', 'nope', 'failed attempt response body');
  await shot(page, 'portal-delivery');
  passed('deliveries listed (and filtered by endpoint), the failed attempt shown, nothing of another workspace');

  // 7. Retry the failed delivery.
  step = 7;
  const retryResp = await apiCall(page, 'POST', `/v1/deliveries/${cfg.a_failed_delivery}/retry`, () => page.click('#retry-delivery'));
  await expectStatus(retryResp, 202);
  await expectText(page, '#retry-result', 'Queued again', 'retry');
  passed('retried the failed delivery');

  // 8. Recover the failing endpoint since an hour ago (the page runs in UTC).
  step = 8;
  await page.click('#tab-endpoints');
  const hourAgo = Date.now() - 3600 * 1000;
  await card(ep0).locator('input.recover-since').fill(new Date(hourAgo).toISOString().slice(0, 16));
  const recoverResp = await apiCall(page, 'POST', `/v1/endpoints/${ep0}/recover`, () => card(ep0).locator('button.recover-endpoint').click());
  await expectStatus(recoverResp, 202);
  const since = Date.parse(recoverResp.request().postDataJSON().since);
  if (!(Math.abs(since - hourAgo) < 120 * 1000)) fail(`recover sent since=${recoverResp.request().postDataJSON().since}, want about an hour ago`);
  const { requeued } = await recoverResp.json();
  await expectText(card(ep0), '.recover-result', `${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'} queued again`, 'recover');
  passed(`recovered ${ep0}: ${requeued} queued again`);

  // 9. Delete the endpoint created in step 2 (two clicks).
  step = 9;
  await card(id).locator('button.delete-endpoint').click();
  await expectText(card(id), 'button.delete-endpoint', 'Confirm delete', 'deleting asks for a second click');
  const deleteResp = await apiCall(page, 'DELETE', `/v1/endpoints/${id}`, () => card(id).locator('button.delete-endpoint').click());
  await expectStatus(deleteResp, 204);
  await card(id).waitFor({ state: 'detached' }).catch(() => fail('the deleted endpoint is still listed'));
  for (const e of cfg.a_endpoints) await card(e).waitFor().catch(() => fail(`endpoint ${e} vanished with the deleted one`));
  if (await page.locator('#error').isVisible()) fail(`the page shows an error: ${await page.textContent('#error')}`);
  passed(`deleted ${id}`);

  // 10. Health: the failing endpoint's attempts per hour, as the API counted them.
  step = 10;
  const statsResp = await apiCall(page, 'GET', '/v1/stats', () => page.click('#tab-health'));
  await expectStatus(statsResp, 200);
  const stats = await statsResp.json();
  if (stats.webhooks.length) fail(`the portal's stats list webhooks: ${JSON.stringify(stats.webhooks)}`);
  const ep0Stats = stats.endpoints.find((e) => e.endpoint_id === ep0) || fail(`the stats lack endpoint ${ep0}`);
  if (ep0Stats.failed < 1) fail(`the failing endpoint's stats show no failed attempt: ${JSON.stringify(ep0Stats)}`);
  const chart = `#health-section .health-chart[data-endpoint-id="${ep0}"]`;
  await expectText(page, chart, `of ${ep0Stats.attempts} attempt`, 'health chart of the failing endpoint');
  await page.locator(`${chart} svg rect.bar-failed`).first().waitFor().catch(() => fail('the health chart draws no failed attempt'));
  await expectNothingOfB(page, 'health');
  await shot(page, 'portal-health');
  passed(`health shows ${ep0Stats.attempts} attempts to ${ep0}, ${ep0Stats.failed} failed`);

  // 11. A read-only link: the same endpoints, no action that changes anything.
  step = 11;
  const ro = await open(cfg.read_only_link);
  for (const e of cfg.a_endpoints) {
    await ro.locator(`#endpoint-list [data-endpoint-id="${e}"]`).waitFor().catch(() => fail(`read-only: endpoint ${e} is not listed`));
  }
  await ro.locator('#read-only-badge').waitFor().catch(() => fail('read-only: no read-only badge'));
  const changing = ['#create-form', '#create-endpoint', 'button.edit-endpoint', 'button.toggle-endpoint', 'button.test-endpoint',
    'button.rotate-secret', 'button.delete-endpoint', '.recover-form', 'button.recover-endpoint', 'button.show-secret'];
  for (const sel of changing) await expectNoneVisible(ro, sel, 'read-only endpoints');
  await shot(ro, 'portal-read-only');
  await ro.click('#tab-deliveries');
  await ro.locator(`#deliveries tr[data-delivery-id="${cfg.a_failed_delivery}"] button.open-delivery`).click();
  await expectText(ro, '#delivery-detail tr.attempt .attempt-status', '500', 'read-only delivery detail');
  await expectNoneVisible(ro, '#retry-delivery', 'read-only delivery detail');
  await expectNothingOfB(ro, 'read-only deliveries');
  passed('the read-only link lists endpoints and deliveries, offers no change');

  // 12. Expired and altered links are refused, saying why.
  step = 12;
  const expired = await open(cfg.expired_link, { refused: true });
  await expectText(expired, '#refused', 'expired', 'expired link');
  if (await expired.locator('[data-endpoint-id]').count()) fail('an expired link shows endpoints');
  await shot(expired, 'portal-expired');
  const tampered = await open(cfg.tampered_link, { refused: true });
  await expectText(tampered, '#refused', 'not valid', 'altered link');
  if (await tampered.locator('[data-endpoint-id]').count()) fail('an altered link shows endpoints');
  await shot(tampered, 'portal-tampered');
  passed('expired and altered links are refused');

  // 13. No link at all: refused without asking the API.
  step = 13;
  const none = await open(`${cfg.base}/portal/`, { refused: true });
  await none.locator('#refused').waitFor().catch(() => fail('the portal without a link is not refused'));
  await shot(none, 'portal-no-link');
  passed('the portal without a link is refused');

  // Throughout: only the portal's API, with the link's credential, and (on
  // working links) no refused call; the read-only page changed nothing.
  step = 14;
  const allowed = /^\/v1\/(portal\/session|endpoints(\/[^/]+(\/(secret|rotate-secret|recover|test))?)?|deliveries(\/[^/]+(\/retry)?)?|event-types(\/[^/]+)?|stats)$/;
  for (const { link, requests, failures, refused } of opened) {
    for (const q of requests) {
      const path = new URL(q.url()).pathname;
      if (!allowed.test(path)) fail(`${link} called ${q.method()} ${path}, outside the portal's API`);
      const headers = await q.allHeaders();
      if (headers.authorization !== `Bearer ${fragment(link)}`) fail(`${q.method()} ${path} went without the link's credential`);
      if (headers.cookie) fail(`${q.method()} ${path} sent cookies`);
      if (link === cfg.read_only_link && q.method() !== 'GET') fail(`the read-only page sent ${q.method()} ${path}`);
    }
    if (!refused && failures.length) fail(`${link}: unexpected API answers: ${failures.join('; ')}`);
  }
  if (opened.at(-1).requests.length) fail('the portal without a link called the API');
  if (consoleErrors.length) fail(`browser console errors: ${consoleErrors.join('; ')}`);
  passed('only the portal API was called, always with the link\'s credential; no console errors');
  console.log(`portal ui test passed; screenshots in ${cfg.shots}`);
} catch (e) {
  if (current) await shot(current, 'portal-failure').catch(() => {});
  console.error(`portal ui test failed at step ${step}: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
