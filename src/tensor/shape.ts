/** Shape utilities: sizes, strides, broadcasting (NumPy rules) and axis normalisation. */
import { ShapeError } from '../errors.js';

/** A tensor's dimensions, outermost first. */
export type Shape = readonly number[];

/**
 * The number of elements of a shape (1 for a scalar).
 *
 * @example
 * ```ts
 * import { sizeOf } from 'backprop';
 * sizeOf([2, 3, 4]); // 24 (and sizeOf([]) is 1: a scalar)
 * ```
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Whether two shapes are equal.
 *
 * @example
 * ```ts
 * import { shapeEq } from 'backprop';
 * shapeEq([2, 3], [2, 3]); // true
 * ```
 */
export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A shape as text, e.g. [2, 3].
 *
 * @example
 * ```ts
 * import { fmtShape } from 'backprop';
 * fmtShape([2, 3]); // '[2, 3]'
 * ```
 */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/**
 * The shape two operands broadcast to (NumPy rules: align right, 1 stretches).
 *
 * @example
 * ```ts
 * import { broadcastShapes } from 'backprop';
 * broadcastShapes([4, 1], [3], 'add'); // [4, 3]
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (axis ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Turn a possibly negative axis into 0..rank-1, or throw naming the op.
 *
 * @example
 * ```ts
 * import { normAxis } from 'backprop';
 * normAxis(-1, 3, 'sum'); // 2
 * ```
 */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/**
 * Normalise an axis list (undefined = all axes), sorted and unique.
 *
 * @example
 * ```ts
 * import { normAxes } from 'backprop';
 * normAxes(undefined, 3, 'sum'); // [0, 1, 2]
 * normAxes([-1, 0], 3, 'sum');   // [0, 2]
 * ```
 */
export function normAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(a, rank, op)))].sort((x, y) => x - y);
  return out;
}

/**
 * Check that a shape is a list of non-negative integers.
 *
 * @example
 * ```ts
 * import { checkShape } from 'backprop';
 * checkShape([2, 3], 'zeros');  // fine
 * checkShape([2, -1], 'zeros'); // throws ShapeError naming 'zeros' and the shape
 * ```
 */
export function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${op}: invalid shape ${fmtShape(shape)} (dimensions must be non-negative integers)`);
  }
}
