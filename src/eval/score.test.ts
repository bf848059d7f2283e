// Scoring: per-token costs line up with the batcher's layout and sum to the tutorial's perplexity;
// dynamic evaluation scores every window before adapting on it, and adapting helps on repeated text;
// the mixture and its EM weight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamBatcher } from '../data/batcher.js';
import { LanguageModel, type LMConfig } from '../nn/language-model.js';
import { Rng } from '../tensor/random.js';
import { evaluateWindows, fitMixtureWeight, mixNats, perplexityOf, scoreStream } from './score.js';

const cfg = (over: Partial<LMConfig> = {}): LMConfig => ({ vocabSize: 7, embedSize: 4, hiddenSize: 5, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.3, dtype: 'float64', ...over });
const tokens = (n: number, V: number, seed: number) => { const r = new Rng(seed); return Int32Array.from({ length: n }, () => r.int(V)); };

test('per-token costs sit at the scored positions and average to the perplexity', async () => {
  const data = tokens(103, 7, 3);
  const b = new StreamBatcher(data, 3, 5);             // batchLen 34, 6 windows, 30 targets per stream
  const model = new LanguageModel(cfg(), new Rng(1));
  const r = await scoreStream(model, b, { perToken: true });
  const nats = r.tokenNats!;
  assert.equal(nats.length, data.length);
  for (let i = 0; i < data.length; i++) {
    const s = Math.floor(i / b.batchLen), off = i - s * b.batchLen;
    const scored = s < 3 && off >= 1 && off <= b.epochSize * 5;
    assert.equal(Number.isNaN(nats[i]!), !scored, `position ${i}`);
  }
  const p = perplexityOf(nats);
  assert.equal(p.tokens, r.tokens);
  assert.ok(Math.abs(p.perplexity - r.perplexity) < 1e-9 * r.perplexity);
  // The cost at a position is −ln P(that token | the stream before it): stream 1's first target.
  const one = evaluateWindows(new LanguageModel(cfg(), new Rng(1)), [{ x: data.subarray(b.batchLen, b.batchLen + 1), y: data.subarray(b.batchLen + 1, b.batchLen + 2) }], 1, 1);
  assert.ok(Math.abs(one.cost - nats[b.batchLen + 1]!) < 1e-12);
});

test('dynamic evaluation scores each window before adapting on it', async () => {
  const T = 6, data = tokens(2 * T + 1, 7, 5);
  const dyn = { lr: 0.5 };
  const full = await scoreStream(new LanguageModel(cfg(), new Rng(2)), new StreamBatcher(data, 1, T), { dynamic: dyn, perToken: true });
  // Same first window on its own, then window 2 scored statically by the adapted model from the carried state.
  const m = new LanguageModel(cfg(), new Rng(2));
  const first = await scoreStream(m, new StreamBatcher(data.subarray(0, T + 1), 1, T), { dynamic: dyn, perToken: true });
  for (let t = 1; t <= T; t++) assert.ok(Math.abs(first.tokenNats![t]! - full.tokenNats![t]!) < 1e-12);
  const rows: number[] = [];
  evaluateWindows(m, [{ x: data.subarray(T, 2 * T), y: data.subarray(T + 1, 2 * T + 1) }], 1, T, first.state, (r) => rows.push(...Array.from(r)));
  for (let t = 0; t < T; t++) assert.ok(Math.abs(rows[t]! - full.tokenNats![T + 1 + t]!) < 1e-12, `step ${t}`);
  // and the static score of window 1 differs (the weights did change)
  const stat = await scoreStream(new LanguageModel(cfg(), new Rng(2)), new StreamBatcher(data, 1, T), { perToken: true });
  assert.ok(Math.abs(stat.tokenNats![T + 1]! - full.tokenNats![T + 1]!) > 1e-6);
  assert.equal(stat.tokenNats![1], full.tokenNats![1]);
});

test('dynamic evaluation adapts to text that repeats; decay 0 and a tiny rate leave static scores', async () => {
  // An untrained model reading "0 3 5 1 0 3 5 1 …": each window it has read teaches it the next.
  const phrase = [0, 3, 5, 1];
  const data = Int32Array.from({ length: 1201 }, (_, i) => phrase[i % 4]!);
  const b = new StreamBatcher(data, 2, 6);
  const stat = await scoreStream(new LanguageModel(cfg(), new Rng(4)), b, {});
  const dyn = await scoreStream(new LanguageModel(cfg(), new Rng(4)), b, { dynamic: { lr: 0.3, maxGradNorm: 5 } });
  assert.ok(dyn.perplexity < 0.75 * stat.perplexity, `dynamic ${dyn.perplexity} vs static ${stat.perplexity}`);
  const tiny = await scoreStream(new LanguageModel(cfg(), new Rng(4)), b, { dynamic: { lr: 1e-12 } });
  assert.ok(Math.abs(tiny.perplexity - stat.perplexity) < 1e-8);
  // a decay of 0.999 keeps pulling the weights back: between static and plain dynamic
  const pulled = await scoreStream(new LanguageModel(cfg(), new Rng(4)), b, { dynamic: { lr: 0.3, maxGradNorm: 5, decay: 0.5 } });
  assert.ok(pulled.perplexity > dyn.perplexity && pulled.perplexity < stat.perplexity + 1e-9);
  await assert.rejects(scoreStream(new LanguageModel(cfg(), new Rng(4)), b, { dynamic: { lr: -1 } }), /learning rate must be > 0/);
});

test('mixture of per-token probabilities, and its maximum-likelihood weight', () => {
  const a = Float64Array.of(-Math.log(0.2), -Math.log(0.5), NaN), b = Float64Array.of(-Math.log(0.6), -Math.log(0.1), 1);
  const m = mixNats(a, b, 0.5);
  assert.ok(Math.abs(m[0]! + Math.log(0.4)) < 1e-15 && Math.abs(m[1]! + Math.log(0.3)) < 1e-15 && Number.isNaN(m[2]!));
  assert.deepEqual(Array.from(mixNats(a, b, 1)).slice(0, 2), Array.from(a).slice(0, 2));
  assert.deepEqual(Array.from(mixNats(a, b, 0)).slice(0, 2), Array.from(b).slice(0, 2));
  // EM's λ is where the log-likelihood's derivative Σ (pa − pb)/(λ·pa + (1−λ)·pb) vanishes.
  const r = new Rng(8), n = 500;
  const pa = Float64Array.from({ length: n }, () => 0.01 + 0.9 * r.uniform()), pb = Float64Array.from({ length: n }, () => 0.01 + 0.5 * r.uniform());
  const lam = fitMixtureWeight(pa.map((p) => -Math.log(p)), pb.map((p) => -Math.log(p)));
  let d = 0;
  for (let i = 0; i < n; i++) d += (pa[i]! - pb[i]!) / (lam * pa[i]! + (1 - lam) * pb[i]!);
  assert.ok(lam > 0 && lam < 1 && Math.abs(d / n) < 1e-5, `λ ${lam}, derivative ${d / n}`);
  assert.throws(() => mixNats(a, b.subarray(0, 2), 0.5), /different lengths/);
  assert.throws(() => mixNats(a, b, 1.5), /in \[0, 1\]/);
});
