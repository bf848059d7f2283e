/**
 * The reference backend: every kernel, generic and fused, as a plain TypeScript loop (the elementwise
 * ones are the kernel table's `ref` functions). It is the ground truth the fast backends are tested
 * against, with the same NaN/inf propagation and the same errors, and the fallback for any dtype or
 * fused kernel a fast backend lacks. Clarity first; the concessions to speed are the i-k-j loop order in
 * matmul and its skipping of zeros of A (only where that is exact).
 */
import type { Backend, BinaryOp, DataArray, DType, FloatArray, FusedKernels, ReduceOp, UnaryOp } from '../backend.js';
import { BINARY_KERNELS, stableSigmoid, UNARY_KERNELS } from '../kernels.js';

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

/** Strides of `shape` seen through a broadcast to `outShape` (0 along broadcast axes). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => {
    const k = i - off;
    if (k < 0) return 0;
    return shape[k] === 1 && d !== 1 ? 0 : own[k]!;
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Throws the error every backend gives for an index outside [0, V): checked before anything is written,
 * so a failed call changes nothing.
 */
export function checkRows(what: string, idx: Int32Array, V: number): void {
  for (let n = 0; n < idx.length; n++) {
    const r = idx[n]!;
    if (r < 0 || r >= V) throw new RangeError(`${what}: index ${r} at position ${n} is outside [0, ${V})`);
  }
}

/** Throws the error every backend gives for a target outside [0, C) (softmax cross-entropy, both passes). */
export function checkTargets(targets: Int32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const t = targets[r]!;
    if (t < 0 || t >= C) throw new RangeError(`softmaxCrossEntropy: target ${t} at row ${r} is outside [0, ${C})`);
  }
}

/** Per row k of op(B) [K, N] (B stored [N, K] when transB): 1 when all its entries are finite. */
function finiteRows(b: FloatArray, bo: number, K: number, N: number, transB: boolean): Uint8Array {
  const ok = new Uint8Array(K).fill(1);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      if (!Number.isFinite(b[bo + (transB ? n * K + k : k * N + n)]!)) { ok[k] = 0; break; }
    }
  }
  return ok;
}

export class JsBackend implements Backend, FusedKernels {
  readonly name: string = 'js';

  alloc(dtype: DType, n: number): DataArray {
    if (dtype === 'float32') return new Float32Array(n);
    if (dtype === 'float64') return new Float64Array(n);
    return new Int32Array(n);
  }

  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void {
    const f = UNARY_KERNELS[op].ref;
    for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  }

