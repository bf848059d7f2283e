// The AWD-LSTM regularisers through the trainer: configuration fields (validated, one line), the model
// the trainer builds, a short run that learns and is reproducible from its seed, a checkpoint that
// resumes number for number, a tied model read back for eval, and checkpoints older than the fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { StreamBatcher, Vocab, type Corpus } from '../data/index.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { CHECKPOINT_FILE } from '../io/run-folder.js';
import { modelFromBytes } from '../io/model.js';
import { encodeCheckpoint } from '../io/checkpoint-codec.js';
import * as o from '../autodiff/index.js';
import { LanguageModel, TiedOutput } from '../nn/language-model.js';
import { SGD } from '../optim/optimizers.js';
import { Tensor } from '../tensor/tensor.js';
import { TruncatedBPTT } from './tbptt.js';
import { Rng } from '../tensor/random.js';
import { scoreStream } from '../eval/score.js';
import { LMTrainer, type EpochRecord } from './lm-trainer.js';
import { buildModel, loadModel, parameterCount } from './model-file.js';
import { regulariserDefaults, resolveConfig, type TrainConfig } from './presets.js';

function corpusOf(train: Int32Array, valid: Int32Array, V: number): Corpus {
  return { name: 'synthetic', level: 'word', vocab: new Vocab(Array.from({ length: V }, (_, i) => `w${i}`)), train, valid, test: valid, info: {} };
}
/** A stream where token t+1 often follows t: something to learn. */
function stream(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed), out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = rng.uniform() < 0.7 ? (out[i - 1]! + 1) % V : rng.int(V);
  return out;
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-reg-'));
const V = 12;
const corpus = corpusOf(stream(600, V, 1), stream(120, V, 2), V);

const awd = { tieWeights: true, dropoutEmbed: 0.1, dropoutInput: 0.3, dropoutHidden: 0.2, dropoutOutput: 0.3, weightDrop: 0.3, ar: 2, tar: 1 };
const small = (o: Partial<TrainConfig> = {}): TrainConfig => resolveConfig('tiny', {
  name: 'reg', data: 'text', text: 'synthetic', epochs: 3, batchSize: 2, numSteps: 5, hidden: 10, embed: 8, layers: 2,
  optimizer: 'adam', lr: 0.03, maxEpoch: 2, lrDecay: 0.5, keepProb: 1, maxStepsPerEpoch: 12, validTokens: 0,
  testBatchSize: 1, testNumSteps: 3, testTokens: 0, seed: 7, ...awd, ...o,
});
const comparable = (h: EpochRecord[]) => h.map(({ seconds: _s, tokensPerSecond: _t, ...rest }) => rest);

test('the trainer builds the configured model: tied with a projection, every regulariser set', () => {
  const t = LMTrainer.create(small(), { outDir: null, corpus });
  const c = t.model.config;
  assert.ok(t.model.proj instanceof TiedOutput && t.model.proj.hiddenToEmbed?.shape.join() === '10,8');
  assert.deepEqual([c.dropoutEmbed, c.dropoutInput, c.dropoutHidden, c.dropoutOutput, c.weightDrop, c.ar, c.tar], [0.1, 0.3, 0.2, 0.3, 0.3, 2, 1]);
  assert.deepEqual([...t.model.rnn.lockedP], [0.3, 0.2, 0.3]);
  assert.equal(t.model.rnn.weightDrop, 0.3);
  const names = t.model.namedParameters().map(([n]) => n);
  assert.ok(!names.includes('proj.weight') && names.includes('proj.hiddenToEmbed'), names.join(', '));
  // The size check before building counts what is built: tied with and without the projection, untied.
  for (const o of [{}, { hidden: 8, embed: 8 }, { tieWeights: false }]) {
    const c2 = small(o);
    assert.equal(parameterCount(c2, V).parameters, buildModel(c2, V, new Rng(1)).numParameters(), JSON.stringify(o));
  }
});

