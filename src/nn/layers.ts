/**
 * Feed-forward layers: dense (linear), activations (from the table in activations.ts), sequential
 * composition, embedding, dropout.
 * Every layer is composed from autodiff primitives, so its gradient comes from the rule table.
 */
import * as o from '../autodiff/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import { globalRng, type Rng } from '../tensor/random.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import type { DType } from '../backend/index.js';
import { ACTIVATIONS, activationKinds, type ActivationKind } from './activations.js';
import { initialize, type Init } from './init.js';
import { Module, Parameter } from './module.js';

export { ACTIVATIONS, activationKinds, activationRow, type ActivationKind, type ActivationRow } from './activations.js';

/**
 * Apply an activation function f (a row of the activation table) to pre-activations x.
 *
 * @example
 * ```ts
 * import { activate, tensor } from 'backprop';
 * activate('relu', tensor([-1, 2])).toArray(); // [0, 2]
 * ```
 */
export function activate(kind: ActivationKind, x: Tensor): Tensor {
  return ACTIVATIONS[kind].apply(x);
}

/** Options of a `Dense` layer. */
export interface DenseOptions {
  activation?: ActivationKind;
  /** Weight initialiser (default Glorot uniform); biases start at zero unless `biasInit` says otherwise. */
  init?: Init;
  biasInit?: Init;
  bias?: boolean;
  dtype?: DType;
  rng?: Rng;
}

/**
 * Dense layer: x_j = Σ_i w_ij·y_i + b_j, then y = f(x). Weight [in, out] (row i = input node i), bias [out].
 * Input [N, in] → output [N, out].
 *
 * @example
 * ```ts
 * import { Dense, tensor } from 'backprop';
 * const layer = new Dense(3, 2, { activation: 'sigmoid' });
 * layer.forward(tensor([[1, 2, 3]])).shape; // [1, 2]
 * ```
 */
export class Dense extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly activation: ActivationKind;

  constructor(readonly inSize: number, readonly outSize: number, opts: DenseOptions = {}) {
    super();
    for (const [k, v] of [['inSize', inSize], ['outSize', outSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`Dense: ${k} must be a positive integer, got ${v}`);
    }
    this.activation = opts.activation ?? 'linear';
    if (!Object.hasOwn(ACTIVATIONS, this.activation)) throw new ConfigError(`Dense: unknown activation ${JSON.stringify(this.activation)} (choose ${activationKinds.join(', ')})`);
    this.weight = initialize(new Parameter([inSize, outSize], opts.dtype), opts.init ?? { kind: 'glorotUniform' }, opts.rng) as Parameter;
    this.bias = opts.bias === false ? null : initialize(new Parameter([outSize], opts.dtype), opts.biasInit ?? { kind: 'zeros' }, opts.rng) as Parameter;
  }

  /** x = y_in · W + b (before the activation). */
  preActivation(y: Tensor): Tensor {
    if (y.rank !== 2 || y.shape[1] !== this.inSize) throw new ShapeError(`Dense(${this.inSize}→${this.outSize}): input must be [N, ${this.inSize}], got ${fmtShape(y.shape)}`);
    const xw = o.matmul(y, this.weight);
    return this.bias ? o.add(xw, this.bias) : xw;
  }

  /** y = f(x·W + b) for input rows [N, in] → [N, out]. */
  forward(y: Tensor): Tensor {
    return activate(this.activation, this.preActivation(y));
  }
}

/**
 * An activation as a layer.
 *
 * @example
 * ```ts
 * import { Activation, Sequential, Dense } from 'backprop';
 * const net = new Sequential(new Dense(4, 8), new Activation('gelu'), new Dense(8, 1));
 * ```
 */
export class Activation extends Module {
  constructor(readonly kind: ActivationKind) {
    super();
    if (!Object.hasOwn(ACTIVATIONS, kind)) throw new ConfigError(`Activation: unknown activation ${JSON.stringify(kind)} (choose ${activationKinds.join(', ')})`);
  }
  /** The activation applied to x, elementwise (softmax over the last axis). */
  forward(x: Tensor): Tensor { return activate(this.kind, x); }
}