  binary(op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
    out: FloatArray, outShape: readonly number[]): void {
    const f = BINARY_KERNELS[op].ref;
    const n = out.length;
    if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
      for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!);
      return;
    }
    if (b.length === 1 && sameShape(aShape, outShape)) {
      const bv = b[0]!;
      for (let i = 0; i < n; i++) out[i] = f(a[i]!, bv);
      return;
    }
    if (a.length === 1 && sameShape(bShape, outShape)) {
      const av = a[0]!;
      for (let i = 0; i < n; i++) out[i] = f(av, b[i]!);
      return;
    }
    // General case: walk the output with a multi-index, advancing both input offsets by their strides.
    const rank = outShape.length;
    const sa = broadcastStrides(aShape, outShape), sb = broadcastStrides(bShape, outShape);
    const idx = new Array<number>(rank).fill(0);
    let ia = 0, ib = 0;
    for (let i = 0; i < n; i++) {
      out[i] = f(a[ia]!, b[ib]!);
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        ia += sa[d]!; ib += sb[d]!;
        if (idx[d]! < outShape[d]!) break;
        ia -= sa[d]! * outShape[d]!; ib -= sb[d]! * outShape[d]!;
        idx[d] = 0;
      }
    }
  }

  clip(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
    for (let i = 0; i < x.length; i++) { const v = x[i]!; out[i] = v < lo ? lo : v > hi ? hi : v; }
  }

  where(cond: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray): void {
    for (let i = 0; i < out.length; i++) out[i] = cond[i] !== 0 ? a[i]! : b[i]!;
  }

  axpby(x: FloatArray, s: number, y: FloatArray, t: number, out: FloatArray): void {
    for (let i = 0; i < out.length; i++) out[i] = x[i]! * s + y[i]! * t;
  }

  matmul(a: FloatArray, b: FloatArray, out: FloatArray, batch: number, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean, aBatchStride = M * K, bBatchStride = K * N): void {
    for (let p = 0; p < batch; p++) {
      const ao = p * aBatchStride, bo = p * bBatchStride, oo = p * M * N;
      if (!accumulate) out.fill(0, oo, oo + M * N);
      // Skipping a zero of A saves the row's work (sparse and one-hot inputs), but is exact only where
      // row k of B is finite: 0·inf and 0·NaN are NaN, which must propagate as it does in every GEMM.
      let finite: Uint8Array | undefined;
      // A[m,k] at transA ? k*M+m : m*K+k ; B[k,n] at transB ? n*K+k : k*N+n
      for (let m = 0; m < M; m++) {
        const orow = oo + m * N;
        for (let k = 0; k < K; k++) {
          const av = a[ao + (transA ? k * M + m : m * K + k)]!;
          if (av === 0 && (finite ??= finiteRows(b, bo, K, N, transB))[k] === 1) continue;
          if (transB) {
            for (let n = 0; n < N; n++) out[orow + n] = out[orow + n]! + av * b[bo + n * K + k]!;
          } else {
            const brow = bo + k * N;
            for (let n = 0; n < N; n++) out[orow + n] = out[orow + n]! + av * b[brow + n]!;
          }
        }
      }
    }
  }

  reduce(op: ReduceOp, x: FloatArray, shape: readonly number[], axes: readonly number[], out: FloatArray): void {
    const rank = shape.length;
    const reduced = new Array<boolean>(rank).fill(false);
    for (const a of axes) reduced[a] = true;
    // Output strides mapped onto the input's axes (0 on reduced axes).
    const outShape = shape.filter((_, i) => !reduced[i]);
    const os = stridesOf(outShape);
    const map = new Array<number>(rank);
    for (let i = 0, j = 0; i < rank; i++) map[i] = reduced[i] ? 0 : os[j++]!;
    out.fill(op === 'sum' ? 0 : -Infinity);
    const idx = new Array<number>(rank).fill(0);
    let o = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (op === 'sum') out[o] = out[o]! + v; else if (v > out[o]! || Number.isNaN(v)) out[o] = v;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++; o += map[d]!;
        if (idx[d]! < shape[d]!) break;
        o -= map[d]! * shape[d]!; idx[d] = 0;
      }
    }
  }

  transpose(x: DataArray, shape: readonly number[], perm: readonly number[], out: DataArray): void {
    const rank = shape.length;
    const inStrides = stridesOf(shape);
    const outShape = perm.map((p) => shape[p]!);
    const st = perm.map((p) => inStrides[p]!); // input stride for each output axis
    const idx = new Array<number>(rank).fill(0);
    let off = 0;
    for (let i = 0; i < out.length; i++) {
      out[i] = x[off]!;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++; off += st[d]!;
        if (idx[d]! < outShape[d]!) break;
        off -= st[d]! * outShape[d]!; idx[d] = 0;
      }
    }
  }

  slice(x: DataArray, shape: readonly number[], begin: readonly number[], size: readonly number[], out: DataArray): void {
    this.walkSlice(shape, begin, size, (src, dst, len) => { for (let i = 0; i < len; i++) out[dst + i] = x[src + i]!; });
  }

  sliceAddInto(x: FloatArray, size: readonly number[], outShape: readonly number[], begin: readonly number[], out: FloatArray): void {
    this.walkSlice(outShape, begin, size, (big, small, len) => { for (let i = 0; i < len; i++) out[big + i] = out[big + i]! + x[small + i]!; });
  }

  /** Calls fn(offsetInBig, offsetInSmall, runLength) for each contiguous innermost run of a slice. */
  private walkSlice(shape: readonly number[], begin: readonly number[], size: readonly number[],
    fn: (big: number, small: number, len: number) => void): void {
    const rank = shape.length;
    if (rank === 0) { fn(0, 0, 1); return; }
    const st = stridesOf(shape);
    const inner = size[rank - 1]!;
    const outer = size.slice(0, rank - 1).reduce((p, d) => p * d, 1);
    if (inner === 0 || outer === 0) return;
    const idx = new Array<number>(rank - 1).fill(0);
    for (let r = 0; r < outer; r++) {
      let off = begin[rank - 1]!;
      for (let d = 0; d < rank - 1; d++) off += (begin[d]! + idx[d]!) * st[d]!;
      fn(off, r * inner, inner);
      for (let d = rank - 2; d >= 0; d--) { idx[d]!++; if (idx[d]! < size[d]!) break; idx[d] = 0; }
    }
  }

  gatherRows(table: FloatArray, V: number, D: number, idx: Int32Array, out: FloatArray): void {
    checkRows('gather', idx, V);
    for (let n = 0; n < idx.length; n++) {
      const r = idx[n]!;
      out.set(table.subarray(r * D, r * D + D), n * D);
    }
  }

  scatterAddRows(dOut: FloatArray, D: number, idx: Int32Array, dTable: FloatArray): void {
    checkRows('scatterAddRows', idx, D > 0 ? Math.floor(dTable.length / D) : 0);
    for (let n = 0; n < idx.length; n++) {
      const r = idx[n]! * D, s = n * D;
      for (let d = 0; d < D; d++) dTable[r + d] = dTable[r + d]! + dOut[s + d]!;
    }
  }

  softmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    for (let r = 0; r < R; r++) {
      const o = r * C;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) if (x[o + c]! > mx) mx = x[o + c]!;
      let s = 0;
      for (let c = 0; c < C; c++) { const e = Math.exp(x[o + c]! - mx); out[o + c] = e; s += e; }
      const inv = 1 / s;
      for (let c = 0; c < C; c++) out[o + c] = out[o + c]! * inv;
    }
  }

  logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void {
    for (let r = 0; r < R; r++) {
      const o = r * C;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) if (x[o + c]! > mx) mx = x[o + c]!;
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[o + c]! - mx);
      const lse = mx + Math.log(s);
      for (let c = 0; c < C; c++) out[o + c] = x[o + c]! - lse;
    }
  }

  softmaxCrossEntropy(x: FloatArray, R: number, C: number, targets: Int32Array, loss: FloatArray, probs: FloatArray): void {
    checkTargets(targets, R, C);
    this.softmax(x, R, C, probs);
    for (let r = 0; r < R; r++) {
      const t = targets[r]!;
      // log-sum-exp form: -log p_t = lse - x_t, exact even when p_t underflows to 0.
      const o = r * C;
      let mx = -Infinity;
      for (let c = 0; c < C; c++) if (x[o + c]! > mx) mx = x[o + c]!;
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[o + c]! - mx);
      loss[r] = mx + Math.log(s) - x[o + t]!;
    }
  }

  softmaxCrossEntropyBackward(probs: FloatArray, R: number, C: number, targets: Int32Array, dLoss: FloatArray, dx: FloatArray): void {
    checkTargets(targets, R, C);
    for (let r = 0; r < R; r++) {
      const o = r * C, g = dLoss[r]!;
      for (let c = 0; c < C; c++) dx[o + c] = g * probs[o + c]!;
      const t = o + targets[r]!;
      dx[t] = dx[t]! - g;
    }
  }

  lstmCellForward(z: FloatArray, cPrev: FloatArray, B: number, H: number, forgetBias: number,
    c: FloatArray, h: FloatArray, acts: FloatArray, tanhC: FloatArray): void {
    for (let b = 0; b < B; b++) {
      const zo = b * 4 * H, so = b * H;
      for (let k = 0; k < H; k++) {
        const i = stableSigmoid(z[zo + k]!);
        const j = Math.tanh(z[zo + H + k]!);
        const f = stableSigmoid(z[zo + 2 * H + k]! + forgetBias);
        const o = stableSigmoid(z[zo + 3 * H + k]!);
        const cv = f * cPrev[so + k]! + i * j;
        const tc = Math.tanh(cv);
        acts[zo + k] = i; acts[zo + H + k] = j; acts[zo + 2 * H + k] = f; acts[zo + 3 * H + k] = o;
        c[so + k] = cv; tanhC[so + k] = tc; h[so + k] = o * tc;
      }
    }
  }

  lstmCellBackward(dh: FloatArray, dc: FloatArray, cPrev: FloatArray, acts: FloatArray, tanhC: FloatArray,
    B: number, H: number, dz: FloatArray, dcPrev: FloatArray): void {
    for (let b = 0; b < B; b++) {
      const zo = b * 4 * H, so = b * H;
      for (let k = 0; k < H; k++) {
        const i = acts[zo + k]!, j = acts[zo + H + k]!, f = acts[zo + 2 * H + k]!, o = acts[zo + 3 * H + k]!;
        const tc = tanhC[so + k]!, dhv = dh[so + k]!;
        // h = o·tanh(c): dc_total = dc + dh·o·(1 − tanh²c)
        const dcv = dc[so + k]! + dhv * o * (1 - tc * tc);
        dz[zo + k] = dcv * j * i * (1 - i);            // di · σ'
        dz[zo + H + k] = dcv * i * (1 - j * j);        // dj · tanh'
        dz[zo + 2 * H + k] = dcv * cPrev[so + k]! * f * (1 - f);
        dz[zo + 3 * H + k] = dhv * tc * o * (1 - o);
        dcPrev[so + k] = dcv * f;
      }
    }
  }

  sumSquares(x: FloatArray): number {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
    return s;
  }
}