test('a short run with every regulariser on lowers the loss, and the same seed gives the same run', async () => {
  const cfg = small({ epochs: 4, maxStepsPerEpoch: 0, lr: 0.1 });
  const a = await LMTrainer.create(cfg, { outDir: null, corpus }).run({ yieldEveryWindow: false });
  const b = await LMTrainer.create(cfg, { outDir: null, corpus }).run({ yieldEveryWindow: false });
  const valid = a.history.map((h) => h.validPerplexity);
  assert.ok(valid[3]! < valid[0]! && a.history[3]!.trainPerplexity < a.history[0]!.trainPerplexity, `valid ${valid.join(', ')}`);
  assert.ok(valid[3]! < V * 0.7, `validation perplexity ${valid[3]} barely below a uniform guess (${V})`);
  assert.deepEqual(comparable(b.history), comparable(a.history));
  assert.equal(b.test!.perplexity, a.test!.perplexity);
  // Another seed draws other masks (and starts elsewhere): a different run.
  const c = await LMTrainer.create({ ...cfg, seed: 8, epochs: 1 }, { outDir: null, corpus }).run({ yieldEveryWindow: false });
  assert.notEqual(c.history[0]!.trainPerplexity, a.history[0]!.trainPerplexity);
});

test('the regularisers act in training only: validation of the trained model equals scoring it afresh (no masks)', async () => {
  const t = LMTrainer.create(small({ epochs: 1 }), { outDir: null, corpus });
  const r = await t.run({ yieldEveryWindow: false });
  const again = await scoreStream(t.model, new StreamBatcher(corpus.valid, 2, 5), { yieldEveryWindow: false });
  assert.equal(again.perplexity, r.history[0]!.validPerplexity);
  // Training perplexity reports the cross-entropy alone: the AR/TAR penalty is not in it. With the
  // penalties scaled up a thousandfold the first window's reported cost is unchanged.
  const costs = (ar: number, tar: number) => {
    const tr = LMTrainer.create(small({ ar, tar, lr: 0 }), { outDir: null, corpus });
    const x = new Int32Array(10).map((_, i) => corpus.train[i]!), y = new Int32Array(10).map((_, i) => corpus.train[i + 1]!);
    return tr.tbptt.feed(x, y, 5);
  };
  const lo = costs(2, 1), hi = costs(2000, 1000);
  assert.deepEqual(hi.costs, lo.costs);
  assert.equal(hi.updates[0]!.loss, lo.updates[0]!.loss);
  assert.ok(hi.updates[0]!.gradNorm > lo.updates[0]!.gradNorm, 'the penalty is in the backpropagated loss');
});

