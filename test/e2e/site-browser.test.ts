// The explorer exported as a static site (`backprop explorer --export DIR`), served by a plain static file
// server written here (no COOP/COEP unless asked, under a sub-path as GitHub Pages serves a project site),
// in real headless Chromium: view 3 gets cross-origin isolation from the server's headers where it sends
// them (threaded, no service worker), otherwise from the shipped coi-serviceworker after one reload
// (threaded), otherwise — service workers blocked — runs on one thread and says so. Each case trains a
// few windows of the tiny preset and checks the loss falls. Chromium is required (CHROMIUM_PATH).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from './chromium.js';
import { root } from './cli-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'backprop-site-'));
const site = join(work, 'site');
/** A host name that Chromium resolves to 127.0.0.1 (launch flag below) but, not being localhost, treats as insecure. */
const INSECURE_HOST = 'backprop.test';
const BASE = '/backprop/';   // a project site on GitHub Pages lives under /<repository>/
let browser: Browser;
const servers: Server[] = [];
/**
 * How many times each server (by its base URL) has sent the page's document. A reload is a second request
 * for it whatever the timing; a count of `load` events is not (the service worker may reload the page
 * before its first load event, and Playwright may see that event after the page's own state says ready).
 */
const documents = new Map<string, number>();

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf',
};

/** A minimal static file server for `dir` under BASE: GET and HEAD only, COOP/COEP only when `isolate`. */
function serve(dir: string, isolate: boolean): Promise<string> {
  let base = '';
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (!path.startsWith(BASE)) { res.writeHead(404).end(); return; }
    const rel = path.slice(BASE.length);
    const file = normalize(join(dir, rel === '' || rel.endsWith('/') ? `${rel}index.html` : rel));
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    if (file === join(dir, 'index.html') && req.method === 'GET') documents.set(base, (documents.get(base) ?? 0) + 1);
    res.writeHead(200, {
      'Content-Type': types[extname(file)] ?? 'application/octet-stream',
      ...(isolate ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}${BASE}`;
    resolve(base);
  }));
}

before(async () => {
  const executablePath = findChromium();
  assert.ok(executablePath && existsSync(executablePath), 'Chromium is required for this test (apt-get install chromium, or set CHROMIUM_PATH)');
  const r = spawnSync(process.execPath, [join(root, 'bin', 'backprop.js'), 'explorer', '--export', site], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exported the page to .* serve that folder from any static file server/);
  browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`] });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  rmSync(work, { recursive: true, force: true });
});

test('explorer --export: a self-contained folder, no source maps, the service worker linked first, an earlier export replaced, a foreign folder refused', () => {
  const files = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)).map((f) => `${n}/${f}`) : [n]));
  const all = files(site);
  for (const f of ['index.html', 'app.js', 'app-style.css', 'lm-worker.js', 'worker.js', 'coi-serviceworker.js', 'coi-serviceworker.LICENSE.txt', '.nojekyll']) assert.ok(all.includes(f), `${f} is missing from the export`);
  assert.deepEqual(all.filter((f) => f.endsWith('.map')), [], 'source maps are left out');
  assert.ok(all.some((f) => f.startsWith('fonts/') && f.endsWith('.woff2')), 'the KaTeX fonts are in');
  const html = readFileSync(join(site, 'index.html'), 'utf8');
  const sw = html.indexOf('<script src="coi-serviceworker.js"></script>');
  assert.ok(sw > 0 && sw < html.indexOf('</head>') && sw < html.indexOf('app.js'), 'the service worker script comes in <head>, before the app');
  assert.match(readFileSync(join(site, 'coi-serviceworker.LICENSE.txt'), 'utf8'), /MIT License/);
  // Every URL the page loads is relative, so the folder works under any path.
  assert.doesNotMatch(html, /(src|href)="\//);

  const cli = (args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'backprop.js'), 'explorer', ...args], { cwd: root, encoding: 'utf8' });
  const again = cli(['--export', site]);
  assert.equal(again.status, 0, again.stderr);
  const foreign = cli(['--export', work]);
  assert.equal(foreign.status, 2);
  assert.match(foreign.stderr, /--export .* is a folder with other files in it/);
  assert.doesNotMatch(foreign.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(existsSync(site), 'the refused export left the folder alone');
});

/**
 * Opens the site's view 3 in `context` and waits until it has settled: cross-origin isolated (after the
 * service worker's reload, if any) when `isolated`, else for 3 s of the page's life (time enough for a
 * reload that should not come).
 */
async function openSite(context: BrowserContext, url: string, isolated: boolean): Promise<{ page: Page; loads: number; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The server's count for this URL (the insecure host name maps to the same server).
  const server = url.replace(INSECURE_HOST, '127.0.0.1');
  const before = documents.get(server) ?? 0;
  await page.goto(`${url}#lm`);
  // The service worker reloads the page once; give it the time to, then wait for the page that stays.
  const t0 = Date.now();
  for (;;) {
    await page.waitForTimeout(250);
    try {
      if (await page.evaluate((isolated) => document.body.dataset.ready === 'true' && document.querySelector('[data-role="lm-mode"][data-mode]') !== null
        && (isolated ? crossOriginIsolated : performance.now() > 3000), isolated)) break;
    } catch { /* the page navigated under us: try again */ }
    assert.ok(Date.now() - t0 < 60_000, isolated ? 'the page never became cross-origin isolated' : 'the page never settled');
  }
  await page.waitForLoadState('load');
  // A reload that should not come would come within the service worker's registration: give it a second.
  await page.waitForTimeout(1000);
  return { page, loads: (documents.get(server) ?? 0) - before, errors };
}

