/**
 * The WASM backend: the `Backend` kernels in AssemblyScript (./assembly), compiled with f32x4 SIMD,
 * running on arrays that live in one shared `WebAssembly.Memory` (see memory.ts), optionally split
 * across a pool of worker threads (see pool.ts). It implements every generic kernel, every fused kernel
 * and the fused Adam step.
 *
 * Every kernel call goes through one wrapper, `call`: float64 work is delegated to the reference backend;
 * float32 and int32 arrays that live in our memory are passed to the kernel as byte addresses; arrays
 * that live elsewhere (a plain Float32Array from a data loader) are staged: copied into a scratch block,
 * and copied back afterwards if the kernel writes them. Kernels that are plain data movement or rarely
 * hot (slice, general broadcasting, general transposes and reductions) also run on the reference
 * backend, which works on our views directly.
 */
import type { Backend, BinaryOp, DataArray, DType, FloatArray, FusedKernels, Lifetime, OptimizerKernels, ReduceOp, UnaryOp } from '../backend.js';
import { BINARY_KERNELS, binaryOps, UNARY_KERNELS, unaryOps, type KernelCost } from '../kernels.js';
import { checkTargets, JsBackend } from '../js/backend.js';
import { WasmHeap } from './memory.js';
import type { ThreadPool } from './pool.js';
import type { NativeGemm, NativeInfo } from './native.js';

/** The elementwise exports, one per row of the kernel table (generated: see scripts/build-wasm.mjs). */
type TableExports =
  & { [K in UnaryOp as `unary_${K}`]: (x: number, out: number, n: number) => void }
  & { [K in BinaryOp as `binary_${K}`]: (a: number, b: number, out: number, n: number, mode: number, C: number) => void };

/** The kernels' exports (all addresses are byte offsets into the shared memory). */
export interface Kernels extends TableExports {
  heap_base(): number;
  gemm_scratch_bytes(): number;
  set_gemm_scratch(ptr: number): void;
  gemm(a: number, b: number, c: number, p0: number, p1: number, sA: number, sB: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number, m0: number, m1: number, n0: number, n1: number): void;
  gemm_small(a: number, b: number, c: number, p0: number, p1: number, sA: number, sB: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number): void;
  gemv(a: number, b: number, c: number, p0: number, p1: number, sA: number, sB: number, K: number, N: number,
    transB: number, accumulate: number, n0: number, n1: number): void;
  clip(x: number, lo: number, hi: number, out: number, n: number): void;
  where(cond: number, a: number, b: number, out: number, n: number): void;
  axpby(x: number, s: number, y: number, t: number, out: number, n: number): void;
  sum_squares(x: number, n: number): number;
  adam_update(p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number,
    ib1: number, ib2: number, c1: number, c2: number, n: number): void;
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
}

/** The exports outside the table, as a record so that one missing here (or in Kernels) is a compile error. */
const FIXED_EXPORTS = {
  heap_base: 0, gemm_scratch_bytes: 0, set_gemm_scratch: 0, gemm: 0, gemm_small: 0, gemv: 0, clip: 0, where: 0, axpby: 0,
  sum_squares: 0, adam_update: 0, reduce_sum: 0, reduce_max: 0, transpose2d: 0, softmax: 0, log_softmax: 0,
  softmax_cross_entropy: 0, softmax_cross_entropy_backward: 0, lstm_cell_forward: 0, lstm_cell_backward: 0,
  check_indices: 0, gather_rows: 0, scatter_add_rows: 0,
} as const satisfies Record<Exclude<keyof Kernels, keyof TableExports>, 0>;

/** Every export the backend calls: the fixed ones and one per row of the kernel table. */
export const KERNEL_EXPORTS: readonly (keyof Kernels)[] = [
  ...Object.keys(FIXED_EXPORTS) as (keyof typeof FIXED_EXPORTS)[],
  ...unaryOps.map((op) => `unary_${op}` as const),
  ...binaryOps.map((op) => `binary_${op}` as const),
];

