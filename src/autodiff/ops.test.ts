// Gradient checks of every primitive against central finite differences in float64, plus closed-form
// values at a few points and extreme inputs (sigmoid and softmax at ±300 must not give NaN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from './index.js';
import { recordNode } from './tape.js';
import { Rng } from '../tensor/random.js';
import { intTensor, Tensor, tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';

const rng = new Rng(7);
function r64(shape: number[], lo = -1, hi = 1): Tensor {
  const t = tensor(new Float64Array(shape.reduce((p, d) => p * d, 1)), shape, { dtype: 'float64' });
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}
const maxDiff = (a: Tensor, b: Tensor) => Math.max(0, ...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));

/** A fused path against its composition: same value and gradients to 1e-12 (float64), and gradcheck. */
function compareFusedComposed(name: string, fused: (...x: Tensor[]) => Tensor, composed: (...x: Tensor[]) => Tensor, inputs: Tensor[]) {
  const proj = r64(fused(...inputs).shape as number[]);
  const vf = o.valueAndGrad((...x: Tensor[]) => o.sum(o.mul(fused(...x), proj)))(...inputs);
  const vc = o.valueAndGrad((...x: Tensor[]) => o.sum(o.mul(composed(...x), proj)))(...inputs);
  assert.ok(Math.abs(vf.value.item() - vc.value.item()) < 1e-12, `${name}: forward differs`);
  vf.grads.forEach((g, i) => assert.ok(maxDiff(g, vc.grads[i]!) < 1e-12, `${name}: gradient of input ${i} differs by ${maxDiff(g, vc.grads[i]!)}`));
  check(name, fused, inputs);
}

function check(name: string, fn: (...x: Tensor[]) => Tensor, inputs: Tensor[]) {
  const r = o.gradcheck(fn, inputs);
  assert.ok(r.ok, `${name}: gradient mismatch ${JSON.stringify(r.worst)} (max abs err ${r.maxAbsError})`);
  assert.ok(r.checked > 0, `${name}: nothing checked`);
}

