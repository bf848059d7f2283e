// Tokens per second of view 3's training in headless Chromium against the same training in Node, for a
// preset of the page (web/src/view3.ts) on Tiny Shakespeare: the machinery of the bench's browser
// participant (bench/lm-page.ts; `npm run bench -- --only W4 --libs ours,page` measures W4's model), here
// for the page's presets and both engine modes. Same model, text, TBPTT windows and thread count on both
// sides, training time only (validation and samples excluded), rounds alternating page and Node so that
// a busy machine hurts both alike. Prints a Markdown table.
//
// Usage (after `npm run build`):  node scripts/lm-page-speed.mjs [preset=small] [windows=40] [rounds=2]
// Threads: 1 (the page served without isolation: one thread, ordinary memory) and the page's threaded
// count (isolated: min(cores, 8)). CHROMIUM_PATH chooses the browser.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [presetName = 'small', windowsArg = '40', roundsArg = '2'] = process.argv.slice(2);
const WINDOWS = Number(windowsArg), ROUNDS = Number(roundsArg);
const { findChromium, launchChromium, openPageRun, NodeRun } = await import(pathToFileURL(join(root, 'dist', 'bench', 'lm-page.js')).href);
const { shakespeareSource } = await import(pathToFileURL(join(root, 'web', 'build.mjs')).href);

// The preset, read from the page's source so the two sides cannot drift apart.
const presetSrc = readFileSync(join(root, 'web', 'src', 'view3.ts'), 'utf8');
const m = new RegExp(`\\n  ${presetName}: (\\{[^\\n]*\\}),`).exec(presetSrc);
if (!m) throw new Error(`no preset ${presetName} in web/src/view3.ts`);
const preset = Function(`return (${m[1]})`)();
const text = readFileSync(shakespeareSource, 'utf8');

const executablePath = findChromium();
if (!executablePath) { console.error('Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)'); process.exit(2); }
const browser = await launchChromium(executablePath);
const rows = [];
for (const isolated of [false, true]) {
  const threads = isolated ? Math.min(availableParallelism(), 8) : 1;
  const page = [], node = [];
  for (let r = 0; r < ROUNDS; r++) {
    const p = await openPageRun(browser, preset, text, isolated, threads);
    page.push(await p.train(WINDOWS));
    await p.close();
    node.push((await NodeRun.start(preset, text, threads)).train(WINDOWS));
  }
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  rows.push(`| ${isolated ? 'isolated (threaded)' : 'not isolated'} | ${threads} | ${page.map(Math.round).join(', ')} | ${node.map(Math.round).join(', ')} | ${(mean(page) / mean(node) * 100).toFixed(0)}% |`);
}
await browser.close();
console.log(`preset ${presetName} (${JSON.stringify(preset)}), ${WINDOWS} windows per run, ${ROUNDS} rounds; ${availableParallelism()} cores\n`);
console.log('| page | threads | page tokens/s | Node tokens/s | page / Node |\n|---|---|---|---|---|');
for (const r of rows) console.log(r);
