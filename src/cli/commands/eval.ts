/** `backprop eval`: perplexity of a checkpoint on its corpus's validation or test split, or on any text file. */
import type { Command } from 'commander';
import { ConfigError, DataError } from '../../errors.js';
import { StreamBatcher, charTokens, wordTokens } from '../../data/index.js';
import { decodeUtf8, readBytes } from '../../data/text.js';
import { evaluateAsync, loadCorpusFor, loadModel } from '../../train/lm-trainer.js';
import { useBackend } from './train.js';
import { parseInteger } from '../util.js';

interface EvalFlags { checkpoint: string; split: string; text?: string; batchSize?: number; numSteps?: number; tokens: number; backend: string; threads?: number; json?: boolean }

export function registerEval(program: Command): void {
  program.command('eval')
    .description("perplexity of a trained model: exp(total cost / total steps), the TF tutorial's measure, state carried")
    .requiredOption('--checkpoint <file>', 'a checkpoint written by backprop train')
    .option('--split <split>', 'valid | test (of the corpus the model was trained on)', 'test')
    .option('--text <file>', 'evaluate on this UTF-8 text file instead (tokenized at the model\'s level)')
    .option('--batch-size <n>', 'streams (default: the training batch for valid, the test batch for test)', parseInteger('--batch-size', 1))
    .option('--num-steps <n>', 'steps per window (default as for --batch-size)', parseInteger('--num-steps', 1))
    .option('--tokens <n>', 'evaluate the first N tokens only (0 = all)', parseInteger('--tokens'), 0)
    .option('--backend <kind>', 'wasm | js', 'wasm')
    .option('--threads <n>', 'threads for the wasm backend', parseInteger('--threads', 1))
    .option('--json', 'print the result as JSON')
    .action(async (f: EvalFlags) => {
      if (f.split !== 'valid' && f.split !== 'test') throw new ConfigError(`--split must be valid or test, got "${f.split}"`);
      const release = await useBackend(f.backend, f.threads);
      try {
        const { model, config, vocab } = loadModel(f.checkpoint);
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
          const corpus = loadCorpusFor(config);
          if (corpus.vocab.size !== vocab.size) throw new DataError(`${f.checkpoint}: the corpus ${corpus.name} no longer gives the checkpoint's vocabulary`);
          data = f.split === 'valid' ? corpus.valid : corpus.test;
          source = `${corpus.name} ${f.split}`;
        }
        if (f.tokens > 0) data = data.subarray(0, f.tokens);
        const B = f.batchSize ?? (f.split === 'valid' || f.text ? config.batchSize : config.testBatchSize);
        const T = f.numSteps ?? (f.split === 'valid' || f.text ? config.numSteps : config.testNumSteps);
        const b = new StreamBatcher(data, B, T);
        const t0 = performance.now();
        const r = await evaluateAsync(model, b, {});
        const seconds = (performance.now() - t0) / 1000;
        const res = { source, perplexity: r.perplexity, nats: r.cost / r.steps, tokens: r.steps * B, batchSize: B, numSteps: T, seconds: Math.round(seconds * 1000) / 1000 };
        if (f.json) console.log(JSON.stringify(res));
        else console.log(`${source}: perplexity ${r.perplexity.toFixed(3)} (${res.nats.toFixed(4)} nats/token, ${res.tokens} tokens, batch ${B}, ${T} steps, ${seconds.toFixed(1)} s)`);
      } finally { await release(); }
    });
}
