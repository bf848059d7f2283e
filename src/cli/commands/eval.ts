/**
 * `backprop eval`: perplexity of a checkpoint on its corpus's validation or test split, or on any text
 * file; optionally with dynamic evaluation (the model adapts to the text as it reads it) and/or mixed
 * token by token with a Kneser-Ney n-gram model fitted on the training split (the mixture weight fitted
 * on the validation split). The scoring itself lives in src/eval/score.ts.
 */
import type { Command } from 'commander';
import { ConfigError, DataError } from '../../errors.js';
import { StreamBatcher, charTokens, wordTokens } from '../../data/index.js';
import { decodeUtf8, readBytes } from '../../data/text.js';
import { KneserNey } from '../../ngram/kneser-ney.js';
import { loadCorpus } from '../../data/sources.js';
import { loadModel } from '../../train/model-file.js';
import { fitMixtureWeight, mixNats, perplexityOf, scoreStream, type DynamicEvalOptions, type ScoreResult } from '../../eval/score.js';
import { useBackend } from './train.js';
import { parseInteger, parseNumber } from '../util.js';

interface EvalFlags {
  checkpoint: string; split: string; text?: string; batchSize?: number; numSteps?: number; tokens: number; backend: string; threads?: number; json?: boolean;
  dynamicLr?: number; dynamicDecay: number; fitTokens?: number; dynamicClip: number; ngram?: number; mixWeight?: number; progressEvery: number;
}