/** Throws, naming them, when the module lacks exports the backend calls (a build older than the table). */
export function checkExports(k: object): void {
  const missing = KERNEL_EXPORTS.filter((name) => typeof (k as Record<string, unknown>)[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`wasm backend: the kernels lack ${missing.join(', ')} (built before src/backend/kernels.ts changed? run npm run build)`);
  }
}

// GEMM blocking constants, mirrored from assembly/gemm.ts (for splitting work between threads).
const MR = 4, NR = 8;
/** Below this M·N·K a plain loop beats packing. */
const SMALL_GEMM = 4096;
/** Work (multiply-adds, or elements × cost) below which threading costs more than it saves. */
const PAR_GEMM = 1 << 17;
/**
 * Multiply-adds (batch·M·N·K) from which `matmul` goes to the native GEMM when it is loaded (native.ts);
 * below it the WASM kernels win (a call into OpenBLAS, its thread wake-up and its packing cost more
 * than the product). Measured on the products of W2–W5 (docs/kernels.md).
 */
export const NATIVE_MIN_WORK = 1 << 16;
/**
 * Matrix elements (batch·K·N) from which a matrix-vector product (one row of C) is split across threads,
 * in WASM and in OpenBLAS alike: it is bound by memory bandwidth, so a second core pays only when the
 * matrix is large (a vocabulary projection, 14 MB at |V| 17,905), not for an LSTM step's 640 kB, where
 * waking a thread costs more than it saves.
 */
const PAR_GEMV = 1 << 20;
/** Multiply-adds from which the native GEMM may use more than one OpenBLAS thread. */
const NATIVE_PAR = 1 << 20;
const PAR_CHEAP = 1 << 18;
const PAR_TRANSCENDENTAL = 1 << 15;
/** Chunks per thread for parallel jobs (self-scheduled, see pool.ts). */
const CHUNKS_PER_THREAD = 4;
const PAR_BY_COST: Record<KernelCost, number> = { cheap: PAR_CHEAP, transcendental: PAR_TRANSCENDENTAL };

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

/** The address of an array in our memory. */
const own = (x: DataArray): number => x.byteOffset;

