/**
 * The tensor primitives and their composites. Each primitive's forward (which calls the backend's
 * kernels) and its vector-Jacobian product sit side by side: every section ends with its rules, typed
 * `Rules<…>` against the parameters primitive.ts declares, and rules.ts gathers them (with the fused
 * recurrent cells of cells.ts) into the one table. Composites (mean, split, softmax, logSoftmax,
 * squaredError) are functions of primitives and are differentiated by composition.
 *
 * A rule receives ∂E/∂out (`dy`) and what the forward saved (`s`: its inputs, its output, its params), and
 * returns ∂E/∂input for each input. Rules may return gradients in a broadcast shape: the backward driver
 * (tape.ts) sums them down. Rules run under noGrad, written with the same ops as the forward.
 */
import { allocOutput, getBackend } from '../backend/index.js';
import { fused } from '../backend/fused.js';
import type { BinaryOp, DType, FloatArray, UnaryOp } from '../backend/index.js';
import type { UnaryPrim } from '../backend/kernels.js';
import { ShapeError } from '../errors.js';
import { broadcastShapes, fmtShape, normAxes, normAxis, shapeEq, sizeOf, type Shape } from '../tensor/shape.js';
import { full, Tensor } from '../tensor/tensor.js';
import { needsGrad, record as recordPrim, type NoParams, type Prim, type PrimParams, type Rules } from './primitive.js';

/** A tensor or a plain number (a number is lifted to a scalar of the other operand's dtype). */
export type TensorLike = Tensor | number;

// ---- helpers ------------------------------------------------------------------------------------

const B = () => getBackend();

/** Zero-filled storage (for outputs built by accumulation). */
function alloc(dtype: DType, shape: Shape): Tensor {
  return new Tensor(B().alloc(dtype, sizeOf(shape)), shape, dtype);
}

/** Storage for an output the kernel overwrites completely (no zero-fill). */
function output(dtype: DType, shape: Shape): Tensor {
  return new Tensor(allocOutput(dtype, sizeOf(shape)), shape, dtype);
}

function f(t: Tensor): FloatArray { return t.data as FloatArray; }

function checkFloat(t: Tensor, op: string, which: string): void {
  if (t.dtype === 'int32') throw new ShapeError(`${op}: ${which} has dtype int32; this op needs float32 or float64`);
}

/** Lift a number to a scalar tensor of `like`'s dtype. */
function lift(x: TensorLike, like: Tensor | undefined): Tensor {
  if (x instanceof Tensor) return x;
  return full([], x, { dtype: like && like.dtype !== 'int32' ? like.dtype : 'float32' });
}

/** The primitives defined in this file. */
export type TensorPrim = Exclude<Prim, CellPrim>;
type CellPrim = 'rnnStep' | 'lstmStep' | 'gruStep' | 'lstmSequence';
/** This file's primitives that save no parameters. */
type PlainPrim = { [P in TensorPrim]: PrimParams[P] extends NoParams ? P : never }[TensorPrim];

/** Record one of this file's primitives (its rule is in `tensorRules`, at the bottom). */
function record<P extends TensorPrim>(op: P, out: Tensor, inputs: readonly Tensor[], params: PrimParams[P]): Tensor {
  return recordPrim(tensorRules, op, out, inputs, params);
}

/** Record a primitive that saves nothing but its inputs and output. */
function recordPlain(op: PlainPrim, out: Tensor, inputs: readonly Tensor[]): Tensor {
  return recordPrim(tensorRules, op, out, inputs, {});
}

// ---- elementwise binary (broadcasting) ----------------------------------------------------------

function binary(op: PlainPrim, kernel: BinaryOp, aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = lift(aIn, bIn instanceof Tensor ? bIn : undefined), b = lift(bIn, a);
  checkFloat(a, op, 'first operand'); checkFloat(b, op, 'second operand');
  if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = output(a.dtype, shape);
  B().binary(kernel, f(a), a.shape, f(b), b.shape, f(out), shape);
  return recordPlain(op, out, [a, b]);
}

