/**
 * The kernel interface: every computation the engine performs goes through one `Backend`.
 *
 * Storage belongs to the backend. `alloc` hands out a typed array; for the reference (JS) backend it is a
 * plain `Float32Array`, for the WASM backend it is a view into the module's shared `WebAssembly.Memory`,
 * so a chain of kernels runs without copying between JavaScript and WASM. Kernels take typed arrays and
 * plain numbers only, never Tensors, so this layer knows nothing of autodiff.
 *
 * Conventions: every array is contiguous, row-major. `out` arrays are written, never read, unless the
 * kernel says it accumulates (`accumulate: true` means `out += result`). Shapes are plain number arrays.
 * A backend may implement a kernel only for float32 and delegate other dtypes to the reference backend.
 *
 * The interface is small: generic kernels every backend has (elementwise ops from the kernel table in
 * kernels.ts, reductions, the GEMM family, gather/scatter, copies), plus optional fused fast paths
 * (`FusedKernels`), found by capability: the reference backend implements every one of them (it is the
 * ground truth), and `fused(backend)` (fused.ts) hands a caller the backend's own where it has one and
 * the reference implementation on the same arrays where it does not. Optimizer updates are not kernels:
 * src/optim writes them once as flat loops (SGD and momentum as `axpby` calls); `adamUpdate` is an
 * optional fused form of the Adam loop that a backend may offer.
 */

export type DType = 'float32' | 'float64' | 'int32';
/** Storage of a float tensor. */
export type FloatArray = Float32Array | Float64Array;
/** Storage of any tensor. */
export type DataArray = Float32Array | Float64Array | Int32Array;
/** How long storage lives (see `Backend.alloc`). */
export type Lifetime = 'scope' | 'kept' | 'arena';

import type { BinaryOp, UnaryOp } from './kernels.js';

/** The elementwise ops: the keys of the kernel table (kernels.ts). */
export type { BinaryOp, UnaryOp } from './kernels.js';
export type ReduceOp = 'sum' | 'max';

/** The kernels every backend provides (the reference JS backend and the WASM backend), plus optional fused fast paths. */
export interface Backend extends Partial<FusedKernels>, Partial<OptimizerKernels> {
  readonly name: string;

  /**
   * Zero-filled storage of `n` elements. `lifetime` (see wasm/memory.ts for the full story): 'scope'
   * (the default) belongs to the innermost open engine scope and is freed when it ends, or, outside any
   * scope, is owned by the garbage collector; 'kept' is owned by the garbage collector even inside a
   * scope (values that outlive a step: `Tensor.clone()`, carried state); 'arena' is long-lived storage
   * (parameters, gradients, optimizer moments). Backends whose storage the collector sees (the
   * reference backend) ignore it.
   */
  alloc(dtype: DType, n: number, lifetime?: Lifetime): DataArray;
  /**
   * Optional: storage whose contents are undefined, for an output that a kernel overwrites completely
   * (skips the zero-fill, which for a [T·B, V] logits array costs as much as the kernel that writes it).
   */
  allocUninit?(dtype: DType, n: number): DataArray;
  /**
   * Optional engine scopes: storage allocated with lifetime 'scope' between `beginScope` and `endScope`
   * is freed at `endScope`. Only the engine opens scopes (backward, optimizer steps, training and
   * evaluation steps), around code whose results it controls; user code never needs them. Backends
   * whose storage the garbage collector sees (the reference backend) leave them out.
   */
  beginScope?(): void;
  /** Ends the innermost engine scope, freeing its scope-lifetime storage. */
  endScope?(): void;

  // ---- generic kernels ----

  /** out[i] = op(x[i]), op a row of the kernel table. */
  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void;
  /** out = op(a, b) with NumPy broadcasting of aShape and bShape to outShape. */
  binary(op: BinaryOp, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
    out: FloatArray, outShape: readonly number[]): void;
  /** out[i] = min(max(x[i], lo), hi). */
  clip(x: FloatArray, lo: number, hi: number, out: FloatArray): void;
  /** out[i] = cond[i] != 0 ? a[i] : b[i] (all same length). */
  where(cond: FloatArray, a: FloatArray, b: FloatArray, out: FloatArray): void;
  /** out = x · s + y · t, elementwise over equal lengths (axpby). Used for gradient accumulation. */
  axpby(x: FloatArray, s: number, y: FloatArray, t: number, out: FloatArray): void;

