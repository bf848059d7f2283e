// Tokens per second of view 3's training in headless Chromium against the same training in Node: the
// same model (a preset of web/src/view3.ts), data (Tiny Shakespeare, characters), TBPTT windows and
// thread count, training time only (validation and samples excluded on both sides), a few rounds
// alternating page and Node so that a busy machine hurts both alike. Prints a Markdown table.
//
// Usage (after `npm run build`):  node scripts/lm-page-speed.mjs [preset=small] [windows=40] [rounds=2]
// Threads: 1 (the page served without isolation: one thread, ordinary memory) and the page's threaded
// count (isolated: min(cores, 8)). CHROMIUM_PATH chooses the browser.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [presetName = 'small', windowsArg = '40', roundsArg = '2'] = process.argv.slice(2);
const WINDOWS = Number(windowsArg), ROUNDS = Number(roundsArg);
const bp = await import(pathToFileURL(join(root, 'dist', 'src', 'index.js')).href);
const { shakespeareSource } = await import(pathToFileURL(join(root, 'web', 'build.mjs')).href);

// The preset, read from the page's source so the two sides cannot drift apart.
const presetSrc = readFileSync(join(root, 'web', 'src', 'view3.ts'), 'utf8');
const m = new RegExp(`\\n  ${presetName}: (\\{[^\\n]*\\}),`).exec(presetSrc);
if (!m) throw new Error(`no preset ${presetName} in web/src/view3.ts`);
const preset = Function(`return (${m[1]})`)();

/** Node: the worker's loop (lm-worker.ts) without the worker: `WINDOWS` windows, tokens per training second. */
async function nodeSpeed(threads) {
  await bp.useBackend('wasm', { threads });
  const text = readFileSync(shakespeareSource, 'utf8');
  const chars = Array.from(text), itos = [...new Set(chars)].sort(), stoi = new Map(itos.map((c, i) => [c, i]));
  const ids = Int32Array.from(chars, (c) => stoi.get(c)).subarray(0, Math.floor(chars.length * 0.9));
  const s = preset, T = s.k1 * Math.ceil(Math.max(s.k1, s.k2) / s.k1), B = s.batch, len = Math.floor(ids.length / B);
  const rng = new bp.Rng(s.seed);
  const model = new bp.LanguageModel({ vocabSize: itos.length, embedSize: s.hidden, hiddenSize: s.hidden, numLayers: s.layers, cell: s.cell, keepProb: 1 - s.dropout, forgetBias: 0, initScale: 0.1 }, rng);
  const tb = new bp.TruncatedBPTT(model, bp.createOptimizer(s.optimizer, model, s.lr), { k1: s.k1, k2: s.k2, batchSize: B, maxGradNorm: s.clip > 0 ? s.clip : undefined, diagnostics: true, onDivergence: 'skip' });
  let secs = 0;
  for (let i = 0; i < WINDOWS; i++) {
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) { x.set(ids.subarray(b * len + i * T, b * len + i * T + T), b * T); y.set(ids.subarray(b * len + i * T + 1, b * len + i * T + T + 1), b * T); }
    const t0 = performance.now();
    tb.feed(x, y, T);
    secs += (performance.now() - t0) / 1000;
  }
  return (WINDOWS * B * T) / secs;
}

/** The page: view 3 with the preset, to window `WINDOWS`; the run's mean tokens per training second. */
async function pageSpeed(browser, isolated) {
  const child = spawn(process.execPath, [join(root, 'bin', 'backprop.js'), 'explorer', '--port', '0', '--no-open', ...(isolated ? [] : ['--no-isolation'])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res) => { let out = ''; child.stdout.on('data', (d) => { out += d; const u = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (u) res(u[0]); }); });
  const page = await browser.newPage();
  try {
    await page.goto(`${url}#lm`);
    await page.waitForSelector('[data-role="lm-mode"][data-mode]', { timeout: 30_000 });
    const threads = await page.evaluate(() => (/(\d+) threads/.exec(document.querySelector('[data-role="lm-mode"]').textContent) ?? [0, 1])[1]);
    await page.selectOption('[data-lm="preset"]', presetName);
    await page.click('[data-action="lm-reset"]');
    await page.fill('[data-lm="stopAt"]', String(WINDOWS));
    await page.click('[data-action="lm-start"]');
    await page.waitForFunction((w) => document.querySelector('[data-stat="digest"]')?.dataset.windows === String(w), WINDOWS, { timeout: 600_000 });
    return { threads: Number(threads), speed: Number(await page.locator('[data-stat="speed"]').getAttribute('data-mean')) };
  } finally {
    await page.close();
    child.kill();
  }
}

const which = (n) => spawnSync('which', [n], { encoding: 'utf8' }).stdout.trim();
const executablePath = process.env.CHROMIUM_PATH ?? (which('chromium') || which('chromium-browser') || which('google-chrome'));
const browser = await chromium.launch({ executablePath, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const rows = [];
for (const isolated of [false, true]) {
  const page = [], node = [];
  let threads = 1;
  for (let r = 0; r < ROUNDS; r++) {
    const p = await pageSpeed(browser, isolated);
    threads = p.threads;
    page.push(p.speed);
    node.push(await nodeSpeed(threads));
  }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  rows.push(`| ${isolated ? 'isolated (threaded)' : 'not isolated'} | ${threads} | ${page.map(Math.round).join(', ')} | ${node.map(Math.round).join(', ')} | ${(mean(page) / mean(node) * 100).toFixed(0)}% |`);
}
await browser.close();
console.log(`preset ${presetName} (${JSON.stringify(preset)}), ${WINDOWS} windows per run, ${ROUNDS} rounds; ${availableParallelism()} cores\n`);
console.log('| page | threads | page tokens/s | Node tokens/s | page / Node |\n|---|---|---|---|---|');
for (const r of rows) console.log(r);