// One entry per primitive: the test below fails if a primitive is added without a check here.
const cases: Record<o.Prim, () => void> = {
  add: () => { check('add', o.add, [r64([3, 4]), r64([3, 4])]); check('add broadcast', o.add, [r64([2, 3, 4]), r64([4])]); },
  sub: () => { check('sub', o.sub, [r64([3, 4]), r64([1, 4])]); },
  mul: () => { check('mul', o.mul, [r64([3, 4]), r64([3, 1])]); },
  div: () => { check('div', o.div, [r64([3, 4]), r64([3, 4], 0.5, 2)]); },
  pow: () => { check('pow', o.pow, [r64([3, 4], 0.5, 2), r64([3, 4], -2, 2)]); },
  maximum: () => { check('maximum', o.maximum, [r64([5, 4]), r64([5, 4])]); },
  neg: () => check('neg', o.neg, [r64([6])]),
  exp: () => check('exp', o.exp, [r64([6])]),
  log: () => check('log', o.log, [r64([6], 0.2, 3)]),
  sqrt: () => check('sqrt', o.sqrt, [r64([6], 0.2, 3)]),
  tanh: () => check('tanh', o.tanh, [r64([6], -3, 3)]),
  sigmoid: () => check('sigmoid', o.sigmoid, [r64([6], -5, 5)]),
  relu: () => check('relu', o.relu, [r64([20])]),
  square: () => check('square', o.square, [r64([6], -3, 3)]),
  gelu: () => check('gelu', o.gelu, [r64([40], -5, 5)]),
  matmul: () => {
    check('matmul', (a, b) => o.matmul(a!, b!), [r64([3, 4]), r64([4, 5])]);
    check('matmul transA', (a, b) => o.matmul(a!, b!, { transA: true }), [r64([4, 3]), r64([4, 5])]);
    check('matmul transB', (a, b) => o.matmul(a!, b!, { transB: true }), [r64([3, 4]), r64([5, 4])]);
    check('matmul both', (a, b) => o.matmul(a!, b!, { transA: true, transB: true }), [r64([4, 3]), r64([5, 4])]);
    check('matmul batched', (a, b) => o.matmul(a!, b!), [r64([2, 3, 4]), r64([2, 4, 5])]);
    check('matmul batched shared b', (a, b) => o.matmul(a!, b!), [r64([2, 3, 4]), r64([4, 5])]);
    check('matmul batched shared bᵀ', (a, b) => o.matmul(a!, b!, { transB: true }), [r64([2, 3, 4]), r64([5, 4])]);
    check('matmul batched transA', (a, b) => o.matmul(a!, b!, { transA: true }), [r64([2, 4, 3]), r64([2, 4, 5])]);
  },
  sum: () => { check('sum all', (x) => o.sum(x!), [r64([3, 4])]); check('sum axis', (x) => o.sum(x!, [0, 2], true), [r64([2, 3, 4])]); },
  max: () => { check('max', (x) => o.max(x!, 1), [r64([3, 5])]); check('max all', (x) => o.max(x!), [r64([3, 5])]); },
  broadcastTo: () => check('broadcastTo', (x) => o.broadcastTo(x!, [3, 2, 4]), [r64([2, 1])]),
  reshape: () => check('reshape', (x) => o.reshape(x!, [4, -1]), [r64([2, 3, 2])]),
  transpose: () => check('transpose', (x) => o.transpose(x!, [2, 0, 1]), [r64([2, 3, 4])]),
  slice: () => check('slice', (x) => o.slice(x!, [1, 0, 2], [1, -1, 2]), [r64([3, 2, 5])]),
  concat: () => { check('concat', (a, b) => o.concat([a!, b!, a!], 1), [r64([2, 3]), r64([2, 1])]); check('split', (x) => o.mul(o.split(x!, [1, 3], 1)[1]!, 2), [r64([2, 4])]); },
  gather: () => check('gather', (t, i) => o.gather(t!, i!), [r64([5, 3]), intTensor([[0, 4], [4, 2]])]),
  where: () => check('where', (c, a, b) => o.where(c!, a!, b!), [tensor([[1, 0, 1]], { dtype: 'float64' }), r64([2, 3]), r64([3])]),
  clip: () => check('clip', (x) => o.clip(x!, -0.5, 0.5), [r64([20])]),
  softmaxCrossEntropy: () => {
    check('softmaxCrossEntropy', (x, t) => o.softmaxCrossEntropy(x!, t!), [r64([4, 6], -3, 3), intTensor([0, 5, 2, 2])]);
    // The fused loss against its composition, −logSoftmax(x)[t] (picked with a one-hot mask).
    const t = intTensor([0, 5, 2, 2]), onehot = tensor(new Float64Array(24), [4, 6], { dtype: 'float64' });
    t.data.forEach((c, r) => { onehot.data[r * 6 + c] = 1; });
    compareFusedComposed('softmaxCrossEntropy', (x) => o.softmaxCrossEntropy(x!, t),
      (x) => o.neg(o.sum(o.mul(o.logSoftmax(x!), onehot), -1)), [r64([4, 6], -3, 3)]);
  },
  // The fused recurrent cells: each against the same cell composed from tensor primitives, and gradcheck.
  lstmStep: () => {
    const [B, I, H] = [3, 4, 5];
    compareFusedComposed('lstmStep', (x, h, c, W, b) => o.lstmStep(x!, h!, c!, W!, b!, 1.0), (x, h, c, W, b) => o.lstmStepComposed(x!, h!, c!, W!, b!, 1.0),
      [r64([B, I]), r64([B, H]), r64([B, H]), r64([I + H, 4 * H]), r64([4 * H])]);
  },
  rnnStep: () => {
    const [B, I, H] = [2, 3, 4];
    compareFusedComposed('rnnStep', (x, h, W, b) => o.rnnStep(x!, h!, W!, b!), (x, h, W, b) => o.rnnStepComposed(x!, h!, W!, b!),
      [r64([B, I]), r64([B, H]), r64([I + H, H]), r64([H])]);
  },
  gruStep: () => {
    const [B, I, H] = [2, 3, 4];
    compareFusedComposed('gruStep', (x, h, a, b, c, d) => o.gruStep(x!, h!, a!, b!, c!, d!), (x, h, a, b, c, d) => o.gruStepComposed(x!, h!, a!, b!, c!, d!),
      [r64([B, I]), r64([B, H]), r64([I + H, 2 * H]), r64([2 * H]), r64([I + H, H]), r64([H])]);
  },
  // The whole-sequence LSTM against T fused steps (themselves checked against the composition above).
  lstmSequence: () => {
    const [T, B, I, H] = [4, 3, 2, 5];
    const stepwise = (x: Tensor, h0: Tensor, c0: Tensor, W: Tensor, b: Tensor) => {
      let h = h0, c = c0;
      const hs: Tensor[] = [], cs: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const hc = o.lstmStep(o.slice(x, [t * B, 0], [B, I]), h, c, W, b, 0.7);
        h = o.reshape(o.slice(hc, [0, 0, 0], [1, B, H]), [1, B, H]); c = o.reshape(o.slice(hc, [1, 0, 0], [1, B, H]), [1, B, H]);
        hs.push(h); cs.push(c);
        h = o.reshape(h, [B, H]); c = o.reshape(c, [B, H]);
      }
      return o.concat([o.concat(hs, 0), o.concat(cs, 0)], 0);
    };
    compareFusedComposed('lstmSequence', (x, h0, c0, W, b) => o.reshape(o.lstmSequence(x!, h0!, c0!, W!, b!, T, 0.7), [2 * T, B, H]),
      (x, h0, c0, W, b) => stepwise(x!, h0!, c0!, W!, b!), [r64([T * B, I]), r64([B, H]), r64([B, H]), r64([I + H, 4 * H]), r64([4 * H])]);
  },
};

