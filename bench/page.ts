// The browser as a benchmark participant ("page"): W4's character LSTM trained by the explorer's view-3
// worker in headless Chromium (the real page, cross-origin isolated, `threads` threads), and the same
// training in Node in this process — the worker's own loop, same model, text, windows and thread count —
// in alternating timed windows, so that a busy machine slows both alike. See bench/lm-page.ts.
//
// Usage: node --expose-gc dist/bench/page.js --workload W4 [--windows N] [--quick] [--threads N]
// Threads: --threads, else the Node participant's default (os.availableParallelism(), as `ours` runs).
// Prints, besides the harness's fields, `node` (Node's tokens/s: median, min, max), `ratio` (page ÷ Node,
// of the medians) and `threads` on its W4 line; run.ts turns them into the "In the page" table. Without
// Chromium it reports the workload as skipped, with the reason, and exits 0.
import { availableParallelism } from 'node:os';
import { emit, median, parseParticipantArgs, randInts, type ResultLine } from './harness.js';
import { findChromium, launchChromium, NodeRun, openPageRun, windowSteps, type LmBenchSettings } from './lm-page.js';
import { SPEC, timingFor, WORKLOAD_IDS } from './workloads.js';

/** What this participant adds to the harness's result line. */
export interface PageResultExtra {
  /** Node's tokens/s for the same loop, model and threads, measured in alternation with the page. */
  node: { median: number; min: number; max: number };
  /** Page ÷ Node, of the medians. */
  ratio: number;
  threads: number;
}

const args = parseParticipantArgs();
const threads = Number(args.rest.get('threads') ?? availableParallelism());
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${args.rest.get('threads')}`);

const na = (workload: ResultLine['workload'], note: string): ResultLine =>
  ({ lib: 'page', workload, case: '', unit: SPEC[workload].unit, median: null, min: null, max: null, peakRssMiB: 0, note });

/** W4's model as view 3's settings (its init scale, 0.08, does not change the work; the worker uses 0.1). */
const s4 = SPEC.W4;
const settings: LmBenchSettings = {
  cell: 'lstm', hidden: s4.hidden, embed: s4.embed, layers: s4.layers, k1: s4.steps, k2: s4.steps, batch: s4.batch,
  optimizer: s4.optimizer, lr: s4.lr, clip: s4.clipNorm, dropout: 0, seed: 1,
};

/** A text of `n` random characters over W4's vocabulary size (65 symbols), the same on both sides. */
function randomText(n: number, vocab: number): string {
  const alphabet = Array.from({ length: vocab }, (_, i) => (i === 0 ? '\n' : String.fromCharCode(32 + i)));
  return Array.from(randInts(n, vocab, 4), (i) => alphabet[i]!).join('');
}

async function w4(): Promise<ResultLine & PageResultExtra> {
  const timing = timingFor('W4', args.quick, args.windows);
  const text = randomText(200_000, s4.vocab);
  const browser = await launchChromium(findChromium());
  try {
    const page = await openPageRun(browser, settings, text, true, threads);
    if (page.mode.mode !== 'threaded' && threads > 1) throw new Error(`the page did not run threaded (${JSON.stringify(page.mode)})`);
    const node = await NodeRun.start(settings, text, threads);
    process.stdout.write(`${JSON.stringify({ lib: 'page', info: `view 3's worker (lm-worker.js) in headless Chromium ${browser.version()}, ${page.mode.backend}, ${page.mode.threads} threads, cross-origin isolated; Node side: the same loop on ${node.backend()}` })}\n`);
    // Warm-up (compilation, first allocations), then the window count that takes about timing.windowSec.
    await page.train(1);
    node.train(1);
    const t0 = performance.now();
    let warm = 0;
    do { await page.train(1); node.train(1); warm++; } while ((performance.now() - t0) / 1000 < timing.warmupSec);
    const perWindow = (performance.now() - t0) / 1000 / warm / 2;
    const n = Math.max(1, Math.round(timing.windowSec / perWindow));
    const pageRates: number[] = [], nodeRates: number[] = [];
    for (let i = 0; i < timing.windows; i++) {
      (globalThis as { gc?: () => void }).gc?.();
      pageRates.push(await page.train(n));
      nodeRates.push(node.train(n));
    }
    await page.close();
    const pm = median(pageRates), nm = median(nodeRates);
    return {
      ...na('W4', `${timing.windows} windows × ${n} TBPTT windows of ${settings.batch}×${windowSteps(settings)} tokens, alternating with Node; view 3's loop (‖∂E/∂h‖ diagnostics on); Node, same loop and ${threads} threads: ${Math.round(nm).toLocaleString('en-US')} tokens/s, page ÷ Node ${(pm / nm * 100).toFixed(0)}%; RSS of Chromium not measured`),
      median: pm, min: Math.min(...pageRates), max: Math.max(...pageRates),
      node: { median: nm, min: Math.min(...nodeRates), max: Math.max(...nodeRates) }, ratio: pm / nm, threads,
    };
  } finally {
    await browser.close();
  }
}

const executable = findChromium();
for (const w of args.workloads) {
  if (!WORKLOAD_IDS.includes(w)) continue;
  if (w !== 'W4') { emit(na(w, 'n/a: the page trains language models only (W4)')); continue; }
  if (!executable) {
    const why = 'skipped: Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH)';
    process.stderr.write(`[page W4] ${why}\n`);
    process.stdout.write(`${JSON.stringify({ lib: 'page', info: why })}\n`);
    emit(na(w, why));
    continue;
  }
  try {
    emit(await w4());
  } catch (e) {
    process.stderr.write(`[page W4] ${e instanceof Error ? e.stack : String(e)}\n`);
    emit(na(w, `error: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200)}`));
    process.exitCode = 1;
  }
}
