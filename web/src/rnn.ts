/**
 * The small tanh RNN behind view 2, run by the engine. Shapes: x_t [1, 1], h_t [1, H], W_xh [1, H],
 * W_hh [H, H], b [1, H], W_hy [H, 1]; T time steps, 1-based as in the text.
 *
 *   h_t = tanh(x_t·W_xh + h_{t−1}·W_hh + b),   y_t = h_t·W_hy,   E = Σ_{t ∈ loss steps} ½(y_t − target_t)²
 *
 * The RNN is a SequenceModel, and every gradient the page shows comes from the engine's one
 * TruncatedBPTT (src/train/tbptt.ts), the loop that trains the language models: full BPTT is its
 * k1 = k2 = T case, and ‖∂E/∂h_t‖ is its diagnostics output. The page never differentiates by hand and
 * keeps no BPTT loop of its own. It shows gradients for fixed weights, so the optimizer's rate is 0.
 */
import {
  add, concat, matmul, Module, noGrad, Parameter, Rng, SGD, tanh, Tensor, TruncatedBPTT, weightedSquaredErrorLoss, zeros,
  type SeqData, type SequenceModel, type SequenceRun, type SequenceRunOptions,
} from '../../src/index.js';

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

interface RnnState { h: Tensor }

/** The RNN with W_hh = scale·Q, in float64; one stream (B = 1) in the page, any B here. */
class TinyRnn extends Module implements SequenceModel<RnnState> {
  readonly wxh = new Parameter([1, H], 'float64');
  readonly whh = new Parameter([H, H], 'float64');
  readonly b = new Parameter([1, H], 'float64');
  readonly why = new Parameter([H, 1], 'float64');

  constructor(scale: number) {
    super();
    this.wxh.data.set(Wxh);
    this.whh.data.set(Q.flat().map((v) => v * scale));
    this.why.data.set(Why);
  }

  initialState(B: number): RnnState { return { h: zeros([B, H], { dtype: 'float64' }) }; }

  /** x: time-major [T·B] inputs; outputs y [T·B, 1]. */
  run(x: SeqData, B: number, steps: number, state: RnnState, opts: SequenceRunOptions = {}): SequenceRun<RnnState> {
    let h = state.h;
    const ys: Tensor[] = [], states: RnnState[] = [];
    for (let t = 0; t < steps; t++) {
      const xt = new Tensor(Float64Array.from(x.subarray(t * B, (t + 1) * B)), [B, 1], 'float64');
      h = tanh(add(add(matmul(xt, this.wxh), matmul(h, this.whh)), this.b));
      if (opts.retainStates) h.retainGrad();
      if (opts.keepStates || opts.retainStates) states.push({ h });
      ys.push(matmul(h, this.why));
    }
    return { outputs: steps === 1 ? ys[0]! : concat(ys, 0), states, state: { h } };
  }

  mapState(s: RnnState, f: (t: Tensor) => Tensor): RnnState { return { h: f(s.h) }; }
  hidden(s: RnnState): Tensor[] { return [s.h]; }
}

/** Steps 1 … T: inputs, and (target, weight) pairs for the squared-error loss (weight 0 = no loss at that step). */
function stream(lossAt: (t: number) => boolean): { x: Float64Array; y: Float64Array } {
  const x = new Float64Array(T), y = new Float64Array(2 * T);
  for (let t = 1; t <= T; t++) {
    x[t - 1] = xs[t]!;
    y[2 * (t - 1)] = targets[t]!;
    y[2 * (t - 1) + 1] = lossAt(t) ? 1 : 0;
  }
  return { x, y };
}

/** TBPTT(k1, k2) over the T steps with ‖∂E/∂h_t‖ diagnostics, weights fixed. */
function runTbptt(scale: number, k1: number, k2: number, lossAt: (t: number) => boolean) {
  const model = new TinyRnn(scale);
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1, k2, batchSize: 1, loss: weightedSquaredErrorLoss, diagnostics: true });
  const { x, y } = stream(lossAt);
  return { model, updates: tr.feed(x, y, T).updates };
}

export interface Unrolled {
  /** h_t for t = 1 … T. */
  h: number[][];
  /** ‖∂E/∂h_t‖ for t = 1 … T (0 where no loss depends on h_t). */
  norms: number[];
  loss: number;
}

/** Full BPTT through all T steps from h_0 = 0 (TBPTT with k1 = k2 = T), the loss on the steps where `lossAt(t)` holds. */
export function unroll(scale: number, lossAt: (t: number) => boolean): Unrolled {
  const { model, updates } = runTbptt(scale, T, T, lossAt);
  const u = updates[0]!;
  const forward = noGrad(() => model.run(stream(lossAt).x, 1, T, model.initialState(1), { keepStates: true }));
  return { h: forward.states.map((s) => Array.from(s.h.data)), norms: u.hGradNorms![0]!, loss: u.loss };
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
  /** ‖∂E/∂h_s‖ for s = start … t. */
  norms: number[];
}

/**
 * Truncated BPTT(k1, k2), Sutskever's definition, as the engine's TruncatedBPTT runs it: step through
 * the sequence; every k1 steps (at t = k1, 2k1, …), backpropagate through the last k2 steps, starting
 * from the forward run's h_{t−k2}. `tail`: the steps after the last update.
 */
export function tbptt(scale: number, k1: number, k2: number): { updates: TbpttUpdate[]; tail: number[] } {
  const updates = runTbptt(scale, k1, k2, () => true).updates.map((u): TbpttUpdate => {
    const [start, t] = u.window;
    const lossSteps = Array.from({ length: k1 }, (_, i) => t - k1 + 1 + i).filter((s) => s >= 1);
    return { t, start, lossSteps, used: lossSteps.filter((s) => s >= start), dropped: lossSteps.filter((s) => s < start), norms: u.hGradNorms![0]! };
  });
  const last = updates.at(-1)?.t ?? 0;
  const tail = Array.from({ length: T - last }, (_, i) => last + 1 + i);
  return { updates, tail };
}
