/**
 * Optimizers over a parameter arena: each step is one flat pass over the whole parameter block (llm.c's
 * update loop), never a loop over tensors, and each is written once, here, not as one backend kernel per
 * optimizer. SGD and momentum are `axpby` passes, the generic kernel every backend runs in parallel SIMD
 * (p − lr·g computed as p·1 + g·(−lr) is the same IEEE result, so nothing changed by becoming generic);
 * Adam is the loop `adamStep`, which a backend may run fused (`Backend.adamUpdate`, tested against it).
 * Gradient clipping by global norm and learning-rate schedules too.
 *
 * @example
 *   const opt = new SGD(model, { lr: 0.5 });       // w ← w − α·∂E/∂w, the tutorial's rule
 *   loss = ...; backward(loss); opt.step(); opt.zeroGrad();
 */
import { allocArena, getBackend } from '../backend/index.js';
import type { Backend, FloatArray } from '../backend/index.js';
import { ConfigError } from '../errors.js';
import { ParamArena } from '../nn/arena.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/** What an optimizer updates: a module, an arena, or a list of tensors. */
export type ParamSource = Module | ParamArena | readonly Tensor[];

function arenaOf(src: ParamSource): ParamArena {
  if (src instanceof ParamArena) return src;
  if (src instanceof Module) return src.arena();
  return ParamArena.pack(src.map((t, i) => [t.name ?? `param${i}`, t]));
}

function checkLr(lr: number, who: string): void {
  if (!Number.isFinite(lr) || lr < 0) throw new ConfigError(`${who}: learning rate must be a finite number ≥ 0, got ${lr}`);
}

/** Optimizer state that checkpoints save and restore. */
export interface OptimizerState { kind: string; step: number; lr: number; buffers: Record<string, FloatArray> }

/**
 * An optimizer over a parameter arena: `step()` applies one update from the accumulated gradients.
 *
 * @example
 * ```ts
 * import { Optimizer, createOptimizer, Dense } from 'backprop';
 * const opt: Optimizer = createOptimizer('adam', new Dense(2, 1), 0.01);
 * opt.step(); opt.zeroGrad(); // after a backward(): update the parameters, then clear their gradients
 * const saved = opt.state();  // step, learning rate and moment buffers, for a checkpoint
 * ```
 */
export abstract class Optimizer {
  readonly arena: ParamArena;
  /** The current learning rate (schedules set it each epoch). */
  lr: number;
  /** Number of steps taken. */
  stepCount = 0;

  constructor(params: ParamSource, lr: number) {
    this.arena = arenaOf(params);
    checkLr(lr, this.constructor.name);
    this.lr = lr;
  }

  /** Apply one update from the gradients accumulated in the arena. */
  step(): void {
    this.arena.ensureGradViews();
    this.stepCount++;
    this.update(this.arena.values, this.arena.grads);
  }

  protected abstract update(p: FloatArray, g: FloatArray): void;

  /** Sets every gradient to zero (before the next backward pass). */
  zeroGrad(): void { this.arena.zeroGrads(); }

  /** Extra state (moment buffers), by name. */
  buffers(): Record<string, FloatArray> { return {}; }

  /**
   * The optimizer's name in checkpoints ('SGD', 'Momentum', 'Adam'): written out, not the class's name,
   * which a minifying bundler renames.
   */
  abstract get kind(): string;

  /** The state a checkpoint saves: kind, step count, learning rate, moment buffers. */
  state(): OptimizerState { return { kind: this.kind, step: this.stepCount, lr: this.lr, buffers: this.buffers() }; }

  /** Restores a saved state; a one-line error if it is of another optimizer or size. */
  loadState(s: OptimizerState): void {
    if (s.kind !== this.kind) throw new ConfigError(`optimizer state is for ${s.kind}, this optimizer is ${this.kind}`);
    this.stepCount = s.step; this.lr = s.lr;
    const own = this.buffers();
    for (const [k, v] of Object.entries(own)) {
      const src = s.buffers[k];
      if (!src || src.length !== v.length) throw new ConfigError(`optimizer state: buffer ${k} missing or of the wrong size`);
      v.set(src);
    }
  }
}

