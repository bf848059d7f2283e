/**
 * Truncated backpropagation through time, TBPTT(k1, k2), as Sutskever (2013, §2.8.6) defines it:
 * step through the stream one time step at a time; every k1 steps, run backpropagation over the last
 * k2 steps, with the gradient stopped where the window begins and every state value kept.
 *
 * Exactly what an update at step t optimises (the "truncated objective"):
 *   J_t(θ) = Σ_{s = t−m+1 … t} mean_b loss_s(θ),   m = min(k1, k2),
 * where the states run from h_{t−k2} — held constant, the value the stream reached — through the k2
 * steps t−k2+1 … t under the current parameters θ. The update is θ ← opt(θ, clip(∇J_t)).
 *
 *   stream:  ──┬───┬───┬───┬───┬───┬───┬───┬──▶ t
 *   k1 = 2, k2 = 4:     update at t: window [t−3, t], loss of steps t−1 and t;
 *                       next update at t+2: window [t−1, t+2], starting from the kept state h_{t−2}.
 *
 * - k1 = k2 = T (the TensorFlow PTB scheme) is the cheap special case of the same loop: each window is
 *   exactly the T new steps, run once forward and once backward, the state carried to the next window.
 * - k1 < k2: windows overlap; a window of k2 steps is re-run under the current θ every k1 steps
 *   (cost ∝ k2/k1). The state entering each window is the one computed by the previous run.
 * - k1 > k2: the first k1 − k2 new steps are run forward only (no graph, one run) and their losses are
 *   reported but not backpropagated; only the last k2 steps' losses are in J_t.
 * The PyTorch-forum recipe that keeps one graph and calls backward every k1 steps backpropagates each
 * loss through a different number of steps; here every loss in J_t sees the same k2-step window.
 *
 * The loop runs any stateful sequence model and any per-row loss (src/nn/sequence.ts): the language
 * model with cross-entropy (the default loss), the explorer's small RNN with squared error.
 */
import * as o from '../autodiff/index.js';
import { ConfigError, DivergenceError, ShapeError } from '../errors.js';
import { crossEntropyLoss, type SeqData, type SequenceLoss, type SequenceModel } from '../nn/sequence.js';
import { clipGradNorm } from '../optim/optimizers.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { Tensor } from '../tensor/tensor.js';
import { withScope } from '../backend/index.js';

/** Options of `TruncatedBPTT`: k1, k2, batch size, loss, clipping, diagnostics. */
export interface TBPTTOptions {
  /** Update every k1 steps. */
  k1: number;
  /** Backpropagate through the last k2 steps. */
  k2: number;
  /** Number of parallel streams B. */
  batchSize: number;
  /** The per-row loss of the model's outputs (default: softmax cross-entropy against token ids). */
  loss?: SequenceLoss;
  /** Clip the global gradient norm to this (TF's max_grad_norm); undefined = no clipping. */
  maxGradNorm?: number;
  /** Record ‖∂E/∂h_t‖ for every step t of each window and every layer. */
  diagnostics?: boolean;
  /** On a NaN/Inf loss or gradient: 'stop' (throw DivergenceError) or 'skip' the update and scale lr by `skipLrFactor`. */
  onDivergence?: 'stop' | 'skip';
  skipLrFactor?: number;
  /**
   * Called after every optimizer step that was applied (not after a skipped one), with the
   * parameters already updated: NT-ASGD's running average of the iterates is kept here.
   */
  afterStep?: (info: UpdateInfo) => void;
}

/** One update of TBPTT: its step, window, loss, gradient norm, and diagnostics. */
export interface UpdateInfo {
  /** Global step index (1-based) at which the update happened. */
  step: number;
  /** First and last global step of the backpropagated window. */
  window: [number, number];
  /** Σ over the loss steps of the batch-mean loss (J_t). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  clipped: boolean;
  skipped: boolean;
  /** [layer][i]: ‖∂E/∂h‖ at window step i (oldest first), if diagnostics are on. */
  hGradNorms?: number[][];
}

/** What one `feed` call computed: the per-step costs and the updates made. */
export interface FeedResult {
  /** Batch-mean loss of each step whose loss was computed in this call, in stream order. */
  costs: number[];
  updates: UpdateInfo[];
}

/** One step of the stream: its inputs [B·I] and targets [B·J], and the state entering it where kept. */
interface Step<S> { x: SeqData; y: SeqData; stateBefore: S | null; costReported: boolean }

