// fit: it learns small problems, its arithmetic equals a plain loop of trainStep calls over the same
// batches, shuffling is seeded, the validation split is the last fraction, abort stops after the batch
// that is running, early stopping keeps or restores weights as documented, and bad options fail in one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import { Dense, Sequential } from '../nn/layers.js';
import { Adam, SGD } from '../optim/optimizers.js';
import { Rng } from '../tensor/random.js';
import { intTensor, tensor, type Tensor } from '../tensor/tensor.js';
import { evaluate, fit, type FitHistory } from './fit.js';
import { trainStep } from './step.js';

function net(seed: number, sizes: number[], hidden: 'tanh' | 'sigmoid' = 'tanh'): Sequential {
  const rng = new Rng(seed);
  return new Sequential(...sizes.slice(1).map((out, k) => new Dense(sizes[k]!, out, { activation: k < sizes.length - 2 ? hidden : 'linear', rng })));
}

const weights = (m: Sequential): number[] => Array.from(m.arena().values);

/** Four Gaussian-ish blobs labelled by quadrant: a problem a 2-8-4 network solves completely. */
function quadrants(n: number, seed: number): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed), xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 4, cx = c & 1 ? 1 : -1, cy = c & 2 ? 1 : -1;
    xs.push(cx + rng.normal(0, 0.2), cy + rng.normal(0, 0.2));
    ys.push(c);
  }
  return { x: tensor(xs, [n, 2]), y: intTensor(ys, [n]) };
}

test('fit learns a classification problem: loss falls, accuracy reaches 1, history has one entry per epoch', async () => {
  const { x, y } = quadrants(64, 1);
  const model = net(2, [2, 8, 4]);
  const epochs: number[] = [];
  const h = await fit(model, x, y, {
    loss: 'softmaxCrossEntropy', optimizer: new Adam(model, { lr: 0.05 }), epochs: 30, batchSize: 8,
    validationSplit: 0.25, rng: new Rng(3), callbacks: { onEpochEnd: (e) => { epochs.push(e); } },
  });
  assert.equal(h.stopReason, 'completed');
  assert.deepEqual(h.epoch, [...Array(30).keys()]);
  assert.deepEqual(epochs, h.epoch);
  assert.equal(h.steps, 30 * 6, '48 training examples in batches of 8');
  for (const k of ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const) assert.equal(h.history[k]!.length, 30, k);
  assert.ok(h.history.loss[29]! < h.history.loss[0]! / 5, `loss ${h.history.loss[0]} → ${h.history.loss[29]}`);
  assert.equal(h.history.accuracy![29], 1);
  assert.equal(h.history.valAccuracy![29], 1);
  assert.equal(evaluate(model, x, y, 'softmaxCrossEntropy').accuracy, 1);
});

test('fit learns a regression with squared error (the tutorial loss)', async () => {
  const n = 32, xs: number[] = [], ts: number[] = [];
  for (let i = 0; i < n; i++) { const v = -1 + (2 * i) / (n - 1); xs.push(v); ts.push(0.5 * v * v); }
  const model = net(4, [1, 6, 1]);
  const h = await fit(model, tensor(xs, [n, 1]), tensor(ts, [n, 1]), { loss: 'squaredError', optimizer: new Adam(model, { lr: 0.03 }), epochs: 200, batchSize: 8, rng: new Rng(5) });
  assert.equal(h.history.accuracy, undefined, 'no accuracy for a regression');
  assert.ok(h.history.loss[199]! < 2e-3 && h.history.loss[199]! < h.history.loss[0]! / 10, `loss ${h.history.loss[0]} → ${h.history.loss[199]}`);
});

test('without shuffling, fit is exactly a loop of trainStep over consecutive batches (loss = mean over examples of Σ ½(y−t)²)', async () => {
  const x = tensor([[0, 1], [1, 0], [1, 1], [0, 0], [0.5, 0.2]]), t = tensor([[1, 0], [0, 1], [1, 1], [0, 0], [0.3, 0.3]]);
  const a = net(7, [2, 3, 2], 'sigmoid'), b = net(7, [2, 3, 2], 'sigmoid');
  const batches: number[] = [];
  const h = await fit(a, x, t, { loss: 'squaredError', optimizer: new SGD(a, { lr: 0.5 }), epochs: 2, batchSize: 2, shuffle: false, callbacks: { onBatchEnd: (_, l) => { batches.push(l.loss); } } });
  const optB = new SGD(b, { lr: 0.5 }), expect: number[] = [];
  for (let e = 0; e < 2; e++) {
    for (const [s, k] of [[0, 2], [2, 2], [4, 1]] as const) {
      expect.push(trainStep(optB, () => o.div(o.sum(o.squaredError(b.forward(o.slice(x, [s, 0], [k, 2])), o.slice(t, [s, 0], [k, 2]))), k)).loss);
    }
  }
  assert.deepEqual(batches, expect);
  assert.deepEqual(weights(a), weights(b));
  assert.equal(h.history.loss[0], (2 * expect[0]! + 2 * expect[1]! + expect[2]!) / 5, 'the epoch loss weights each batch by its size');
});