for (const p of o.primitives) {
  test(`gradcheck: ${p}`, () => {
    assert.ok(cases[p], `primitive ${p} has no gradient check`);
    cases[p]();
  });
}

test('composites differentiate by composition: mean, softmax, logSoftmax, squaredError', () => {
  check('mean', (x) => o.mean(x!, 1), [r64([3, 4])]);
  check('softmax', o.softmax, [r64([3, 5], -3, 3)]);
  check('logSoftmax', o.logSoftmax, [r64([3, 5], -3, 3)]);
  check('squaredError', o.squaredError, [r64([3, 2]), r64([3, 2])]);
  for (const op of ['softmax', 'logSoftmax'] as const) {
    assert.ok(!o.primitives.includes(op as never), `${op} is a composite, not a primitive`);
  }
});

test('fused kernels of composites equal their compositions (softmax, logSoftmax without a gradient)', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const x = tensor(Array.from({ length: 15 }, () => rng.uniform(-30, 30)), [3, 5], { dtype });
    const xg = x.clone().requireGrad();
    for (const op of ['softmax', 'logSoftmax'] as const) {
      const fused = o.noGrad(() => o[op](x)), composed = o[op](xg);
      assert.ok(composed.node !== null && fused.node === null);
      const tol = dtype === 'float64' ? 1e-14 : 1e-6;   // relative: log-probabilities reach −60 here
      const rel = Math.max(...Array.from(fused.data, (v, i) => Math.abs(v - composed.data[i]!) / Math.max(1, Math.abs(v))));
      assert.ok(rel < tol, `${op} ${dtype}: fused and composed differ by ${rel} (relative)`);
    }
  }
});

test('closed-form values', () => {
  const x = tensor([0, 1, -1], { dtype: 'float64' });
  const y = o.sigmoid(x);
  assert.ok(Math.abs(y.data[0]! - 0.5) < 1e-15);
  assert.ok(Math.abs(y.data[1]! - 1 / (1 + Math.exp(-1))) < 1e-15);
  const { grads } = o.valueAndGrad((v: Tensor) => o.sum(o.sigmoid(v)))(x);
  assert.ok(Math.abs(grads[0]!.data[0]! - 0.25) < 1e-15); // σ'(0) = ¼
  const g = o.grad((v: Tensor) => o.sum(o.mul(v, v)))(tensor([1, 2, 3]));
  assert.deepEqual([...g[0]!.data], [2, 4, 6]);
});

