// The training loop: perplexity arithmetic, checkpoint round trip, exact resume, configuration errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { StreamBatcher, Vocab, type Corpus } from '../data/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { Rng } from '../tensor/random.js';
import type { Dense } from '../nn/layers.js';
import { BEST_FILE, CHECKPOINT_FILE, LOG_FILE } from '../io/run-folder.js';
import { scoreStream } from '../eval/score.js';
import { LMTrainer, type EpochRecord } from './lm-trainer.js';
import { loadModel } from './model-file.js';
import { resolveConfig, type TrainConfig } from './presets.js';

function corpusOf(train: number[] | Int32Array, valid: number[] | Int32Array, V: number): Corpus {
  const vocab = new Vocab(Array.from({ length: V }, (_, i) => `w${i}`));
  const v = Int32Array.from(valid);
  return { name: 'synthetic', level: 'word', vocab, train: Int32Array.from(train), valid: v, test: v, info: {} };
}

function randomStream(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  // A little structure (token t+1 often follows t) so that training has something to learn.
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = rng.uniform() < 0.6 ? (out[i - 1]! + 1) % V : rng.int(V);
  return out;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-train-'));

const small = (o: Partial<TrainConfig> = {}): TrainConfig => resolveConfig('tiny', {
  name: 'unit', data: 'text', text: 'synthetic', epochs: 3, batchSize: 2, numSteps: 5, hidden: 8, layers: 2,
  optimizer: 'adam', lr: 0.05, maxEpoch: 2, lrDecay: 0.5, keepProb: 0.8, maxStepsPerEpoch: 4, validTokens: 0,
  testBatchSize: 1, testNumSteps: 3, testTokens: 0, seed: 7, ...o,
});

test('perplexity = exp(Σ step costs / steps), hand-checked: p = (1/2, 1/4, 1/4) on 8 targets gives 2^1.75', async () => {
  // Stream 0 1 2 0 1 2 0 1 2 with B = 1, T = 2: targets 1 2 0 1 2 0 1 2, costs ln4 ln4 ln2 …,
  // Σ = 6·ln4 + 2·ln2 = 14·ln2 over 8 steps → perplexity exp(14·ln2 / 8) = 2^1.75 = 3.3636…
  const data = [0, 1, 2, 0, 1, 2, 0, 1, 2];
  const cfg = small({ batchSize: 1, numSteps: 2, hidden: 4, layers: 1, epochs: 1, maxStepsPerEpoch: 0, optimizer: 'sgd', lr: 0, keepProb: 1, testNumSteps: 2 });
  const t = LMTrainer.create(cfg, { outDir: null, corpus: corpusOf(data, data, 3) });
  (t.model.proj as Dense).weight.data.fill(0);                   // logits = bias, whatever the state
  t.model.proj.bias!.data.set([Math.log(0.5), Math.log(0.25), Math.log(0.25)]);
  const r = await scoreStream(t.model, new StreamBatcher(Int32Array.from(data), 1, 2));
  assert.equal(r.steps, 8);
  assert.ok(Math.abs(r.cost - 14 * Math.LN2) < 1e-5, `cost ${r.cost}`);
  assert.ok(Math.abs(r.perplexity - 2 ** 1.75) < 1e-5, `perplexity ${r.perplexity}`);
  // The training loop reports the same arithmetic (lr = 0, so the parameters stay put).
  const run = await t.run({ yieldEveryWindow: false });
  assert.ok(Math.abs(run.history[0]!.trainPerplexity - 2 ** 1.75) < 1e-5);
  assert.ok(Math.abs(run.history[0]!.validPerplexity - 2 ** 1.75) < 1e-5);
  assert.ok(Math.abs(run.test!.perplexity - 2 ** 1.75) < 1e-5);
});

const comparable = (h: EpochRecord[]) => h.map(({ seconds: _s, tokensPerSecond: _t, ...rest }) => rest);

test('interrupted twice (mid-epoch and at an epoch end) and resumed = the uninterrupted run, number for number', async () => {
  const V = 12;
  const corpus = corpusOf(randomStream(400, V, 1), randomStream(120, V, 2), V);
  const cfg = small();
  const dirA = tmp(), dirB = tmp();
  try {
    const a = await LMTrainer.create(cfg, { outDir: dirA, corpus }).run({ yieldEveryWindow: false });
    assert.equal(a.status, 'done');
    assert.equal(a.history.length, 3);
    // Validation perplexity falls on this learnable stream.
    assert.ok(a.history[2]!.validPerplexity < a.history[0]!.validPerplexity);

    const b1 = await LMTrainer.create(cfg, { outDir: dirB, corpus }).run({ stopAfterWindows: 6, yieldEveryWindow: false });
    assert.equal(b1.status, 'interrupted');
    const file = path.join(dirB, CHECKPOINT_FILE);
    const ck = loadCheckpoint(file);
    const st = ck.meta.trainer_state as { epoch: number; window: number };
    assert.deepEqual([st.epoch, st.window], [1, 2]);                   // epoch 2, after its 2nd window
    assert.ok(ck.tensors['state.0.h'] && ck.tensors['state.1.c']);    // the carried LSTM state
    assert.ok(ck.tensors['optim.m'] && ck.tensors['optim.v']);        // Adam's moments
    const b2 = await LMTrainer.resume(file, { outDir: dirB, corpus }).run({ stopAfterWindows: 2, yieldEveryWindow: false });
    assert.equal(b2.status, 'interrupted');                           // stopped at the end of epoch 2
    const b3 = await LMTrainer.resume(file, { outDir: dirB, corpus }).run({ yieldEveryWindow: false });
    assert.equal(b3.status, 'done');
    assert.deepEqual(comparable(b3.history), comparable(a.history));
    assert.equal(b3.test!.perplexity, a.test!.perplexity);
    // Same final parameters, bit for bit, and the same log.
    const pa = loadCheckpoint(path.join(dirA, CHECKPOINT_FILE)).tensors, pb = loadCheckpoint(file).tensors;
    for (const k of Object.keys(pa)) assert.deepEqual(pb[k]!.data, pa[k]!.data, k);
    const log = (d: string) => fs.readFileSync(path.join(d, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);
    assert.deepEqual(log(dirB), log(dirA));
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test('best.ckpt holds the epoch with the lowest validation perplexity, and scores it again', async () => {
  const V = 12;
  // Validation text without the training text's structure: the more the model learns, the worse it
  // predicts validation, so the best epoch is not the last.
  const rng = new Rng(5);
  const corpus = corpusOf(randomStream(400, V, 1), Int32Array.from({ length: 120 }, () => rng.int(V)), V);
  const dir = tmp();
  try {
    const r = await LMTrainer.create(small({ epochs: 4 }), { outDir: dir, corpus }).run({ yieldEveryWindow: false });
    const valid = r.history.map((h) => h.validPerplexity);
    const best = valid.indexOf(Math.min(...valid));
    assert.ok(best < valid.length - 1, `best epoch ${best + 1} of ${valid.join(', ')}`);
    const ck = loadCheckpoint(path.join(dir, BEST_FILE));
    assert.equal((ck.meta.trainer_state as { epoch: number }).epoch, best + 1);
    const { model, config } = loadModel(path.join(dir, BEST_FILE));
    const again = await scoreStream(model, new StreamBatcher(corpus.valid, config.batchSize, config.numSteps), { yieldEveryWindow: false });
    assert.equal(again.perplexity, valid[best]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('testEveryEpoch scores the test split after each epoch; the last equals the final test', async () => {
  const V = 12;
  const corpus = corpusOf(randomStream(400, V, 1), randomStream(120, V, 2), V);
  const r = await LMTrainer.create(small({ testEveryEpoch: true }), { outDir: null, corpus }).run({ yieldEveryWindow: false });
  const t = r.history.map((h) => h.testPerplexity!);
  assert.ok(t.every((x) => Number.isFinite(x) && x > 1));
  assert.notEqual(t[0], t[2]);
  assert.equal(t[2], r.test!.perplexity);
  const plain = await LMTrainer.create(small(), { outDir: null, corpus }).run({ yieldEveryWindow: false });
  assert.equal(plain.history[0]!.testPerplexity, undefined);
  assert.deepEqual(plain.history.map((h) => h.validPerplexity), r.history.map((h) => h.validPerplexity));   // scoring test changes nothing
});

test('checkpoint round trip: loadModel gives the same parameters, configuration and vocabulary', async () => {
  const V = 10;
  const corpus = corpusOf(randomStream(200, V, 3), randomStream(60, V, 4), V);
  const dir = tmp();
  try {
    const t = LMTrainer.create(small({ epochs: 1, cell: 'gru' }), { outDir: dir, corpus });
    await t.run({ yieldEveryWindow: false });
    const { model, config, vocab } = loadModel(path.join(dir, CHECKPOINT_FILE));
    assert.equal(config.cell, 'gru');
    assert.deepEqual(vocab.itos, corpus.vocab.itos);
    const mine = t.model.namedParameters(), theirs = model.namedParameters();
    assert.deepEqual(theirs.map(([n]) => n), mine.map(([n]) => n));
    mine.forEach(([n, p], i) => assert.deepEqual(theirs[i]![1].data, p.data, n));
    const ck = loadCheckpoint(path.join(dir, CHECKPOINT_FILE));
    assert.ok(ck.tensors['gru.0.kernel'] && ck.tensors['embedding.weight'] && ck.tensors['proj.bias']);   // docs/formats.md names
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('impossible configurations are ConfigErrors naming the value, and nothing is written', () => {
  const corpus = corpusOf(randomStream(50, 5, 5), randomStream(30, 5, 6), 5);
  assert.throws(() => resolveConfig('huge'), (e: Error) => e instanceof ConfigError && /huge/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { k1: 0 }), (e: Error) => e instanceof ConfigError && /k1.*0/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { k2: -3 }), (e: Error) => e instanceof ConfigError && /k2.*-3/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { lr: -1 }), (e: Error) => e instanceof ConfigError && /lr.*-1/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { keepProb: 0 }), (e: Error) => e instanceof ConfigError && /keepProb/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { cell: 'tree' as never }), (e: Error) => e instanceof ConfigError && /tree/.test(e.message));
  assert.throws(() => resolveConfig('tiny', { data: 'text' }), (e: Error) => e instanceof ConfigError && /--text/.test(e.message));
  const dir = path.join(tmp(), 'never');
  assert.throws(() => LMTrainer.create(small({ batchSize: 64 }), { outDir: dir, corpus }), (e: Error) => e instanceof ConfigError && /batchSize 64/.test(e.message));
  assert.throws(() => LMTrainer.create(small({ batchSize: 2, numSteps: 20, testTokens: -1 }), { outDir: dir, corpus }),
    (e: Error) => e instanceof ConfigError && /validation split.*numSteps 20/.test(e.message));
  assert.equal(fs.existsSync(dir), false);
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

test('the presets carry the TensorFlow tutorial numbers', () => {
  const s = resolveConfig('small'), m = resolveConfig('medium'), l = resolveConfig('large');
  assert.deepEqual([s.initScale, s.lr, s.maxGradNorm, s.layers, s.numSteps, s.hidden, s.maxEpoch, s.epochs, s.keepProb, s.lrDecay, s.batchSize],
    [0.1, 1.0, 5, 2, 20, 200, 4, 13, 1.0, 0.5, 20]);
  assert.deepEqual([m.initScale, m.lr, m.maxGradNorm, m.layers, m.numSteps, m.hidden, m.maxEpoch, m.epochs, m.keepProb, m.lrDecay, m.batchSize],
    [0.05, 1.0, 5, 2, 35, 650, 6, 39, 0.5, 0.8, 20]);
  assert.deepEqual([l.initScale, l.lr, l.maxGradNorm, l.layers, l.numSteps, l.hidden, l.maxEpoch, l.epochs, l.keepProb, l.lrDecay, l.batchSize],
    [0.04, 1.0, 10, 2, 35, 1500, 14, 55, 0.35, 1 / 1.15, 20]);
  const o = resolveConfig('small', { numSteps: 7, hidden: 33 });
  assert.deepEqual([o.k1, o.k2, o.embed], [7, 7, 33]);
});