/**
 * One Adam step (Kingma & Ba 2015, with bias correction; `t` the 1-based step count) over flat arrays:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  p ← p − lr·(m/c1) / (√(v/c2) + ε),  c_k = 1 − β_k^t.
 * The definition: `Backend.adamUpdate`, where a backend has it, must agree with this loop.
 *
 * @example
 * ```ts
 * import { adamStep } from 'backprop';
 * const p = new Float32Array([1]), g = new Float32Array([0.5]), m = new Float32Array(1), v = new Float32Array(1);
 * adamStep(p, g, m, v, 0.001, 0.9, 0.999, 1e-8, 1); // p ≈ [0.999]
 * ```
 */
export function adamStep(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number,
  beta2: number, eps: number, t: number): void {
  const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * gi;
    v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
    p[i] = p[i]! - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
  }
}

/** x ← s·x in place, as a broadcast multiply by a one-element array of x's dtype. */
function scaleInPlace(b: Backend, x: FloatArray, s: number): void {
  const n = [x.length];
  b.binary('mul', x, n, x instanceof Float64Array ? Float64Array.of(s) : Float32Array.of(s), [], x, n);
}

/**
 * Plain SGD, exactly the tutorial's rule: w ← w − α·∂E/∂w.
 *
 * @example
 * ```ts
 * import { SGD, Dense } from 'backprop';
 * const opt = new SGD(new Dense(2, 1), { lr: 0.1 });
 * ```
 */
export class SGD extends Optimizer {
  override get kind(): string { return 'SGD'; }
  constructor(params: ParamSource, opts: { lr: number }) { super(params, opts.lr); }
  // p ← p·1 + g·(−α)
  protected update(p: FloatArray, g: FloatArray): void { getBackend().axpby(p, 1, g, -this.lr, p); }
}

/**
 * SGD with momentum: v ← μ·v + g; w ← w − α·v.
 *
 * @example
 * ```ts
 * import { Momentum, Dense } from 'backprop';
 * const opt = new Momentum(new Dense(2, 1), { lr: 0.1, momentum: 0.9 });
 * ```
 */
export class Momentum extends Optimizer {
  override get kind(): string { return 'Momentum'; }
  readonly mu: number;
  private readonly v: FloatArray;
  constructor(params: ParamSource, opts: { lr: number; momentum?: number }) {
    super(params, opts.lr);
    this.mu = opts.momentum ?? 0.9;
    if (!(this.mu >= 0 && this.mu < 1)) throw new ConfigError(`Momentum: momentum must be in [0, 1), got ${this.mu}`);
    this.v = allocArena(this.arena.dtype, this.arena.size) as FloatArray;
  }
  // v ← v·μ + g·1, then p ← p·1 + v·(−α)
  protected update(p: FloatArray, g: FloatArray): void {
    const b = getBackend();
    b.axpby(this.v, this.mu, g, 1, this.v);
    b.axpby(p, 1, this.v, -this.lr, p);
  }
  override buffers(): Record<string, FloatArray> { return { v: this.v }; }
}

/**
 * Adam (Kingma & Ba 2015) with bias correction.
 *
 * @example
 * ```ts
 * import { Adam, Dense } from 'backprop';
 * const opt = new Adam(new Dense(2, 1), { lr: 1e-3 });
 * ```
 */
export class Adam extends Optimizer {
  override get kind(): string { return 'Adam'; }
  readonly beta1: number; readonly beta2: number; readonly eps: number;
  private readonly m: FloatArray; private readonly v: FloatArray;
  constructor(params: ParamSource, opts: { lr?: number; beta1?: number; beta2?: number; eps?: number } = {}) {
    super(params, opts.lr ?? 1e-3);
    this.beta1 = opts.beta1 ?? 0.9; this.beta2 = opts.beta2 ?? 0.999; this.eps = opts.eps ?? 1e-8;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new ConfigError(`Adam: ${k} must be in [0, 1), got ${v}`);
    }
    this.m = allocArena(this.arena.dtype, this.arena.size) as FloatArray;
    this.v = allocArena(this.arena.dtype, this.arena.size) as FloatArray;
  }
  protected update(p: FloatArray, g: FloatArray): void {
    const b = getBackend();
    const step = b.adamUpdate && !(p instanceof Float64Array) ? b.adamUpdate.bind(b) : adamStep;
    step(p, g, this.m, this.v, this.lr, this.beta1, this.beta2, this.eps, this.stepCount);
  }
  override buffers(): Record<string, FloatArray> { return { m: this.m, v: this.v }; }
}