/**
 * Truncated backpropagation through time, TBPTT(k1, k2), over any sequence model (see the file header).
 *
 * @example
 * ```ts
 * import { TruncatedBPTT, LanguageModel, SGD, Rng } from 'backprop';
 * const lm = new LanguageModel({ vocabSize: 20, embedSize: 8, hiddenSize: 8, numLayers: 1, cell: 'gru', keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(1));
 * const tbptt = new TruncatedBPTT(lm, new SGD(lm, { lr: 1 }), { k1: 5, k2: 5, batchSize: 2 });
 * const x = new Int32Array(2 * 10).map((_, i) => i % 20), y = x.map((v) => (v + 1) % 20); // B = 2, T = 10, batch-major
 * const { costs, updates } = tbptt.feed(x, y, 10); // two updates, the state carried between them
 * ```
 */
export class TruncatedBPTT<S> {
  readonly k1: number;
  readonly k2: number;
  readonly B: number;
  readonly loss: SequenceLoss;
  /**
   * The state after the last step run forward: what the next window starts from. Values only (no
   * history), in storage that outlives the update that computed it (a clone); never changed in place.
   */
  state: S;
  /** Totals since construction. */
  readonly totals = { steps: 0, updates: 0, clipped: 0, skipped: 0 };
  private hist: Step<S>[] = [];
  private pending = 0;