test('interrupted mid-epoch and resumed = the uninterrupted run, number for number, with every regulariser on', async () => {
  const dirA = tmp(), dirB = tmp();
  try {
    const cfg = small();
    const a = await LMTrainer.create(cfg, { outDir: dirA, corpus }).run({ yieldEveryWindow: false });
    const b1 = await LMTrainer.create(cfg, { outDir: dirB, corpus }).run({ stopAfterWindows: 17, yieldEveryWindow: false });
    assert.equal(b1.status, 'interrupted');
    const file = path.join(dirB, CHECKPOINT_FILE);
    const ck = loadCheckpoint(file);
    assert.deepEqual([(ck.meta.trainer_state as { window: number }).window, (ck.meta.config as TrainConfig).weightDrop], [5, 0.3]);
    assert.equal(ck.tensors['proj.weight'], undefined);   // tied: the output weights are embedding.weight
    const t2 = LMTrainer.resume(file, { outDir: dirB, corpus });
    const b2 = await t2.run({ yieldEveryWindow: false });
    assert.deepEqual(comparable(b2.history), comparable(a.history));
    const pa = loadCheckpoint(path.join(dirA, CHECKPOINT_FILE)).tensors, pb = loadCheckpoint(file).tensors;
    for (const k of Object.keys(pa)) assert.deepEqual(pb[k]!.data, pa[k]!.data, k);
    // eval/generate/export read it back (model-file's loadModel and io's modelFromBytes) as the same tied model.
    const m1 = loadModel(file).model, m2 = modelFromBytes(fs.readFileSync(file)).model as LanguageModel;
    const ids = Int32Array.from({ length: 6 }, (_, i) => i);
    t2.model.eval();
    const want = Array.from(t2.model.run(ids, 2, 3, t2.model.initialState(2)).logits.data);
    assert.ok(m1.proj instanceof TiedOutput && m2.proj instanceof TiedOutput);
    assert.deepEqual(Array.from(m1.run(ids, 2, 3, m1.initialState(2)).logits.data), want);
    assert.deepEqual(Array.from(m2.run(ids, 2, 3, m2.initialState(2)).logits.data), want);
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test('a checkpoint written before the regulariser fields loads (eval) and resumes with them off', async () => {
  const dir = tmp();
  try {
    const cfg = small({ ...regulariserDefaults, epochs: 2 });
    const a = await LMTrainer.create(cfg, { outDir: dir, corpus }).run({ stopAfterWindows: 14, yieldEveryWindow: false });
    assert.equal(a.status, 'interrupted');
    const file = path.join(dir, CHECKPOINT_FILE);
    const ck = loadCheckpoint(file);
    // Rewrite it as an older version would have: no regulariser fields in its configuration.
    const old = { ...(ck.meta.config as Record<string, unknown>) };
    for (const k of Object.keys(regulariserDefaults)) delete old[k];
    const oldFile = path.join(dir, 'old.ckpt');
    saveCheckpoint(oldFile, { tensors: ck.tensors, meta: { ...ck.meta, config: old } });
    const { model } = loadModel(oldFile);
    assert.equal(model.config.tieWeights, false);
    assert.equal(model.config.weightDrop, 0);
    assert.ok(modelFromBytes(encodeCheckpoint({ tensors: ck.tensors, meta: { ...ck.meta, config: old } })).model);
    const resumed = await LMTrainer.resume(oldFile, { outDir: dir, corpus }).run({ yieldEveryWindow: false });
    const straight = await LMTrainer.create(cfg, { outDir: null, corpus }).run({ yieldEveryWindow: false });
    assert.deepEqual(comparable(resumed.history), comparable(straight.history));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad regulariser settings are one-line ConfigErrors naming the field and the value', () => {
  for (const k of ['dropoutEmbed', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'weightDrop'] as const) {
    for (const v of [-0.1, 1, NaN]) {
      assert.throws(() => resolveConfig('tiny', { [k]: v }), (e: Error) => e instanceof ConfigError && e.message === `${k} must be a probability in [0, 1), got ${v}`, `${k} = ${v}`);
    }
  }
  for (const k of ['ar', 'tar'] as const) {
    for (const v of [-0.1, NaN, Infinity]) {
      assert.throws(() => resolveConfig('tiny', { [k]: v }), (e: Error) => e instanceof ConfigError && e.message === `${k} must be a finite number ≥ 0, got ${v}`, `${k} = ${v}`);
    }
  }
  assert.throws(() => resolveConfig('tiny', { tieWeights: 'yes' as never }), (e: Error) => e instanceof ConfigError && e.message === 'tieWeights must be true or false, got "yes"');
  // The paper's values are accepted.
  assert.doesNotThrow(() => resolveConfig('tiny', { tieWeights: true, dropoutEmbed: 0.1, dropoutInput: 0.65, dropoutHidden: 0.3, dropoutOutput: 0.4, weightDrop: 0.5, ar: 2, tar: 1 }));
});

test('TBPTT backpropagates J + m·(AR + TAR) with the window\'s masks: its gradient equals finite differences (float64)', () => {
  const B = 2, T = 4, Vs = 6;
  const rng = new Rng(21);
  const model = new LanguageModel({
    vocabSize: Vs, embedSize: 4, hiddenSize: 5, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.5, dtype: 'float64', ...awd,
  }, rng);
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1: T, k2: T, batchSize: B });
  const x = Int32Array.from({ length: B * T }, (_, i) => (i * 5) % Vs), y = Int32Array.from({ length: B * T }, (_, i) => (i * 3 + 1) % Vs);
  const s0 = rng.getState();
  const res = tr.feed(x, y, T);
  const analytic = Float64Array.from(model.arena().grads);
  // The same window by hand: time-major ids, the masks drawn again from the same generator state.
  const tm = (a: Int32Array) => Int32Array.from({ length: B * T }, (_, k) => a[(k % B) * T + Math.floor(k / B)]!);
  const J = (withPenalty: boolean) => {
    rng.setState(s0);
    return o.noGrad(() => {
      const r = model.run(tm(x), B, T, model.initialState(B));
      const ce = o.div(o.sum(o.softmaxCrossEntropy(r.logits, new Tensor(tm(y), [T * B], 'int32'))), B).item();
      return ce + (withPenalty ? T * r.penalty!.item() : 0);
    });
  };
  assert.ok(Math.abs(J(false) - res.updates[0]!.loss) < 1e-12, 'the reported loss is the cross-entropy alone');
  const arena = model.arena(), pick = new Rng(4);
  let nonzero = 0;
  for (let k = 0; k < 120; k++) {
    const i = pick.int(arena.size), v = arena.values[i]!, eps = 1e-6;
    arena.values[i] = v + eps; const jp = J(true);
    arena.values[i] = v - eps; const jm = J(true);
    arena.values[i] = v;
    const fd = (jp - jm) / (2 * eps);
    assert.ok(Math.abs(fd - analytic[i]!) <= 1e-7 + 1e-5 * Math.abs(fd), `param ${i}: analytic ${analytic[i]} vs fd ${fd}`);
    if (analytic[i] !== 0) nonzero++;
  }
  assert.ok(nonzero > 40, `${nonzero} non-zero gradients checked`);
});

test('with AWD-LSTM\'s schedule too (NT-ASGD, variable BPTT, checks inside epochs): interrupted twice and resumed = the uninterrupted run; training windows stay in training mode after each check', async () => {
  const rng = new Rng(5);
  const overfit = corpusOf(stream(600, V, 1), Int32Array.from({ length: 120 }, () => rng.int(V)), V);
  const cfg = small({ optimizer: 'sgd', lr: 1, lrDecay: 1, epochs: 3, maxStepsPerEpoch: 0, validEvery: 5, ntAsgd: 2, bpttVariable: true, bpttSd: 2, bpttMin: 2 });
  const dirA = tmp(), dirB = tmp();
  try {
    let evalModeWindows = 0;
    const ta = LMTrainer.create(cfg, { outDir: dirA, corpus: overfit, events: { window: () => { if (!ta.model.training) evalModeWindows++; } } });
    const a = await ta.run({ yieldEveryWindow: false });
    assert.equal(a.status, 'done');
    assert.equal(evalModeWindows, 0, 'a training window ran in evaluation mode (no regularisers) after a check');
    assert.ok(ta.st.asgd, 'NT-ASGD switched to averaging in this run');
    const file = path.join(dirB, CHECKPOINT_FILE);
    assert.equal((await LMTrainer.create(cfg, { outDir: dirB, corpus: overfit }).run({ stopAfterWindows: 23, yieldEveryWindow: false })).status, 'interrupted');
    assert.equal((await LMTrainer.resume(file, { outDir: dirB, corpus: overfit }).run({ stopAfterWindows: 31, yieldEveryWindow: false })).status, 'interrupted');
    const b = await LMTrainer.resume(file, { outDir: dirB, corpus: overfit }).run({ yieldEveryWindow: false });
    assert.equal(b.status, 'done');
    const log = (d: string) => fs.readFileSync(path.join(d, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);
    assert.deepEqual(log(dirB), log(dirA));
    const pa = loadCheckpoint(path.join(dirA, CHECKPOINT_FILE)).tensors, pb = loadCheckpoint(file).tensors;
    for (const k of Object.keys(pa)) assert.deepEqual(pb[k]!.data, pa[k]!.data, k);
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});
