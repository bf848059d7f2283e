// One op and layer suite over every backend configuration: the reference (JS) backend, the WASM
// backend with relaxed SIMD (FMA), plain SIMD and scalar kernels, on 1 and 2 threads, and the WASM
// backend with the native GEMM (OpenBLAS) on 1 and 2 threads. Each case runs in
// float32 on the backend under test and is compared with the reference backend in float64, including odd
// sizes (1, 3, 17, 1000) that are not multiples of the SIMD width. A second test per configuration checks
// that the backend keeps the reference's semantics at the edges: NaN and inf propagate the same way
// (through matmul and its gradient, through softmax), bad indices give the same errors, and every
// binary op refuses mixed dtypes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../src/autodiff/index.js';
import { getBackend, setBackend, referenceBackend, type Backend } from '../src/backend/index.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import { LanguageModel } from '../src/nn/language-model.js';
import { Rng } from '../src/tensor/random.js';
import { Tensor, tensor } from '../src/tensor/tensor.js';
import { ShapeError } from '../src/errors.js';
import { UNARY_KERNELS } from '../src/backend/kernels.js';

/** The unary primitives: the autodiff ops that are also rows of the kernel table (a new row is tested here). */
const unaryPrims = o.primitives.filter((p): p is o.Prim & keyof typeof UNARY_KERNELS => Object.hasOwn(UNARY_KERNELS, p));
import { SGD } from '../src/optim/optimizers.js';
import { TruncatedBPTT } from '../src/train/tbptt.js';
import { lstmStep, gruStep, rnnStep } from '../src/autodiff/cells.js';

type Case = { name: string; shapes: number[][]; ints?: { shape: number[]; max: number }; fn: (...x: Tensor[]) => Tensor; lo?: number; hi?: number };
const cases: Case[] = [];
for (const n of [1, 3, 17, 1000]) {
  cases.push({ name: `add/mul/div broadcast n=${n}`, shapes: [[3, n], [n]], fn: (a, b) => o.div(o.mul(o.add(a!, b!), a!), o.add(o.mul(b!, b!), 1)) });
  cases.push({ name: `exp/tanh/sigmoid/relu n=${n}`, shapes: [[n]], fn: (a) => o.add(o.add(o.exp(a!), o.tanh(a!)), o.add(o.sigmoid(a!), o.relu(a!))) });
  // Each unary primitive on its own (inputs in [0.1, 2] so that log and sqrt are defined), summed.
  cases.push({ name: `every unary primitive n=${n}`, shapes: [[n]], lo: 0.1, hi: 2, fn: (a) => unaryPrims
    .map((p) => (o[p] as (x: Tensor) => Tensor)(a!)).reduce((s, y) => o.add(s, y)) });
  cases.push({ name: `softmax/logSoftmax n=${n}`, shapes: [[2, n]], fn: (a) => o.add(o.softmax(a!), o.logSoftmax(a!)) });
  cases.push({ name: `softmaxCrossEntropy n=${n}`, shapes: [[3, n]], ints: { shape: [3], max: n }, fn: (a, t) => o.softmaxCrossEntropy(a!, t!) });
  cases.push({ name: `sum/max n=${n}`, shapes: [[4, n]], fn: (a) => o.add(o.sum(a!, 1), o.max(a!, 1)) });
}
// 1×67×301: one row of C, the matrix-vector kernel (K not a multiple of 4; wasm/backend.test.ts has one split across threads).
for (const [M, K, N] of [[1, 1, 1], [3, 17, 5], [17, 33, 65], [20, 400, 120], [130, 70, 260], [1, 67, 301]]) {
  cases.push({ name: `matmul ${M}x${K}x${N}`, shapes: [[M!, K!], [K!, N!]], fn: (a, b) => o.matmul(a!, b!) });
  cases.push({ name: `matmul Aᵀ ${M}x${K}x${N}`, shapes: [[K!, M!], [K!, N!]], fn: (a, b) => o.matmul(a!, b!, { transA: true }) });
  cases.push({ name: `matmul Bᵀ ${M}x${K}x${N}`, shapes: [[M!, K!], [N!, K!]], fn: (a, b) => o.matmul(a!, b!, { transB: true }) });
}
cases.push({ name: 'batched matmul, shared b', shapes: [[3, 5, 7], [7, 9]], fn: (a, b) => o.matmul(a!, b!) });
cases.push({ name: 'batched matrix-vector, shared b', shapes: [[4, 1, 67], [67, 301]], fn: (a, b) => o.matmul(a!, b!) });
cases.push({ name: 'gather (embedding) + scatter-add', shapes: [[50, 17]], ints: { shape: [9, 4], max: 50 }, fn: (t, i) => o.gather(t!, i!) });
cases.push({ name: 'transpose/slice/concat/clip/where', shapes: [[3, 4, 5]], fn: (a) => {
  const t = o.transpose(a!, [2, 0, 1]);
  const s = o.slice(t, [1, 0, 1], [3, 3, 2]);
  return o.add(o.concat([s, o.clip(s, -0.3, 0.3)], 2), o.concat([o.where(o.compare('gt', s, 0), s, o.neg(s)), s], 2));
} });
cases.push({ name: 'squaredError', shapes: [[5, 3], [5, 3]], fn: (a, b) => o.squaredError(a!, b!) });
cases.push({ name: 'LSTM step (fused)', shapes: [[5, 6], [5, 7], [5, 7], [13, 28], [28]], fn: (x, h, c, W, b) => lstmStep(x!, h!, c!, W!, b!, 1) });
cases.push({ name: 'GRU step (fused)', shapes: [[4, 3], [4, 5], [8, 10], [10], [8, 5], [5]], fn: (x, h, a, b, c, d) => gruStep(x!, h!, a!, b!, c!, d!) });
cases.push({ name: 'RNN step (fused)', shapes: [[4, 3], [4, 5], [8, 5], [5]], fn: (x, h, W, b) => rnnStep(x!, h!, W!, b!) });

