/**
 * Console reporting for `backprop train`: a cli-progress bar per epoch on a TTY (tokens/s, running
 * perplexity, ETA), plain lines every few seconds otherwise; a one-line summary per epoch; the
 * gradient-health table when diagnostics are on. Writes to stderr (progress) and stdout (summaries).
 */
import cliProgress from 'cli-progress';
import type { EpochRecord, TestRecord, TrainerEvents, WindowEvent } from '../train/lm-trainer.js';

export interface ReporterOptions {
  tty?: boolean;
  /** Seconds between plain progress lines when not on a TTY. */
  every?: number;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export function consoleReporter(o: ReporterOptions = {}): TrainerEvents {
  const tty = o.tty ?? Boolean(process.stderr.isTTY);
  const every = o.every ?? 10;
  const out = o.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = o.err ?? ((s: string) => process.stderr.write(s + '\n'));
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0, epochStartWindow = 0, epoch = 0, windows = 0;
  return {
    epochStart(e) {
      epoch = e.epoch; windows = e.windows; epochStartWindow = e.resumedAt; lastLine = performance.now();
      const head = `epoch ${e.epoch}: lr ${fmt(e.lr)}, ${e.windows} windows${e.resumedAt ? ` (resuming at window ${e.resumedAt})` : ''}`;
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: `epoch ${e.epoch} [{bar}] {percentage}% | {value}/{total} | {tps} tok/s | ppl {ppl} | ETA {eta_formatted}`,
          stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 20,
        }, cliProgress.Presets.shades_classic);
        bar.start(e.windows, e.resumedAt, { tps: '-', ppl: '-' });
      } else err(head);
    },
    window(e: WindowEvent) {
      const tps = Math.round(e.tokens / Math.max(e.seconds, 1e-9));
      if (bar) { bar.update(e.window, { tps, ppl: e.perplexity.toFixed(2) }); return; }
      const now = performance.now();
      if (now - lastLine >= every * 1000 || e.window === e.windows) {
        lastLine = now;
        const left = (e.windows - e.window) * e.seconds / Math.max(e.window - epochStartWindow, 1);
        err(`  epoch ${epoch} window ${e.window}/${windows}  ${tps} tok/s  train ppl ${e.perplexity.toFixed(2)}  ETA ${left.toFixed(0)} s`);
      }
    },
    epochEnd(r: EpochRecord) {
      bar?.stop(); bar = null;
      out(`Epoch ${r.epoch}: lr ${fmt(r.lr)}  train ppl ${r.trainPerplexity.toFixed(2)}  valid ppl ${r.validPerplexity.toFixed(2)}  ${r.testPerplexity !== undefined ? `test ppl ${r.testPerplexity.toFixed(2)}  ` : ''}` +
        `(${r.tokensPerSecond} tok/s, ${r.seconds.toFixed(1)} s, |g| mean ${r.gradNorm.mean.toFixed(2)} max ${r.gradNorm.max.toFixed(2)}, clipped ${r.clipped}/${r.updates})`);
      if (r.hGradNorms) out(formatGradientHealth(r));
    },
    testStart(e) { err(`testing on ${e.tokens} tokens (batch ${e.batchSize}, ${e.numSteps} step${e.numSteps === 1 ? '' : 's'})…`); },
    test(r: TestRecord) { out(`Test perplexity ${r.perplexity.toFixed(2)} (${r.nats.toFixed(4)} nats/token, ${r.tokens} tokens, batch ${r.batchSize}, ${r.numSteps} steps)`); },
    checkpoint(file, reason) { if (reason !== 'epoch') err(`checkpoint (${reason}): ${file}`); },
  };
}

/**
 * The gradient-health report: for each layer, mean ‖∂E/∂h_t‖ at each step of the backpropagated
 * window (t = 1 the oldest, where the gradient has travelled furthest), and the clip rate.
 */
export function formatGradientHealth(r: EpochRecord): string {
  const h = r.hGradNorms!;
  const lines = [`  gradient health, epoch ${r.epoch}: clip rate ${(100 * r.clipRate).toFixed(1)}% (${r.clipped}/${r.updates}), ‖g‖ mean ${r.gradNorm.mean.toFixed(3)} [${r.gradNorm.min.toFixed(3)}, ${r.gradNorm.max.toFixed(3)}]`];
  lines.push(`  ‖∂E/∂h_t‖, mean over updates (t = 1 oldest … ${h[0]!.length} newest):`);
  lines.push('     t ' + h.map((_, l) => `   layer ${l}`.padStart(11)).join(''));
  for (let t = 0; t < h[0]!.length; t++) lines.push(`  ${String(t + 1).padStart(4)} ` + h.map((row) => row[t]!.toExponential(3).padStart(11)).join(''));
  const ratio = h.map((row) => row[0]! / Math.max(row[row.length - 1]!, 1e-30));
  // h_t's gradient sums the losses at steps t … newest, so older steps normally get more; a ratio far
  // below 1 means the oldest steps receive almost nothing back (vanishing), far above (≫ k2) exploding.
  lines.push(`  oldest/newest ratio per layer: ${ratio.map((x) => x.toExponential(2)).join(', ')} (≪ 1: vanishing; ≫ ${h[0]!.length}: exploding)`);
  return lines.join('\n');
}

function fmt(x: number): string { return Number(x.toPrecision(4)).toString(); }
