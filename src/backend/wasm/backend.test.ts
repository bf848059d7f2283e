// Every WASM kernel against the reference backend (JsBackend), for {SIMD, scalar} × {1, 2 threads},
// on sizes that are not multiples of the vector width or the GEMM tiles, on sizes big enough to be
// split across threads, and on extreme inputs. Run after `node scripts/build-wasm.mjs`:
//   node --expose-gc --import tsx --test src/backend/wasm/*.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BinaryOp, DataArray, FloatArray } from '../backend.js';
import { JsBackend } from '../js/backend.js';
import { binaryOps, unaryAccuracy, unaryOps } from '../kernels.js';
import { adamStep } from '../../optim/optimizers.js';
import { checkExports, KERNEL_EXPORTS } from './backend.js';
import { createWasmBackend, type WasmBackend } from './index.js';
import { sizeClass } from './memory.js';

const ref = new JsBackend();
// SIMD with fused multiply-add (relaxed SIMD), plain SIMD, and scalar; 1 and 2 threads each.
const CONFIGS = [
  { simd: true, relaxedSimd: true, threads: 1 }, { simd: true, relaxedSimd: true, threads: 2 },
  { simd: true, relaxedSimd: false, threads: 1 }, { simd: true, relaxedSimd: false, threads: 2 },
  { simd: false, relaxedSimd: false, threads: 1 }, { simd: false, relaxedSimd: false, threads: 2 },
];

/** Deterministic uniform values in [lo, hi) (mulberry32). */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

function randInt(n: number, V: number, seed: number): Int32Array {
  return Int32Array.from(rand(n, seed, 0, V), (v) => Math.min(V - 1, Math.floor(v)));
}

/** Copies `src` into storage of backend `be` (so kernels run in place). */
function put(be: WasmBackend, src: Float32Array): Float32Array {
  const x = be.alloc('float32', src.length, 'arena') as Float32Array;
  x.set(src);
  return x;
}

function putInt(be: WasmBackend, src: Int32Array): Int32Array {
  const x = be.alloc('int32', src.length, 'arena') as Int32Array;
  x.set(src);
  return x;
}