function inputs(c: Case, dtype: 'float32' | 'float64'): Tensor[] {
  const rng = new Rng(c.name.length * 7919 + c.shapes.length);
  const xs = c.shapes.map((s) => {
    const t = tensor(new Float64Array(s.reduce((p, d) => p * d, 1)), s, { dtype });
    for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(c.lo ?? -1, c.hi ?? 1);
    return t;
  });
  if (c.ints) xs.push(new Tensor(Int32Array.from({ length: c.ints.shape.reduce((p, d) => p * d, 1) }, () => rng.int(c.ints!.max)), c.ints.shape, 'int32'));
  return xs;
}

/** Value Σ f(x)⊙r and its gradient for each float input. */
function evaluate(c: Case, dtype: 'float32' | 'float64'): { value: number; grads: Float64Array[] } {
  const xs = inputs(c, dtype);
  let proj: Tensor | null = null;
  const { value, grads } = o.valueAndGrad((...a: Tensor[]) => {
    const y = c.fn(...a);
    if (!proj) { const r = new Rng(5); proj = tensor(Float64Array.from({ length: y.size }, () => r.uniform(-1, 1)), y.shape as number[], { dtype }); }
    return o.sum(o.mul(y, proj));
  })(...xs);
  return { value: value.item(), grads: grads.filter((_, i) => xs[i]!.dtype !== 'int32').map((g) => Float64Array.from(g.data)) };
}

/**
 * The native configuration: the WASM backend with the native GEMM (OpenBLAS) for every product, tiny
 * ones included (`nativeFrom = 0`), on 1 and 2 threads. Where the addon was not built it is skipped,
 * loudly, unless BACKPROP_REQUIRE_NATIVE=1 (CI), where that is a failure.
 */
async function makeNative(threads: number): Promise<Backend> {
  const be = await createWasmBackend({ threads });
  if (be.nativeAbsent !== undefined) {
    be.close();
    if (process.env['BACKPROP_REQUIRE_NATIVE'] === '1') throw new Error(`the native GEMM is required (BACKPROP_REQUIRE_NATIVE=1) but absent: ${be.nativeAbsent}`);
    return referenceBackend; // the caller skips
  }
  be.nativeFrom = 0;
  return be;
}
const nativeMissing = (be: Backend, cfg: { name: string }, t: { skip(m: string): void }): boolean => {
  if (!cfg.name.includes('native') || be !== referenceBackend) return false;
  console.error(`#### SKIPPED backend ${cfg.name}: the native addon is not built (npm rebuild backprop; see README, Backends)`);
  t.skip('native addon not built');
  return true;
};

const configs: { name: string; make: () => Promise<Backend> }[] = [
  { name: 'js', make: async () => referenceBackend },
  ...[[true, true], [true, false], [false, false]].flatMap(([simd, relaxedSimd]) => [1, 2].map((threads) => ({
    name: `wasm ${relaxedSimd ? 'fma' : simd ? 'simd' : 'scalar'} ${threads}t`,
    make: () => createWasmBackend({ simd, relaxedSimd, threads, native: false }),
  }))),
  ...[1, 2].map((threads) => ({ name: `wasm native ${threads}t`, make: () => makeNative(threads) })),
];
const opened: WasmBackend[] = [];
after(() => { setBackend(referenceBackend); for (const b of opened) b.close(); });