export class WasmBackend implements Backend, FusedKernels, OptimizerKernels {
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
    /** The native GEMM (native.ts) for large products, or why there is none. */
    native: NativeGemm | { absent: string } = { absent: 'not requested' },
    /** Threads the native GEMM uses (the user's thread count; the pool may have fewer where workers failed to start). */
    private readonly nativeThreads = 1,
  ) {
    checkExports(k);
    this.heap = heap;
    k.set_gemm_scratch(heap.allocBlock(k.gemm_scratch_bytes()).ptr);
    if ('absent' in native) this.nativeAbsent = native.absent;
    else this.native = native;
    this.name = `wasm${relaxed ? '-fma' : simd ? '-simd' : ''}${pool ? `-${pool.threads}t` : ''}${this.native ? '+blas' : ''}`;
  }

  /** The native GEMM, when loaded and not turned off. */
  private readonly native: NativeGemm | undefined;
  /** Why there is no native GEMM (undefined when there is one). */
  readonly nativeAbsent: string | undefined;
  /**
   * Multiply-adds from which `matmul` goes native (default `NATIVE_MIN_WORK`). The tests set 0 to send
   * every product, the tiny ones of their language models included, through the native GEMM.
   */
  nativeFrom = NATIVE_MIN_WORK;

  /** Threads kernels may use (1 without a pool). */
  get threads(): number { return this.pool?.threads ?? 1; }

  /** The native GEMM's BLAS and threads, or null when `matmul` runs on the WASM kernels alone. */
  get nativeInfo(): NativeInfo | null { return this.native ? this.native.info(this.nativeThreads) : null; }

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

  /**
   * One kernel call. `ins` are read and `outs` written; an out is also read when it is one of the ins
   * or when `readOuts` (accumulate, in place). Any float64 array sends the call to `reference` (the
   * reference backend on the same arrays). Otherwise `run` gets `at`, the byte address of each array:
   * its own when it lives in our memory, else a scratch copy (copied in when read; copied back to the
   * caller's array after `run` returns; freed even when `run` throws, and then nothing is copied back).
   */
  private call(ins: readonly DataArray[], outs: readonly DataArray[], reference: () => void,
    run: (at: (x: DataArray) => number) => void, readOuts = false): void {
    for (const x of ins) if (x instanceof Float64Array) return reference();
    for (const x of outs) if (x instanceof Float64Array) return reference();
    const heap = this.heap;
    let staged: Map<DataArray, { ptr: number; size: number }> | undefined;
    const stage = (x: DataArray, read: boolean): void => {
      if (heap.owns(x) || staged?.has(x)) return;
      const b = heap.allocBlock(x.length * 4);
      (staged ??= new Map()).set(x, b);
      if (!read) return;
      if (x instanceof Int32Array) heap.i32(b.ptr, x.length).set(x);
      else heap.f32(b.ptr, x.length).set(x);
    };
    for (const x of ins) stage(x, true);
    for (const x of outs) stage(x, readOuts);
    if (staged === undefined) { run(own); return; }
    const blocks = staged;
    try {
      run((x) => blocks.get(x)?.ptr ?? x.byteOffset);
      for (const x of outs) {
        const b = blocks.get(x);
        if (b === undefined) continue;
        if (x instanceof Int32Array) x.set(heap.i32(b.ptr, x.length));
        else x.set(heap.f32(b.ptr, x.length));
      }
    } finally {
      for (const b of blocks.values()) heap.freeBlock(b.ptr, b.size);
    }
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
    this.call([x], [out], () => this.ref.unary(op, x, out), (at) => {
      const px = at(x), po = at(out), n = x.length;
      const T = this.chunksFor(n, PAR_BY_COST[UNARY_KERNELS[op].cost]);
      this.par(`unary_${op}`, splitRange(n, T, 16).map(([a, b]) => [px + 4 * a, po + 4 * a, b - a]));
    });
  }

  binary(op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
    out: FloatArray, outShape: readonly number[]): void {
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
    this.call([a, b], [out], () => this.ref.binary(op, a, aShape, b, bShape, out, outShape), (at) => {
      const pa = at(a), pb = at(b), po = at(out);
      const T = this.chunksFor(n, PAR_BY_COST[BINARY_KERNELS[op].cost]);
      // Chunks stay whole rows in the row-broadcast modes, so the repeated operand restarts at 0.
      const align = mode >= 3 ? C * 16 : 16;
      this.par(`binary_${op}`, splitRange(n, T, align).map(([lo, hi]) => {
        const o = 4 * lo;
        return [mode === 1 || mode === 4 ? pa : pa + o, mode === 2 || mode === 3 ? pb : pb + o, po + o, hi - lo, mode, C];
      }));
    });
  }

  clip(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
    this.call([x], [out], () => this.ref.clip(x, lo, hi, out), (at) => this.k.clip(at(x), lo, hi, at(out), x.length));
  }

  where(cond: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray): void {
    this.call([cond, a, b], [out], () => this.ref.where(cond, a, b, out), (at) => this.k.where(at(cond), at(a), at(b), at(out), out.length));
  }

  axpby(x: FloatArray, s: number, y: FloatArray, t: number, out: FloatArray): void {
    this.call([x, y], [out], () => this.ref.axpby(x, s, y, t, out), (at) => {
      const px = at(x), py = at(y), po = at(out), n = out.length;
      this.par('axpby', splitRange(n, this.chunksFor(n, PAR_CHEAP), 16).map(([lo, hi]) => [px + 4 * lo, s, py + 4 * lo, t, po + 4 * lo, hi - lo]));
    });
  }

  // ---- matrix product ----

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, batch: number, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean, aBatchStride = M * K, bBatchStride = K * N): void {
    if (batch === 0 || M === 0 || N === 0 || K === 0) { // nothing to multiply: zero-fill or no-op
      return this.ref.matmul(a, b, out, batch, M, K, N, transA, transB, accumulate, aBatchStride, bBatchStride);
    }
    // The common case, float32 arrays in our memory, goes straight to the GEMM: no staging, no closures
    // (a per-call cost that shows on small products such as 20×400×800).
    const heap = this.heap;
    if (a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array && heap.owns(a) && heap.owns(b) && heap.owns(out)) {
      return this.gemm(a.byteOffset, b.byteOffset, out.byteOffset, batch, M, K, N, transA, transB, accumulate, aBatchStride, bBatchStride);
    }
    this.call([a, b], [out], () => this.ref.matmul(a, b, out, batch, M, K, N, transA, transB, accumulate, aBatchStride, bBatchStride),
      (at) => this.gemm(at(a), at(b), at(out), batch, M, K, N, transA, transB, accumulate, aBatchStride, bBatchStride), accumulate);
  }

  /** The GEMM on byte addresses: the small kernel or the packed one, split across threads. */
  private gemm(pa: number, pb: number, pc: number, batch: number, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean, aBatchStride: number, bBatchStride: number): void {
    const tA = transA ? 1 : 0, tB = transB ? 1 : 0, acc = accumulate ? 1 : 0;
    const mnk = M * N * K;
    if (this.native && batch * mnk >= this.nativeFrom) {
      // In place on our memory: the buffer identifies it (a grow makes a new one, which the addon re-reads).
      // One OpenBLAS thread for small products (its own threshold would wake a second thread for an
      // LSTM step's matrix-vector product, and that hand-off costs more than the product).
      const threads = batch * mnk >= (M === 1 || N === 1 ? PAR_GEMV : NATIVE_PAR) ? this.nativeThreads : 1;
      this.native.sgemm(this.heap.buffer, threads, pa, pb, pc, batch, M, K, N, tA, tB, acc, aBatchStride, bBatchStride);
      return;
    }
    if (M === 1 && mnk >= SMALL_GEMM) {
      // One row: the matrix-vector kernel (assembly/gemm.ts), threads only for a large matrix.
      const T = this.pool && batch * mnk >= PAR_GEMV ? this.pool.threads * CHUNKS_PER_THREAD : 1;
      const parts = batch >= T ? splitRange(batch, T, 1).map(([p0, p1]) => [p0, p1, 0, N])
        : splitRange(N, T, 16).map(([n0, n1]) => [0, batch, n0, n1]);
      this.par('gemv', parts.map(([p0, p1, n0, n1]) => [pa, pb, pc, p0!, p1!, aBatchStride, bBatchStride, K, N, tB, acc, n0!, n1!]));
      return;
    }
    if (mnk < SMALL_GEMM) {
      const T = this.chunksFor(batch * mnk, PAR_GEMM);
      this.par('gemm_small', splitRange(batch, T, 1).map(([p0, p1]) =>
        [pa, pb, pc, p0, p1, aBatchStride, bBatchStride, M, K, N, tA, tB, acc]));
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
  }

  // ---- reductions and data movement ----

  reduce(op: ReduceOp, x: FloatArray, shape: readonly number[], axes: readonly number[], out: FloatArray): void {
    // Fast path: the reduced axes are one contiguous run, so x is [outer, red, inner].
    const contiguous = axes.length > 0 && axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
    if (!contiguous || x.length === 0) return this.ref.reduce(op, x, shape, axes, out);
    const first = axes[0]!, last = axes[axes.length - 1]!;
    const prod = (lo: number, hi: number): number => shape.slice(lo, hi).reduce((p, d) => p * d, 1);
    const outer = prod(0, first), red = prod(first, last + 1), inner = prod(last + 1, shape.length);
    this.call([x], [out], () => this.ref.reduce(op, x, shape, axes, out), (at) =>
      (op === 'sum' ? this.k.reduce_sum : this.k.reduce_max)(at(x), at(out), outer, red, inner));
  }

  sumSquares(x: FloatArray): number {
    let r = 0;
    this.call([x], [], () => { r = this.ref.sumSquares(x); }, (at) => { r = this.k.sum_squares(at(x), x.length); });
    return r;
  }

  transpose(x: DataArray, shape: readonly number[], perm: readonly number[], out: DataArray): void {
    const r = shape.length;
    // Fast path: swap of the last two axes (batched 2-D transpose) on 4-byte elements.
    const swapLast = r >= 2 && perm[r - 1] === r - 2 && perm[r - 2] === r - 1 && perm.slice(0, r - 2).every((p, i) => p === i);
    if (!swapLast || x.length === 0) return this.ref.transpose(x, shape, perm, out);
    const R = shape[r - 2]!, C = shape[r - 1]!;
    this.call([x], [out], () => this.ref.transpose(x, shape, perm, out), (at) => this.k.transpose2d(at(x), at(out), x.length / (R * C), R, C));
  }

  slice(x: DataArray, shape: readonly number[], begin: readonly number[], size: readonly number[], out: DataArray): void {
    this.ref.slice(x, shape, begin, size, out);
  }

  sliceAddInto(x: FloatArray, size: readonly number[], outShape: readonly number[], begin: readonly number[], out: FloatArray): void {
    this.ref.sliceAddInto(x, size, outShape, begin, out);
  }

  /** The first index outside [0, V) (its position), or −1; checked by the kernel on the staged indices. */
  private badIndex(at: (x: DataArray) => number, idx: Int32Array, V: number): number {
    return this.k.check_indices(at(idx), idx.length, V);
  }

  gatherRows(table: FloatArray, V: number, D: number, idx: Int32Array, out: FloatArray): void {
    this.call([table, idx], [out], () => this.ref.gatherRows(table, V, D, idx, out), (at) => {
      const bad = this.badIndex(at, idx, V);
      if (bad >= 0) throw new RangeError(`gather: index ${idx[bad]} at position ${bad} is outside [0, ${V})`);
      this.k.gather_rows(at(table), D, at(idx), idx.length, at(out));
    });
  }

  scatterAddRows(dOut: FloatArray, D: number, idx: Int32Array, dTable: FloatArray): void {
    const V = D > 0 ? Math.floor(dTable.length / D) : 0;
    this.call([dOut, idx], [dTable], () => this.ref.scatterAddRows(dOut, D, idx, dTable), (at) => {
      const bad = this.badIndex(at, idx, V);
      if (bad >= 0) throw new RangeError(`scatterAddRows: index ${idx[bad]} at position ${bad} is outside [0, ${V})`);
      this.k.scatter_add_rows(at(dOut), D, at(idx), idx.length, at(dTable));
    }, true);
  }

  // ---- fused: softmax family (split by rows across threads) ----

  private rowsKernel(fn: 'softmax' | 'log_softmax', x: FloatArray, R: number, C: number, out: FloatArray, reference: () => void): void {
    this.call([x], [out], reference, (at) => {
      const px = at(x), po = at(out);
      const T = this.chunksFor(R * C, PAR_TRANSCENDENTAL);
      this.par(fn, splitRange(R, T, 1).map(([r0, r1]) => [px + 4 * r0 * C, r1 - r0, C, po + 4 * r0 * C]));
    });
  }

  softmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    this.rowsKernel('softmax', x, R, C, out, () => this.ref.softmax(x, R, C, out));
  }

  logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    this.rowsKernel('log_softmax', x, R, C, out, () => this.ref.logSoftmax(x, R, C, out));
  }

  softmaxCrossEntropy(x: FloatArray, R: number, C: number, targets: Int32Array, loss: FloatArray, probs: FloatArray): void {
    this.call([x, targets], [loss, probs], () => this.ref.softmaxCrossEntropy(x, R, C, targets, loss, probs), (at) => {
      checkTargets(targets, R, C);
      const px = at(x), pt = at(targets), pl = at(loss), pp = at(probs);
      const T = this.chunksFor(R * C, PAR_TRANSCENDENTAL);
      this.par('softmax_cross_entropy', splitRange(R, T, 1).map(([r0, r1]) =>
        [px + 4 * r0 * C, r1 - r0, C, pt + 4 * r0, pl + 4 * r0, pp + 4 * r0 * C]));
    });
  }

  softmaxCrossEntropyBackward(probs: FloatArray, R: number, C: number, targets: Int32Array, dLoss: FloatArray, dx: FloatArray): void {
    this.call([probs, targets, dLoss], [dx], () => this.ref.softmaxCrossEntropyBackward(probs, R, C, targets, dLoss, dx), (at) => {
      checkTargets(targets, R, C);
      const pp = at(probs), pt = at(targets), pd = at(dLoss), px = at(dx);
      const T = this.chunksFor(R * C, PAR_CHEAP);
      this.par('softmax_cross_entropy_backward', splitRange(R, T, 1).map(([r0, r1]) =>
        [pp + 4 * r0 * C, r1 - r0, C, pt + 4 * r0, pd + 4 * r0, px + 4 * r0 * C]));
    });
  }

  // ---- fused: LSTM cell (split by batch rows across threads) ----

  lstmCellForward(z: FloatArray, cPrev: FloatArray, B: number, H: number, forgetBias: number,
    c: FloatArray, h: FloatArray, acts: FloatArray, tanhC: FloatArray): void {
    this.call([z, cPrev], [c, h, acts, tanhC], () => this.ref.lstmCellForward(z, cPrev, B, H, forgetBias, c, h, acts, tanhC), (at) => {
      const pz = at(z), pcp = at(cPrev), pc = at(c), ph = at(h), pa = at(acts), pt = at(tanhC);
      const T = this.chunksFor(B * H, PAR_TRANSCENDENTAL / 4);
      this.par('lstm_cell_forward', splitRange(B, T, 1).map(([b0, b1]) => [pz, pcp, b0, b1, H, forgetBias, pc, ph, pa, pt]));
    });
  }

  lstmCellBackward(dh: FloatArray, dc: FloatArray, cPrev: FloatArray, acts: FloatArray, tanhC: FloatArray,
    B: number, H: number, dz: FloatArray, dcPrev: FloatArray): void {
    this.call([dh, dc, cPrev, acts, tanhC], [dz, dcPrev], () => this.ref.lstmCellBackward(dh, dc, cPrev, acts, tanhC, B, H, dz, dcPrev), (at) => {
      const pdh = at(dh), pdc = at(dc), pcp = at(cPrev), pa = at(acts), pt = at(tanhC), pdz = at(dz), pdcp = at(dcPrev);
      const T = this.chunksFor(B * H, PAR_CHEAP / 4);
      this.par('lstm_cell_backward', splitRange(B, T, 1).map(([b0, b1]) => [pdh, pdc, pcp, pa, pt, b0, b1, H, pdz, pdcp]));
    });
  }

  // ---- fused optimizer step ----

  adamUpdate(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number,
    beta2: number, eps: number, t: number): void {
    if ([p, g, m, v].some((x) => x instanceof Float64Array)) throw new TypeError('wasm adamUpdate: float32 arrays only (src/optim runs the float64 loop)');
    const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
    this.call([g], [p, m, v], () => { /* unreachable: float64 refused above */ }, (at) => {
      const pg = at(g), pp = at(p), pm = at(m), pv = at(v);
      this.par('adam_update', splitRange(p.length, this.chunksFor(p.length, PAR_TRANSCENDENTAL), 16).map(([lo, hi]) =>
        [pp + 4 * lo, pg + 4 * lo, pm + 4 * lo, pv + 4 * lo, lr, beta1, beta2, eps, 1 - beta1, 1 - beta2, c1, c2, hi - lo]));
    }, true);
  }
}