/**
 * a + b, broadcasting.
 *
 * @example
 * ```ts
 * import { add, tensor } from 'backprop';
 * add(tensor([[1, 2], [3, 4]]), tensor([10, 20])).toArray(); // [[11, 22], [13, 24]] (broadcast)
 * ```
 */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', 'add', a, b);
/**
 * a − b, broadcasting.
 *
 * @example
 * ```ts
 * import { sub, tensor } from 'backprop';
 * sub(tensor([3, 5]), 1).toArray(); // [2, 4]
 * ```
 */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', 'sub', a, b);
/**
 * a ⊙ b, broadcasting.
 *
 * @example
 * ```ts
 * import { mul, tensor } from 'backprop';
 * mul(tensor([1, 2, 3]), 2).toArray(); // [2, 4, 6]
 * ```
 */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', 'mul', a, b);
/**
 * a / b, broadcasting.
 *
 * @example
 * ```ts
 * import { div, tensor } from 'backprop';
 * div(tensor([1, 2]), tensor([4, 8])).toArray(); // [0.25, 0.25]
 * ```
 */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', 'div', a, b);
/**
 * a ^ b, broadcasting.
 *
 * @example
 * ```ts
 * import { pow, tensor } from 'backprop';
 * pow(tensor([2, 3]), 2).toArray(); // [4, 9]
 * ```
 */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', 'pow', a, b);
/**
 * Elementwise maximum (ties give the gradient to a).
 *
 * @example
 * ```ts
 * import { maximum, tensor } from 'backprop';
 * maximum(tensor([-1, 2]), 0).toArray(); // [0, 2]
 * ```
 */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', 'max', a, b);

/**
 * Non-differentiable comparisons: 1 where true, 0 elsewhere (float).
 *
 * @example
 * ```ts
 * import { compare, tensor } from 'backprop';
 * compare('gt', tensor([1, 5]), 3).toArray(); // [0, 1]
 * ```
 */