test('extreme inputs: sigmoid, softmax, cross-entropy at ±300 are finite', () => {
  const x = tensor([[-300, 300, 0]], { dtype: 'float64' });
  for (const y of [o.sigmoid(x), o.softmax(x), o.logSoftmax(x)]) assert.ok([...y.data].every(Number.isFinite), String(y));
  assert.deepEqual([...o.sigmoid(x).data], [0 * 1 + Math.exp(-300) / (1 + Math.exp(-300)), 1, 0.5]);
  const ce = o.softmaxCrossEntropy(x, intTensor([0]));
  assert.ok(Math.abs(ce.item() - 600) < 1e-9, `CE = ${ce.item()}`);
  check('sigmoid extreme', o.sigmoid, [tensor([-300, 300, 40, -40], { dtype: 'float64' })]);
  check('softmax extreme', o.softmax, [tensor([[-300, 300, 0], [300, 300, -300]], { dtype: 'float64' })]);
  check('CE extreme', (a, t) => o.softmaxCrossEntropy(a!, t!), [tensor([[-300, 300, 0]], { dtype: 'float64' }), intTensor([1])]);
});

test('fan-out: a value used twice gets both contributions', () => {
  const g = o.grad((x: Tensor) => o.sum(o.add(o.mul(x, 3), o.mul(x, x))))(tensor([2]));
  assert.equal(g[0]!.data[0], 3 + 4);
});

test('noGrad and detach stop the gradient', () => {
  const g = o.grad((x: Tensor) => o.sum(o.add(o.mul(x, x), o.mul(x.detach(), x.detach()))))(tensor([3]));
  assert.equal(g[0]!.data[0], 6);
  const w = tensor([1, 2], { requiresGrad: true });
  const y = o.noGrad(() => o.mul(w, w));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.node, null);
});

test('shape errors name the op and the shapes', () => {
  assert.throws(() => o.add(tensor([1, 2, 3]), tensor([1, 2])), (e: Error) => e instanceof ShapeError && /add/.test(e.message) && /\[3\]/.test(e.message));
  assert.throws(() => o.matmul(tensor([[1, 2]]), tensor([[1, 2]])), (e: Error) => e instanceof ShapeError && /matmul/.test(e.message));
  assert.throws(() => o.gather(tensor([[1], [2]]), intTensor([5])), (e: Error) => e instanceof ShapeError && /index 5/.test(e.message));
  assert.throws(() => o.reshape(tensor([1, 2, 3]), [2, 2]), /reshape/);
  assert.throws(() => o.compare('gt', intTensor([1, -2]), intTensor([0, 0])), (e: Error) => e instanceof ShapeError && /gt: first operand has dtype int32/.test(e.message));
});

test('rule returning a wrongly shaped gradient is caught with the op name', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const y = recordNode(tensor([1, 2, 3]), 'brokenOp', [x], () => [tensor([1, 2])]);
  assert.throws(() => o.backward(o.sum(y)), (e: Error) => /brokenOp/.test(e.message));
});

test('gradients accumulate across backward calls until zeroed', () => {
  const w = tensor([1, 2], { requiresGrad: true });
  o.backward(o.sum(o.mul(w, 2)));
  o.backward(o.sum(o.mul(w, 2)));
  assert.deepEqual([...w.grad!.data], [4, 4]);
  o.zeroGrad([w]);
  assert.deepEqual([...w.grad!.data], [0, 0]);
});

test('deep graphs (10,000 nodes) backprop without stack overflow', () => {
  const g = o.grad((x: Tensor) => { let y = x; for (let i = 0; i < 10000; i++) y = o.add(y, 1e-4); return o.sum(y); })(tensor([1]));
  assert.equal(g[0]!.data[0], 1);
});