// Reference values in float64 on the reference backend, computed once.
const refs = new Map(cases.map((c) => [c.name, evaluate(c, 'float64')]));

for (const cfg of configs) {
  test(`backend ${cfg.name}: every op and cell agrees with the float64 reference (values and gradients)`, async (t) => {
    const be = await cfg.make();
    if (nativeMissing(be, cfg, t)) return;
    if (be !== referenceBackend) opened.push(be as WasmBackend);
    setBackend(be);
    try {
      for (const c of cases) {
        const got = evaluate(c, 'float32'), want = refs.get(c.name)!;
        const tol = (w: number, scale: number) => 2e-4 * Math.max(1, Math.abs(w), scale);
        assert.ok(Math.abs(got.value - want.value) <= tol(want.value, 1), `${cfg.name} ${c.name}: value ${got.value} vs ${want.value}`);
        want.grads.forEach((g, k) => {
          const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          for (let i = 0; i < g.length; i++) {
            assert.ok(Math.abs(got.grads[k]![i]! - g[i]!) <= tol(g[i]!, scale), `${cfg.name} ${c.name}: grad ${k}[${i}] ${got.grads[k]![i]} vs ${g[i]}`);
          }
        });
      }
      // A whole TBPTT update of a 2-layer LSTM language model matches the reference.
      const params = (seed: number) => {
        const m = new LanguageModel({ vocabSize: 37, embedSize: 9, hiddenSize: 17, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0.5, initScale: 0.3 }, new Rng(seed));
        const tr = new TruncatedBPTT(m, new SGD(m, { lr: 0.5 }), { k1: 3, k2: 6, batchSize: 5, maxGradNorm: 5 });
        const rng = new Rng(9);
        for (let w = 0; w < 4; w++) {
          const x = Int32Array.from({ length: 5 * 6 }, () => rng.int(37)), y = Int32Array.from(x, (v) => (v * 7 + 1) % 37);
          tr.feed(x, y, 6);
        }
        return Float64Array.from(m.arena().values);
      };
      const got = params(3);
      setBackend(referenceBackend);
      const want = params(3);
      setBackend(be);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `${cfg.name} LM after 8 updates: param ${i} ${got[i]} vs ${want[i]}`);
    } finally {
      setBackend(getBackend() === be ? referenceBackend : getBackend());
    }
  });
}

