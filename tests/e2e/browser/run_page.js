// Opens the wss test page in headless Chromium (Debian's, driven by playwright-core) and
// prints what the page's MQTT.js client reported: `node run_page.js PAGE_URL`.
const { chromium } = require('playwright-core');

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // The test CA is made for this run and never installed: these flags accept its
    // server certificate.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--ignore-certificate-errors', '--allow-insecure-localhost'],
  });
  const notes = [];
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.on('console', (m) => notes.push(m.text()));
    page.on('pageerror', (e) => notes.push(e.message));
    await page.goto(process.argv[2]);
    await page.waitForFunction(() => document.getElementById('result').textContent !== 'pending',
                               null, { timeout: 15000 });
    console.log(await page.textContent('#result'));
  } catch (e) {
    console.log('failed: ' + e.message.split('\n')[0] + ' / page said: ' + notes.join(' | '));
  } finally {
    await browser.close();
  }
})();