  constructor(readonly model: SequenceModel<S>, readonly optimizer: Optimizer, readonly opts: TBPTTOptions) {
    for (const k of ['k1', 'k2', 'batchSize'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new ConfigError(`TBPTT: ${k} must be a positive integer, got ${opts[k]}`);
    }
    if (opts.maxGradNorm !== undefined && !(opts.maxGradNorm > 0)) throw new ConfigError(`TBPTT: maxGradNorm must be > 0, got ${opts.maxGradNorm}`);
    this.k1 = opts.k1; this.k2 = opts.k2; this.B = opts.batchSize;
    this.loss = opts.loss ?? crossEntropyLoss;
    this.state = this.carry(model.initialState(this.B));
  }

  /** Zero the state of every stream (the tutorial's initial state), forgetting the window history. */
  resetState(): void {
    this.state = this.carry(this.model.initialState(this.B));
    this.hist = [];
    this.pending = 0;
  }

  /** Zero the state of some streams only (the others keep theirs). */
  resetStreams(rows: readonly number[]): void {
    const reset = (s: S) => this.model.mapState(s, (t) => zeroRows(t, rows));
    this.state = reset(this.state);
    for (const s of this.hist) if (s.stateBefore) s.stateBefore = reset(s.stateBefore);
  }

  /** Replace the carried state (e.g. from a checkpoint). */
  setState(s: S): void {
    this.state = this.carry(s);
    this.hist = []; this.pending = 0;
  }

  /**
   * A state carried past the update that computed it: its values with the gradient stopped, cloned,
   * so the storage outlives the engine scope the update runs in (the one mark carried state needs).
   */
  private carry(s: S): S {
    return this.model.mapState(s, (t) => t.clone());
  }

  /**
   * Feed T more steps of the B streams. x, y: batch-major [B·T·I] and [B·T·J] (row b·T + t holds I
   * input values, J target values; I = J = 1 for token ids, as the PTB batcher gives them).
   * Updates happen inside, every k1 steps of the stream (steps left over wait for the next call).
   */
  feed(x: SeqData, y: SeqData, T: number): FeedResult {
    const B = this.B;
    if (!(Number.isInteger(T) && T > 0) || x.length === 0 || y.length === 0 || x.length % (B * T) !== 0 || y.length % (B * T) !== 0) {
      throw new ShapeError(`TBPTT.feed: x and y must hold batch·T = ${B}·${T} = ${B * T} rows, got ${x.length} and ${y.length} values`);
    }
    const I = x.length / (B * T), J = y.length / (B * T);
    const res: FeedResult = { costs: [], updates: [] };
    for (let t = 0; t < T; t++) {
      this.hist.push({ x: stepRows(x, B, T, I, t), y: stepRows(y, B, T, J, t), stateBefore: null, costReported: false });
      this.totals.steps++;
      this.pending++;
      if (this.pending === this.k1) res.updates.push(this.update(res.costs, this.k1, this.k2));
    }
    // Keep only what a future window can reach (and the steps not yet run).
    const keep = Math.max(this.k2, this.pending);
    if (this.hist.length > keep) this.hist.splice(0, this.hist.length - keep);
    return res;
  }

  /**
   * Feed exactly one window of T steps and make one update over it: TBPTT(T, T) for this window,
   * whatever k1 and k2 are (variable-length BPTT draws a new T for every window). The state is
   * carried in and out as by `feed`. `gradScale` multiplies the window's gradient before it is
   * clipped and applied (variable BPTT normalises a window of len steps to numSteps with numSteps/len;
   * the reported loss and costs stay unscaled, the reported gradient norm is the scaled one). Throws
   * ConfigError if steps of an earlier `feed` are still waiting for their update (mixing the two
   * would cut a window differently from either).
   */
  feedWindow(x: SeqData, y: SeqData, T: number, opts: { gradScale?: number } = {}): FeedResult {
    if (this.pending !== 0) throw new ConfigError(`TBPTT.feedWindow: ${this.pending} steps of an earlier feed are still waiting for their update`);
    const B = this.B;
    if (!(Number.isInteger(T) && T > 0) || x.length === 0 || y.length === 0 || x.length % (B * T) !== 0 || y.length % (B * T) !== 0) {
      throw new ShapeError(`TBPTT.feedWindow: x and y must hold batch·T = ${B}·${T} = ${B * T} rows, got ${x.length} and ${y.length} values`);
    }
    const I = x.length / (B * T), J = y.length / (B * T);
    this.hist = [];
    for (let t = 0; t < T; t++) {
      this.hist.push({ x: stepRows(x, B, T, I, t), y: stepRows(y, B, T, J, t), stateBefore: null, costReported: false });
      this.totals.steps++;
      this.pending++;
    }
    const res: FeedResult = { costs: [], updates: [] };
    const scale = opts.gradScale ?? 1;
    if (!(Number.isFinite(scale) && scale > 0)) throw new ConfigError(`TBPTT.feedWindow: gradScale must be a positive number, got ${scale}`);
    res.updates.push(this.update(res.costs, T, T, scale));
    this.hist = [];
    return res;
  }

  /** One update, in an engine scope: what it allocates is freed when it ends, but the states it carries (clones). */
  private update(costs: number[], k1: number, k2: number, gradScale = 1): UpdateInfo {
    return withScope(() => this.updateWindow(costs, k1, k2, gradScale));
  }

  private updateWindow(costs: number[], k1: number, k2: number, gradScale: number): UpdateInfo {
    const maxGradNorm = this.opts.maxGradNorm;
    const B = this.B, n = this.hist.length;
    const w = Math.min(k2, n);
    const m = Math.min(k1, w);
    // 1. Steps before the window that were never run (only when k1 > k2): forward only, no graph, in
    //    one run, so a regularised model draws its per-window masks once for them (not once a step).
    const firstNew = n - this.pending, pre = n - w - firstNew;
    if (pre > 0) {
      const steps = this.hist.slice(firstNew, n - w);
      steps[0]!.stateBefore = this.state;
      o.noGrad(() => {
        const r = this.model.run(concatSteps(steps.map((s) => s.x)), B, pre, this.state);
        const perRow = this.loss.perRow(r.outputs, concatSteps(steps.map((s) => s.y)));
        if (perRow.size !== pre * B) throw new ShapeError(`TBPTT: the loss gave ${perRow.size} values for ${pre}·${B} rows`);
        reportCosts(steps, perRow.data, B, costs);
        this.state = this.carry(r.state);
      });
    }
    // 2. The window: from the kept state entering it, under the current parameters, with a graph.
    const win = this.hist.slice(n - w);
    if (win[0]!.stateBefore === null) win[0]!.stateBefore = this.state;
    const start = win[0]!.stateBefore;
    const xs = concatSteps(win.map((s) => s.x)), ys = concatSteps(win.map((s) => s.y));
    // Per-step states are needed only where a future window can begin inside this one (k1 < k2).
    const firstStart = Math.max(1, w - k2 + k1);
    const r = this.model.run(xs, B, w, start, { retainStates: this.opts.diagnostics ?? false, keepStates: firstStart < w });
    const perRow = this.loss.perRow(r.outputs, ys);   // [w·B]
    if (perRow.size !== w * B) throw new ShapeError(`TBPTT: the loss gave ${perRow.size} values for ${w}·${B} rows`);
    // J = Σ over the last m steps of the batch mean (the TF tutorial's cost: sum over steps / batch size).
    const lossRows = m === w ? perRow : o.slice(perRow, [(w - m) * B], [m * B]);
    const J = o.div(o.sum(lossRows), B);
    // A model's activation penalty (the LM's AR/TAR) is per token, as in a mean loss: J sums m steps' means,
    // so it counts m times. Backpropagated with J; the reported loss and costs leave it out.
    const Jpen = r.penalty ? o.add(J, o.mul(r.penalty, m)) : J;
    const Jtrain = gradScale === 1 ? Jpen : o.mul(Jpen, gradScale);
    reportCosts(win, perRow.data, B, costs);
    // 3. Backward through the window, clip, update.
    const arena = this.optimizer.arena;
    this.optimizer.zeroGrad();
    const loss = J.item();
    let skipped = false;
    let gradNorm = NaN, clipped = false;
    if (Number.isFinite(loss)) {
      o.backward(Jtrain);
      ({ norm: gradNorm, clipped } = maxGradNorm ? clipGradNorm(arena, maxGradNorm) : { norm: Math.sqrt(sumSq(arena.grads)), clipped: false });
    }
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(loss) ? `the loss is ${loss}` : `the gradient of ${firstNonFinite(arena)} is not finite`;
      if ((this.opts.onDivergence ?? 'stop') === 'stop') {
        throw new DivergenceError(`training diverged at step ${this.totals.steps} (update ${this.totals.updates + 1}): ${what}`);
      }
      skipped = true;
      this.totals.skipped++;
      this.optimizer.lr *= this.opts.skipLrFactor ?? 0.5;
      this.optimizer.zeroGrad();
    } else {
      this.optimizer.step();
    }
    const applied = !skipped;
    if (clipped) this.totals.clipped++;
    this.totals.updates++;
    // 4. Keep the state values (detached) for the windows to come.
    // Only steps where a future window can begin need their entering state: indices ≥ n − k2 + k1.
    // A skipped update carries the state that entered the window instead: the window's own states may
    // hold the NaN that caused the skip, and carrying them would poison every window after it.
    for (let i = firstStart; i < w; i++) win[i]!.stateBefore = skipped ? start : this.carry(r.states[i - 1]!);
    this.state = skipped ? start : this.carry(r.state);
    this.pending = 0;
    const info: UpdateInfo = {
      step: this.totals.steps, window: [this.totals.steps - w + 1, this.totals.steps], loss, gradNorm, clipped, skipped,
    };
    if (this.opts.diagnostics) {
      const layers = this.model.hidden(r.state).length;
      info.hGradNorms = Array.from({ length: layers }, (_, l) => r.states.map((st) => {
        const g = this.model.hidden(st)[l]!.grad;
        return g ? Math.sqrt(sumSq(g.data as Float32Array)) : 0;
      }));
    }
    if (applied) this.opts.afterStep?.(info);
    return info;
  }
}

