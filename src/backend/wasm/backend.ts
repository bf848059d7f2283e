/**
 * The WASM backend: the `Backend` kernels in AssemblyScript (./assembly), compiled with f32x4 SIMD,
 * running on arrays that live in one shared `WebAssembly.Memory` (see memory.ts), optionally split
 * across a pool of worker threads (see pool.ts).
 *
 * Every method follows one pattern: float64 work is delegated to the reference backend; float32 and
 * int32 arrays that live in our memory are passed to the kernel as byte addresses; arrays that live
 * elsewhere (a plain Float32Array from a data loader) are staged: copied into a scratch block, and
 * copied back afterwards if the kernel writes them. Kernels that are plain data movement or rarely hot
 * (slice, general broadcasting, general transposes and reductions) also run on the reference backend,
 * which works on our views directly.
 */
import type { Backend, BinaryOp, DataArray, DType, FloatArray, Lifetime, ReduceOp, UnaryOp } from '../backend.js';
import { JsBackend } from '../js/backend.js';
import { WasmHeap } from './memory.js';
import type { ThreadPool } from './pool.js';

/** The kernels' exports (all addresses are byte offsets into the shared memory). */
export interface Kernels {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  set_gemm_scratch(ptr: number): void;
  gemm(a: number, b: number, c: number, p0: number, p1: number, sA: number, sB: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number, m0: number, m1: number, n0: number, n1: number): void;
  gemm_small(a: number, b: number, c: number, p0: number, p1: number, sA: number, sB: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number): void;
  clip(x: number, lo: number, hi: number, out: number, n: number): void;
  where(cond: number, a: number, b: number, out: number, n: number): void;
  axpby(x: number, s: number, y: number, t: number, out: number, n: number): void;
  scale_in_place(x: number, s: number, n: number): void;
  sum_squares(x: number, n: number): number;
  sgd_update(p: number, g: number, lr: number, n: number): void;
  momentum_update(p: number, g: number, v: number, lr: number, mu: number, n: number): void;
  adam_update(p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number, n: number): void;
  reduce_sum(x: number, out: number, outer: number, red: number, inner: number): void;
  reduce_max(x: number, out: number, outer: number, red: number, inner: number): void;
  transpose2d(x: number, out: number, batch: number, R: number, C: number): void;
  softmax(x: number, R: number, C: number, out: number): void;
  log_softmax(x: number, R: number, C: number, out: number): void;
  softmax_cross_entropy(x: number, R: number, C: number, targets: number, loss: number, probs: number): void;
  softmax_cross_entropy_backward(probs: number, R: number, C: number, targets: number, dLoss: number, dx: number): void;
  lstm_cell_forward(z: number, cPrev: number, b0: number, b1: number, H: number, forgetBias: number,
    c: number, h: number, acts: number, tanhC: number): void;
  lstm_cell_backward(dh: number, dc: number, cPrev: number, acts: number, tanhC: number, b0: number, b1: number, H: number,
    dz: number, dcPrev: number): void;
  check_indices(idx: number, N: number, V: number): number;
  gather_rows(table: number, D: number, idx: number, N: number, out: number): void;
  scatter_add_rows(dOut: number, D: number, idx: number, N: number, dTable: number): void;
  [name: `unary_${string}` | `binary_${string}`]: (...args: number[]) => void;
}

// GEMM blocking constants, mirrored from assembly/gemm.ts (for splitting work between threads).
const MR = 4, NR = 8;
/** Below this M·N·K a plain loop beats packing. */
const SMALL_GEMM = 4096;
/** Work (multiply-adds, or elements × cost) below which threading costs more than it saves. */
const PAR_GEMM = 1 << 17;
const PAR_CHEAP = 1 << 18;
const PAR_TRANSCENDENTAL = 1 << 15;
/** Chunks per thread for parallel jobs (self-scheduled, see pool.ts). */
const CHUNKS_PER_THREAD = 4;
const TRANSCENDENTAL = new Set<string>(['exp', 'log', 'tanh', 'sigmoid', 'pow', 'div', 'sqrt']);

const isF64 = (x: DataArray): boolean => x instanceof Float64Array;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The trailing shape of `s` with leading 1s removed. */
function squeezeLeading(s: readonly number[]): readonly number[] {
  let i = 0;
  while (i < s.length - 1 && s[i] === 1) i++;
  return s.slice(i);
}

