/**
 * Sampling text from a trained language model: run the prompt through the model (one stream), then
 * repeatedly draw the next token from softmax(logits / temperature) restricted to the k most likely,
 * and feed it back. Deterministic under a seed: every draw comes from one seeded Rng.
 *
 * @example
 *   const { text } = generate(model, vocab, 'word', { prompt: 'the', length: 30, temperature: 1, topK: 40, seed: 1 });
 */
import * as o from '../autodiff/index.js';
import { ConfigError, DataError } from '../errors.js';
import { EOS, charTokens, wordTokens, type Vocab } from '../data/index.js';
import type { LanguageModel } from '../nn/language-model.js';
import { Rng } from '../tensor/random.js';

export interface GenerateOptions {
  /** Text to condition on (tokenized at the model's level). Empty: start after an `<eos>` (or a newline). */
  prompt?: string;
  /** Tokens to generate. */
  length: number;
  /** Softmax temperature; 0 = always the most likely token. */
  temperature: number;
  /** Sample among the k most likely tokens only (0 = all). */
  topK: number;
  seed: number;
}

export interface GenerateResult { promptIds: number[]; ids: number[]; tokens: string[]; text: string }

/** Tokens → text: characters concatenated; words joined by spaces with `<eos>` as a line break. */
export function detokenize(tokens: readonly string[], level: 'word' | 'char'): string {
  if (level === 'char') return tokens.join('');
  return tokens.map((t) => (t === EOS ? '\n' : t)).join(' ').replace(/ ?\n ?/g, '\n');
}

export function generate(model: LanguageModel, vocab: Vocab, level: 'word' | 'char', opts: GenerateOptions): GenerateResult {
  if (!Number.isInteger(opts.length) || opts.length < 0) throw new ConfigError(`length must be an integer ≥ 0, got ${opts.length}`);
  if (!(Number.isFinite(opts.temperature) && opts.temperature >= 0)) throw new ConfigError(`temperature must be ≥ 0, got ${opts.temperature}`);
  if (!Number.isInteger(opts.topK) || opts.topK < 0) throw new ConfigError(`top-k must be an integer ≥ 0, got ${opts.topK}`);
  const promptTokens = opts.prompt ? (level === 'char' ? charTokens(opts.prompt) : wordTokens(opts.prompt)) : [];
  let promptIds: number[];
  if (promptTokens.length > 0) {
    const unknown = promptTokens.find((t) => !vocab.stoi.has(t));
    if (unknown !== undefined && vocab.unkId === undefined) throw new DataError(`prompt token "${unknown}" is not in the model's vocabulary (which has no <unk>)`);
    promptIds = Array.from(vocab.encode(promptTokens));
  } else {
    const start = vocab.stoi.get(EOS) ?? vocab.stoi.get('\n') ?? vocab.stoi.get('.') ?? 0;
    promptIds = [start];
  }
  const rng = new Rng(opts.seed);
  const V = vocab.size;
  const wasTraining = model.training;
  model.eval();
  const ids: number[] = [];
  try {
    o.noGrad(() => {
      let state = model.initialState(1);
      let r = model.run(Int32Array.from(promptIds), 1, promptIds.length, state);
      for (let n = 0; n < opts.length; n++) {
        const logits = r.logits.data.subarray((r.logits.shape[0]! - 1) * V, r.logits.shape[0]! * V) as Float32Array;
        const next = sampleLogits(logits, opts.temperature, opts.topK, rng);
        ids.push(next);
        state = r.state;
        r = model.run(Int32Array.of(next), 1, 1, state);
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const tokens = vocab.decode(ids);
  const promptText = promptTokens.length ? detokenize(vocab.decode(promptIds), level) : '';
  const sep = level === 'word' && promptText && !promptText.endsWith('\n') ? ' ' : '';
  return { promptIds, ids, tokens, text: promptText + sep + detokenize(tokens, level) };
}

/**
 * Draw one index from softmax(logits / temperature) over the topK largest logits (all if 0).
 * Ties in the top-k cut keep the lower index, so the draw depends only on the logits and the Rng.
 */
export function sampleLogits(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  const V = logits.length;
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature === 0) return best;
  let idx = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) idx = idx.sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, topK);
  const max = logits[best]!;
  const w = idx.map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * total;
  for (let j = 0; j < idx.length; j++) { u -= w[j]!; if (u <= 0) return idx[j]!; }
  return idx[idx.length - 1]!;
}