export function compare(op: 'gt' | 'ge' | 'eq', aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = lift(aIn, bIn instanceof Tensor ? bIn : undefined), b = lift(bIn, a);
  // The kernels compare floats (a WASM kernel would read int32 bits as f32): int32 is refused, as by every binary op.
  checkFloat(a, op, 'first operand'); checkFloat(b, op, 'second operand');
  if (a.dtype !== b.dtype) throw new ShapeError(`${op}: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = output(a.dtype, shape);
  B().binary(op, f(a), a.shape, f(b), b.shape, f(out), shape);
  return out;
}

// Each rule computes a gradient only for the inputs that need one (a constant operand — a lifted
// number, a target — costs nothing on the way back).
const binaryRules = {
  // d(a+b) = da + db
  add: (dy) => [dy, dy],
  // d(a−b) = da − db
  sub: (dy, s) => [dy, s.inputs[1]!.requiresGrad ? neg(dy) : null],
  // d(a·b) = b·da + a·db
  mul: (dy, s) => {
    const [a, b] = s.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? mul(dy, b) : null, b.requiresGrad ? mul(dy, a) : null];
  },
  // d(a/b) = da/b − a/b²·db
  div: (dy, s) => {
    const [a, b] = s.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? div(dy, b) : null, b.requiresGrad ? neg(div(mul(dy, a), mul(b, b))) : null];
  },
  // d(a^b) = b·a^(b−1)·da + a^b·ln(a)·db
  pow: (dy, s) => {
    const [a, b] = s.inputs as [Tensor, Tensor];
    return [a.requiresGrad ? mul(dy, mul(b, pow(a, sub(b, 1)))) : null, b.requiresGrad ? mul(dy, mul(s.out, log(a))) : null];
  },
  // d max(a,b) = [a≥b]·da + [a<b]·db (ties go to a)
  maximum: (dy, s) => {
    const [a, b] = s.inputs as [Tensor, Tensor];
    const m = compare('ge', a, b);
    return [a.requiresGrad ? mul(dy, m) : null, b.requiresGrad ? mul(dy, sub(1, m)) : null];
  },
} satisfies Rules<'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum'>;

// ---- elementwise unary --------------------------------------------------------------------------

function unary(op: UnaryPrim, x: Tensor): Tensor {
  checkFloat(x, op, 'input');
  const out = output(x.dtype, x.shape);
  B().unary(op, f(x), f(out));
  return recordPlain(op, out, [x]);
}

/**
 * Elementwise −x. d(−x) = −dx.
 *
 * @example
 * ```ts
 * import { neg, tensor } from 'backprop';
 * neg(tensor([1, -2])).toArray(); // [-1, 2]
 * ```
 */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/**
 * Elementwise eˣ. d(eˣ) = eˣ·dx.
 *
 * @example
 * ```ts
 * import { exp, tensor } from 'backprop';
 * exp(tensor([0, 1])).toArray(); // [1, 2.718…]
 * ```
 */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/**
 * Elementwise natural logarithm. d(ln x) = dx / x.
 *
 * @example
 * ```ts
 * import { log, tensor } from 'backprop';
 * log(tensor([1, Math.E])).toArray(); // [0, 1]
 * ```
 */
export const log = (x: Tensor): Tensor => unary('log', x);
/**
 * Elementwise √x. d√x = dx / (2√x).
 *
 * @example
 * ```ts
 * import { sqrt, tensor } from 'backprop';
 * sqrt(tensor([4, 9])).toArray(); // [2, 3]
 * ```
 */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/**
 * Elementwise tanh. d tanh x = (1 − tanh²x)·dx.
 *
 * @example
 * ```ts
 * import { tanh, tensor } from 'backprop';
 * tanh(tensor([0, 100])).toArray(); // [0, 1]
 * ```
 */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/**
 * σ(x) = 1/(1+e^−x), computed without overflow for any x.
 *
 * @example
 * ```ts
 * import { sigmoid, tensor } from 'backprop';
 * sigmoid(tensor([0])).toArray(); // [0.5]
 * ```
 */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/**
 * Elementwise max(x, 0). Its gradient is 1 where x > 0, else 0.
 *
 * @example
 * ```ts
 * import { relu, tensor } from 'backprop';
 * relu(tensor([-1, 0, 2])).toArray(); // [0, 0, 2]
 * ```
 */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/**
 * x², elementwise.
 *
 * @example
 * ```ts
 * import { square, tensor } from 'backprop';
 * square(tensor([-3, 2])).toArray(); // [9, 4]
 * ```
 */
export const square = (x: Tensor): Tensor => unary('square', x);
/**
 * GELU, tanh approximation (PyTorch's gelu(approximate='tanh')): 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
 *
 * @example
 * ```ts
 * import { gelu, tensor } from 'backprop';
 * gelu(tensor([-1, 0, 1])); // ≈ [-0.159, 0, 0.841]
 * ```
 */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);

/** A non-differentiable elementwise kernel call (masks, squares for norms). */
function kernelUnary(op: UnaryOp, x: Tensor): Tensor {
  const out = output(x.dtype, x.shape);
  B().unary(op, f(x), f(out));
  return out;
}

const unaryRules = {
  // d(−x) = −dx
  neg: (dy) => [neg(dy)],
  // d e^x = e^x·dx (saves the output)
  exp: (dy, s) => [mul(dy, s.out)],
  // d ln x = dx/x
  log: (dy, s) => [div(dy, s.inputs[0]!)],
  // d √x = dx/(2√x) (saves the output)
  sqrt: (dy, s) => [div(dy, mul(s.out, 2))],
  // d tanh x = (1 − tanh²x)·dx (saves the output)
  tanh: (dy, s) => [mul(dy, sub(1, mul(s.out, s.out)))],
  // d σ(x) = σ(1−σ)·dx (saves the output y: dy·y·(1−y))
  sigmoid: (dy, s) => [mul(dy, mul(s.out, sub(1, s.out)))],
  // d relu x = [x > 0]·dx — a mask, so the gradient at exactly 0 is 0, not ½
  relu: (dy, s) => [mul(dy, kernelUnary('step', s.inputs[0]!))],
  // d x² = 2x·dx
  square: (dy, s) => [mul(dy, mul(s.inputs[0]!, 2))],
  // d gelu x = gelu'(x)·dx, gelu' a kernel of its own (the kernel table's geluGrad)
  gelu: (dy, s) => [mul(dy, kernelUnary('geluGrad', s.inputs[0]!))],
} satisfies Rules<UnaryPrim>;

// ---- matmul -------------------------------------------------------------------------------------

/** Transpose flags of `matmul`: use Aᵀ and/or Bᵀ without materializing them. */
export interface MatmulOptions { transA?: boolean; transB?: boolean }

/**
 * Matrix product op(a)·op(b). Shapes: a [M,K] (or [K,M] with transA), b [K,N] (or [N,K] with transB);
 * batched: a [P,M,K] with b [P,K,N] (one product per p) or b [K,N] (shared by every p).
 *
 * @example
 * ```ts
 * import { matmul, tensor } from 'backprop';
 * const a = tensor([[1, 2], [3, 4]]), b = tensor([[5], [6]]);
 * matmul(a, b).toArray();                // [[17], [39]]
 * matmul(a, a, { transB: true }).shape;  // [2, 2]: a·aᵀ
 * ```
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  checkFloat(a, 'matmul', 'a'); checkFloat(b, 'matmul', 'b');
  if (a.dtype !== b.dtype) throw new ShapeError(`matmul: dtypes differ (${a.dtype} vs ${b.dtype})`);
  const bad = () => new ShapeError(`matmul: cannot multiply a ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} by b ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`);
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3 || (a.rank === 2 && b.rank === 3)) throw bad();
  const P = a.rank === 3 ? a.shape[0]! : 1;
  if (b.rank === 3 && b.shape[0] !== P) throw bad();
  if (transA && a.rank === 3 && b.rank === 2) throw new ShapeError('matmul: transA with a batched a and a shared 2-D b is not supported; transpose a first');
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const M = transA ? ac : ar, K = transA ? ar : ac;
  const Kb = transB ? bc : br, N = transB ? br : bc;
  if (K !== Kb) throw bad();
  const outShape = a.rank === 3 ? [P, M, N] : [M, N];
  const out = output(a.dtype, outShape);
  B().matmul(f(a), f(b), f(out), P, M, K, N, transA, transB, false, M * K, b.rank === 3 ? K * N : 0);
  return record('matmul', out, [a, b], { transA, transB });
}

const matmulRules = {
  // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC; then undo op (transpose back).
  matmul: (dy, s) => {
    const [a, b] = s.inputs as [Tensor, Tensor];
    const { transA, transB } = s.params;
    let dA: Tensor | null = null, dB: Tensor | null = null;
    if (a.requiresGrad) {
      dA = transA ? matmul(b, dy, { transA: transB, transB: true }) : matmul(dy, b, { transB: !transB });
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank === 3) {
        // b shared across the batch: fold the batch into the rows of a and dy.
        const P = a.shape[0]!;
        const a2 = reshape(a, [P * a.shape[1]!, a.shape[2]!]);
        const dy2 = reshape(dy, [P * dy.shape[1]!, dy.shape[2]!]);
        dB = transB ? matmul(dy2, a2, { transA: true }) : matmul(a2, dy2, { transA: true });
      } else {
        dB = transB ? matmul(dy, a, { transA: true, transB: transA }) : matmul(a, dy, { transA: !transA });
      }
    }
    return [dA, dB];
  },
} satisfies Rules<'matmul'>;

// ---- reductions and shape ops -------------------------------------------------------------------

/** Both reductions: the kernel call, plus the kept-dims shape and axes the rules need. */
function reduction(op: 'sum' | 'max', x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  checkFloat(x, op, 'input');
  const ax = normAxes(axes, x.rank, op);
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = output(x.dtype, keepDims ? kept : x.shape.filter((_, i) => !ax.includes(i)));
  B().reduce(op, f(x), x.shape, ax, f(out));
  return record(op, out, [x], { kept, axes: ax });
}

/**
 * Sum over `axes` (all by default); `keepDims` keeps reduced axes as size 1.
 *
 * @example
 * ```ts
 * import { sum, tensor } from 'backprop';
 * const x = tensor([[1, 2], [3, 4]]);
 * sum(x).item();            // 10
 * sum(x, 1).toArray();      // [3, 7]
 * sum(x, 0, true).shape;    // [1, 2]
 * ```
 */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('sum', x, axes, keepDims);
}

/**
 * Maximum over `axes`. The gradient is shared equally among tied maxima.
 *
 * @example
 * ```ts
 * import { max, tensor } from 'backprop';
 * max(tensor([[1, 5], [7, 2]]), -1).toArray(); // [5, 7]
 * ```
 */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduction('max', x, axes, keepDims);
}

/**
 * Mean over `axes` (a composite: sum / count).
 *
 * @example
 * ```ts
 * import { mean, tensor } from 'backprop';
 * mean(tensor([[1, 2], [3, 4]]), 0).toArray(); // [2, 3]
 * ```
 */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes(axes, x.rank, 'mean');
  const n = ax.reduce((p, a) => p * x.shape[a]!, 1);
  return div(sum(x, ax, keepDims), n);
}

/**
 * Repeat `x` along broadcast axes to `shape`.
 *
 * @example
 * ```ts
 * import { broadcastTo, tensor } from 'backprop';
 * broadcastTo(tensor([1, 2]), [3, 2]).toArray(); // [[1, 2], [1, 2], [1, 2]]
 * ```
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const s = broadcastShapes(x.shape, shape, 'broadcastTo');
  if (!shapeEq(s, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  if (shapeEq(x.shape, shape)) return x;
  const out = output(x.dtype, shape);
  const zero = alloc(x.dtype, []);
  B().binary('add', f(x), x.shape, f(zero), [], f(out), shape);
  return recordPlain('broadcastTo', out, [x]);
}

/**
 * Same data, new shape (one dimension may be −1).
 *
 * @example
 * ```ts
 * import { reshape, arange } from 'backprop';
 * reshape(arange(6), [2, 3]).shape; // [2, 3]
 * ```
 */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const n = x.size;
  const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const resolved = shape.map((d) => (d === -1 ? n / known : d));
  if (shape.filter((d) => d === -1).length > 1 || sizeOf(resolved) !== n || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${n} elements) to ${fmtShape(shape)}`);
  }
  const out = new Tensor(x.data, resolved, x.dtype); // shares storage: reshape is free
  return recordPlain('reshape', out, [x]);
}

