/** `backprop generate`: sample text from a checkpoint (deterministic under --seed). */
import type { Command } from 'commander';
import { loadModel } from '../../train/model-file.js';
import { generate } from '../../train/generate.js';
import { useBackend } from './train.js';
import { parseInteger, parseNumber } from '../util.js';
import { charTokens, wordTokens } from '../../data/index.js';

interface GenFlags { checkpoint: string; prompt?: string; length: number; temperature: number; topK: number; seed: number; backend: string; json?: boolean }

export function registerGenerate(program: Command): void {
  program.command('generate')
    .description('sample text from a trained language model')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by backprop train')
    .option('--prompt <text>', 'text to continue (default: start of a sentence)')
    .option('--length <n>', 'tokens to generate', parseInteger('--length'), 100)
    .option('--temperature <t>', 'softmax temperature (0 = greedy)', parseNumber('--temperature'), 1)
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', parseInteger('--top-k'), 0)
    .option('--seed <n>', 'random seed', parseInteger('--seed'), 1)
    .option('--backend <kind>', 'wasm | js (js by default: generation runs one token at a time)', 'js')
    .option('--json', 'print ids and text as JSON')
    .action(async (f: GenFlags) => {
      const release = await useBackend(f.backend);
      try {
        const { model, config, vocab } = loadModel(f.checkpoint);
        const level = config.data === 'brown-bengio' || config.data === 'brown-ptb' ? 'word' : config.level;
        const prompt = config.data === 'brown-ptb' && f.prompt ? f.prompt.toLowerCase() : f.prompt;
        if (prompt) {
          // The model reads tokens it never saw as <unk>: say which, so a surprising continuation has its cause.
          const unseen = [...new Set((level === 'char' ? charTokens(prompt) : wordTokens(prompt)).filter((t) => !vocab.stoi.has(t)))];
          if (unseen.length && vocab.unkId !== undefined) {
            process.stderr.write(`backprop: warning: the prompt has ${level === 'char' ? 'characters' : 'words'} the model never saw, read as <unk>: ${unseen.map((t) => JSON.stringify(t)).join(', ')}\n`);
          }
        }
        const g = generate(model, vocab, level, { prompt, length: f.length, temperature: f.temperature, topK: f.topK, seed: f.seed });
        console.log(f.json ? JSON.stringify({ prompt: g.promptIds, ids: g.ids, text: g.text }) : g.text);
      } finally { await release(); }
    });
}
