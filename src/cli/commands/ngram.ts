/**
 * `backprop ngram`: the count-based baseline. Fits an interpolated modified Kneser-Ney n-gram model
 * (src/ngram/kneser-ney.ts) on a corpus's training split and prints validation and test perplexity:
 * exp of the mean −ln P over every token of the split, each conditioned on the preceding tokens of
 * that split (so the first token of a split has an empty context), the same per-token measure as
 * `eval` with batch 1.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { KneserNey } from '../../ngram/kneser-ney.js';
import { dataSources, loadCorpus, type DataSource } from '../../data/sources.js';
import { parseInteger } from '../util.js';

interface NgramFlags { data: string; text?: string; ptbDir?: string; level?: string; order: number; json?: boolean }

/** exp(−mean ln P) over every token of a split, each conditioned on the split's preceding tokens. */
function perplexity(lm: KneserNey, data: Int32Array): number {
  const lp = lm.logProbs(data);
  let sum = 0;
  for (let i = 0; i < lp.length; i++) sum += lp[i]!;
  return Math.exp(-sum / lp.length);
}

export function registerNgram(program: Command): void {
  program.command('ngram')
    .description('interpolated modified Kneser-Ney n-gram baseline: fit on the training split, print validation and test perplexity')
    .option('--data <source>', dataSources.join(' | '), 'brown-ptb')
    .option('--text <file>', 'text file for --data text (split 90/10 train/valid; test = valid)')
    .option('--ptb-dir <dir>', 'folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt for --data ptb')
    .option('--level <level>', 'word | char (for text and ptb)')
    .option('--order <n>', 'n, the longest n-gram', parseInteger('--order', 1), 5)
    .option('--json', 'print the result as JSON')
    .action((f: NgramFlags) => {
      if (!dataSources.includes(f.data as DataSource)) throw new ConfigError(`--data must be one of ${dataSources.join(', ')}, got "${f.data}"`);
      const corpus = loadCorpus({ data: f.data as DataSource, text: f.text, ptbDir: f.ptbDir, level: (f.level ?? 'word') as 'word' | 'char' });
      const t0 = performance.now();
      const lm = KneserNey.fit(corpus.train, corpus.vocab.size, { order: f.order });
      const fitSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const validPerplexity = perplexity(lm, corpus.valid);
      const testPerplexity = corpus.test === corpus.valid ? validPerplexity : perplexity(lm, corpus.test);
      const scoreSeconds = (performance.now() - t1) / 1000;
      const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
      const res = {
        corpus: corpus.name, order: f.order, vocabSize: corpus.vocab.size,
        trainTokens: corpus.train.length, validTokens: corpus.valid.length, testTokens: corpus.test.length,
        validPerplexity, testPerplexity, ngrams: lm.ngramCounts,
        discounts: lm.discounts.map((d) => ({ d1: round(d.d1, 6), d2: round(d.d2, 6), d3: round(d.d3, 6) })),
        fitSeconds: round(fitSeconds, 3), scoreSeconds: round(scoreSeconds, 3),
      };
      if (f.json) { console.log(JSON.stringify(res)); return; }
      const num = (x: number) => x.toLocaleString('en-US');
      console.log(`${corpus.name}: ${f.order}-gram interpolated modified Kneser-Ney, |V| ${num(res.vocabSize)}, ${num(res.trainTokens)} training tokens`);
      console.log(`  n-grams:    ${lm.ngramCounts.map((c, k) => `${k + 1}: ${num(c)}`).join('  ')}`);
      lm.discounts.forEach((d, k) => console.log(`  discounts ${k + 1}: D1 ${d.d1.toFixed(4)}  D2 ${d.d2.toFixed(4)}  D3+ ${d.d3.toFixed(4)}`));
      console.log(`  validation perplexity ${validPerplexity.toFixed(2)} (${num(res.validTokens)} tokens)`);
      console.log(`  test perplexity ${testPerplexity.toFixed(2)} (${num(res.testTokens)} tokens${corpus.test === corpus.valid ? ', = validation' : ''})`);
      console.log(`  fit ${fitSeconds.toFixed(2)} s, scoring ${scoreSeconds.toFixed(2)} s`);
    });
}