  /**
   * Batched matrix product: for each of `batch` matrices, out[M,N] (+)= op(A) · op(B), where op(A) is
   * A [M,K] or, with transA, the transpose of A stored [K,M]; likewise B [K,N] or, with transB, B stored [N,K].
   * Batch strides are M·K, K·N and M·N; a stride of 0 (aBatchStride/bBatchStride) broadcasts one matrix.
   */
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, batch: number, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean, aBatchStride?: number, bBatchStride?: number): void;

  /** Reduce x of `shape` over `axes` (sorted, unique) into out (shape with those axes removed). */
  reduce(op: ReduceOp, x: FloatArray, shape: readonly number[], axes: readonly number[], out: FloatArray): void;
  /** Σ x[i]² (accumulated in float64). */
  sumSquares(x: FloatArray): number;
  /** out = x permuted by `perm` (out.shape[i] = shape[perm[i]]). */
  transpose(x: DataArray, shape: readonly number[], perm: readonly number[], out: DataArray): void;
  /** Copy a hyper-rectangle: out = x[begin[0]:begin[0]+size[0], ...]. */
  slice(x: DataArray, shape: readonly number[], begin: readonly number[], size: readonly number[], out: DataArray): void;
  /** Inverse of slice, accumulating: out[begin...] += x. `out` has `outShape`, x has `size`. */
  sliceAddInto(x: FloatArray, size: readonly number[], outShape: readonly number[], begin: readonly number[], out: FloatArray): void;

  /** Embedding lookup: out[n, :] = table[idx[n], :], table [V, D], out [N, D]. Bad indices throw. */
  gatherRows(table: FloatArray, V: number, D: number, idx: Int32Array, out: FloatArray): void;
  /** Gradient of gatherRows: dTable[idx[n], :] += dOut[n, :], dTable [V, D]. Bad indices throw (nothing is added). */
  scatterAddRows(dOut: FloatArray, D: number, idx: Int32Array, dTable: FloatArray): void;
}

/**
 * Fused fast paths: each is one pass where the composition would be a chain of generic kernels with
 * temporaries. Optional on a backend; the reference backend has them all (see `fused`, fused.ts).
 */
export interface FusedKernels {
  /** Row-wise softmax over the last axis: x [R, C] -> out [R, C], max-subtracted for stability. */
  softmax(x: FloatArray, R: number, C: number, out: FloatArray): void;
  /** Row-wise log-softmax: out = x - max - log Σ exp(x - max). */
  logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void;
  /**
   * Fused softmax cross-entropy with integer targets: loss[r] = -log softmax(x[r])[t[r]];
   * also writes probs [R, C] (the softmax) which the backward pass needs.
   */
  softmaxCrossEntropy(x: FloatArray, R: number, C: number, targets: Int32Array, loss: FloatArray, probs: FloatArray): void;
  /** Backward of softmaxCrossEntropy: dx[r, c] = dLoss[r] · (probs[r, c] − [c == t[r]]). */
  softmaxCrossEntropyBackward(probs: FloatArray, R: number, C: number, targets: Int32Array, dLoss: FloatArray, dx: FloatArray): void;

  /**
   * LSTM cell pointwise part, TensorFlow BasicLSTMCell semantics. B batch, H hidden.
   * z [B, 4H]: pre-activations in gate order i, j, f, o (z = [x, h] · W + b).
   *   i = σ(z_i), j = tanh(z_j), f = σ(z_f + forgetBias), o = σ(z_o)
   *   c = f ⊙ cPrev + i ⊙ j,  h = o ⊙ tanh(c)
   * Writes c [B, H], h [B, H], acts [B, 4H] (activated i, j, f, o: saved for backward), tanhC [B, H].
   */
  lstmCellForward(z: FloatArray, cPrev: FloatArray, B: number, H: number, forgetBias: number,
    c: FloatArray, h: FloatArray, acts: FloatArray, tanhC: FloatArray): void;
  /**
   * Backward of lstmCellForward. dh, dc [B, H] are the gradients flowing into h and c of this step
   * (dc may be all zeros). Writes dz [B, 4H] and dcPrev [B, H].
   */
  lstmCellBackward(dh: FloatArray, dc: FloatArray, cPrev: FloatArray, acts: FloatArray, tanhC: FloatArray,
    B: number, H: number, dz: FloatArray, dcPrev: FloatArray): void;
}

/** Optional fused optimizer steps; each must equal its flat loop in src/optim/optimizers.ts. */
export interface OptimizerKernels {
  /** Adam (Kingma & Ba) with bias correction; `t` is the 1-based step count. Called with float32 arrays only. */
  adamUpdate(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number,
    beta2: number, eps: number, t: number): void;
}
