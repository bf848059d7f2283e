/**
 * Function transforms over the tape: `valueAndGrad`, `grad`, and `gradcheck`, which compares analytic
 * gradients with central finite differences computed in float64.
 */
import { ShapeError } from '../errors.js';
import { fmtShape } from '../tensor/shape.js';
import { Rng } from '../tensor/random.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { backward, noGrad } from './tape.js';

/**
 * Wrap `fn` (tensors → scalar tensor) so it returns its value and the gradient for each argument.
 *
 * @example
 * ```ts
 * import { valueAndGrad, sum, mul, tensor } from 'backprop';
 * const { value, grads } = valueAndGrad((w) => sum(mul(w, w)))(tensor([1, 2]));  // value 5, grads[0] = [2, 4]
 * ```
 */
export function valueAndGrad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => { value: Tensor; grads: Tensor[] } {
  return (...args: A) => {
    const leaves = args.map((a) => a.detach().requireGrad(a.dtype !== 'int32')) as unknown as A;
    const value = fn(...leaves);
    if (value.size !== 1) throw new ShapeError(`valueAndGrad: the function must return a scalar, got shape ${fmtShape(value.shape)}`);
    if (value.requiresGrad) backward(value);
    const grads = leaves.map((l) => l.grad ?? zeros(l.shape, { dtype: l.dtype === 'int32' ? 'float32' : l.dtype }));
    return { value: value.detach(), grads };
  };
}

/**
 * Like `valueAndGrad`, returning only the gradients.
 *
 * @example
 * ```ts
 * import { grad, tensor, sum, mul } from 'backprop';
 * const [dw] = grad((w) => sum(mul(w, w)))(tensor([1, 2]));
 * dw?.toArray(); // [2, 4]
 * ```
 */
export function grad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => Tensor[] {
  const vg = valueAndGrad(fn);
  return (...args: A) => vg(...args).grads;
}

/** Options of `gradcheck`: step, tolerances, sampling. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute and relative tolerances: pass when |a − n| ≤ atol + rtol·|n| (defaults 1e-6, 1e-4). */
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input, picked at random (default: all up to 2000). */
  maxPerInput?: number;
  /** Seed of the random projection that turns a non-scalar output into a scalar. */
  seed?: number;
}

/** What `gradcheck` found: pass or fail, the largest errors, and the worst element. */
export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  checked: number;
  /** The worst element: which input, flat index, analytic and numeric values. */
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compare the analytic gradient of `fn` at `inputs` with central differences (x ± eps). Inputs must be
 * float64 (int32 inputs, such as token ids, are passed through unchecked). A non-scalar output y is
 * projected to the scalar Σ y ⊙ r with a fixed random r, so every output element is exercised.
 *
 * @example
 * ```ts
 * import { gradcheck, sigmoid, randNormal } from 'backprop';
 * const r = gradcheck((x) => sigmoid(x), [randNormal([3, 4], 0, 1, { dtype: 'float64' })]);
 * if (!r.ok) throw new Error(JSON.stringify(r.worst));
 * ```
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-4;
  const maxPer = opts.maxPerInput ?? 2000;
  for (const [i, x] of inputs.entries()) {
    if (x.dtype === 'float32') throw new ShapeError(`gradcheck: input ${i} is float32; finite differences need float64`);
  }
  const rng = new Rng(opts.seed ?? 1234);
  let proj: Float64Array | null = null;
  const scalarOf = (y: Tensor): number => {
    if (!proj) { proj = new Float64Array(y.size); for (let i = 0; i < y.size; i++) proj[i] = rng.uniform(-1, 1); }
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i]! * proj[i]!;
    return s;
  };
  const floatIdx = inputs.map((x, i) => (x.dtype === 'float64' ? i : -1)).filter((i) => i >= 0);
  // Analytic: backprop the projection vector.
  const leaves = inputs.map((x) => x.detach().requireGrad(x.dtype === 'float64'));
  const y = fn(...leaves);
  scalarOf(y);
  if (y.requiresGrad) backward(y, new Tensor(Float64Array.from(proj!), y.shape, 'float64'));
  let maxAbs = 0, maxRel = 0, checked = 0, ok = true;
  let worst: GradcheckResult['worst'] = null, worstScore = -1;
  for (const k of floatIdx) {
    const x = inputs[k]!;
    const analytic = leaves[k]!.grad?.data ?? new Float64Array(x.size);
    const idx = x.size <= maxPer ? [...Array(x.size).keys()] : Array.from({ length: maxPer }, () => rng.int(x.size));
    for (const i of idx) {
      const probe = (delta: number): number => {
        const xs = inputs.map((t, j) => (j === k ? t.clone() : t));
        xs[k]!.data[i] = x.data[i]! + delta;
        return noGrad(() => scalarOf(fn(...xs)));
      };
      const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
      const a = analytic[i]!;
      const abs = Math.abs(a - numeric), rel = abs / Math.max(Math.abs(numeric), 1e-12);
      checked++;
      maxAbs = Math.max(maxAbs, abs);
      if (abs > atol) maxRel = Math.max(maxRel, rel);
      const bad = !(abs <= atol + rtol * Math.abs(numeric));
      if (bad) ok = false;
      const score = abs / (atol + rtol * Math.abs(numeric));
      if (score > worstScore || Number.isNaN(score)) { worstScore = Number.isNaN(score) ? Infinity : score; worst = { input: k, index: i, analytic: a, numeric }; }
    }
  }
  return { ok, maxAbsError: maxAbs, maxRelError: maxRel, checked, worst };
}
