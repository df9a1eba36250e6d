// Drives the dashboard in Debian's headless Chromium with playwright-core:
// sign in, upload a module, create a webhook (after a rejected invalid
// payload), call it, see the invocation, create an endpoint whose receiver
// fails (after a refused operator filter and a refused custom header), send an event, see the failed attempt, retry after the receiver
// recovers, see success. Saves a screenshot of each page.
//
//   node run.mjs <server-url> <admin-token> <component.wasm> <screenshot-dir>
//
// Exits non-zero with a message on the first expectation that fails.
import { chromium } from 'playwright-core';
import http from 'node:http';
import { mkdirSync } from 'node:fs';

const [server, token, wasm, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node run.mjs <server-url> <admin-token> <component.wasm> <screenshot-dir>');
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
  receiver.close();
}
