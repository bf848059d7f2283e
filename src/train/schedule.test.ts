// The trainer's schedule: validation checks inside epochs, NT-ASGD (the switch rule, the average, the
// weights evaluation and checkpoints use), variable-length BPTT (lengths, learning-rate scaling, the
// carried state), and exact resume of all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { StreamBatcher, Vocab, type Corpus } from '../data/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { BEST_FILE, CHECKPOINT_FILE, LOG_FILE } from '../io/run-folder.js';
import { scoreStream } from '../eval/score.js';
import { Rng } from '../tensor/random.js';
import { LMTrainer, type CheckRecord, type EpochRecord } from './lm-trainer.js';
import * as o from '../autodiff/index.js';
import { crossEntropyLoss, type SeqData } from '../nn/sequence.js';
import { Adam, Momentum, SGD } from '../optim/optimizers.js';
import type { Tensor } from '../tensor/tensor.js';
import { buildModel, loadModel, parameterCount } from './model-file.js';
import { TruncatedBPTT } from './tbptt.js';
import { resolveConfig, type TrainConfig } from './presets.js';

const V = 12;
function stream(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = rng.uniform() < 0.6 ? (out[i - 1]! + 1) % V : rng.int(V);
  return out;
}
function corpusOf(train: Int32Array, valid: Int32Array): Corpus {
  return { name: 'synthetic', level: 'word', vocab: new Vocab(Array.from({ length: V }, (_, i) => `w${i}`)), train, valid, test: valid, info: {} };
}
/** Validation without the training text's structure: the more the model fits, the worse validation gets, so NT-ASGD switches. */
function overfitting(): Corpus {
  const rng = new Rng(5);
  return corpusOf(stream(400, 1), Int32Array.from({ length: 120 }, () => rng.int(V)));
}
const cfgOf = (o: Partial<TrainConfig> = {}): TrainConfig => resolveConfig('tiny', {
  name: 'sched', data: 'text', text: 'synthetic', epochs: 4, batchSize: 2, numSteps: 5, hidden: 8, layers: 2,
  optimizer: 'sgd', lr: 1, maxEpoch: 4, lrDecay: 1, keepProb: 0.8, maxStepsPerEpoch: 0, validTokens: 0,
  testBatchSize: 1, testNumSteps: 3, testTokens: 0, seed: 7, ...o,
});
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-sched-'));
const readLog = (dir: string) => fs.readFileSync(path.join(dir, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const noTimes = (rows: Record<string, unknown>[]) => rows.map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);

/** The checks of a run in order: mid-epoch check lines and epoch records, as NT-ASGD sees them. */
function checksOf(log: Record<string, unknown>[]): Array<{ nats: number; switched: boolean; averaged: boolean }> {
  return log.filter((r) => r.check === true || typeof r.epoch === 'number' && r.trainPerplexity !== undefined)
    .map((r) => ({ nats: r.validNats as number, switched: r.ntAsgdSwitch === true, averaged: r.averaged === true }));
}

test('validEvery: a check every n windows of each epoch, logged in order, each one a checkpoint', async () => {
  const dir = tmp();
  try {
    const seen: CheckRecord[] = [];
    const t = LMTrainer.create(cfgOf({ epochs: 2, validEvery: 7 }), { outDir: dir, corpus: overfitting(), events: { check: (c) => seen.push(c) } });
    const windows = t.windowsPerEpoch;   // 400 tokens, B 2, T 5: 39 windows
    const r = await t.run({ yieldEveryWindow: false });
    assert.equal(r.status, 'done');
    const log = readLog(dir);
    assert.equal(log[0]!.header, true);
    const checks = log.filter((l) => l.check === true) as unknown as CheckRecord[];
    // Windows 7, 14, …, 35 of each epoch of 39 (the epoch's own validation is its end), run-wide 7 … 35, 46 … 74.
    const inEpoch = [7, 14, 21, 28, 35];
    const expect = [...inEpoch, ...inEpoch.map((w) => windows + w)];
    assert.deepEqual(checks.map((c) => c.windowsDone), expect);
    assert.deepEqual(seen.map((c) => c.windowsDone), expect);
    assert.deepEqual(checks.map((c) => [c.epoch, c.window]), [...inEpoch.map((w) => [1, w]), ...inEpoch.map((w) => [2, w])]);
    // In the log, each line comes where it happened: epoch 1's checks, epoch 1, epoch 2's checks, epoch 2, test.
    const order = log.slice(1).map((l) => (l.check ? `c${l.windowsDone as number}` : l.test ? 'test' : `e${l.epoch as number}`));
    assert.deepEqual(order, [...expect.filter((w) => w < windows).map((w) => `c${w}`), 'e1', ...expect.filter((w) => w > windows).map((w) => `c${w}`), 'e2', 'test']);
    // best.ckpt holds the lowest validation of any check, epoch ends included.
    const all = [...checks.map((c) => c.validPerplexity), ...(log.filter((l) => l.trainPerplexity !== undefined) as unknown as EpochRecord[]).map((e) => e.validPerplexity)];
    const { model, config } = loadModel(path.join(dir, BEST_FILE));
    const again = await scoreStream(model, new StreamBatcher(overfitting().valid, config.batchSize, config.numSteps), { yieldEveryWindow: false });
    assert.equal(again.perplexity, Math.min(...all));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('NT-ASGD switches at the first check worse than the best before the last n, and evaluates the average from there', async () => {
  const n = 2;
  const dir = tmp();
  try {
    const r = await LMTrainer.create(cfgOf({ epochs: 4, validEvery: 5, ntAsgd: n }), { outDir: dir, corpus: overfitting() }).run({ yieldEveryWindow: false });
    const checks = checksOf(readLog(dir));
    // The rule, computed from the logged values: t > n and v_t > min(v_0 … v_{t−n−1}).
    const expected = checks.findIndex((c, t) => t > n && c.nats > Math.min(...checks.slice(0, t - n).map((x) => x.nats)));
    assert.ok(expected > n, `validation never worsened: ${checks.map((c) => c.nats.toFixed(3)).join(' ')}`);
    assert.deepEqual(checks.map((c) => c.switched), checks.map((_, i) => i === expected), 'switched at exactly that check, once');
    assert.deepEqual(checks.map((c) => c.averaged), checks.map((_, i) => i > expected), 'the checks after it use the average');
    assert.equal(r.test!.averaged, true);
    // The checkpoint's parameters are the average (what eval and export read): they score the last epoch's validation.
    const ck = loadCheckpoint(path.join(dir, CHECKPOINT_FILE));
    assert.ok(ck.tensors['ntasgd.raw'] && ck.tensors['ntasgd.avg']?.dtype === 'F64');
    const { model, config } = loadModel(path.join(dir, CHECKPOINT_FILE));
    const again = await scoreStream(model, new StreamBatcher(overfitting().valid, config.batchSize, config.numSteps), { yieldEveryWindow: false });
    assert.equal(again.perplexity, r.history.at(-1)!.validPerplexity);
    // Training went on with the raw weights, which differ from the average.
    const raw = ck.tensors['ntasgd.raw']!.data, avg = ck.tensors['ntasgd.avg']!.data;
    assert.ok(raw.some((v, i) => Math.abs(v - avg[i]!) > 1e-4));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('NT-ASGD\'s average is the mean of the iterates from the switch on, and the model keeps the raw weights', async () => {
  const t = LMTrainer.create(cfgOf({ epochs: 3, validEvery: 3, ntAsgd: 1 }), { outDir: null, corpus: overfitting() });
  const arena = t.optimizer.arena;
  let iterates: Float64Array[] = [];
  while (!t.averaging) {
    const r = await t.run({ stopAfterWindows: 1, yieldEveryWindow: false });
    assert.equal(r.status, 'interrupted', 'NT-ASGD never switched');
  }
  iterates.push(Float64Array.from(arena.values));   // w_T: the weights at the switch
  for (let k = 0; k < 25; k++) {
    await t.run({ stopAfterWindows: 1, yieldEveryWindow: false });   // one window = one update (k1 = k2 = T)
    iterates.push(Float64Array.from(arena.values));
  }
  const mean = new Float64Array(arena.size);
  for (const w of iterates) for (let i = 0; i < mean.length; i++) mean[i]! += w[i]! / iterates.length;
  assert.equal(t.st.asgd!.count, iterates.length);
  const avg = t.withEvalWeights(() => Float64Array.from(arena.values));
  let worst = 0;
  for (let i = 0; i < mean.length; i++) worst = Math.max(worst, Math.abs(avg[i]! - Math.fround(mean[i]!)));
  assert.ok(worst < 1e-6, `average off by ${worst}`);
  // withEvalWeights put the raw weights back.
  assert.deepEqual(Float64Array.from(arena.values), iterates.at(-1));
  iterates = [];
});

test('variable BPTT with every length numSteps is the fixed-window run, number for number (state carried the same way)', async () => {
  // 402 tokens, B 2: 201 per stream, 200 targets = 40 windows of 5 exactly, so the two cut the stream identically.
  const corpus = corpusOf(stream(402, 3), stream(120, 4));
  const base = { epochs: 2, keepProb: 1, optimizer: 'adam' as const, lr: 0.05 };
  const fixed = await LMTrainer.create(cfgOf(base), { outDir: null, corpus }).run({ yieldEveryWindow: false });
  const variable = await LMTrainer.create(cfgOf({ ...base, bpttVariable: true, bpttP: 1, bpttSd: 0 }), { outDir: null, corpus }).run({ yieldEveryWindow: false });
  const strip = (h: EpochRecord[]) => h.map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);
  assert.deepEqual(strip(variable.history), strip(fixed.history));
  assert.equal(variable.test!.perplexity, fixed.test!.perplexity);
});

test('variable BPTT: lengths around numSteps (or half), at least bpttMin, one pass per epoch', async () => {
  const T = 10;
  const t = LMTrainer.create(cfgOf({ epochs: 1, numSteps: T, bpttVariable: true, bpttP: 0.7, bpttSd: 3, bpttMin: 4, lr: 0.5, keepProb: 1, testTokens: -1 }),
    { outDir: null, corpus: corpusOf(stream(2002, 3), stream(120, 4)) });
  const lengths: number[] = [], lrs: number[] = [];
  const feed = t.tbptt.feedWindow.bind(t.tbptt), step = t.optimizer.step.bind(t.optimizer);
  t.tbptt.feedWindow = (x, y, len, o) => { lengths.push(len); return feed(x, y, len, o); };
  t.optimizer.step = () => { lrs.push(t.optimizer.lr); step(); };
  const r = await t.run({ yieldEveryWindow: false });
  assert.equal(lengths.reduce((a, b) => a + b, 0), t.train.batchLen - 1, 'one pass: every target once');
  assert.equal(r.history[0]!.tokens, (t.train.batchLen - 1) * 2);
  assert.equal(r.history[0]!.windows, lengths.length);
  assert.ok(lengths.slice(0, -1).every((l) => l >= 4), `a window below the minimum: ${lengths.join(' ')}`);
  assert.ok(lengths.some((l) => l > T) && lengths.some((l) => l < T) && lengths.some((l) => l <= 7), `lengths not spread: ${lengths.join(' ')}`);
  // Half-length windows about 30 % of the time: lengths around 5 (sd 3) against around 10.
  const short = lengths.filter((l) => l <= 7).length / lengths.length;
  assert.ok(short > 0.15 && short < 0.5, `short windows ${short}`);
  assert.equal(lrs.length, lengths.length);
  assert.ok(lrs.every((lr, i) => lr === 0.5 * lengths[i]! / T), `the rate is lr·len/T for each window: ${lrs.join(' ')}`);
  assert.equal(r.history[0]!.lr, 0.5);
});

test('variable BPTT: each window\'s update is AWD-LSTM\'s — the optimizer at lr·len/T on the mean loss, clipped at c — for SGD, momentum and Adam, clipped or not', async () => {
  const T = 8, len: number[] = [];
  // The paper's rates in our units: SGD and momentum carry the constant T of our summed loss (lr = lr_p/T),
  // Adam ignores it. Thresholds: none, and one every window exceeds.
  for (const [optimizer, lrPaper, lr] of [['sgd', 16, 2], ['momentum', 4, 0.5], ['adam', 0.01, 0.01]] as const) {
    for (const cPaper of [0, 0.02]) {
      const cfg = cfgOf({ epochs: 1, numSteps: T, bpttVariable: true, bpttSd: 4, bpttMin: 2, keepProb: 1, optimizer,
        lr, maxGradNorm: cPaper * T, testTokens: -1 });
      const corpus = corpusOf(stream(800, 3), stream(120, 4));
      const t = LMTrainer.create(cfg, { outDir: null, corpus });
      const feed = t.tbptt.feedWindow.bind(t.tbptt);
      let clipped = 0;
      t.tbptt.feedWindow = (x, y, n, opts) => { len.push(n); const r = feed(x, y, n, opts); clipped += r.updates.filter((u) => u.clipped).length; return r; };
      // The paper's rule on a copy with an optimizer of its own: loss = the window's mean over steps and
      // streams, clipped at c, the optimizer at lr_p·len/T. Adam's ε/T makes Adam(∇mean) the exact
      // counterpart of Adam(T·∇mean) with ε (our normalised gradient is T times the mean's).
      const ref = buildModel(cfg, V, new Rng(cfg.seed));
      ref.arena().values.set(t.optimizer.arena.values);
      const mine = t.optimizer;
      const opt = mine instanceof Momentum ? new Momentum(ref, { lr: lrPaper, momentum: mine.mu })
        : mine instanceof Adam ? new Adam(ref, { lr: lrPaper, beta1: mine.beta1, beta2: mine.beta2, eps: mine.eps / T })
        : new SGD(ref, { lr: lrPaper });
      assert.equal(opt.kind, mine.kind);
      const mean = (n: number) => ({ perRow: (out: Tensor, y: SeqData) => o.mul(crossEntropyLoss.perRow(out, y), 1 / n) });
      let pos = 0;
      for (let k = 0; k < 6; k++) {
        const before = Float64Array.from(ref.arena().values);
        const state = t.tbptt.state;
        await t.run({ stopAfterWindows: 1, yieldEveryWindow: false });
        const n = len.at(-1)!, w = t.train.span(pos, n);
        pos += n;
        opt.lr = lrPaper * n / T;
        const paper = new TruncatedBPTT(ref, opt, { k1: n, k2: n, batchSize: cfg.batchSize, loss: mean(n), ...(cPaper ? { maxGradNorm: cPaper } : {}) });
        paper.setState(state);
        paper.feedWindow(w.x, w.y, n);
        // The two parameter vectors, compared relative to this window's update (float32 rounds the scalings differently).
        const a = t.optimizer.arena.values, b = ref.arena().values;
        let worst = 0, size = 0;
        for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i]! - b[i]!)); size = Math.max(size, Math.abs(b[i]! - before[i]!)); }
        assert.ok(size > 1e-4 && worst < 1e-3 * size, `${optimizer}, clip ${cPaper}, window ${k} (length ${n}): updates of ${size} differ by ${worst}`);
      }
      assert.equal(clipped, cPaper ? 6 : 0, `${optimizer}, clip ${cPaper}`);
    }
  }
  assert.ok(new Set(len).size > 2, `lengths ${len.join(' ')}`);
});

test('interrupted (before and after the NT-ASGD switch, mid-epoch) and resumed = the uninterrupted run, with variable BPTT and every regulariser', async () => {
  const corpus = overfitting();
  const cfg = cfgOf({ epochs: 4, validEvery: 4, ntAsgd: 2, bpttVariable: true, bpttSd: 2, bpttMin: 2, logEvery: 5,
    tieWeights: true, embed: 6, dropoutEmbed: 0.1, dropoutInput: 0.2, dropoutHidden: 0.1, dropoutOutput: 0.2, weightDrop: 0.3, ar: 1, tar: 1 });
  const dirA = tmp(), dirB = tmp();
  try {
    const a = await LMTrainer.create(cfg, { outDir: dirA, corpus }).run({ yieldEveryWindow: false });
    const switchAt = (LMTrainer.resume(path.join(dirA, CHECKPOINT_FILE), { outDir: null, corpus }).st.asgd!).windowsDone;
    assert.ok(switchAt > 6, `switched at window ${switchAt}`);
    // Stop twice: before the switch, then a few windows after it; resume each time from the file.
    const b1 = await LMTrainer.create(cfg, { outDir: dirB, corpus }).run({ stopAfterWindows: switchAt - 3, yieldEveryWindow: false });
    assert.equal(b1.status, 'interrupted');
    const file = path.join(dirB, CHECKPOINT_FILE);
    const b2 = LMTrainer.resume(file, { outDir: dirB, corpus });
    assert.equal(b2.averaging, false);
    assert.equal((await b2.run({ stopAfterWindows: 7, yieldEveryWindow: false })).status, 'interrupted');
    const b3 = LMTrainer.resume(file, { outDir: dirB, corpus });
    assert.equal(b3.averaging, true);
    assert.ok(b3.st.window > 0, 'the second stop was mid-epoch');
    const b = await b3.run({ yieldEveryWindow: false });
    assert.equal(b.status, 'done');
    assert.deepEqual(noTimes(readLog(dirB)), noTimes(readLog(dirA)));
    assert.ok(readLog(dirA).some((l) => l.progress === true));
    const pa = loadCheckpoint(path.join(dirA, CHECKPOINT_FILE)).tensors, pb = loadCheckpoint(file).tensors;
    assert.deepEqual(Object.keys(pb).sort(), Object.keys(pa).sort());
    for (const k of Object.keys(pa)) assert.deepEqual(pb[k]!.data, pa[k]!.data, k);
    // best.ckpt: the same check's weights (its metadata holds timings, so compare the tensors and the position).
    const ba = loadCheckpoint(path.join(dirA, BEST_FILE)), bb = loadCheckpoint(path.join(dirB, BEST_FILE));
    for (const k of Object.keys(ba.tensors)) assert.deepEqual(bb.tensors[k]!.data, ba.tensors[k]!.data, `best ${k}`);
    const where = (c: typeof ba) => { const s = c.meta.trainer_state as { epoch: number; window: number; windowsDone: number }; return [s.epoch, s.window, s.windowsDone]; };
    assert.deepEqual(where(bb), where(ba));
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test('schedule options: impossible values are ConfigErrors naming the field', () => {
  assert.throws(() => cfgOf({ bpttVariable: true, k1: 3 }), (e: Error) => e instanceof ConfigError && /k1 and k2 must equal numSteps \(5\), got k1 3/.test(e.message));
  assert.throws(() => cfgOf({ bpttP: 1.5 }), (e: Error) => e instanceof ConfigError && /bpttP.*1\.5/.test(e.message));
  assert.throws(() => cfgOf({ bpttMin: 0 }), (e: Error) => e instanceof ConfigError && /bpttMin.*0/.test(e.message));
  assert.throws(() => cfgOf({ ntAsgd: -1 }), (e: Error) => e instanceof ConfigError && /ntAsgd.*-1/.test(e.message));
  assert.throws(() => cfgOf({ validEvery: 2.5 }), (e: Error) => e instanceof ConfigError && /validEvery.*2\.5/.test(e.message));
  assert.throws(() => resolveConfig('tiny', {}, { epoch: 3 } as never), (e: Error) => e instanceof ConfigError && /unknown configuration field "epoch"/.test(e.message));
  assert.equal(resolveConfig('tiny', { data: 'shakespeare' }).level, 'char');
  assert.equal(resolveConfig('tiny', { data: 'shakespeare', level: 'word' }).level, 'word');
});

test('awd-small and awd-char: valid configurations of the sizes docs/training.md reasons with, and each trains a window', async () => {
  const s = resolveConfig('awd-small'), c = resolveConfig('awd-char');
  assert.deepEqual([s.data, s.layers, s.hidden, s.embed, s.tieWeights, s.optimizer, s.ntAsgd, s.bpttVariable, s.testBatchSize, s.testNumSteps],
    ['brown-bengio', 2, 300, 300, true, 'sgd', 0, false, 1, 1]);
  assert.deepEqual([c.data, c.level, c.layers, c.hidden, c.embed, c.optimizer, c.bpttVariable], ['shakespeare', 'char', 2, 384, 64, 'adam', true]);
  // Weights a token multiplies through (LSTM kernels, softmax): 6.8 M for awd-small on |V| 17,905 against
  // 4.2 M for the tutorial's 2×200, and 1.87 M for awd-char against 0.85 M for 2×256 with E 64.
  const lstm = (E: number, H: number, L: number) => Array.from({ length: L }, (_, l) => 4 * H * ((l ? H : E) + H)).reduce((a, b) => a + b, 0);
  assert.equal(lstm(s.embed, s.hidden, s.layers) + s.embed * 17_905, 6_811_500);
  assert.equal(parameterCount(s, 17_905).parameters, 6_831_805);   // the count the docs quote (tying removes the 5.4 M output matrix)
  assert.ok(Math.abs(lstm(64, 384, 2) / lstm(64, 256, 2) - 2.2) < 0.05);
  const corpus = corpusOf(stream(4000, 3), stream(4000, 4));
  for (const cfg of [s, c]) {
    const t = LMTrainer.create({ ...cfg, name: 'p', data: 'text', text: 'synthetic', validTokens: 0, testTokens: -1 }, { outDir: null, corpus });
    const r = await t.run({ stopAfterWindows: 1, yieldEveryWindow: false });
    assert.equal(r.status, 'interrupted');
    assert.ok(Number.isFinite(t.st.acc.cost) && t.st.acc.steps > 0);
  }
});
