/**
 * The small tanh RNN behind view 2, run by the engine. Shapes: x_t [1, 1], h_t [1, H], W_xh [1, H],
 * W_hh [H, H], b [1, H], W_hy [H, 1]; T time steps, 1-based as in the text.
 *
 *   h_t = tanh(x_t·W_xh + h_{t−1}·W_hh + b),   y_t = h_t·W_hy,   E = Σ_{t ∈ loss steps} ½(y_t − target_t)²
 *
 * ∂E/∂h_t is read from `.grad` of each h_t (kept with `retainGrad()`) after `backward(E)`: the page
 * never differentiates by hand.
 */
import { add, backward, matmul, Rng, sum, squaredError, tanh, tensor, type Tensor } from '../../src/index.js';

export const H = 4;
export const T = 12;

/** A fixed random orthogonal matrix (Gram–Schmidt on seeded normals): scaling it sets every singular value of W_hh. */
function orthogonal(n: number, rng: Rng): number[][] {
  const q: number[][] = [];
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      const d = v.reduce((s, x, k) => s + x * u[k]!, 0);
      for (let k = 0; k < n; k++) v[k]! -= d * u[k]!;
    }
    const norm = Math.hypot(...v);
    q.push(v.map((x) => x / norm));
  }
  return q;
}

const rng = new Rng(11);
const Q = orthogonal(H, rng);
const Wxh = Array.from({ length: H }, () => rng.uniform(-1, 1));
const Why = Array.from({ length: H }, () => rng.uniform(-1, 1));
/** Inputs and targets, index t = 1 … T (index 0 unused). */
export const xs = Array.from({ length: T + 1 }, (_, t) => 0.05 * Math.sin(0.8 * t));
export const targets = Array.from({ length: T + 1 }, (_, t) => 0.1 * Math.sin(0.8 * (t - 2)));

export interface Unrolled {
  /** First and last step of the window. */
  from: number;
  to: number;
  /** h_t for t = from … to. */
  h: number[][];
  /** ∂E/∂h_t for t = from … to (zeros where no loss depends on h_t). */
  dh: number[][];
  norms: number[];
  loss: number;
}

/**
 * Run steps `from` … `to` starting from the (constant, detached) state `h0`, with the loss on the steps
 * where `lossAt(t)` holds, and backpropagate through the window.
 */
export function unroll(scale: number, from: number, to: number, h0: number[], lossAt: (t: number) => boolean): Unrolled {
  const f64 = { dtype: 'float64' } as const;
  const whh = tensor(Q.flat().map((v) => v * scale), [H, H], { ...f64, requiresGrad: true });
  const wxh = tensor(Wxh, [1, H], { ...f64, requiresGrad: true });
  const why = tensor(Why, [H, 1], { ...f64, requiresGrad: true });
  const b = tensor(new Array(H).fill(0), [1, H], { ...f64, requiresGrad: true });
  let h: Tensor = tensor(h0, [1, H], f64);
  const hs: Tensor[] = [];
  let E: Tensor | null = null;
  for (let t = from; t <= to; t++) {
    h = tanh(add(add(matmul(tensor([[xs[t]!]], f64), wxh), matmul(h, whh)), b)).retainGrad();
    hs.push(h);
    if (lossAt(t)) {
      const e = sum(squaredError(matmul(h, why), tensor([[targets[t]!]], f64)));
      E = E ? add(E, e) : e;
    }
  }
  if (E) backward(E);
  const dh = hs.map((x) => (x.grad ? Array.from(x.grad.data) : new Array<number>(H).fill(0)));
  return { from, to, h: hs.map((x) => Array.from(x.data)), dh, norms: dh.map((g) => Math.hypot(...g)), loss: E ? E.item() : 0 };
}

export interface TbpttUpdate {
  /** The update happens at step t; its window is start … t. */
  t: number;
  start: number;
  /** Steps whose loss this update counts (t−k1+1 … t). */
  lossSteps: number[];
  /** Of those, the ones inside the window (their loss is backpropagated). */
  used: number[];
  /** Of those, the ones before the window (k1 > k2): counted, but no gradient path inside the window. */
  dropped: number[];
  grads: Unrolled;
}

/**
 * Truncated BPTT(k1, k2), Sutskever's definition: step through the sequence; every k1 steps (at
 * t = k1, 2k1, …), backpropagate through the last k2 steps, starting from the forward run's h_{t−k2}.
 */
export function tbptt(scale: number, k1: number, k2: number, full: Unrolled): { updates: TbpttUpdate[]; tail: number[] } {
  const updates: TbpttUpdate[] = [];
  for (let t = k1; t <= T; t += k1) {
    const start = Math.max(1, t - k2 + 1);
    const h0 = start === 1 ? new Array<number>(H).fill(0) : full.h[start - 2]!;
    const lossSteps = Array.from({ length: k1 }, (_, i) => t - k1 + 1 + i).filter((u) => u >= 1);
    const used = lossSteps.filter((u) => u >= start);
    const dropped = lossSteps.filter((u) => u < start);
    updates.push({ t, start, lossSteps, used, dropped, grads: unroll(scale, start, t, h0, (u) => used.includes(u)) });
  }
  const last = updates.at(-1)?.t ?? 0;
  const tail = Array.from({ length: T - last }, (_, i) => last + 1 + i);
  return { updates, tail };
}