/**
 * Permute axes (default: reverse them).
 *
 * @example
 * ```ts
 * import { transpose, zeros } from 'backprop';
 * transpose(zeros([2, 3])).shape;            // [3, 2]
 * transpose(zeros([2, 3, 4]), [2, 0, 1]).shape; // [4, 2, 3]
 * ```
 */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(`transpose: ${fmtShape(p)} is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  const out = output(x.dtype, p.map((i) => x.shape[i]!));
  B().transpose(x.data, x.shape, p, out.data);
  return record('transpose', out, [x], { perm: p });
}

/**
 * x[begin : begin+size] along every axis (size −1 = to the end).
 *
 * @example
 * ```ts
 * import { slice, tensor } from 'backprop';
 * slice(tensor([[1, 2, 3], [4, 5, 6]]), [0, 1], [2, 2]).toArray(); // [[2, 3], [5, 6]]
 * ```
 */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  if (begin.length !== x.rank || size.length !== x.rank) throw new ShapeError(`slice: begin ${fmtShape(begin)} and size ${fmtShape(size)} must both have rank ${x.rank} for input ${fmtShape(x.shape)}`);
  const sz = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
  for (let i = 0; i < x.rank; i++) {
    if (begin[i]! < 0 || sz[i]! < 0 || begin[i]! + sz[i]! > x.shape[i]!) throw new ShapeError(`slice: begin ${fmtShape(begin)} size ${fmtShape(size)} is out of bounds for ${fmtShape(x.shape)} (axis ${i})`);
  }
  const out = output(x.dtype, sz);
  B().slice(x.data, x.shape, begin, sz, out.data);
  return record('slice', out, [x], { begin, size: sz });
}

/**
 * Join tensors along `axis`.
 *
 * @example
 * ```ts
 * import { concat, ones, zeros } from 'backprop';
 * concat([ones([2, 1]), zeros([2, 3])], 1).shape; // [2, 4]
 * ```
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const first = xs[0]!;
  const ax = normAxis(axis, first.rank, 'concat');
  for (const t of xs) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(`concat: ${fmtShape(t.shape)} (${t.dtype}) does not fit ${fmtShape(first.shape)} (${first.dtype}) along axis ${ax}`);
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = xs.reduce((p, t) => p + t.shape[ax]!, 0);
  const out = alloc(first.dtype, outShape);
  let off = 0;
  for (const t of xs) {
    const begin = outShape.map((_, i) => (i === ax ? off : 0));
    B().sliceAddInto(f(t), t.shape, outShape, begin, f(out));
    off += t.shape[ax]!;
  }
  return record('concat', out, xs, { axis: ax });
}

/**
 * Split along `axis` into pieces of the given sizes (a composite of slices).
 *
 * @example
 * ```ts
 * import { split, arange } from 'backprop';
 * const [a, b] = split(arange(5), [2, 3]); // [0, 1] and [2, 3, 4]
 * ```
 */
export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  const ax = normAxis(axis, x.rank, 'split');
  if (sizes.reduce((p, s) => p + s, 0) !== x.shape[ax]) throw new ShapeError(`split: sizes ${fmtShape(sizes)} do not add up to ${x.shape[ax]} (axis ${ax} of ${fmtShape(x.shape)})`);
  let off = 0;
  return sizes.map((s) => {
    const begin = x.shape.map((_, i) => (i === ax ? off : 0));
    const size = x.shape.map((d, i) => (i === ax ? s : d));
    off += s;
    return slice(x, begin, size);
  });
}

const shapeRules = {
  // d Σx = broadcast(dy) back over the summed axes
  sum: (dy, s) => [broadcastTo(reshape(dy, s.params.kept), s.inputs[0]!.shape)],
  // d max = dy at the arg-max positions, split equally among ties
  max: (dy, s) => {
    const x = s.inputs[0]!, kept = s.params.kept;
    const mask = compare('eq', x, reshape(s.out, kept));
    const ties = sum(mask, s.params.axes, true);
    return [mul(mask, div(reshape(dy, kept), ties))];
  },
  // broadcasting is summed back by the driver
  broadcastTo: (dy) => [dy],
  reshape: (dy, s) => [reshape(dy, s.inputs[0]!.shape)],
  // the inverse permutation
  transpose: (dy, s) => {
    const p = s.params.perm;
    const inv = new Array<number>(p.length);
    p.forEach((v, i) => { inv[v] = i; });
    return [transpose(dy, inv)];
  },
  // scatter dy into zeros of the input's shape
  slice: (dy, s) => {
    const x = s.inputs[0]!;
    const out = alloc(x.dtype, x.shape);
    B().sliceAddInto(f(dy), dy.shape, x.shape, s.params.begin, f(out));
    return [out];
  },
  // each input gets its slice of dy
  concat: (dy, s) => {
    const ax = s.params.axis;
    let off = 0;
    return s.inputs.map((t) => {
      const begin = dy.shape.map((_, i) => (i === ax ? off : 0));
      off += t.shape[ax]!;
      return t.requiresGrad ? slice(dy, begin, t.shape) : null;
    });
  },
} satisfies Rules<'sum' | 'max' | 'broadcastTo' | 'reshape' | 'transpose' | 'slice' | 'concat'>;

// ---- indexing, selection, clipping --------------------------------------------------------------

/**
 * Embedding lookup: rows of `table` [V, D] picked by int32 `indices` (any shape) → [...indices.shape, D].
 *
 * @example
 * ```ts
 * import { gather, tensor, intTensor } from 'backprop';
 * const table = tensor([[0, 0], [1, 1], [2, 2]]);
 * gather(table, intTensor([2, 0])).toArray(); // [[2, 2], [0, 0]] (embedding lookup)
 * ```
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  if (table.rank !== 2) throw new ShapeError(`gather: table must be [V, D], got ${fmtShape(table.shape)}`);
  if (indices.dtype !== 'int32') throw new ShapeError(`gather: indices must be int32, got ${indices.dtype}`);
  const [V, D] = table.shape as [number, number];
  const out = output(table.dtype, [...indices.shape, D]);
  try {
    B().gatherRows(f(table), V, D, indices.data as Int32Array, f(out));
  } catch (e) {
    throw new ShapeError(`${(e as Error).message} (table ${fmtShape(table.shape)})`); // the kernel's message names gather
  }
  return recordPlain('gather', out, [table, indices]);
}

/**
 * cond ? a : b elementwise (cond is 0/1 float, e.g. from `compare`), broadcasting all three.
 *
 * @example
 * ```ts
 * import { where, compare, tensor } from 'backprop';
 * const x = tensor([-1, 2, -3]);
 * where(compare('gt', x, 0), x, 0).toArray(); // [0, 2, 0]
 * ```
 */
export function where(cond: Tensor, aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = lift(aIn, bIn instanceof Tensor ? bIn : cond), b = lift(bIn, a);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const [c2, a2, b2] = [broadcastTo(cond, shape), broadcastTo(a, shape), broadcastTo(b, shape)];
  const out = output(a.dtype, shape);
  B().where(f(c2), f(a2), f(b2), f(out));
  return recordPlain('where', out, [c2, a2, b2]);
}

/**
 * Clamp to [lo, hi].
 *
 * @example
 * ```ts
 * import { clip, tensor } from 'backprop';
 * clip(tensor([-5, 0.5, 5]), -1, 1).toArray(); // [-1, 0.5, 1]
 * ```
 */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  checkFloat(x, 'clip', 'input');
  if (!(lo <= hi)) throw new ShapeError(`clip: lo ${lo} must be ≤ hi ${hi}`);
  const out = output(x.dtype, x.shape);
  B().clip(f(x), lo, hi, f(out));
  return record('clip', out, [x], { lo, hi });
}

const selectRules = {
  // d table[idx] = scatter-add of dy into the rows idx (indices get no gradient)
  gather: (dy, s) => {
    const [table, idx] = s.inputs as [Tensor, Tensor];
    const out = alloc(table.dtype, table.shape);
    B().scatterAddRows(f(dy), table.shape[1]!, idx.data as Int32Array, f(out));
    return [out, null];
  },
  // the gradient follows whichever branch was taken; the condition gets none
  where: (dy, s) => {
    const c = s.inputs[0]!;
    return [null, where(c, dy, 0), where(c, 0, dy)];
  },
  // passes where lo ≤ x ≤ hi
  clip: (dy, s) => {
    const x = s.inputs[0]!, { lo, hi } = s.params;
    return [mul(dy, mul(compare('ge', x, lo), compare('ge', hi, x)))];
  },
} satisfies Rules<'gather' | 'where' | 'clip'>;

// ---- row-wise normalisations (composites) and the fused loss ------------------------------------

function rows(x: Tensor, op: string): [number, number] {
  if (x.rank < 1) throw new ShapeError(`${op}: needs at least one axis, got a scalar`);
  const C = x.shape[x.rank - 1]!;
  return [x.size / Math.max(C, 1), C];
}

/** The fused kernel of a row-wise normalisation (no history): the fast path when no gradient is needed. */
function rowwiseKernel(op: 'softmax' | 'logSoftmax', x: Tensor): Tensor {
  const [R, C] = rows(x, op);
  const out = output(x.dtype, x.shape);
  fused(B())[op](f(x), R, C, f(out));
  return out;
}

/** x − max(x) over the last axis; the max is a constant (softmax does not depend on it). */
function shiftByMax(x: Tensor): Tensor {
  return sub(x, max(x, -1, true).detach());
}

/**
 * Softmax over the last axis, a composite: e^(x − max) / Σ e^(x − max), max-subtracted so softmax(±300)
 * is exact, never NaN. Differentiated by composition; without a gradient to record it runs the fused
 * kernel instead (tested equal to the composition).
 *
 * @example
 * ```ts
 * import { softmax, tensor } from 'backprop';
 * softmax(tensor([[1, 1], [0, Math.log(3)]])).toArray(); // [[0.5, 0.5], [0.25, 0.75]]
 * ```
 */
export function softmax(x: Tensor): Tensor {
  checkFloat(x, 'softmax', 'input');
  rows(x, 'softmax');
  if (!needsGrad([x])) return rowwiseKernel('softmax', x);
  const e = exp(shiftByMax(x));
  return div(e, sum(e, -1, true));
}

/**
 * log-softmax over the last axis, a composite: (x − max) − log Σ e^(x − max). Fused kernel without a gradient.
 *
 * @example
 * ```ts
 * import { logSoftmax, tensor } from 'backprop';
 * logSoftmax(tensor([[0, 0]])).toArray(); // [[-0.693…, -0.693…]]
 * ```
 */
export function logSoftmax(x: Tensor): Tensor {
  checkFloat(x, 'logSoftmax', 'input');
  rows(x, 'logSoftmax');
  if (!needsGrad([x])) return rowwiseKernel('logSoftmax', x);
  const z = shiftByMax(x);
  return sub(z, log(sum(exp(z), -1, true)));
}

/**
 * Per-row cross-entropy of softmax(logits) against integer targets: logits [..., C], targets int32 [...]
 * → loss [...] (−log p_target). A fused primitive: one pass forward, never forms log(0), and its rule
 * needs only the saved probabilities. Tested against the composition −logSoftmax(x)[t].
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropy, mean, tensor, intTensor } from 'backprop';
 * const logits = tensor([[2, 0, 0], [0, 3, 0]]);
 * const loss = mean(softmaxCrossEntropy(logits, intTensor([0, 1]))); // mean −log p(target)
 * ```
 */
export function softmaxCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  checkFloat(logits, 'softmaxCrossEntropy', 'logits');
  if (targets.dtype !== 'int32') throw new ShapeError(`softmaxCrossEntropy: targets must be int32, got ${targets.dtype}`);
  const [R, C] = rows(logits, 'softmaxCrossEntropy');
  if (!shapeEq(targets.shape, logits.shape.slice(0, -1))) {
    throw new ShapeError(`softmaxCrossEntropy: targets ${fmtShape(targets.shape)} must match logits ${fmtShape(logits.shape)} without its last axis`);
  }
  const out = output(logits.dtype, targets.shape);
  const probs = output(logits.dtype, logits.shape);
  try {
    fused(B()).softmaxCrossEntropy(f(logits), R, C, targets.data as Int32Array, f(out), f(probs));
  } catch (e) {
    throw new ShapeError((e as Error).message); // the kernel's message names softmaxCrossEntropy
  }
  return record('softmaxCrossEntropy', out, [logits, targets], { probs });
}