test('shuffling is seeded: the same seed reproduces the run bit for bit, another seed does not', async () => {
  const { x, y } = quadrants(24, 9);
  const run = async (seed: number): Promise<[FitHistory, number[]]> => {
    const m = net(1, [2, 5, 4]);
    const h = await fit(m, x, y, { loss: 'softmaxCrossEntropy', optimizer: new SGD(m, { lr: 0.2 }), epochs: 3, batchSize: 5, rng: new Rng(seed) });
    return [h, weights(m)];
  };
  const [h1, w1] = await run(11), [h2, w2] = await run(11), [h3, w3] = await run(12);
  assert.deepEqual(h1, h2);
  assert.deepEqual(w1, w2);
  assert.notDeepEqual(w1, w3);
  assert.notDeepEqual(h1.history.loss, h3.history.loss);
});

test('validationSplit holds out the last fraction of the examples, before shuffling (like Keras)', async () => {
  // 8 examples, split 0.25: rows 6 and 7 validate. Their targets are far from the others', so a
  // validation loss computed on any other rows would differ.
  const x = tensor(Array.from({ length: 16 }, (_, i) => (i % 5) / 5), [8, 2]);
  const t = tensor([0, 0, 0, 0, 0, 0, 5, -5], [8, 1]);
  const a = net(3, [2, 4, 1]), b = net(3, [2, 4, 1]);
  const h = await fit(a, o.slice(x, [0, 0], [6, 2]), o.slice(t, [0, 0], [6, 1]), { loss: 'squaredError', optimizer: new SGD(a, { lr: 0.1 }), batchSize: 6, shuffle: false });
  const h0 = await fit(b, x, t, { loss: 'squaredError', optimizer: new SGD(b, { lr: 0.1 }), batchSize: 8, validationSplit: 0.25, shuffle: false });
  assert.equal(h0.steps, 1, 'one batch: the 6 training rows');
  assert.deepEqual(weights(b), weights(a), 'trained on exactly the first 6 rows');
  const valRows = evaluate(b, o.slice(x, [6, 0], [2, 2]), o.slice(t, [6, 0], [2, 1]), 'squaredError');
  assert.equal(h0.history.valLoss![0], valRows.loss, 'validated on the last 2 rows');
  assert.ok(valRows.loss > 5, 'the held-out rows are the far targets');
  assert.equal(h.history.valLoss, undefined);
});

test('an AbortSignal stops after the batch that is running; fit resolves with the completed epochs', async () => {
  const { x, y } = quadrants(40, 2);
  const m = net(5, [2, 4, 4]);
  const ctrl = new AbortController();
  const seen: [number, number][] = [];
  const h = await fit(m, x, y, {
    loss: 'softmaxCrossEntropy', optimizer: new SGD(m, { lr: 0.1 }), epochs: 10, batchSize: 10, signal: ctrl.signal, rng: new Rng(1),
    callbacks: { onBatchEnd: (b, l) => { seen.push([l.epoch, b]); if (l.epoch === 1 && b === 1) ctrl.abort(); } },
  });
  assert.equal(h.stopReason, 'aborted');
  assert.deepEqual(seen, [[0, 0], [0, 1], [0, 2], [0, 3], [1, 0], [1, 1]]);
  assert.equal(h.steps, 6);
  assert.deepEqual(h.epoch, [0], 'the aborted epoch is not recorded');
  assert.equal(m.training, true, 'the model is left in the mode it was found in');
  const before = weights(m);
  const h2 = await fit(m, x, y, { loss: 'softmaxCrossEntropy', optimizer: new SGD(m, { lr: 0.1 }), signal: AbortSignal.abort() });
  assert.deepEqual([h2.stopReason, h2.steps, h2.epoch], ['aborted', 0, []]);
  assert.deepEqual(weights(m), before);
});