/** A module that maps one tensor to another: what `Sequential` and `fit` take. */
export interface Layer extends Module {
  /** Maps x to the layer's output. */
  forward(x: Tensor): Tensor;
}

/**
 * Layers applied in order.
 *
 * @example
 * ```ts
 * import { Sequential, Dense, tensor } from 'backprop';
 * const net = new Sequential(new Dense(2, 8, { activation: 'tanh' }), new Dense(8, 1));
 * net.forward(tensor([[0, 1], [1, 0]])).shape; // [2, 1]
 * ```
 */
export class Sequential extends Module {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) { super(); this.layers = layers; }
  /** Applies the layers in order. */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/**
 * Embedding: token ids (int32, any shape) → rows of a [V, D] table.
 *
 * @example
 * ```ts
 * import { Embedding, intTensor } from 'backprop';
 * const emb = new Embedding(100, 16);
 * emb.forward(intTensor([3, 14, 15])).shape; // [3, 16]
 * ```
 */
export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly vocabSize: number, readonly dim: number, opts: { init?: Init; dtype?: DType; rng?: Rng } = {}) {
    super();
    if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new ConfigError(`Embedding: vocabSize must be a positive integer, got ${vocabSize}`);
    if (!Number.isInteger(dim) || dim <= 0) throw new ConfigError(`Embedding: dim must be a positive integer, got ${dim}`);
    this.weight = initialize(new Parameter([vocabSize, dim], opts.dtype), opts.init ?? { kind: 'uniform', scale: 0.1 }, opts.rng) as Parameter;
  }
  /** The table rows of the ids: ids [...] → [..., dim]. */
  forward(ids: Tensor): Tensor { return o.gather(this.weight, ids); }
}

/**
 * An inverted-dropout mask: each element 0 with probability p, else 1/(1−p), drawn in order from `rng`;
 * the first `keepFirst` elements (flat order) are 1 and draw nothing. The mask the regularisers multiply
 * by: per step (`Dropout`), per window (locked dropout, weight-drop) or per word (embedding dropout).
 *
 * @example
 * ```ts
 * import { dropoutMask, Rng } from 'backprop';
 * const m = dropoutMask([2, 4], 0.5, new Rng(1)); // entries 0 or 2
 * const w = dropoutMask([3, 4], 0.5, new Rng(1), 'float32', 4); // first row all 1 (not dropped)
 * ```
 */
export function dropoutMask(shape: readonly number[], p: number, rng: Rng, dtype: DType = 'float32', keepFirst = 0): Tensor {
  if (!(p >= 0 && p < 1)) throw new ConfigError(`dropout probability must be in [0, 1), got ${p}`);
  const mask = zeros(shape, { dtype });
  const keep = 1 / (1 - p), d = mask.data;
  d.fill(1, 0, Math.min(keepFirst, d.length));
  for (let i = keepFirst; i < d.length; i++) d[i] = rng.uniform() < p ? 0 : keep;
  return mask;
}

/**
 * Inverted dropout: in training, zero each element with probability p and scale survivors by 1/(1−p);
 * identity in evaluation. Masks come from a seeded generator.
 *
 * @example
 * ```ts
 * import { Dropout, ones, Rng } from 'backprop';
 * const drop = new Dropout(0.5, new Rng(1));
 * drop.forward(ones([2, 4]));  // about half zeroed, the rest scaled by 2
 * drop.eval().forward(ones([2, 4])); // unchanged in evaluation mode
 * ```
 */
export class Dropout extends Module {
  constructor(readonly p: number, readonly rng: Rng = globalRng) {
    super();
    if (!(p >= 0 && p < 1)) throw new ConfigError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  /** x with dropout applied in training mode; x itself in evaluation mode. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return o.mul(x, dropoutMask(x.shape, this.p, this.rng, x.dtype));
  }
}
