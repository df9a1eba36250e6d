// Plays an attacker against the dashboard in Debian's headless Chromium with
// playwright-core: a webhook handler serves an HTML page whose script, opened
// in a browser signed in to the dashboard on the same origin, tries to use
// the dashboard's authority (read the CSRF token, create an endpoint, read
// cookies), and whose response tries to overwrite the session cookie.
//
//   node attack.mjs <server-url> <admin-token> <hook-url> [<hook-url>...]
//
// Signs in, checks the session, opens each hook page in the same tab, reports
// what its script managed (the page sets `document.title` to `attack-started`
// at once and to `attack-done:<json>` when finished; a title still the page's
// own means the inline script never ran) and the page's response headers,
// then goes back to the dashboard and checks the session still works.
// Prints a final `RESULT {...}` line. Exits non-zero if a browser step fails
// or the session no longer works; the caller judges the rest through the API.
import { chromium } from 'playwright-core';

const [server, token, ...hooks] = process.argv.slice(2);
if (!hooks.length) {
  console.error('usage: node attack.mjs <server-url> <admin-token> <hook-url> [<hook-url>...]');
  process.exit(2);
}
const TIMEOUT = 15000;
const SESSION_COOKIE = 'hookhost_session';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));

const result = { signed_in: false, hooks: [], session_after: null };
function fail(message) { throw new Error(message); }

// What the dashboard's own page may do with its session: GET statuses.
async function sessionStatus() {
  return page.evaluate(async () => ({
    ui_session: (await fetch('/ui/session')).status,
    v1_modules: (await fetch('/v1/modules')).status,
  }));
}
const works = (s) => s.ui_session === 200 && s.v1_modules === 200;

// The session cookies in the jar, values hidden unless planted by the attack.
async function jar() {
  return (await context.cookies([`${server}/`, `${server}/ui/`, `${server}/v1/`]))
    .filter((c) => c.name === SESSION_COOKIE)
    .map((c) => ({ path: c.path, value: c.value.startsWith('evil') ? c.value : '<session>' }));
}

try {
  // Sign in through the dashboard's form, as a user would.
  await page.goto(`${server}/ui/`);
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
  const before = await sessionStatus();
  if (!works(before)) fail(`the fresh session does not work: ${JSON.stringify(before)}`);
  result.signed_in = true;
  result.session_before = before;
  result.cookies_before = await jar();

  for (const hook of hooks) {
    const seen = { url: hook };
    result.hooks.push(seen);
    // Same tab, same context: the browser is signed in to the dashboard.
    const response = await page.goto(hook, { waitUntil: 'load' });
    if (!response) fail(`no response for ${hook}`);
    seen.status = response.status();
    const headers = await response.headersArray();
    const all = (name) => headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
    seen.headers = {
      'content-type': all('content-type'),
      'content-security-policy': all('content-security-policy'),
      'x-content-type-options': all('x-content-type-options'),
      'set-cookie': all('set-cookie'),
    };
    // Inline scripts run before the load event: by now the title is
    // `attack-started` (still working) or `attack-done:...`, or the page's
    // own if the script was blocked.
    let title = await page.title();
    if (title === 'attack-started' || title.startsWith('attack-done')) {
      seen.script_ran = true;
      await page.waitForFunction(() => document.title.startsWith('attack-done'), null, { timeout: TIMEOUT });
      title = await page.title();
      seen.results = JSON.parse(title.slice('attack-done:'.length));
    } else {
      seen.script_ran = false;
      seen.title = title;
    }
    seen.cookies_after = await jar();
    console.log(`hook page ${hook}: HTTP ${seen.status}; headers ${JSON.stringify(seen.headers)}`);
    console.log(seen.script_ran
      ? `  its script ran: ${JSON.stringify(seen.results)}`
      : `  its script was blocked (title still ${JSON.stringify(title)})`);
    console.log(`  session cookies now: ${JSON.stringify(seen.cookies_after)}`);
  }

  // Back to the dashboard: the session must have survived the hook pages.
  await page.goto(`${server}/ui/`);
  result.session_after = await sessionStatus();
  result.session_valid_after = works(result.session_after);
  result.csrf_obtained = result.hooks.some((h) => h.results?.csrf);
  console.log(`dashboard session after the hook pages: ${JSON.stringify(result.session_after)}`);
  if (!result.session_valid_after) {
    console.error(`the dashboard session no longer works after the hook pages: ${JSON.stringify(result.session_after)}`);
    process.exitCode = 1;
  }
} catch (e) {
  result.error = e.message;
  console.error(`attack test failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  if (consoleLines.length) console.log(`browser console:\n  ${consoleLines.join('\n  ')}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  await browser.close();
}