test('an abort from outside (a timer) is seen between batches: fit yields to the event loop', async () => {
  const { x, y } = quadrants(64, 4);
  const m = net(5, [2, 16, 4]);
  const ctrl = new AbortController();
  setTimeout(() => ctrl.abort(), 30);
  // Without yields the timer could not fire before all 3000 epochs (seconds of work) had run.
  const h = await fit(m, x, y, { loss: 'softmaxCrossEntropy', optimizer: new SGD(m, { lr: 0.1 }), epochs: 3000, batchSize: 1, signal: ctrl.signal });
  assert.equal(h.stopReason, 'aborted');
  assert.ok(h.steps > 0 && h.steps < 3000 * 64, `${h.steps} steps`);
});

test('early stopping on the validation loss: stops after `patience` epochs without improvement, restores the best weights on request', async () => {
  // Training pulls the output to +1, validation wants −1 for the same inputs: the validation loss gets
  // worse from the first epoch on, so the best epoch is 0 and training stops at epoch patience.
  const x = tensor([[1, 0], [0, 1], [1, 1], [1, 0], [0, 1], [1, 1]]), t = tensor([[1], [1], [1], [-1], [-1], [-1]]);
  for (const restore of [false, true]) {
    const m = net(8, [2, 3, 1]);
    const after: number[][] = [];
    const h = await fit(m, x, t, {
      loss: 'squaredError', optimizer: new SGD(m, { lr: 0.2 }), epochs: 50, batchSize: 3, validationSplit: 0.5, shuffle: false,
      earlyStopping: { patience: 2, restoreBestWeights: restore }, callbacks: { onEpochEnd: () => { after.push(weights(m)); } },
    });
    assert.equal(h.stopReason, 'earlyStopping');
    assert.deepEqual(h.epoch, [0, 1, 2]);
    assert.equal(h.bestEpoch, 0);
    assert.ok(h.history.valLoss![2]! > h.history.valLoss![0]!);
    assert.deepEqual(weights(m), restore ? after[0] : after[2], restore ? 'the best epoch\'s weights' : 'the last weights (Keras\'s default)');
  }
});

test('bad options and data fail with one-line errors naming the problem', async () => {
  const { x, y } = quadrants(8, 1);
  const m = net(1, [2, 3, 4]);
  const optimizer = new SGD(m, { lr: 0.1 });
  const cases: [object, RegExp, typeof ConfigError | typeof ShapeError][] = [
    [{ epochs: 0 }, /epochs must be a positive integer, got 0/, ConfigError],
    [{ batchSize: 2.5 }, /batchSize must be a positive integer, got 2.5/, ConfigError],
    [{ validationSplit: 1 }, /validationSplit must be in \[0, 1\), got 1/, ConfigError],
    [{ validationSplit: 0.9 }, /no training examples left \(8 examples, validationSplit 0.9\)/, ShapeError],
    [{ loss: 'mse' }, /unknown loss "mse"/, ConfigError],
    [{ earlyStopping: { patience: 2 } }, /earlyStopping watches the validation loss; set validationSplit/, ConfigError],
    [{ earlyStopping: { patience: -1 }, validationSplit: 0.5 }, /patience must be an integer ≥ 0, got -1/, ConfigError],
    [{ optimizer: new SGD(net(1, [2, 3, 4]), { lr: 0.1 }) }, /does not hold the model's parameters/, ConfigError],
    [{ maxGradNorm: 0 }, /maxGradNorm must be > 0/, ConfigError],
  ];
  for (const [over, msg, type] of cases) {
    await assert.rejects(fit(m, x, y, { loss: 'softmaxCrossEntropy', optimizer, ...over }), (e: Error) => e instanceof type && msg.test(e.message) && !e.message.includes('\n'), JSON.stringify(over));
  }
  await assert.rejects(fit(m, x, tensor([0, 1, 2, 3, 0, 1, 2, 3]), { loss: 'softmaxCrossEntropy', optimizer }), /needs int32 class labels \[N\], got float32/);
  await assert.rejects(fit(m, x, intTensor([0, 1, 2]), { loss: 'softmaxCrossEntropy', optimizer }), /x has 8 examples but y has shape \[3\]/);
  await assert.rejects(fit(m, x, intTensor([0, 1, 2, 3, 0, 1, 2, 9]), { loss: 'softmaxCrossEntropy', optimizer }), /label 9 is outside the model's 4 classes/);
  await assert.rejects(fit(m, x, tensor(new Array(8 * 3).fill(0), [8, 3]), { loss: 'squaredError', optimizer }), /model's output \[\d, 4\] does not match the targets \[\d, 3\]/);
});