/** The optimizers by name (the CLI's `--optimizer`, a checkpoint's configuration): one row each. */
const OPTIMIZERS = {
  sgd: (params: ParamSource, lr: number): Optimizer => new SGD(params, { lr }),
  momentum: (params: ParamSource, lr: number): Optimizer => new Momentum(params, { lr }),
  adam: (params: ParamSource, lr: number): Optimizer => new Adam(params, { lr }),
} as const;

/** The name of an optimizer in the table (sgd, momentum, adam). */
export type OptimizerKind = keyof typeof OPTIMIZERS;
/**
 * Every optimizer name.
 *
 * @example
 * ```ts
 * import { optimizerKinds } from 'backprop';
 * optimizerKinds; // ['sgd', 'momentum', 'adam']
 * ```
 */
export const optimizerKinds = Object.keys(OPTIMIZERS) as OptimizerKind[];

/**
 * The optimizer named `kind` (with its default hyper-parameters besides `lr`); an unknown name is a ConfigError.
 *
 * @example
 * ```ts
 * import { createOptimizer, Sequential, Dense } from 'backprop';
 * const opt = createOptimizer('momentum', new Sequential(new Dense(2, 4), new Dense(4, 1)), 0.05);
 * ```
 */
export function createOptimizer(kind: OptimizerKind, params: ParamSource, lr: number): Optimizer {
  const make = Object.hasOwn(OPTIMIZERS, kind) ? OPTIMIZERS[kind] : undefined;
  if (!make) throw new ConfigError(`unknown optimizer "${String(kind)}" (choose ${optimizerKinds.join(', ')})`);
  return make(params, lr);
}

/**
 * Clip gradients by global norm (TensorFlow's clip_by_global_norm): if ‖g‖ > maxNorm, scale every
 * gradient by maxNorm/‖g‖. Returns the norm before clipping and whether clipping fired.
 *
 * @example
 * ```ts
 * import { clipGradNorm, Dense, backward, sum, ones } from 'backprop';
 * const net = new Dense(3, 1);
 * backward(sum(net.forward(ones([4, 3]))));
 * const { norm, clipped } = clipGradNorm(net.arena(), 1.0); // gradients scaled to norm ≤ 1
 * ```
 */
export function clipGradNorm(arena: ParamArena, maxNorm: number): { norm: number; clipped: boolean } {
  if (!(maxNorm > 0)) throw new ConfigError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  arena.ensureGradViews();
  const b = getBackend();
  const norm = Math.sqrt(b.sumSquares(arena.grads));
  if (norm > maxNorm) { scaleInPlace(b, arena.grads, maxNorm / norm); return { norm, clipped: true }; }
  return { norm, clipped: false };
}

/**
 * Global L2 norm of the arena's gradients.
 *
 * @example
 * ```ts
 * import { gradNorm, Dense, backward, sum, ones } from 'backprop';
 * const net = new Dense(3, 1);
 * backward(sum(net.forward(ones([4, 3]))));
 * gradNorm(net.arena()); // the global L2 norm of all gradients
 * ```
 */
export function gradNorm(arena: ParamArena): number {
  return Math.sqrt(getBackend().sumSquares(arena.grads));
}

/**
 * Step decay as in the TensorFlow PTB tutorial: lr · decay^max(epoch + 1 − maxEpoch, 0), epoch from 0.
 *
 * @example
 * ```ts
 * import { stepDecay } from 'backprop';
 * const lrAt = stepDecay(1.0, 0.5, 4);
 * [0, 3, 4, 5].map(lrAt); // [1, 1, 0.5, 0.25]
 * ```
 */
export function stepDecay(lr: number, decay: number, maxEpoch: number): (epoch: number) => number {
  return (epoch) => lr * Math.pow(decay, Math.max(epoch + 1 - maxEpoch, 0));
}