export function registerEval(program: Command): void {
  program.command('eval')
    .description("perplexity of a trained model: exp(total cost / total steps), the TF tutorial's measure, state carried")
    .requiredOption('--checkpoint <file>', 'a checkpoint written by backprop train')
    .option('--split <split>', 'valid | test (of the corpus the model was trained on)', 'test')
    .option('--text <file>', 'evaluate on this UTF-8 text file instead (tokenized at the model\'s level)')
    .option('--batch-size <n>', 'streams (default: the training batch for valid, the test batch for test)', parseInteger('--batch-size', 1))
    .option('--num-steps <n>', 'steps per window (default as for --batch-size)', parseInteger('--num-steps', 1))
    .option('--tokens <n>', 'evaluate the first N tokens only (0 = all)', parseInteger('--tokens'), 0)
    .option('--dynamic-lr <eta>', 'dynamic evaluation: after scoring each window, one SGD step of this rate on it (Krause et al. 2018)', parseNumber('--dynamic-lr'))
    .option('--dynamic-decay <lambda>', 'dynamic evaluation: pull back towards the trained weights by this fraction each step', parseNumber('--dynamic-decay'), 0)
    .option('--dynamic-clip <norm>', 'dynamic evaluation: clip each step\'s gradient norm (0 = off)', parseNumber('--dynamic-clip'), 0)
    .option('--ngram <order>', 'also fit a Kneser-Ney n-gram of this order on the training split and mix it in, token by token', parseInteger('--ngram', 1))
    .option('--mix-weight <lambda>', 'weight of the neural model in the mixture (default: fitted by EM on the validation split)', parseNumber('--mix-weight'))
    .option('--fit-tokens <n>', 'fit the mixture weight on the first N validation tokens (default: as --tokens)', parseInteger('--fit-tokens', 1))
    .option('--progress-every <s>', 'seconds between progress lines on stderr (0 = none)', parseNumber('--progress-every'), 10)
    .option('--backend <kind>', 'wasm | js', 'wasm')
    .option('--threads <n>', 'threads for the wasm backend', parseInteger('--threads', 1))
    .option('--json', 'print the result as JSON')
    .action(async (f: EvalFlags) => {
      if (f.split !== 'valid' && f.split !== 'test') throw new ConfigError(`--split must be valid or test, got "${f.split}"`);
      if (f.mixWeight !== undefined && f.ngram === undefined) throw new ConfigError('--mix-weight needs --ngram ORDER');
      if (f.fitTokens !== undefined && (f.ngram === undefined || f.mixWeight !== undefined)) throw new ConfigError('--fit-tokens needs --ngram ORDER and no --mix-weight');
      if (f.mixWeight !== undefined && !(f.mixWeight >= 0 && f.mixWeight <= 1)) throw new ConfigError(`--mix-weight must be in [0, 1], got ${f.mixWeight}`);
      const release = await useBackend(f.backend, f.threads);
      try {
        let loaded: ReturnType<typeof loadModel> | null = loadModel(f.checkpoint);
        const { config, vocab } = loaded;
        const needCorpus = !f.text || f.ngram !== undefined;
        const corpus = needCorpus ? loadCorpus(config) : null;
        if (corpus && corpus.vocab.size !== vocab.size) throw new DataError(`${f.checkpoint}: the corpus ${corpus.name} no longer gives the checkpoint's vocabulary`);
        let data: Int32Array, source: string;
        if (f.text) {
          const text = decodeUtf8(readBytes(f.text), f.text);
          const toks = config.level === 'char' && config.data !== 'brown-bengio' && config.data !== 'brown-ptb'
            ? charTokens(text) : wordTokens(config.data === 'brown-ptb' ? text.toLowerCase() : text);
          const unknown = toks.find((t) => !vocab.stoi.has(t));
          if (unknown !== undefined && vocab.unkId === undefined) throw new DataError(`${f.text}: token "${unknown}" is not in the model's vocabulary (which has no <unk>)`);
          data = vocab.encode(toks);
          source = f.text;
        } else {
          data = f.split === 'valid' ? corpus!.valid : corpus!.test;
          source = `${corpus!.name} ${f.split}`;
        }
        const cut = (d: Int32Array) => (f.tokens > 0 ? d.subarray(0, f.tokens) : d);
        data = cut(data);
        const useTrainShape = f.split === 'valid' || Boolean(f.text);
        // Dynamic evaluation reads one stream by default: with B > 1 parallel streams the model would have
        // trained on later parts of the text (other streams' earlier windows) before predicting a token.
        const B = f.batchSize ?? (f.dynamicLr !== undefined ? 1 : useTrainShape ? config.batchSize : config.testBatchSize);
        const T = f.numSteps ?? (useTrainShape ? config.numSteps : config.testNumSteps);
        const dynamic: DynamicEvalOptions | undefined = f.dynamicLr !== undefined
          ? { lr: f.dynamicLr, decay: f.dynamicDecay, maxGradNorm: f.dynamicClip || undefined } : undefined;
        const perToken = f.ngram !== undefined;

        // Each scoring starts from the checkpoint's weights (dynamic evaluation changes them).
        const score = async (d: Int32Array, what: string): Promise<ScoreResult> => {
          const { model } = loaded ?? loadModel(f.checkpoint);
          loaded = null;   // the first scoring uses the model already read; later ones reread the weights
          const b = new StreamBatcher(d, B, T);
          const t0 = performance.now();
          let last = t0;
          return scoreStream(model, b, {
            dynamic, perToken,
            progress: (done, total) => {
              const now = performance.now();
              if (f.progressEvery > 0 && (now - last >= f.progressEvery * 1000) && done < total) {
                last = now;
                process.stderr.write(`  ${what}: window ${done}/${total}, ${Math.round(done * B * T / ((now - t0) / 1000))} tok/s\n`);
              }
            },
          });
        };

        const t0 = performance.now();
        const r = await score(data, source);
        const res: Record<string, unknown> = {
          source, perplexity: r.perplexity, nats: r.cost / r.steps, tokens: r.tokens, batchSize: B, numSteps: T,
          ...(dynamic ? { dynamic } : {}),
        };
        if (f.ngram !== undefined) {
          const tk = performance.now();
          const kn = KneserNey.fit(corpus!.train, vocab.size, { order: f.ngram });
          const fitSeconds = round((performance.now() - tk) / 1000);
          const knNats = (d: Int32Array) => kn.logProbs(d).map((v) => -v);
          let lambda = f.mixWeight;
          const knAll = knNats(data);
          if (lambda === undefined) {
            if (f.split === 'valid' && !f.text && !f.fitTokens) lambda = fitMixtureWeight(r.tokenNats!, knAll);   // already scored
            else {
              const valid = f.fitTokens ? corpus!.valid.subarray(0, f.fitTokens) : cut(corpus!.valid);
              const rv = await score(valid, `${corpus!.name} valid (fitting the mixture weight)`);
              const kv = knNats(valid);
              lambda = fitMixtureWeight(rv.tokenNats!, kv);
              // The validation numbers behind the weight, for the record.
              res.valid = { perplexity: rv.perplexity, tokens: rv.tokens, ngramPerplexity: perplexityOf(kv.map((v, i) => (Number.isNaN(rv.tokenNats![i]!) ? NaN : v))).perplexity,
                mixturePerplexity: perplexityOf(mixNats(rv.tokenNats!, kv, lambda)).perplexity };
            }
          }
          const onScored = knAll.map((v, i) => (Number.isNaN(r.tokenNats![i]!) ? NaN : v));
          const mixed = perplexityOf(mixNats(r.tokenNats!, knAll, lambda));
          res.ngram = { order: f.ngram, perplexity: perplexityOf(onScored).perplexity, fitSeconds };
          res.mixture = { weight: lambda, perplexity: mixed.perplexity, nats: mixed.nats, tokens: mixed.tokens };
        }
        const seconds = round((performance.now() - t0) / 1000);
        res.seconds = seconds;
        if (f.json) { console.log(JSON.stringify(res)); return; }
        const mode = dynamic ? `, dynamic evaluation η ${dynamic.lr}${dynamic.decay ? ` λ ${dynamic.decay}` : ''}` : '';
        console.log(`${source}: perplexity ${r.perplexity.toFixed(3)} (${(r.cost / r.steps).toFixed(4)} nats/token, ${r.tokens} tokens, batch ${B}, ${T} steps${mode}, ${seconds.toFixed(1)} s)`);
        if (res.ngram) {
          const n = res.ngram as { order: number; perplexity: number }, m = res.mixture as { weight: number; perplexity: number };
          console.log(`  Kneser-Ney ${n.order}-gram on the same tokens: perplexity ${n.perplexity.toFixed(3)}`);
          if (res.valid) {
            const v = res.valid as { perplexity: number; ngramPerplexity: number; mixturePerplexity: number };
            console.log(`  validation (where the weight was fitted): model ${v.perplexity.toFixed(3)}, ${n.order}-gram ${v.ngramPerplexity.toFixed(3)}, mixture ${v.mixturePerplexity.toFixed(3)}`);
          }
          console.log(`  mixture ${m.weight.toFixed(3)}·model + ${(1 - m.weight).toFixed(3)}·${n.order}-gram${f.mixWeight === undefined ? ' (weight fitted on validation)' : ''}: perplexity ${m.perplexity.toFixed(3)}`);
        }
      } finally { await release(); }
    });
}

function round(x: number): number { return Math.round(x * 1000) / 1000; }