/** Same value, NaN for NaN and the same infinity, else within a float32 tolerance. */
function sameValues(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) { assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what}[${i}]: ${g}, reference ${w}`); continue; }
    assert.ok(Math.abs(g - w) <= 1e-5 * Math.max(1, Math.abs(w)), `${what}[${i}]: ${g}, reference ${w}`);
  }
}

/** The error message `fn` throws ('' when it does not throw). */
function errorOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return `${(e as Error).constructor.name}: ${(e as Error).message}`; }
  return '';
}

/** Everything the edge-case test observes, computed on the active backend in `dtype`. */
function edgeCases(dtype: 'float32' | 'float64') {
  // matmul with zeros in A meeting NaN and inf in B: 0·NaN and 0·inf are NaN, never skipped.
  const a = tensor([[0, 0, 0], [1, 2, 3]], { dtype }), b = tensor([[1, 2], [NaN, 1], [3, Infinity]], { dtype });
  const { value, grads } = o.valueAndGrad((x: Tensor, y: Tensor) => o.sum(o.matmul(x, y)))(a, b);
  const mm = o.matmul(a, b);
  // softmax, logSoftmax and cross-entropy rows holding +inf, −inf and NaN.
  const x = tensor([[Infinity, 0, 1], [-Infinity, 0, 1], [NaN, 0, 1], [-Infinity, -Infinity, 2]], { dtype });
  const t = new Tensor(Int32Array.from([0, 1, 2, 2]), [4], 'int32');
  const ce = o.valueAndGrad((z: Tensor) => o.sum(o.softmaxCrossEntropy(z, t)))(x);
  return {
    matmul: Array.from(mm.data), matmulValue: [value.item()], dA: Array.from(grads[0]!.data), dB: Array.from(grads[1]!.data),
    softmax: Array.from(o.softmax(x).data), logSoftmax: Array.from(o.logSoftmax(x).data),
    ce: Array.from(o.softmaxCrossEntropy(x, t).data), dCe: Array.from(ce.grads[0]!.data),
    // NaN passes through relu and maximum (as in PyTorch): a NaN activation must reach the loss.
    relu: Array.from(o.relu(tensor([NaN, -1, -0, 2], { dtype })).data),
    maximum: Array.from(o.maximum(tensor([NaN, 1, NaN, 2], { dtype }), tensor([1, NaN, NaN, 0], { dtype })).data),
  };
}

const edgeRef = edgeCases('float64');

for (const cfg of configs) {
  test(`backend ${cfg.name}: the reference's semantics at the edges (NaN/inf, bad indices, mixed dtypes)`, async (t) => {
    const be = await cfg.make();
    if (nativeMissing(be, cfg, t)) return;
    if (be !== referenceBackend) opened.push(be as WasmBackend);
    setBackend(be);
    try {
      // NaN through matmul and its gradient: the NaN entries are where the math puts them.
      const got = edgeCases('float32');
      assert.ok(Number.isNaN(got.matmul[0]!) && Number.isNaN(got.matmul[1]!), `${cfg.name}: 0·NaN and 0·inf in row 0 of A·B give NaN, got ${got.matmul}`);
      assert.ok(got.dA.some(Number.isNaN), `${cfg.name}: ∂/∂A carries B's NaN`);
      assert.ok(Number.isNaN(got.relu[0]!) && Number.isNaN(got.maximum[0]!) && Number.isNaN(got.maximum[1]!), `${cfg.name}: relu and maximum propagate NaN, got ${got.relu} / ${got.maximum}`);
      for (const [k, v] of Object.entries(got)) sameValues(v, edgeRef[k as keyof typeof edgeRef], `${cfg.name} ${k}`);

      // Out-of-range gather and scatter: the reference's error, word for word; nothing written.
      const table = tensor([[1, 2], [3, 4], [5, 6]]);
      for (const bad of [3, -1]) {
        const ids = new Tensor(Int32Array.from([0, bad]), [2], 'int32');
        const msg = errorOf(() => o.gather(table, ids));
        setBackend(referenceBackend);
        assert.equal(msg, errorOf(() => o.gather(table, ids)), `${cfg.name}: gather index ${bad}`);
        setBackend(be);
        assert.match(msg, new RegExp(`^ShapeError: gather: index ${bad} at position 1 is outside \\[0, 3\\)`));
        const dTable = be.alloc('float32', 6) as Float32Array, dOut = Float32Array.of(1, 1, 1, 1);
        const sMsg = errorOf(() => be.scatterAddRows(dOut, 2, ids.data as Int32Array, dTable));
        assert.equal(sMsg, errorOf(() => referenceBackend.scatterAddRows(dOut, 2, ids.data as Int32Array, new Float32Array(6))), `${cfg.name}: scatter index ${bad}`);
        assert.match(sMsg, /^RangeError: scatterAddRows: index/);
        assert.deepEqual(Array.from(dTable), [0, 0, 0, 0, 0, 0], `${cfg.name}: a failed scatter adds nothing`);
      }
      const logits = tensor([[1, 2, 3]]);
      assert.equal(errorOf(() => o.softmaxCrossEntropy(logits, new Tensor(Int32Array.of(3), [1], 'int32'))),
        'ShapeError: softmaxCrossEntropy: target 3 at row 0 is outside [0, 3)');

      // Mixed dtypes in every binary op: refused, naming the op, never a float32 answer.
      const f32 = tensor([1, 2, 3]), f64 = tensor([1, 2, 3], { dtype: 'float64' });
      const binaryOps: [string, (p: Tensor, q: Tensor) => Tensor][] = [
        ['add', o.add], ['sub', o.sub], ['mul', o.mul], ['div', o.div], ['pow', o.pow], ['maximum', o.maximum],
        ['gt', (p, q) => o.compare('gt', p, q)], ['ge', (p, q) => o.compare('ge', p, q)], ['eq', (p, q) => o.compare('eq', p, q)],
      ];
      for (const [name, fn] of binaryOps) {
        for (const [p, q] of [[f32, f64], [f64, f32]] as const) {
          assert.throws(() => fn(p, q), (e: unknown) => e instanceof ShapeError && e.message.startsWith(`${name}: dtypes differ (${p.dtype} vs ${q.dtype})`), `${cfg.name} ${name}(${p.dtype}, ${q.dtype})`);
        }
      }
    } finally {
      setBackend(referenceBackend);
    }
  });
}
