/** `backprop plot`: learning curves (train and validation perplexity per epoch) from a train.jsonl, as SVG. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DataError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { checkOutputs } from '../util.js';
import { learningCurveSvg, parseTrainLog } from '../plot.js';

export function registerPlot(program: Command): void {
  program.command('plot')
    .description('draw learning curves from a training log (train.jsonl) as an SVG')
    .argument('<log>', 'a train.jsonl written by backprop train')
    .option('-o, --out <file>', 'output SVG (default: the log\'s name with .svg)')
    .option('--title <text>', 'chart title (default: the run folder\'s name)')
    .option('--force', 'replace the output file if it exists (never the log)')
    .action((log: string, f: { out?: string; title?: string; force?: boolean }) => {
      let text: string;
      try { text = fs.readFileSync(log, 'utf8'); } catch (e) { throw new DataError(`${log}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
      const parsed = parseTrainLog(text, log);
      const title = f.title ?? `${path.basename(path.dirname(path.resolve(log)))}: perplexity per epoch`;
      const out = f.out ?? log.replace(/\.jsonl?$/, '') + '.svg';
      checkOutputs([out], [log], f.force ?? false);
      writeFileAtomic(out, new TextEncoder().encode(learningCurveSvg(parsed, { title })));
      console.log(`wrote ${out} (${parsed.epochs.length} epochs)`);
    });
}
