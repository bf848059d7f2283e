/**
 * Tensor: an n-dimensional, contiguous, row-major array whose storage belongs to the active backend,
 * plus the bookkeeping reverse-mode autodiff needs (`requiresGrad`, the node that produced it, `grad`).
 *
 * Tensors are immutable by convention: ops return new tensors. The only in-place writers are the
 * optimizers (parameters) and the backward driver (gradients). Nothing needs to be freed by hand:
 * storage is reclaimed by the garbage collector (and pooled by the backend that owns it).
 */
import { allocKept, getBackend } from '../backend/index.js';
import type { DataArray, DType } from '../backend/index.js';
import { ShapeError } from '../errors.js';
import { checkShape, fmtShape, sizeOf, type Shape } from './shape.js';
import { globalRng, Rng } from './random.js';

/** How a tensor was made: the op's name, its inputs, and its vector-Jacobian product. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Given ∂E/∂out, return ∂E/∂input for each input (null where no gradient flows). */
  vjp(dy: Tensor): (Tensor | null)[];
}

/** Numbers nested by dimension, as `toArray()` returns and `tensor()` takes. */
export type NestedArray = number | NestedArray[];

let nextId = 1;

/**
 * An n-dimensional array in backend storage, with what autodiff needs (see the file header).
 *
 * @example
 * ```ts
 * import { tensor } from 'backprop';
 * const t = tensor([[1, 2], [3, 4]]);
 * t.shape;     // [2, 2]
 * t.dtype;     // 'float32'
 * t.toArray(); // [[1, 2], [3, 4]]
 * ```
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The storage. Reading it is free; write only if you own the tensor (optimizers do). */
  readonly data: DataArray;
  /** Whether gradients should flow into this tensor. */
  requiresGrad: boolean;
  /** The accumulated ∂E/∂(this) after `backward()`; set on leaves and on tensors that `retainGrad()`. */
  grad: Tensor | null = null;
  /** The node that produced this tensor (null for leaves and constants). */
  node: GradNode | null = null;
  /** Keep this (non-leaf) tensor's gradient after backward, as the explain trace does. */
  retainsGrad = false;
  /** An optional name, shown in errors and traces. */
  name: string | undefined;

  constructor(data: DataArray, shape: Shape, dtype: DType, requiresGrad = false) {
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`Tensor: data has ${data.length} elements but shape ${fmtShape(shape)} needs ${sizeOf(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.requiresGrad = requiresGrad;
  }

  get size(): number { return this.data.length; }
  get rank(): number { return this.shape.length; }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item(): tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return this.data[0]!;
  }

  /** A plain JS copy of the values, nested by shape. */
  toArray(): NestedArray {
    const build = (dim: number, off: number): NestedArray => {
      if (dim === this.shape.length) return this.data[off]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** Keep ∂E/∂(this) in `.grad` after backward even though this is not a leaf. Returns this. */
  retainGrad(): this { this.retainsGrad = true; return this; }

  /** Mark as a trainable leaf. Returns this. */
  requireGrad(flag = true): this { this.requiresGrad = flag; return this; }

  /** A tensor sharing this one's storage with no autodiff history: the gradient stops here. */
  detach(): Tensor {
    const t = new Tensor(this.data, this.shape, this.dtype, false);
    t.name = this.name;
    return t;
  }

  /**
   * An independent copy of the values (no history) that the caller owns: its storage outlives any
   * engine scope it is made in (a state carried from one training step to the next is a clone).
   */
  clone(): Tensor {
    const d = allocKept(this.dtype, this.size);
    d.set(this.data as never);
    return new Tensor(d, this.shape, this.dtype, false);
  }

  /** Readable printing, NumPy style; large tensors are summarised with '...'. */
  toString(precision = 4): string {
    const fmt = (v: number) => (this.dtype === 'int32' ? String(v) : Number.isInteger(v) ? v.toFixed(1) : v.toPrecision(precision));
    const edge = 3;
    const build = (dim: number, off: number, indent: string): string => {
      if (this.shape.length === 0) return fmt(this.data[0]!);
      const n = this.shape[dim]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      const idx = n > 2 * edge + 1 ? [...Array(edge).keys(), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)] : [...Array(n).keys()];
      if (dim === this.shape.length - 1) {
        return '[' + idx.map((i) => (i < 0 ? '...' : fmt(this.data[off + i]!))).join(', ') + ']';
      }
      const sep = ',\n' + '\n'.repeat(Math.max(0, this.shape.length - dim - 2)) + indent + ' ';
      return '[' + idx.map((i) => (i < 0 ? '...' : build(dim + 1, off + i * stride, indent + ' '))).join(sep) + ']';
    };
    return `tensor(${build(0, 0, '       ')}, shape=${fmtShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

// ---- creation helpers ------------------------------------------------------------------------

/** The dtype (float32 by default) and whether the tensor requires gradients. */
export interface CreateOptions { dtype?: DType; requiresGrad?: boolean }

function alloc(dtype: DType, n: number): DataArray {
  return getBackend().alloc(dtype, n);
}

function inferShape(x: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0] as NestedArray; }
  return shape;
}

/**
 * A tensor from nested arrays or a flat typed/plain array with an explicit shape.
 * @example
 * ```ts
 * import { tensor } from 'backprop';
 * tensor([[1, 2], [3, 4]]);                                  // shape [2, 2], float32
 * tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
 * tensor(new Float32Array(6), [2, 3]);                       // flat values and a shape
 * ```
 */
export function tensor(values: NestedArray | ArrayLike<number>, shapeOrOpts?: Shape | CreateOptions, maybeOpts?: CreateOptions): Tensor {
  const opts: CreateOptions = (Array.isArray(shapeOrOpts) ? maybeOpts : (shapeOrOpts as CreateOptions | undefined)) ?? {};
  const dtype = opts.dtype ?? (values instanceof Float64Array ? 'float64' : values instanceof Int32Array ? 'int32' : 'float32');
  let shape: number[];
  let flat: ArrayLike<number>;
  if (Array.isArray(shapeOrOpts)) {
    shape = [...shapeOrOpts];
    flat = typeof values === 'number' ? [values] : Array.isArray(values) ? (values as NestedArray[]).flat(Infinity as 1) as number[] : values as ArrayLike<number>;
  } else if (typeof values === 'number') {
    shape = []; flat = [values];
  } else if (Array.isArray(values)) {
    shape = inferShape(values as NestedArray);
    flat = (values as NestedArray[]).flat(Infinity as 1) as number[];
    if (flat.length !== sizeOf(shape)) throw new ShapeError(`tensor: ragged nested array (expected ${sizeOf(shape)} values for shape ${fmtShape(shape)}, got ${flat.length})`);
  } else {
    shape = [(values as ArrayLike<number>).length]; flat = values as ArrayLike<number>;
  }
  checkShape(shape, 'tensor');
  if (flat.length !== sizeOf(shape)) throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmtShape(shape)}`);
  const data = alloc(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = Number(flat[i]);
    if (typeof flat[i] !== 'number' && !(ArrayBuffer.isView(flat))) throw new ShapeError(`tensor: value at flat index ${i} is not a number`);
    data[i] = v;
  }
  return new Tensor(data, shape, dtype, opts.requiresGrad ?? false);
}

/**
 * A rank-0 tensor holding v.
 *
 * @example
 * ```ts
 * import { scalar } from 'backprop';
 * scalar(3).item(); // 3 (shape [])
 * ```
 */
export function scalar(v: number, opts: CreateOptions = {}): Tensor {
  return tensor(v, opts);
}

/**
 * A tensor of the shape with every element `value`.
 *
 * @example
 * ```ts
 * import { full } from 'backprop';
 * full([2, 3], 0.5); // a [2, 3] tensor of 0.5
 * ```
 */
export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  const dtype = opts.dtype ?? 'float32';
  const data = alloc(dtype, sizeOf(shape));
  if (value !== 0) data.fill(value);
  return new Tensor(data, shape, dtype, opts.requiresGrad ?? false);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { zeros } from 'backprop';
 * zeros([2, 3], { dtype: 'float64' });
 * ```
 */
export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor { return full(shape, 0, opts); }
/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { ones } from 'backprop';
 * ones([3]).toArray(); // [1, 1, 1]
 * ```
 */
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor { return full(shape, 1, opts); }

/**
 * Zeros of the shape and dtype of t.
 *
 * @example
 * ```ts
 * import { zerosLike, tensor } from 'backprop';
 * zerosLike(tensor([[1, 2]])); // shape [1, 2], zeros
 * ```
 */
export function zerosLike(t: Tensor): Tensor { return zeros(t.shape, { dtype: t.dtype }); }

/**
 * 0, 1, …, n−1.
 *
 * @example
 * ```ts
 * import { arange } from 'backprop';
 * arange(4).toArray(); // [0, 1, 2, 3]
 * ```
 */
export function arange(n: number, opts: CreateOptions = {}): Tensor {
  const t = zeros([n], opts);
  for (let i = 0; i < n; i++) t.data[i] = i;
  return t;
}

/** Creation options plus the generator to draw from. */
export interface RandomOptions extends CreateOptions { rng?: Rng }

/**
 * Uniform in [lo, hi), from a seeded generator (the global one unless `rng` is given).
 *
 * @example
 * ```ts
 * import { randUniform, Rng } from 'backprop';
 * randUniform([2, 3], -1, 1, { rng: new Rng(1) }); // reproducible, in [-1, 1)
 * ```
 */
export function randUniform(shape: Shape, lo = 0, hi = 1, opts: RandomOptions = {}): Tensor {
  const t = zeros(shape, opts);
  const rng = opts.rng ?? globalRng;
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(lo, hi);
  return t;
}

/**
 * Normal with mean and std, from a seeded generator.
 *
 * @example
 * ```ts
 * import { randNormal } from 'backprop';
 * randNormal([3, 4], 0, 0.1, { dtype: 'float64' });
 * ```
 */
export function randNormal(shape: Shape, mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
  const t = zeros(shape, opts);
  const rng = opts.rng ?? globalRng;
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal(mean, std);
  return t;
}

/**
 * Int32 tensor (token ids, class labels).
 *
 * @example
 * ```ts
 * import { intTensor } from 'backprop';
 * intTensor([3, 1, 4]).dtype; // 'int32'
 * ```
 */
export function intTensor(values: ArrayLike<number> | NestedArray, shape?: Shape): Tensor {
  return shape ? tensor(values as ArrayLike<number>, shape, { dtype: 'int32' }) : tensor(values as NestedArray, { dtype: 'int32' });
}
