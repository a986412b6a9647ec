// The demo light app in headless Chromium: the JSSDK's fail callback for a
// logged-out user, login, consent and a ticket exchanged by the app's
// server (the masked name it received), the "already logged in" answer,
// the fail callback after the user revoked the authorization, and logout.
//
//   node e2e/lightapp.mjs <base URL> <username> <password>
//
// Prints one JSON object of what the page showed at each step.
import { chromium } from 'playwright-core';

const [base, username, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const page = await browser.newPage();
  let consent = 'accept';
  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    if (consent === 'accept') await d.accept(); else await d.dismiss();
  });
  const step = async (button) => {
    await page.evaluate(() => { delete document.getElementById('result').dataset.kind; });
    await page.click(button);
    await page.waitForFunction(() => document.getElementById('result').dataset.kind, null, { timeout: 15000 });
    return page.evaluate(() => { const r = document.getElementById('result'); return { kind: r.dataset.kind, text: r.textContent }; });
  };
  await page.goto(base + '/demo/lightapp/');
  out.loggedOut = await step('#ticket');

  await page.evaluate(() => { delete document.getElementById('result').dataset.kind; });
  await page.click('#login');
  await page.fill('#govmobile-login input[name=username]', username);
  await page.fill('#govmobile-login input[name=password]', password);
  await page.click('#govmobile-login button[type=submit]');
  await page.waitForFunction(() => document.getElementById('result').dataset.kind, null, { timeout: 15000 });
  out.login = await page.evaluate(() => { const r = document.getElementById('result'); return { kind: r.dataset.kind, text: r.textContent }; });

  out.user = await step('#ticket');
  out.consentPrompt = dialogs[0] || '';
  out.again = await step('#login');

  // The user revokes the authorization in the user centre, then declines
  // when the app asks again.
  out.revoke = await page.evaluate(async () => {
    const t = localStorage.getItem('govmobile.ticket');
    const appId = document.querySelector('script[data-app-id]').getAttribute('data-app-id');
    const r = await fetch('/graphql', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + t },
      body: JSON.stringify({ query: 'mutation($id: ID!) { revokeAppAuthorization(appId: $id) }', variables: { id: appId } }) });
    return r.json();
  });
  consent = 'dismiss';
  out.revoked = await step('#ticket');
  out.promptAgain = dialogs[1] || '';
  out.logout = await step('#logout');
  out.afterLogout = await step('#ticket');
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