/** True when `inner` (leading 1s removed) is a suffix of `outer`. */
function isSuffix(inner: readonly number[], outer: readonly number[]): boolean {
  const s = squeezeLeading(inner);
  if (s.length > outer.length) return false;
  const off = outer.length - s.length;
  return s.every((d, i) => d === outer[off + i]);
}

/** Splits [0, n) into at most `parts` ranges whose boundaries are multiples of `align`. */
export function splitRange(n: number, parts: number, align: number): [number, number][] {
  const chunk = Math.ceil(n / parts / align) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += chunk) out.push([s, Math.min(n, s + chunk)]);
  return out;
}

/** Addresses for one kernel call, with foreign arrays staged through scratch blocks. */
class Staging {
  private temps: { ptr: number; size: number }[] = [];
  private writebacks: { src: number; dst: DataArray }[] = [];
  constructor(private readonly heap: WasmHeap) {}

  /** Address of an input array (copied in if it lives outside the memory). */
  in(x: DataArray): number {
    if (this.heap.owns(x)) return x.byteOffset;
    const b = this.heap.allocBlock(x.length * 4);
    this.temps.push(b);
    if (x instanceof Int32Array) this.heap.i32(b.ptr, x.length).set(x);
    else this.heap.f32(b.ptr, x.length).set(x);
    return b.ptr;
  }

  /** Address of an output array; `read` when the kernel also reads it (accumulate, in-place). */
  out(x: DataArray, read: boolean): number {
    if (this.heap.owns(x)) return x.byteOffset;
    const ptr = read ? this.in(x) : this.scratch(x.length);
    this.writebacks.push({ src: ptr, dst: x });
    return ptr;
  }

  private scratch(n: number): number {
    const b = this.heap.allocBlock(n * 4);
    this.temps.push(b);
    return b.ptr;
  }

  /** Copies outputs back and frees the scratch blocks. */
  done(): void {
    for (const { src, dst } of this.writebacks) {
      if (dst instanceof Int32Array) dst.set(this.heap.i32(src, dst.length));
      else dst.set(this.heap.f32(src, dst.length));
    }
    for (const t of this.temps) this.heap.freeBlock(t.ptr, t.size);
    this.temps = []; this.writebacks = [];
  }
}

export class WasmBackend implements Backend {
  readonly name: string;
  readonly heap: WasmHeap;
  private readonly ref = new JsBackend();

  /** `heap` must be the allocator of the memory `k` runs on; workers of `pool` have their GEMM scratch set. */
  constructor(
    private readonly k: Kernels,
    heap: WasmHeap,
    readonly simd: boolean,
    private pool: ThreadPool | undefined,
    /** Whether this is the relaxed-SIMD (fused multiply-add) build. */
    readonly relaxed = false,
  ) {
    this.heap = heap;
    k.set_gemm_scratch(heap.allocBlock(k.gemm_scratch_bytes()).ptr);
    this.name = `wasm${relaxed ? '-fma' : simd ? '-simd' : ''}${pool ? `-${pool.threads}t` : ''}`;
  }

  /** Threads kernels may use (1 without a pool). */
  get threads(): number { return this.pool?.threads ?? 1; }

  /** Stops the worker threads; the backend keeps working single-threaded afterwards. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.close();
  }

  /**
   * Runs kernel `fn` once per argument list (chunk), spread over the pool's threads, this one
   * included (see pool.ts). With one chunk, or no pool, it is a plain call.
   */
  private par(fn: keyof Kernels, argSets: number[][]): void {
    const f = this.k[fn] as (...args: number[]) => unknown;
    if (argSets.length === 1 || !this.pool) {
      for (const a of argSets) f(...a);
      return;
    }
    this.pool.run(fn as string, argSets, f);
  }

  /**
   * How many chunks to cut a job of `work` units into: 1 below `threshold` (dispatch would cost more
   * than it saves), else a few per thread, so that threads which finish early (or a worker the OS
   * has descheduled) are balanced by the pool's self-scheduling.
   */
  private chunksFor(work: number, threshold: number): number {
    if (!this.pool || work < threshold) return 1;
    return Math.max(2, Math.min(this.pool.threads * CHUNKS_PER_THREAD, Math.floor(work / (threshold / CHUNKS_PER_THREAD))));
  }

