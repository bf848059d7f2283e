// Sampling: deterministic under a seed, greedy at temperature 0, top-k respected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vocab } from '../data/index.js';
import { LanguageModel } from '../nn/language-model.js';
import { Rng } from '../tensor/random.js';
import { detokenize, generate, sampleLogits } from './generate.js';

const V = 9;
const vocab = new Vocab(['<eos>', 'the', 'cat', 'sat', 'on', 'a', 'mat', '.', '<unk>']);
const model = new LanguageModel({ vocabSize: V, embedSize: 6, hiddenSize: 6, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 1 }, new Rng(5));

test('generate is deterministic under a seed, and the seed matters', () => {
  const opts = { prompt: 'the cat', length: 40, temperature: 1, topK: 0, seed: 11 };
  const a = generate(model, vocab, 'word', opts), b = generate(model, vocab, 'word', opts);
  assert.deepEqual(b.ids, a.ids);
  assert.equal(b.text, a.text);
  assert.equal(a.ids.length, 40);
  assert.ok(a.text.startsWith('the cat'));
  const c = generate(model, vocab, 'word', { ...opts, seed: 12 });
  assert.notDeepEqual(c.ids, a.ids);
  // Unknown prompt words map to <unk>.
  assert.deepEqual(generate(model, vocab, 'word', { ...opts, prompt: 'the dog', length: 0 }).promptIds, [1, 8]);
});

test('temperature 0 is greedy (no draws), and top-k 1 is greedy too', () => {
  const g0 = generate(model, vocab, 'word', { length: 15, temperature: 0, topK: 0, seed: 1 });
  const g1 = generate(model, vocab, 'word', { length: 15, temperature: 0, topK: 0, seed: 999 });
  const k1 = generate(model, vocab, 'word', { length: 15, temperature: 1.5, topK: 1, seed: 3 });
  assert.deepEqual(g1.ids, g0.ids);
  assert.deepEqual(k1.ids, g0.ids);
});

test('sampleLogits draws from the top k with the softmax frequencies', () => {
  const rng = new Rng(1);
  const logits = [Math.log(0.1), Math.log(0.6), Math.log(0.3), -50];
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleLogits(logits, 1, 2, rng)]!++;
  assert.equal(counts[0], 0); assert.equal(counts[3], 0);           // outside the top 2
  assert.ok(Math.abs(counts[1]! / 20000 - 2 / 3) < 0.02, String(counts));
  assert.equal(sampleLogits(logits, 0, 0, rng), 1);
});

test('detokenize: <eos> becomes a line break at word level; characters concatenate', () => {
  assert.equal(detokenize(['the', 'cat', '<eos>', 'a'], 'word'), 'the cat\na');
  assert.equal(detokenize(['h', 'i', '\n'], 'char'), 'hi\n');
});