/** Elementwise agreement: NaN matches NaN, infinities match exactly, else |a − e| ≤ rtol·|e| + atol. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e)) { assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`); continue; }
    if (!Number.isFinite(e)) { assert.equal(a, e, `${what}[${i}]`); continue; }
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

const SIZES = [1, 3, 17, 1000, 70001];
const EXTREMES = [0, -0, 1e-8, -1e-8, 1e-3, 0.2999, 0.3, 0.3001, -0.3, 0.5, 1, -1, 5, -5, 15, -15, 20, 40, 80, 88, 88.7, 89, 100,
  -80, -87, -88, -100, -104, -110, 300, -300, 1e30, -1e30, Infinity, -Infinity, NaN];

// Every op of the kernel table (src/backend/kernels.ts): a new row is tested here without an edit.
const UNARY = unaryOps;
const BINARY = binaryOps;

const backends: WasmBackend[] = [];
before(async () => {
  // The WASM kernels themselves: the native GEMM (tested in test/backends.test.ts and native.test.ts) stays off.
  for (const c of CONFIGS) backends.push(await createWasmBackend({ ...c, native: false }));
});
after(async () => {
  for (const be of backends) await be.close();
});

for (const [ci, cfg] of CONFIGS.entries()) {
  describe(`wasm backend simd=${cfg.simd} relaxed=${cfg.relaxedSimd} threads=${cfg.threads}`, () => {
    const be = (): WasmBackend => backends[ci]!;

    test('configuration and allocation', () => {
      assert.equal(be().simd, cfg.simd);
      assert.equal(be().relaxed, cfg.relaxedSimd, 'relaxed SIMD (Node 20: behind a V8 flag the backend enables)');
      assert.equal(be().threads, cfg.threads);
      const x = be().alloc('float32', 17, 'arena') as Float32Array;
      assert.ok(x instanceof Float32Array && x.length === 17 && x.every((v) => v === 0));
      assert.equal(x.byteOffset % 64, 0);
      assert.ok(be().heap.owns(x));
      assert.ok(be().alloc('int32', 3, 'arena') instanceof Int32Array);
      assert.ok(be().alloc('float64', 3, 'arena') instanceof Float64Array);
      // Reused blocks come back zeroed.
      x.fill(7);
      assert.ok((be().alloc('float32', 17, 'arena') as Float32Array).every((v) => v === 0));
    });

    test('unary: every op, all sizes and extreme inputs', () => {
      for (const op of UNARY) {
        for (const n of [...SIZES, EXTREMES.length]) {
          const src = n === EXTREMES.length ? Float32Array.from(EXTREMES) : rand(n, n + 7, -6, 6);
          const x = put(be(), src), out = be().alloc('float32', n, 'arena') as Float32Array, exp = new Float32Array(n);
          be().unary(op, x, out);
          ref.unary(op, src, exp);
          const { rtol, atol } = unaryAccuracy(op);
          assertClose(out, exp, rtol, atol, `${op} n=${n}`);
        }
      }
      // The saturating cases exactly.
      const x = put(be(), Float32Array.from([300, -300, 1e30, -1e30, 100, -100]));
      const out = be().alloc('float32', 6, 'arena') as Float32Array;
      be().unary('sigmoid', x, out);
      assert.deepEqual(Array.from(out.subarray(0, 4)), [1, 0, 1, 0]);
      be().unary('tanh', x, out);
      assert.deepEqual(Array.from(out), [1, -1, 1, -1, 1, -1]);
      be().unary('exp', x, out);
      assert.deepEqual(Array.from(out.subarray(0, 4)), [Infinity, 0, Infinity, 0]);
    });

    test('unary in place, on foreign float32 and on float64', () => {
      const src = rand(1000, 3, -3, 3);
      const x = put(be(), src), exp = new Float32Array(1000);
      ref.unary('tanh', src, exp);
      be().unary('tanh', x, x);
      assertClose(x, exp, 2e-6, 0, 'in place');
      const foreign = new Float32Array(src), fOut = new Float32Array(1000);
      be().unary('tanh', foreign, fOut);
      assertClose(fOut, exp, 2e-6, 0, 'foreign');
      const d = Float64Array.from(src), dOut = new Float64Array(1000), dExp = new Float64Array(1000);
      be().unary('tanh', d, dOut);
      ref.unary('tanh', d, dExp);
      assert.deepEqual(dOut, dExp);
    });

    test('binary: every op and broadcast mode', () => {
      const cases: [number[], number[], number[]][] = [
        [[17], [17], [17]], [[1], [1], [1]], [[3, 1000], [3, 1000], [3, 1000]], [[70001], [70001], [70001]],
        [[5, 17], [1], [5, 17]], [[1], [5, 17], [5, 17]], [[], [1000], [1000]],
        [[4, 17], [17], [4, 17]], [[4, 17], [1, 17], [4, 17]], [[17], [3, 17], [3, 17]],
        [[2000, 33], [33], [2000, 33]], [[3, 1], [1, 4], [3, 4]], [[2, 3, 4], [3, 1], [2, 3, 4]],
      ];
      for (const op of BINARY) {
        for (const [ci2, [as, bs, os]] of cases.entries()) {
          const na = as.reduce((p, d) => p * d, 1), nb = bs.reduce((p, d) => p * d, 1), no = os.reduce((p, d) => p * d, 1);
          const lo = op === 'pow' ? 0.1 : -3;
          const sa = rand(na, 11 + ci2, lo, 3), sb = rand(nb, 97 + ci2, op === 'pow' ? -2 : -3, 3);
          if (op === 'eq' || op === 'ge') for (let i = 0; i < Math.min(na, nb); i += 3) sb[i] = sa[i]!;
          const a = put(be(), sa), b = put(be(), sb), out = be().alloc('float32', no, 'arena') as Float32Array;
          const exp = new Float32Array(no);
          be().binary(op, a, as, b, bs, out, os);
          ref.binary(op, sa, as, sb, bs, exp, os);
          assertClose(out, exp, 2e-6, 1e-30, `${op} ${JSON.stringify([as, bs])}`);
        }
      }
      // NaN semantics of max/min follow the reference (NaN in either operand gives NaN).
      const sa = Float32Array.from([NaN, 1, NaN, 2]), sb = Float32Array.from([1, NaN, NaN, 2]);
      for (const op of ['max', 'min', 'gt', 'ge', 'eq'] as BinaryOp[]) {
        const out = be().alloc('float32', 4, 'arena') as Float32Array, exp = new Float32Array(4);
        be().binary(op, put(be(), sa), [4], put(be(), sb), [4], out, [4]);
        ref.binary(op, sa, [4], sb, [4], exp, [4]);
        assertClose(out, exp, 0, 0, `${op} NaN`);
      }
    });

    test('clip, where, axpby', () => {
      for (const n of SIZES) {
        const sx = rand(n, 5, -3, 3), sy = rand(n, 6, -3, 3), sc = rand(n, 7, -1, 1).map((v) => (v > 0 ? 1 : 0));
        const x = put(be(), sx), y = put(be(), sy), c = put(be(), sc);
        const out = be().alloc('float32', n, 'arena') as Float32Array, exp = new Float32Array(n);
        be().clip(x, -1, 0.5, out); ref.clip(sx, -1, 0.5, exp);
        assertClose(out, exp, 0, 0, 'clip');
        be().where(c, x, y, out); ref.where(sc, sx, sy, exp);
        assertClose(out, exp, 0, 0, 'where');
        be().axpby(x, 0.7, y, -1.3, out); ref.axpby(sx, 0.7, sy, -1.3, exp);
        assertClose(out, exp, 1e-6, 1e-6, 'axpby'); // f32 vs f64 rounding under cancellation
      }
    });

    test('matmul: all forms, accumulate, batching and broadcast, odd sizes', () => {
      const shapes: [number, number, number, number][] = [
        [1, 1, 1, 1], [1, 3, 17, 5], [2, 17, 3, 33], [1, 33, 65, 17], [1, 130, 300, 129], [3, 20, 40, 80], [1, 20, 400, 800],
        [1, 300, 50, 60], // split by M across threads
        [1, 1, 67, 301], [3, 1, 67, 301], [1, 1, 1100, 1000], // one row: the matrix-vector kernel (the last split across threads)
      ];
      for (const [batch, M, K, N] of shapes) {
        for (const bStride of [K * N, 0]) {
          for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
            const sa = rand(batch * M * K, M + K, -1, 1), sb = rand(bStride === 0 ? K * N : batch * K * N, N + 3, -1, 1);
            const sc = rand(batch * M * N, 5, -1, 1);
            const a = put(be(), sa), b = put(be(), sb), c = put(be(), sc);
            // Ground truth in float64.
            const c64 = Float64Array.from(sc);
            ref.matmul(Float64Array.from(sa), Float64Array.from(sb), c64, batch, M, K, N, tA, tB, acc, M * K, bStride);
            be().matmul(a, b, c, batch, M, K, N, tA, tB, acc, M * K, bStride);
            assertClose(c, c64, 1e-5, 2e-7 * K, `matmul b=${batch} ${M}x${K}x${N} tA=${tA} tB=${tB} acc=${acc} bStride=${bStride}`);
          }
        }
      }
    });

    test('matmul: K = 0, foreign arrays, float64', () => {
      const c = put(be(), Float32Array.from([1, 2, 3, 4]));
      be().matmul(be().alloc('float32', 0, 'arena') as Float32Array, be().alloc('float32', 0, 'arena') as Float32Array, c, 1, 2, 0, 2, false, false, true);
      assert.deepEqual(Array.from(c), [1, 2, 3, 4]);
      be().matmul(new Float32Array(0), new Float32Array(0), c, 1, 2, 0, 2, false, false, false);
      assert.deepEqual(Array.from(c), [0, 0, 0, 0]);
      const [M, K, N] = [40, 50, 60];
      const sa = rand(M * K, 1), sb = rand(K * N, 2), out = new Float32Array(M * N), exp = new Float32Array(M * N);
      be().matmul(sa, sb, out, 1, M, K, N, false, true, false);
      ref.matmul(sa, sb, exp, 1, M, K, N, false, true, false);
      assertClose(out, exp, 1e-5, 1e-5, 'foreign');
      const d = new Float64Array(M * N), dExp = new Float64Array(M * N);
      be().matmul(Float64Array.from(sa), Float64Array.from(sb), d, 1, M, K, N, false, true, false);
      ref.matmul(Float64Array.from(sa), Float64Array.from(sb), dExp, 1, M, K, N, false, true, false);
      assert.deepEqual(d, dExp);
    });

    test('reduce: sum and max over every axis set', () => {
      const shapes: [number[], number[][]][] = [
        [[3, 4, 5], [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]]],
        [[1000, 17], [[0], [1], [0, 1]]], [[17], [[0]]], [[1], [[0]]], [[20, 30001], [[1], [0]]],
      ];
      for (const [shape, axesList] of shapes) {
        const n = shape.reduce((p, d) => p * d, 1);
        const sx = rand(n, n, -2, 2);
        const x = put(be(), sx);
        for (const axes of axesList) {
          const m = shape.filter((_, i) => !axes.includes(i)).reduce((p, d) => p * d, 1);
          for (const op of ['sum', 'max'] as const) {
            const out = be().alloc('float32', m, 'arena') as Float32Array, exp = new Float32Array(m);
            be().reduce(op, x, shape, axes, out);
            ref.reduce(op, sx, shape, axes, exp);
            const red = n / m;
            assertClose(out, exp, 1e-5, op === 'sum' ? 1e-6 * red : 0, `${op} ${JSON.stringify(shape)} ${JSON.stringify(axes)}`);
          }
        }
      }
      const sx = Float32Array.from([1, NaN, 3, 4, -Infinity, 2]);
      const out = be().alloc('float32', 2, 'arena') as Float32Array, exp = new Float32Array(2);
      be().reduce('max', put(be(), sx), [2, 3], [1], out);
      ref.reduce('max', sx, [2, 3], [1], exp);
      assertClose(out, exp, 0, 0, 'max NaN');
    });

    test('transpose and slice', () => {
      const cases: [number[], number[]][] = [[[17, 33], [1, 0]], [[3, 4, 5], [0, 2, 1]], [[3, 4, 5], [2, 0, 1]], [[1, 1], [1, 0]]];
      for (const [shape, perm] of cases) {
        const n = shape.reduce((p, d) => p * d, 1);
        const sx = rand(n, 9);
        const out = be().alloc('float32', n, 'arena') as Float32Array, exp = new Float32Array(n);
        be().transpose(put(be(), sx), shape, perm, out);
        ref.transpose(sx, shape, perm, exp);
        assertClose(out, exp, 0, 0, `transpose ${JSON.stringify(shape)} ${JSON.stringify(perm)}`);
      }
      const si = randInt(12, 100, 4);
      const io = be().alloc('int32', 12, 'arena') as Int32Array, ie = new Int32Array(12);
      be().transpose(putInt(be(), si), [3, 4], [1, 0], io);
      ref.transpose(si, [3, 4], [1, 0], ie);
      assert.deepEqual(Array.from(io), Array.from(ie));
      const sx = rand(60, 2), out = be().alloc('float32', 12, 'arena') as Float32Array, exp = new Float32Array(12);
      be().slice(put(be(), sx), [3, 4, 5], [1, 0, 2], [2, 2, 3], out);
      ref.slice(sx, [3, 4, 5], [1, 0, 2], [2, 2, 3], exp);
      assertClose(out, exp, 0, 0, 'slice');
    });

    test('gatherRows and scatterAddRows, with bad indices', () => {
      for (const [V, D, N] of [[1, 1, 1], [10, 17, 33], [1000, 64, 200]] as const) {
        const st = rand(V * D, V), idx = randInt(N, V, D);
        const table = put(be(), st), out = be().alloc('float32', N * D, 'arena') as Float32Array, exp = new Float32Array(N * D);
        be().gatherRows(table, V, D, putInt(be(), idx), out);
        ref.gatherRows(st, V, D, idx, exp);
        assertClose(out, exp, 0, 0, 'gather');
        const sd = rand(N * D, N), dt = put(be(), st), dte = new Float32Array(st);
        be().scatterAddRows(put(be(), sd), D, idx, dt); // idx foreign on purpose
        ref.scatterAddRows(sd, D, idx, dte);
        assertClose(dt, dte, 1e-6, 1e-6, 'scatter');
      }
      const table = be().alloc('float32', 6, 'arena') as Float32Array, out = be().alloc('float32', 4, 'arena') as Float32Array;
      assert.throws(() => be().gatherRows(table, 3, 2, Int32Array.from([0, 3]), out), RangeError);
      assert.throws(() => be().gatherRows(table, 3, 2, Int32Array.from([-1, 0]), out), RangeError);
      assert.throws(() => be().scatterAddRows(out, 2, Int32Array.from([1, 5]), table), RangeError);
      assert.deepEqual(Array.from(table), [0, 0, 0, 0, 0, 0]);
      // The same errors, word for word, from the reference; and it too adds nothing.
      for (const [name, call] of [
        ['gather', (b: WasmBackend | JsBackend, t: Float32Array) => b.gatherRows(t, 3, 2, Int32Array.from([0, 3]), new Float32Array(4))],
        ['scatter', (b: WasmBackend | JsBackend, t: Float32Array) => b.scatterAddRows(Float32Array.of(1, 1, 1, 1), 2, Int32Array.from([1, -1]), t)],
      ] as const) {
        const t1 = new Float32Array(6), t2 = new Float32Array(6);
        const message = (f: () => void): string => { try { f(); } catch (e) { return (e as Error).message; } return 'no error'; };
        assert.equal(message(() => call(be(), t1)), message(() => call(ref, t2)), name);
        assert.deepEqual(Array.from(t2), [0, 0, 0, 0, 0, 0], `${name}: the reference changed nothing`);
      }
    });

    test('softmax, logSoftmax, softmax cross-entropy forward and backward', () => {
      for (const [R, C] of [[1, 1], [3, 17], [5, 1000], [8, 10000]] as const) {
        const sx = rand(R * C, C, -8, 8);
        sx[0] = 1000; if (R * C > 2) sx[2] = -1000; // extreme logits stay finite
        const x = put(be(), sx), t = randInt(R, C, R);
        const out = be().alloc('float32', R * C, 'arena') as Float32Array, exp = new Float32Array(R * C);
        be().softmax(x, R, C, out); ref.softmax(sx, R, C, exp);
        assertClose(out, exp, 1e-5, 1e-9, `softmax ${R}x${C}`);
        be().logSoftmax(x, R, C, out); ref.logSoftmax(sx, R, C, exp);
        assertClose(out, exp, 1e-5, 1e-4, `logSoftmax ${R}x${C}`);
        const loss = be().alloc('float32', R, 'arena') as Float32Array, lossE = new Float32Array(R);
        be().softmaxCrossEntropy(x, R, C, putInt(be(), t), loss, out);
        ref.softmaxCrossEntropy(sx, R, C, t, lossE, exp);
        assertClose(out, exp, 1e-5, 1e-9, 'ce probs');
        assertClose(loss, lossE, 1e-5, 1e-4, 'ce loss');
        const sg = rand(R, 3, 0, 2), dx = be().alloc('float32', R * C, 'arena') as Float32Array, dxE = new Float32Array(R * C);
        be().softmaxCrossEntropyBackward(out, R, C, t, put(be(), sg), dx);
        ref.softmaxCrossEntropyBackward(exp, R, C, t, sg, dxE);
        assertClose(dx, dxE, 1e-5, 1e-8, 'ce backward');
      }
      const x = be().alloc('float32', 6, 'arena') as Float32Array;
      assert.throws(() => be().softmaxCrossEntropy(x, 2, 3, Int32Array.from([0, 3]), new Float32Array(2), new Float32Array(6)), RangeError);
    });

    test('LSTM cell forward and backward', () => {
      for (const [B, H] of [[1, 1], [3, 17], [64, 200]] as const) {
        const sz = rand(B * 4 * H, H, -6, 6), scp = rand(B * H, B, -2, 2);
        sz[0] = 300; sz[1 % (4 * H)] = -300;
        const outs = () => [B * H, B * H, B * 4 * H, B * H].map((n) => be().alloc('float32', n, 'arena') as Float32Array);
        const [c, h, acts, tc] = outs() as [Float32Array, Float32Array, Float32Array, Float32Array];
        const [ce, he, ae, te] = [B * H, B * H, B * 4 * H, B * H].map((n) => new Float32Array(n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
        be().lstmCellForward(put(be(), sz), put(be(), scp), B, H, 1, c, h, acts, tc);
        ref.lstmCellForward(sz, scp, B, H, 1, ce, he, ae, te);
        assertClose(c, ce, 2e-6, 1e-6, 'c'); assertClose(h, he, 2e-6, 1e-6, 'h');
        assertClose(acts, ae, 2e-6, 1e-7, 'acts'); assertClose(tc, te, 2e-6, 1e-6, 'tanhC');
        const sdh = rand(B * H, 1), sdc = rand(B * H, 2);
        const dz = be().alloc('float32', B * 4 * H, 'arena') as Float32Array, dcp = be().alloc('float32', B * H, 'arena') as Float32Array;
        const dze = new Float32Array(B * 4 * H), dcpe = new Float32Array(B * H);
        be().lstmCellBackward(put(be(), sdh), put(be(), sdc), put(be(), scp), acts, tc, B, H, dz, dcp);
        ref.lstmCellBackward(sdh, sdc, scp, ae, te, B, H, dze, dcpe);
        assertClose(dz, dze, 1e-5, 1e-6, 'dz'); assertClose(dcp, dcpe, 1e-5, 1e-6, 'dcPrev');
      }
    });

    test('fused Adam step against src/optim\'s flat loop; sumSquares', () => {
      for (const n of [...SIZES, 300001]) {
        const sp = rand(n, 1), sg = rand(n, 2), sm = rand(n, 3), sv = rand(n, 4, 0, 1);
        const p = put(be(), sp), g = put(be(), sg), m = put(be(), sm), v = put(be(), sv);
        const pe = new Float32Array(sp), me = new Float32Array(sm), ve = new Float32Array(sv);
        for (const t of [1, 3]) {
          be().adamUpdate(p, g, m, v, 0.01, 0.9, 0.999, 1e-8, t); adamStep(pe, sg, me, ve, 0.01, 0.9, 0.999, 1e-8, t);
          assertClose(p, pe, 1e-5, 1e-6, 'adam p'); assertClose(m, me, 1e-6, 1e-7, 'adam m'); assertClose(v, ve, 1e-6, 1e-7, 'adam v');
        }
        const ss = be().sumSquares(p), sse = ref.sumSquares(pe);
        assert.ok(Math.abs(ss - sse) <= 1e-5 * sse, `sumSquares ${ss} vs ${sse}`);
      }
      // A foreign float32 arena is staged in and written back.
      const fp = rand(37, 5), fpe = new Float32Array(fp), fm = new Float32Array(37), fv = new Float32Array(37);
      be().adamUpdate(fp, rand(37, 6), fm, fv, 0.1, 0.9, 0.999, 1e-8, 1);
      adamStep(fpe, rand(37, 6), new Float32Array(37), new Float32Array(37), 0.1, 0.9, 0.999, 1e-8, 1);
      assertClose(fp, fpe, 1e-5, 1e-6, 'adam foreign');
    });

    test('NaN and inf propagate through matmul as in the reference (0·NaN = NaN)', () => {
      for (const [M, K, N] of [[2, 3, 4], [40, 50, 60]] as const) {
        for (const tB of [false, true]) {
          const sa = rand(M * K, 8), sb = rand(K * N, 9);
          for (let i = 0; i < M * K; i += 3) sa[i] = 0; // zeros of A meet the non-finite entries of B
          sb[0] = NaN; sb[K * N - 1] = Infinity;
          const out = be().alloc('float32', M * N) as Float32Array, exp = new Float32Array(M * N);
          be().matmul(put(be(), sa), put(be(), sb), out, 1, M, K, N, false, tB, false);
          ref.matmul(sa, sb, exp, 1, M, K, N, false, tB, false);
          assert.ok(exp.some(Number.isNaN), 'the reference propagates NaN');
          assertClose(out, exp, 1e-5, 1e-5, `matmul NaN ${M}x${K}x${N} tB=${tB}`);
        }
      }
    });
  });
}

test('start-up checks every export of the kernel table, naming the missing ones', () => {
  assert.ok(KERNEL_EXPORTS.includes('unary_tanh') && KERNEL_EXPORTS.includes('binary_pow'));
  assert.equal(KERNEL_EXPORTS.filter((n) => n.startsWith('unary_')).length, unaryOps.length);
  const fake = Object.fromEntries(KERNEL_EXPORTS.map((n) => [n, () => 0]));
  checkExports(fake);
  delete fake.unary_sigmoid; delete fake.binary_max;
  assert.throws(() => checkExports(fake), /lack unary_sigmoid, binary_max/);
});

describe('wasm allocator', () => {
  // Kernel tests above allocate 'arena' storage so that they run on WASM-resident arrays (in place);
  // the lifetimes themselves are tested here. The GC tests prove nothing unless garbage is really
  // collected: without --expose-gc (which scripts/test.mjs sets) they fail instead of passing vacuously.
  const requireGc = (): (() => void) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(gc, 'run with --expose-gc (scripts/test.mjs sets it)');
    return gc;
  };

  test('dropped views are reclaimed: memory does not grow without bound', async () => {
    const gc = requireGc();
    const be = backends[0]!;
    // Blocks come back through a FinalizationRegistry, whose callbacks V8 posts as tasks after a collection:
    // on a loaded machine three turns of the event loop may not be enough for them to run. Collect and wait
    // until the live byte count stops falling (at most ~2 s), so the test measures reclamation, not timing.
    const settle = async (): Promise<void> => {
      let prev = Infinity;
      for (let i = 0; i < 200; i++) {
        gc(); await new Promise((r) => setTimeout(r, i < 3 ? 0 : 10));
        if (i >= 3 && be.heap.liveBytes >= prev) break;
        prev = be.heap.liveBytes;
      }
    };
    await settle();
    const base = be.heap.liveBytes;
    const pages0 = be.heap.memory.buffer.byteLength;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) be.alloc('float32', 100_000 + (i % 5) * 1000);
      await settle();
    }
    assert.ok(be.heap.liveBytes - base < 4_000_000, `live bytes ${be.heap.liveBytes - base} above baseline after GC`);
    // 20 rounds × 20 MB allocated; reuse keeps the memory far below that.
    assert.ok(be.heap.memory.buffer.byteLength - pages0 < 64 << 20, 'memory kept growing');
  });

  test('lifetimes: a scope frees its blocks; kept and arena storage outlive it; small kept storage is JS-heap', () => {
    const be = backends[0]!, heap = be.heap;
    const big = 100_000;                                  // 400 kB: above SMALL_KEPT
    heap.beginScope();
    const live0 = heap.liveBytes;
    const scoped = be.alloc('float32', big);
    const kept = be.alloc('float32', big, 'kept');
    const arena = be.alloc('float32', big, 'arena');
    const small = be.alloc('float32', 10, 'kept');
    assert.ok(heap.owns(scoped) && heap.owns(kept) && heap.owns(arena));
    assert.ok(!heap.owns(small), 'a small kept request lives in the JS heap');
    const afterAlloc = heap.liveBytes;
    heap.endScope();
    assert.equal(heap.liveBytes, afterAlloc - sizeClass(big * 4), 'only the scoped block was freed');
    assert.ok(heap.liveBytes > live0);
    // The freed block is handed out again (same class): proof it went back to the free list.
    heap.beginScope();
    const again = be.alloc('float32', big);
    assert.equal(again.byteOffset, scoped.byteOffset);
    heap.endScope();
    assert.throws(() => heap.endScope(), /no open scope/);
    void kept; void arena;
  });

  test('the kept budget: past it, requests spill to the JS heap instead of growing WASM memory', () => {
    const be = backends[0]!, heap = be.heap;
    const budget = heap.keptBudget;
    heap.keptBudget = heap.keptBytes + 3 * sizeClass(400_000);
    try {
      const spilled0 = heap.spilled, bytes0 = heap.memory.buffer.byteLength;
      const views = Array.from({ length: 10 }, () => be.alloc('float32', 100_000));
      assert.equal(views.filter((v) => heap.owns(v)).length, 3);
      assert.equal(heap.spilled - spilled0, 7);
      assert.ok(views.every((v) => v.length === 100_000 && v.every((x) => x === 0)));
      assert.ok(heap.memory.buffer.byteLength - bytes0 <= 3 * sizeClass(400_000) + (64 << 10) * 16);
      const inArena = be.alloc('float32', 100_000, 'arena');
      assert.ok(heap.owns(inArena), 'arena storage is never spilled');
    } finally {
      heap.keptBudget = budget;
    }
  });

  test('a subarray keeps its parent block alive', async () => {
    const gc = requireGc();
    const be = backends[0]!;
    let parent: Float32Array | undefined = be.alloc('float32', 4096, 'arena') as Float32Array;
    parent.fill(3);
    const child = parent.subarray(10, 20);
    parent = undefined;
    for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 0)); }
    const others: DataArray[] = [];
    for (let i = 0; i < 8; i++) others.push(be.alloc('float32', 4096, 'arena')); // would reuse the block if freed
    assert.ok(child.every((v) => v === 3));
    assert.equal(others.length, 8);
  });
});

// Silence unused-type lint in some editors.
export type { FloatArray };