  beginScope(): void { this.heap.beginScope(); }
  endScope(): void { this.heap.endScope(); }

  allocUninit(dtype: DType, n: number): DataArray {
    return dtype === 'float32' ? this.heap.allocF32(n, false) : this.alloc(dtype, n);
  }

  alloc(dtype: DType, n: number, lifetime: Lifetime = 'scope'): DataArray {
    if (dtype === 'float32') return this.heap.allocF32(n, true, lifetime);
    if (dtype === 'int32') return this.heap.allocI32(n, lifetime);
    return new Float64Array(n);
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
    if (isF64(x) || isF64(out)) return this.ref.unary(op, x, out);
    const s = new Staging(this.heap);
    const px = s.in(x), po = s.out(out, x === out);
    const n = x.length;
    const T = this.chunksFor(n, TRANSCENDENTAL.has(op) ? PAR_TRANSCENDENTAL : PAR_CHEAP);
    this.par(`unary_${op}`, splitRange(n, T, 16).map(([a, b]) => [px + 4 * a, po + 4 * a, b - a]));
    s.done();
  }

  binary(op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
    out: FloatArray, outShape: readonly number[]): void {
    if (isF64(a) || isF64(b) || isF64(out)) return this.ref.binary(op, a, aShape, b, bShape, out, outShape);
    const n = out.length;
    // mode 0: same shape; 1: a scalar; 2: b scalar; 3: b repeats along rows; 4: a repeats along rows.
    let mode: number, C = 1;
    const aFull = sameShape(aShape, outShape), bFull = sameShape(bShape, outShape);
    if (aFull && bFull) mode = 0;
    else if (bFull && a.length === 1) mode = 1;
    else if (aFull && b.length === 1) mode = 2;
    else if (aFull && b.length > 0 && isSuffix(bShape, outShape)) { mode = 3; C = b.length; }
    else if (bFull && a.length > 0 && isSuffix(aShape, outShape)) { mode = 4; C = a.length; }
    else return this.ref.binary(op, a, aShape, b, bShape, out, outShape);
    if (n === 0) return;
    const s = new Staging(this.heap);
    const pa = s.in(a), pb = s.in(b), po = s.out(out, out === a || out === b);
    const T = this.chunksFor(n, TRANSCENDENTAL.has(op) ? PAR_TRANSCENDENTAL : PAR_CHEAP);
    // Chunks stay whole rows in the row-broadcast modes, so the repeated operand restarts at 0.
    const align = mode >= 3 ? C * 16 : 16;
    this.par(`binary_${op}`, splitRange(n, T, align).map(([lo, hi]) => {
      const o = 4 * lo;
      return [mode === 1 || mode === 4 ? pa : pa + o, mode === 2 || mode === 3 ? pb : pb + o, po + o, hi - lo, mode, C];
    }));
    s.done();
  }

  clip(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
    if (isF64(x) || isF64(out)) return this.ref.clip(x, lo, hi, out);
    const s = new Staging(this.heap);
    const px = s.in(x), po = s.out(out, x === out);
    this.k.clip(px, lo, hi, po, x.length);
    s.done();
  }

  where(cond: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray): void {
    if (isF64(cond) || isF64(a) || isF64(b) || isF64(out)) return this.ref.where(cond, a, b, out);
    const s = new Staging(this.heap);
    const pc = s.in(cond), pa = s.in(a), pb = s.in(b), po = s.out(out, out === a || out === b || out === cond);
    this.k.where(pc, pa, pb, po, out.length);
    s.done();
  }

  axpby(x: FloatArray, sx: number, y: FloatArray, t: number, out: FloatArray): void {
    if (isF64(x) || isF64(y) || isF64(out)) return this.ref.axpby(x, sx, y, t, out);
    const s = new Staging(this.heap);
    const px = s.in(x), py = s.in(y), po = s.out(out, out === x || out === y);
    const n = out.length;
    this.par('axpby', splitRange(n, this.chunksFor(n, PAR_CHEAP), 16).map(([lo, hi]) => [px + 4 * lo, sx, py + 4 * lo, t, po + 4 * lo, hi - lo]));
    s.done();
  }