/** Trains the tiny preset on the Analects (shipped when the build had them) or a pasted text; the loss must fall. */
async function trains(page: Page): Promise<void> {
  const shipped = await page.evaluate(async () => (await fetch('data/lunyu.txt', { method: 'HEAD' })).ok);
  if (shipped) await page.selectOption('[data-lm="corpus"]', 'lunyu');
  else {
    await page.selectOption('[data-lm="corpus"]', 'paste');
    const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'it'];
    let s = 1, text = '';
    while (text.length < 30_000) { s = (s * 16807) % 2147483647; text += words[s % words.length]! + (s % 7 === 0 ? '.\n' : ' '); }
    await page.fill('[data-lm="text"]', text);
  }
  await page.selectOption('[data-lm="preset"]', 'tiny');
  await page.click('[data-action="lm-reset"]');
  await page.waitForFunction(() => document.querySelector('[data-stat="valid"]')?.textContent !== '—', null, { timeout: 30_000 });
  const untrained = Number(await page.locator('[data-stat="valid"]').textContent());
  await page.fill('[data-lm="stopAt"]', '30');
  await page.click('[data-action="lm-start"]');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('[data-stat="digest"]')?.dataset.windows === '30', null, { timeout: 60_000 });
  const trained = Number(await page.locator('[data-stat="valid"]').textContent());
  assert.ok(trained < untrained - 0.5, `validation loss fell only from ${untrained} to ${trained} in 30 windows`);
}

const mode = async (page: Page) => {
  const el = page.locator('[data-role="lm-mode"]');
  return { mode: await el.getAttribute('data-mode'), isolation: await el.getAttribute('data-isolation'), text: (await el.textContent())! };
};

test('static site, no COOP/COEP from the server: the service worker isolates the page after one reload, and view 3 trains threaded', { timeout: 120_000 }, async () => {
  const url = await serve(site, false);
  const context = await browser.newContext();
  try {
    const { page, loads, errors } = await openSite(context, url, true);
    assert.deepEqual(errors, []);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the page did not become cross-origin isolated');
    assert.equal(loads, 2, 'the service worker reloads the page exactly once');
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL), `${url}coi-serviceworker.js`);
    const m = await mode(page);
    assert.equal(m.mode, 'threaded');
    assert.equal(m.isolation, 'service-worker');
    assert.match(m.text, /threads over shared memory.*service worker \(coi-serviceworker\.js\)/);
    await trains(page);
    // A second visit is isolated from the start: no further reload.
    const again = await openSite(context, url, true);
    assert.equal(again.loads, 1);
    assert.equal((await mode(again.page)).mode, 'threaded');
  } finally {
    await context.close();
  }
});

for (const [how, setup] of [
  // A plain-HTTP host (not localhost) is no secure context: service workers (and isolation) are refused there.
  ['on plain HTTP (no secure context)', async (url: string) => ({ url: url.replace('127.0.0.1', INSECURE_HOST), context: await browser.newContext() })],
  // A browser without service workers (Firefox's private mode, for one): navigator.serviceWorker is absent.
  ['without service workers', async (url: string) => {
    const context = await browser.newContext();
    await context.addInitScript(() => { delete (Navigator.prototype as { serviceWorker?: unknown }).serviceWorker; });
    return { url, context };
  }],
] as const) test(`static site, no COOP/COEP, ${how}: one thread over ordinary memory, said on the page, and it trains`, { timeout: 120_000 }, async () => {
  const s = await setup(await serve(site, false));
  const { url, context } = s;
  try {
    const { page, loads, errors } = await openSite(context, url, false);
    assert.deepEqual(await page.evaluate(() => ({ secure: isSecureContext, sw: 'serviceWorker' in navigator })),
      how.startsWith('on plain HTTP') ? { secure: false, sw: false } : { secure: true, sw: false }, 'the situation the test means');
    assert.deepEqual(errors, []);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.equal(loads, 1, 'no reload without a service worker');
    const m = await mode(page);
    assert.equal(m.mode, 'single');
    assert.equal(m.isolation, 'none');
    assert.match(m.text, /one thread over ordinary memory \(the page is not cross-origin isolated.*For several threads/);
    await trains(page);
  } finally {
    await context.close();
  }
});

test('static site whose server sends COOP/COEP: isolated by the headers, threaded, no service worker registered', { timeout: 120_000 }, async () => {
  const url = await serve(site, true);
  const context = await browser.newContext();
  try {
    const { page, loads, errors } = await openSite(context, url, true);
    assert.deepEqual(errors, []);
    assert.equal(loads, 1, 'no reload where the server isolates the page');
    assert.equal(await page.evaluate(async () => navigator.serviceWorker.controller === null && (await navigator.serviceWorker.getRegistrations()).length === 0), true,
      'a service worker was registered although the headers isolate the page');
    const m = await mode(page);
    assert.equal(m.mode, 'threaded');
    assert.equal(m.isolation, 'headers');
    assert.doesNotMatch(m.text, /service worker/);
    await trains(page);
  } finally {
    await context.close();
  }
});