/** A copy of t [B, …] with the rows of the given streams zeroed. */
function zeroRows(t: Tensor, rows: readonly number[]): Tensor {
  const c = t.clone();
  const B = t.shape[0]!, width = t.size / B;
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= B) throw new ShapeError(`resetStreams: stream ${r} is out of range [0, ${B})`);
    c.data.fill(0, r * width, (r + 1) * width);
  }
  return c;
}

/** Step t of batch-major data [B·T·W] (row b·T + t holds W values): its B rows, [B·W]. */
function stepRows(a: SeqData, B: number, T: number, W: number, t: number): SeqData {
  const out = emptyLike(a, B * W);
  for (let b = 0; b < B; b++) out.set(a.subarray((b * T + t) * W, (b * T + t + 1) * W), b * W);
  return out;
}

/** Each step's batch-mean loss from the per-row losses of `steps` (time-major), appended to `costs` once per step. */
function reportCosts(steps: { costReported: boolean }[], rows: ArrayLike<number>, B: number, costs: number[]): void {
  steps.forEach((s, i) => {
    if (s.costReported) return;
    let c = 0;
    for (let b = 0; b < B; b++) c += rows[i * B + b]!;
    costs.push(c / B);
    s.costReported = true;
  });
}

/** Steps one after another: time-major data. */
function concatSteps(steps: SeqData[]): SeqData {
  const out = emptyLike(steps[0]!, steps.reduce((n, s) => n + s.length, 0));
  let off = 0;
  for (const s of steps) { out.set(s, off); off += s.length; }
  return out;
}

function emptyLike(a: SeqData, n: number): SeqData {
  return a instanceof Int32Array ? new Int32Array(n) : a instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

function sumSq(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return s;
}

function firstNonFinite(arena: Optimizer['arena']): string {
  for (const e of arena.entries) {
    const g = arena.grads.subarray(e.offset, e.offset + e.size);
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i]!)) return `${e.name} (element ${i}: ${g[i]})`;
  }
  return 'some parameter';
}