  // ---- matrix product ----

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, batch: number, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean, aBatchStride = M * K, bBatchStride = K * N): void {
    if (isF64(a) || isF64(b) || isF64(out)) {
      return this.ref.matmul(a, b, out, batch, M, K, N, transA, transB, accumulate, aBatchStride, bBatchStride);
    }
    if (batch === 0 || M === 0 || N === 0) return;
    if (K === 0) { if (!accumulate) out.fill(0, 0, batch * M * N); return; }
    const s = new Staging(this.heap);
    const pa = s.in(a), pb = s.in(b), pc = s.out(out, accumulate);
    const tA = transA ? 1 : 0, tB = transB ? 1 : 0, acc = accumulate ? 1 : 0;
    const mnk = M * N * K;
    if (mnk < SMALL_GEMM) {
      const T = this.chunksFor(batch * mnk, PAR_GEMM);
      this.par('gemm_small', splitRange(batch, T, 1).map(([p0, p1]) =>
        [pa, pb, pc, p0, p1, aBatchStride, bBatchStride, M, K, N, tA, tB, acc]));
      s.done();
      return;
    }
    const T = this.chunksFor(batch * mnk, PAR_GEMM);
    let parts: number[][];
    if (T === 1) {
      parts = [[0, batch, 0, M, 0, N]];
    } else if (batch >= T || (batch > 1 && mnk < 1 << 20)) {
      parts = splitRange(batch, T, 1).map(([p0, p1]) => [p0, p1, 0, M, 0, N]);
    } else if (N >= M || N >= 16 * T) {
      parts = splitRange(N, T, NR).map(([n0, n1]) => [0, batch, 0, M, n0, n1]);
    } else {
      parts = splitRange(M, T, MR).map(([m0, m1]) => [0, batch, m0, m1, 0, N]);
    }
    this.par('gemm', parts.map(([p0, p1, m0, m1, n0, n1]) =>
      [pa, pb, pc, p0!, p1!, aBatchStride, bBatchStride, M, K, N, tA, tB, acc, m0!, m1!, n0!, n1!]));
    s.done();
  }

  // ---- reductions and data movement ----

  reduce(op: ReduceOp, x: FloatArray, shape: readonly number[], axes: readonly number[], out: FloatArray): void {
    // Fast path: the reduced axes are one contiguous run, so x is [outer, red, inner].
    const contiguous = axes.length > 0 && axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
    if (isF64(x) || isF64(out) || !contiguous || x.length === 0) return this.ref.reduce(op, x, shape, axes, out);
    const first = axes[0]!, last = axes[axes.length - 1]!;
    const prod = (lo: number, hi: number): number => shape.slice(lo, hi).reduce((p, d) => p * d, 1);
    const outer = prod(0, first), red = prod(first, last + 1), inner = prod(last + 1, shape.length);
    const s = new Staging(this.heap);
    const px = s.in(x), po = s.out(out, false);
    (op === 'sum' ? this.k.reduce_sum : this.k.reduce_max)(px, po, outer, red, inner);
    s.done();
  }

  transpose(x: DataArray, shape: readonly number[], perm: readonly number[], out: DataArray): void {
    const r = shape.length;
    // Fast path: swap of the last two axes (batched 2-D transpose) on 4-byte elements.
    const swapLast = r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, r - 2).every((p, i) => p === i);
    if (isF64(x) || isF64(out) || !swapLast || x.length === 0) return this.ref.transpose(x, shape, perm, out);
    const R = shape[r - 2]!, C = shape[r - 1]!;
    const s = new Staging(this.heap);
    const px = s.in(x), po = s.out(out, false);
    this.k.transpose2d(px, po, x.length / (R * C), R, C);
    s.done();
  }

  slice(x: DataArray, shape: readonly number[], begin: readonly number[], size: readonly number[], out: DataArray): void {
    this.ref.slice(x, shape, begin, size, out);
  }

  sliceAddInto(x: FloatArray, size: readonly number[], outShape: readonly number[], begin: readonly number[], out: FloatArray): void {
    this.ref.sliceAddInto(x, size, outShape, begin, out);
  }

  gatherRows(table: FloatArray, V: number, D: number, idx: Int32Array, out: FloatArray): void {
    if (isF64(table) || isF64(out)) return this.ref.gatherRows(table, V, D, idx, out);
    const s = new Staging(this.heap);
    const pi = s.in(idx);
    const bad = this.k.check_indices(pi, idx.length, V);
    if (bad >= 0) {
      s.done();
      throw new RangeError(`gather: index ${idx[bad]} at position ${bad} is outside [0, ${V})`);
    }
    const pt = s.in(table), po = s.out(out, false);
    this.k.gather_rows(pt, D, pi, idx.length, po);
    s.done();
  }

  scatterAddRows(dOut: FloatArray, D: number, idx: Int32Array, dTable: FloatArray): void {
    if (isF64(dOut) || isF64(dTable)) return this.ref.scatterAddRows(dOut, D, idx, dTable);
    const V = D > 0 ? Math.floor(dTable.length / D) : 0;
    const s = new Staging(this.heap);
    const pi = s.in(idx);
    const bad = this.k.check_indices(pi, idx.length, V);
    if (bad >= 0) {
      s.done();
      throw new RangeError(`scatterAddRows: index ${idx[bad]} at position ${bad} is outside [0, ${V})`);
    }
    const pd = s.in(dOut), pt = s.out(dTable, true);
    this.k.scatter_add_rows(pd, D, pi, idx.length, pt);
    s.done();
  }

  // ---- softmax family (split by rows across threads) ----

  private rowsKernel(fn: 'softmax' | 'log_softmax', x: FloatArray, R: number, C: number, out: FloatArray): void {
    const s = new Staging(this.heap);
    const px = s.in(x), po = s.out(out, x === out);
    const T = this.chunksFor(R * C, PAR_TRANSCENDENTAL);
    this.par(fn, splitRange(R, T, 1).map(([r0, r1]) => [px + 4 * r0 * C, r1 - r0, C, po + 4 * r0 * C]));
    s.done();
  }

  softmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    if (isF64(x) || isF64(out)) return this.ref.softmax(x, R, C, out);
    this.rowsKernel('softmax', x, R, C, out);
  }

  logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    if (isF64(x) || isF64(out)) return this.ref.logSoftmax(x, R, C, out);
    this.rowsKernel('log_softmax', x, R, C, out);
  }

  private checkTargets(targets: Int32Array, R: number, C: number): void {
    for (let r = 0; r < R; r++) {
      const t = targets[r]!;
      if (t < 0 || t >= C) throw new RangeError(`softmaxCrossEntropy: target ${t} at row ${r} is outside [0, ${C})`);
    }
  }

  softmaxCrossEntropy(x: FloatArray, R: number, C: number, targets: Int32Array, loss: FloatArray, probs: FloatArray): void {
    if (isF64(x) || isF64(loss) || isF64(probs)) return this.ref.softmaxCrossEntropy(x, R, C, targets, loss, probs);
    this.checkTargets(targets, R, C);
    const s = new Staging(this.heap);
    const px = s.in(x), pt = s.in(targets), pl = s.out(loss, false), pp = s.out(probs, probs === x);
    const T = this.chunksFor(R * C, PAR_TRANSCENDENTAL);
    this.par('softmax_cross_entropy', splitRange(R, T, 1).map(([r0, r1]) =>
      [px + 4 * r0 * C, r1 - r0, C, pt + 4 * r0, pl + 4 * r0, pp + 4 * r0 * C]));
    s.done();
  }

  softmaxCrossEntropyBackward(probs: FloatArray, R: number, C: number, targets: Int32Array, dLoss: FloatArray, dx: FloatArray): void {
    if (isF64(probs) || isF64(dLoss) || isF64(dx)) return this.ref.softmaxCrossEntropyBackward(probs, R, C, targets, dLoss, dx);
    this.checkTargets(targets, R, C);
    const s = new Staging(this.heap);
    const pp = s.in(probs), pt = s.in(targets), pd = s.in(dLoss), px = s.out(dx, dx === probs);
    const T = this.chunksFor(R * C, PAR_CHEAP);
    this.par('softmax_cross_entropy_backward', splitRange(R, T, 1).map(([r0, r1]) =>
      [pp + 4 * r0 * C, r1 - r0, C, pt + 4 * r0, pd + 4 * r0, px + 4 * r0 * C]));
    s.done();
  }

  // ---- LSTM cell (split by batch rows across threads) ----

  lstmCellForward(z: FloatArray, cPrev: FloatArray, B: number, H: number, forgetBias: number,
    c: FloatArray, h: FloatArray, acts: FloatArray, tanhC: FloatArray): void {
    if ([z, cPrev, c, h, acts, tanhC].some(isF64)) return this.ref.lstmCellForward(z, cPrev, B, H, forgetBias, c, h, acts, tanhC);
    const s = new Staging(this.heap);
    const pz = s.in(z), pcp = s.in(cPrev);
    const pc = s.out(c, c === cPrev), ph = s.out(h, false), pa = s.out(acts, acts === z), pt = s.out(tanhC, false);
    const T = this.chunksFor(B * H, PAR_TRANSCENDENTAL / 4);
    this.par('lstm_cell_forward', splitRange(B, T, 1).map(([b0, b1]) => [pz, pcp, b0, b1, H, forgetBias, pc, ph, pa, pt]));
    s.done();
  }

  lstmCellBackward(dh: FloatArray, dc: FloatArray, cPrev: FloatArray, acts: FloatArray, tanhC: FloatArray,
    B: number, H: number, dz: FloatArray, dcPrev: FloatArray): void {
    if ([dh, dc, cPrev, acts, tanhC, dz, dcPrev].some(isF64)) return this.ref.lstmCellBackward(dh, dc, cPrev, acts, tanhC, B, H, dz, dcPrev);
    const s = new Staging(this.heap);
    const pdh = s.in(dh), pdc = s.in(dc), pcp = s.in(cPrev), pa = s.in(acts), pt = s.in(tanhC);
    const pdz = s.out(dz, false), pdcp = s.out(dcPrev, dcPrev === dc || dcPrev === dh);
    const T = this.chunksFor(B * H, PAR_CHEAP / 4);
    this.par('lstm_cell_backward', splitRange(B, T, 1).map(([b0, b1]) => [pdh, pdc, pcp, pa, pt, b0, b1, H, pdz, pdcp]));
    s.done();
  }

  // ---- optimizer and norms ----

  sumSquares(x: FloatArray): number {
    if (isF64(x)) return this.ref.sumSquares(x);
    const s = new Staging(this.heap);
    const r = this.k.sum_squares(s.in(x), x.length);
    s.done();
    return r;
  }

  scaleInPlace(x: FloatArray, sc: number): void {
    if (isF64(x)) return this.ref.scaleInPlace(x, sc);
    const s = new Staging(this.heap);
    const px = s.out(x, true);
    this.par('scale_in_place', splitRange(x.length, this.chunksFor(x.length, PAR_CHEAP), 16).map(([lo, hi]) => [px + 4 * lo, sc, hi - lo]));
    s.done();
  }

  sgdUpdate(p: FloatArray, g: FloatArray, lr: number): void {
    if (isF64(p) || isF64(g)) return this.ref.sgdUpdate(p, g, lr);
    const s = new Staging(this.heap);
    const pg = s.in(g), pp = s.out(p, true);
    this.par('sgd_update', splitRange(p.length, this.chunksFor(p.length, PAR_CHEAP), 16).map(([lo, hi]) => [pp + 4 * lo, pg + 4 * lo, lr, hi - lo]));
    s.done();
  }

  momentumUpdate(p: FloatArray, g: FloatArray, v: FloatArray, lr: number, mu: number): void {
    if (isF64(p) || isF64(g) || isF64(v)) return this.ref.momentumUpdate(p, g, v, lr, mu);
    const s = new Staging(this.heap);
    const pg = s.in(g), pp = s.out(p, true), pv = s.out(v, true);
    this.par('momentum_update', splitRange(p.length, this.chunksFor(p.length, PAR_CHEAP), 16).map(([lo, hi]) =>
      [pp + 4 * lo, pg + 4 * lo, pv + 4 * lo, lr, mu, hi - lo]));
    s.done();
  }

  adamUpdate(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number,
    beta2: number, eps: number, t: number): void {
    if ([p, g, m, v].some(isF64)) return this.ref.adamUpdate(p, g, m, v, lr, beta1, beta2, eps, t);
    const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
    const s = new Staging(this.heap);
    const pg = s.in(g), pp = s.out(p, true), pm = s.out(m, true), pv = s.out(v, true);
    this.par('adam_update', splitRange(p.length, this.chunksFor(p.length, PAR_TRANSCENDENTAL), 16).map(([lo, hi]) =>
      [pp + 4 * lo, pg + 4 * lo, pm + 4 * lo, pv + 4 * lo, lr, beta1, beta2, eps, c1, c2, hi - lo]));
    s.done();
  }
}
