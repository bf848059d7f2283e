/**
 * Parameter arenas. A model's parameters live in ONE contiguous block, their gradients in another, laid
 * out from one size table (name, shape, offset). Each parameter tensor is a named view into the block, so
 * an optimizer step or a global-norm clip is one pass over memory and a checkpoint is a few large writes.
 * Packing happens once (`ParamArena.pack`); afterwards backward accumulates straight into the grad block.
 */
import { allocArena } from '../backend/index.js';
import type { DType, FloatArray } from '../backend/index.js';
import { ShapeError } from '../errors.js';
import { fmtShape, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** One parameter in an arena: its name, shape, offset and size, and its tensor (a view). */
export interface ArenaEntry { name: string; shape: readonly number[]; offset: number; size: number; tensor: Tensor }

/**
 * A model's parameters in one contiguous block and their gradients in another (see the file header).
 *
 * @example
 * ```ts
 * import { Dense } from 'backprop';
 * const arena = new Dense(3, 2).arena(); // the model's parameters packed in one block
 * arena.size;                  // 8: weight [3, 2] and bias [2]
 * arena.get('weight').offset;  // 0
 * ```
 */
export class ParamArena {
  readonly entries: readonly ArenaEntry[];
  readonly dtype: DType;
  /** All parameter values, back to back. */
  readonly values: FloatArray;
  /** All gradients, same layout. */
  readonly grads: FloatArray;
  readonly size: number;

  private constructor(entries: ArenaEntry[], dtype: DType, values: FloatArray, grads: FloatArray) {
    this.entries = entries; this.dtype = dtype; this.values = values; this.grads = grads; this.size = values.length;
  }

  /**
   * Move `named` tensors into one block (their values are copied; each tensor's storage becomes a view),
   * and give each a gradient view into a second block.
   */
  static pack(named: readonly [string, Tensor][]): ParamArena {
    if (named.length === 0) throw new ShapeError('ParamArena: no parameters to pack');
    const dtype = named[0]![1].dtype;
    if (dtype === 'int32') throw new ShapeError(`ParamArena: parameter ${named[0]![0]} is int32`);
    let total = 0;
    const entries: ArenaEntry[] = named.map(([name, t]) => {
      if (t.dtype !== dtype) throw new ShapeError(`ParamArena: parameter ${name} is ${t.dtype}, others are ${dtype}`);
      const e = { name, shape: t.shape, offset: total, size: t.size, tensor: t };
      total += t.size;
      return e;
    });
    const values = allocArena(dtype, total) as FloatArray;
    const grads = allocArena(dtype, total) as FloatArray;
    for (const e of entries) {
      const v = values.subarray(e.offset, e.offset + e.size);
      v.set(e.tensor.data as FloatArray);
      rebind(e.tensor, v);
      const g = grads.subarray(e.offset, e.offset + e.size);
      if (e.tensor.grad) g.set(e.tensor.grad.data as FloatArray); // keep gradients computed before packing
      e.tensor.grad = new Tensor(g, e.shape, dtype);
    }
    return new ParamArena(entries, dtype, values, grads);
  }

  /** The entry for `name`, or a clear error. */
  get(name: string): ArenaEntry {
    const e = this.entries.find((x) => x.name === name);
    if (!e) throw new ShapeError(`ParamArena: no parameter named ${name}`);
    return e;
  }

  /** Sets every gradient to zero. */
  zeroGrads(): void { this.grads.fill(0); }

  /** Re-attach gradient views (if user code replaced `.grad`, e.g. by zeroGrad without buffers). */
  ensureGradViews(): void {
    for (const e of this.entries) {
      const view = this.grads.subarray(e.offset, e.offset + e.size);
      if (!e.tensor.grad || e.tensor.grad.data !== view) {
        if (e.tensor.grad) view.set(e.tensor.grad.data as FloatArray);
        e.tensor.grad = new Tensor(view, e.shape, this.dtype);
      }
    }
  }

  /** Copy values in from a name → data map (checkpoint load), checking every shape. */
  load(tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, source = 'checkpoint'): void {
    for (const e of this.entries) {
      const t = tensors[e.name];
      if (!t) throw new ShapeError(`${source}: missing parameter ${e.name}`);
      if (sizeOf(t.shape) !== e.size || t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
        throw new ShapeError(`${source}: parameter ${e.name} has shape ${fmtShape(t.shape)}, the model needs ${fmtShape(e.shape)}`);
      }
      this.values.set(t.data as FloatArray, e.offset);
    }
  }
}

/** Point a tensor at new storage (arena packing only). */
function rebind(t: Tensor, data: FloatArray): void {
  (t as { data: FloatArray }).data = data;
}