/**
 * Elementwise squared error ½(y − t)², the tutorial's E for one output (a composite: ∂E/∂y = y − t).
 *
 * @example
 * ```ts
 * import { squaredError, mean, tensor } from 'backprop';
 * mean(squaredError(tensor([1, 3]), tensor([0, 1]))).item(); // (0.5·1 + 0.5·4) / 2 = 1.25
 * ```
 */
export function squaredError(y: Tensor, t: TensorLike): Tensor {
  checkFloat(y, 'squaredError', 'prediction');
  return mul(square(sub(y, lift(t, y))), 0.5);
}

const lossRules = {
  // d CE/d logits = dloss · (softmax − onehot(target)); targets get none
  softmaxCrossEntropy: (dy, s) => {
    const [logits, targets] = s.inputs as [Tensor, Tensor];
    const probs = s.params.probs;
    const [R, C] = rows(logits, 'softmaxCrossEntropy');
    const dx = output(logits.dtype, logits.shape);
    fused(B()).softmaxCrossEntropyBackward(f(probs), R, C, targets.data as Int32Array, f(dy), f(dx));
    return [dx, null];
  },
} satisfies Rules<'softmaxCrossEntropy'>;

// ---- this file's rules -------------------------------------------------------------------------

/**
 * The rules of the tensor primitives (rules.ts adds the cells' and checks the table is complete).
 *
 * @example
 * ```ts
 * import { tensorRules } from 'backprop';
 * Object.keys(tensorRules); // the tensor primitives that have a gradient rule: 'add', 'matmul', …
 * ```
 */
export const tensorRules: Rules<TensorPrim> = {
  ...binaryRules, ...unaryRules, ...matmulRules, ...shapeRules, ...selectRules, ...lossRules,
};
