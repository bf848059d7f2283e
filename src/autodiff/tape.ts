/**
 * The tape: how primitives record themselves, and the backward driver that walks the recorded graph
 * in reverse. The graph is the tape (micrograd): each output tensor points at its node, each node at its
 * inputs. `backward()` sorts the graph topologically and runs each node's vector-Jacobian product.
 *
 * Two jobs belong to the driver, written once here rather than in every rule:
 *  - broadcast reduction: a rule may return a gradient in the broadcast (output) shape; the driver sums it
 *    down to the input's shape;
 *  - fan-out accumulation: a tensor used twice receives the sum of both contributions.
 * Every gradient is checked against its input's shape, with an error naming the op and the input.
 */
import { allocOutput, getBackend, withScope } from '../backend/index.js';
import { ShapeError } from '../errors.js';
import { fmtShape, shapeEq, sizeOf } from '../tensor/shape.js';
import { Tensor, type GradNode } from '../tensor/tensor.js';

let gradEnabled = true;

/**
 * Whether ops currently record themselves for differentiation.
 *
 * @example
 * ```ts
 * import { isGradEnabled, noGrad } from 'backprop';
 * isGradEnabled();                   // true
 * noGrad(() => isGradEnabled());     // false
 * ```
 */
export function isGradEnabled(): boolean { return gradEnabled; }

/**
 * Run `fn` without recording: results have no history and `requiresGrad` false.
 *
 * @example
 * ```ts
 * import { noGrad, Dense, ones } from 'backprop';
 * const model = new Dense(3, 1);
 * const y = noGrad(() => model.forward(ones([2, 3]))); // y.requiresGrad === false
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}

/** Attach a node to `out` if gradients are enabled and any input needs one. Returns `out`. */
export function recordNode(out: Tensor, op: string, inputs: readonly Tensor[], vjp: (dy: Tensor) => (Tensor | null)[]): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    const node: GradNode = { op, inputs, vjp };
    out.node = node;
  }
  return out;
}

/** Sum `g` down to `shape` (the inverse of broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[], op: string, which: number): Tensor {
  if (shapeEq(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`${op}: gradient for input ${which} has shape ${fmtShape(g.shape)}, smaller than the input's ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) { axes.push(i); continue; }
    const want = shape[i - lead]!;
    if (want === 1 && g.shape[i] !== 1) axes.push(i);
    else if (want !== g.shape[i]) throw new ShapeError(`${op}: gradient for input ${which} has shape ${fmtShape(g.shape)}, which does not reduce to the input's ${fmtShape(shape)}`);
  }
  const outShape = g.shape.filter((_, i) => !axes.includes(i));
  const b = getBackend();
  const data = allocOutput(g.dtype, sizeOf(outShape)) as Float32Array;
  b.reduce('sum', g.data as Float32Array, g.shape, axes, data);
  return new Tensor(data, shape, g.dtype);
}

function addInto(acc: Tensor | undefined, g: Tensor): Tensor {
  if (!acc) return g;
  const b = getBackend();
  const out = allocOutput(acc.dtype, acc.size) as Float32Array;
  b.axpby(acc.data as Float32Array, 1, g.data as Float32Array, 1, out);
  return new Tensor(out, acc.shape, acc.dtype);
}

/** Reverse topological order of the graph above `root` (only tensors that require grad). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // Iterative DFS: recurrent graphs unrolled over thousands of steps would overflow the call stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root.id);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i]!;
      if (c.requiresGrad && !seen.has(c.id)) { seen.add(c.id); stack.push([c, 0]); }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order.reverse();
}

/**
 * Backpropagate from `root`. Leaves with `requiresGrad` (and tensors that `retainGrad()`) get `.grad`
 * accumulated (`+=`, as PyTorch does: call `zeroGrad` between steps). `dRoot` defaults to 1 for a scalar.
 *
 * @example
 * ```ts
 * import { backward, tensor, sum, mul } from 'backprop';
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * backward(sum(mul(x, x)));
 * x.grad?.toArray(); // [2, 4, 6]
 * ```
 */
export function backward(root: Tensor, dRoot?: Tensor): void {
  if (!root.requiresGrad) throw new ShapeError('backward: the tensor does not require grad (no trainable input reaches it, or it was computed under noGrad)');
  if (!dRoot) {
    if (root.size !== 1) throw new ShapeError(`backward: the tensor has shape ${fmtShape(root.shape)}; pass a gradient or reduce it to a scalar first`);
    const d = getBackend().alloc(root.dtype, 1); d[0] = 1;
    dRoot = new Tensor(d, root.shape, root.dtype);
  } else if (!shapeEq(dRoot.shape, root.shape)) {
    throw new ShapeError(`backward: gradient shape ${fmtShape(dRoot.shape)} does not match tensor shape ${fmtShape(root.shape)}`);
  }
  const grads = new Map<number, Tensor>([[root.id, dRoot]]);
  // The walk's intermediate gradients die with it: an engine scope frees them when it ends. What
  // outlives it is written into existing .grad buffers (arena views) or cloned (clone() is 'kept').
  withScope(() => noGrad(() => {
    for (const t of topoOrder(root)) {
      const g = grads.get(t.id);
      if (!g) continue;
      grads.delete(t.id); // drop references as we go so memory can be reclaimed during the walk
      if (t.node === null || t.retainsGrad) {
        if (t.grad) {
          // Accumulate in place: a parameter's gradient may be a view into the model's gradient arena.
          if (!shapeEq(t.grad.shape, g.shape)) throw new ShapeError(`backward: existing .grad of shape ${fmtShape(t.grad.shape)} does not match ${fmtShape(g.shape)}`);
          getBackend().axpby(t.grad.data as Float32Array, 1, g.data as Float32Array, 1, t.grad.data as Float32Array);
        } else {
          t.grad = g.clone(); // own copy: `g` may be shared with other inputs (add passes dy to both)
        }
      }
      if (t.node === null) continue;
      const { op, inputs } = t.node;
      const gin = t.node.vjp(g);
      if (gin.length !== inputs.length) throw new ShapeError(`${op}: rule returned ${gin.length} gradients for ${inputs.length} inputs`);
      for (let k = 0; k < inputs.length; k++) {
        const x = inputs[k]!, gx = gin[k];
        if (!x.requiresGrad || !gx) continue;
        const r = sumToShape(gx, x.shape, op, k);
        if (r.dtype !== x.dtype) throw new ShapeError(`${op}: gradient for input ${k} has dtype ${r.dtype}, input has ${x.dtype}`);
        grads.set(x.id, addInto(grads.get(x.id), r));
      }
    }
  }));
}

/**
 * Reset `.grad` of the given tensors: zero-filled where it is a preallocated buffer, else dropped.
 *
 * @example
 * ```ts
 * import { zeroGrad, backward, tensor, sum } from 'backprop';
 * const x = tensor([1, 2], { requiresGrad: true });
 * backward(sum(x));
 * zeroGrad([x]); // x.grad is zeroed (or dropped), ready for the next backward
 * ```
 */
export function zeroGrad(tensors: Iterable<Tensor>, keepBuffers = true): void {
  for (const t of tensors) {
    if (t.grad && keepBuffers) t.grad.data.fill(0);
    else t.grad = null;
  }
}
