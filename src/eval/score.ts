/**
 * Evaluation: scoring a token stream with a language model: the tutorial's perplexity, per-token
 * costs, dynamic evaluation, and the mixture of two models' per-token probabilities. Training
 * (src/train) measures validation and test perplexity through `scoreStream`.
 *
 * - Static evaluation is the TF tutorial's: B parallel streams, windows of T steps, state carried,
 *   perplexity = exp(Σ costs / Σ steps) with each step's cost averaged over the batch.
 * - Dynamic evaluation (Krause et al. 2018, "Dynamic Evaluation of Neural Sequence Models"; Mikolov 2010
 *   before them) scores each window first and then takes one SGD step on that window's loss, so the
 *   model adapts to the text it has already read (names, topics, style of a test document). Every
 *   token is scored *before* the model has been trained on it: the numbers are honest predictions.
 *   The update is θ ← θ − η·clip(∇J) + λ·(θ₀ − θ), J the window's loss as in training (summed over
 *   steps, averaged over the batch), λ ≥ 0 an optional decay back towards the trained weights θ₀.
 * - Per-token costs: `tokenNats[i]` = −ln P(data[i] | what the model read before it) for every
 *   position the batcher scores (NaN for the others: the first token of each stream, the tail the
 *   batcher drops). Two models' arrays over the same data can be mixed position by position.
 * - Mixture: P = λ·P_a + (1−λ)·P_b per token (linear interpolation, as Bengio et al. 2003 combine their
 *   network with a trigram); λ is fitted by EM on held-out data (validation), then applied to test.
 */
import * as o from '../autodiff/index.js';
import { withScope } from '../backend/index.js';
import type { StreamBatcher } from '../data/batcher.js';
import { ConfigError, DivergenceError, ShapeError } from '../errors.js';
import type { LanguageModel } from '../nn/language-model.js';
import { detachState, type StackState } from '../nn/recurrent.js';
import { SGD, clipGradNorm } from '../optim/optimizers.js';
import { Tensor } from '../tensor/tensor.js';

/** Dynamic evaluation (Krause et al.): adapt the model with SGD on each scored window. */
export interface DynamicEvalOptions {
  /** η, the SGD learning rate of the adaptation steps. */
  lr: number;
  /** Clip the global gradient norm of each adaptation step (0 or undefined = no clipping). */
  maxGradNorm?: number;
  /** λ, pull towards the trained weights after each step (0 = none, Krause's plain SGD variant). */
  decay?: number;
}

/** Options of `scoreStream`. */
export interface ScoreOptions {
  /** Adapt the model while scoring (the model's weights change: reload it to score again). */
  dynamic?: DynamicEvalOptions;
  /** Record each scored token's cost at its position in the data. */
  perToken?: boolean;
  /** Called after each window with (windows done, windows in all). */
  progress?: (done: number, total: number) => void;
  /**
   * Yield to the event loop between windows (default true), so signals and progress can run: after a
   * window once 20 ms have passed since the last yield (a batch-1 window takes about a millisecond, and a
   * yield per window would cost a turn of the event loop per token).
   */
  yieldEveryWindow?: boolean;
}

/** What `scoreStream` measured: total cost, steps, perplexity, and the final state. */
export interface ScoreResult {
  /** Σ over steps of the batch-mean cost (nats), the tutorial's total_cost. */
  cost: number;
  steps: number;
  /** exp(cost / steps). */
  perplexity: number;
  /** Tokens scored (steps · B). */
  tokens: number;
  /** With `perToken`: −ln P at each scored position of the data, NaN elsewhere. */
  tokenNats?: Float64Array;
  state: StackState;
}

/**
 * Score the batcher's stream (all its windows, state carried from zero).
 *
 * @example
 * ```ts
 * import { scoreStream } from 'backprop';
 * import { LMTrainer, resolveConfig, textCorpusFromBytes } from 'backprop/node';
 * const corpus = textCorpusFromBytes(new TextEncoder().encode('to be or not to be\n'.repeat(1000)), 'play.txt', { level: 'word' });
 * const trainer = LMTrainer.create(resolveConfig('tiny'), { outDir: null, corpus }); // a model and its stream batchers
 * const r = await scoreStream(trainer.model, trainer.train, { perToken: true });
 * r.perplexity; r.tokenNats?.[100]   // −ln P(train[100] | train[…99]) if position 100 was scored
 * ```
 */
export async function scoreStream(model: LanguageModel, b: StreamBatcher, opts: ScoreOptions = {}): Promise<ScoreResult> {
  const B = b.batchSize, T = b.numSteps, total = b.epochSize;
  const tokenNats = opts.perToken ? new Float64Array(b.dataLength).fill(NaN) : undefined;
  const record = (i: number, rows: ArrayLike<number>): void => {
    if (!tokenNats) return;
    for (let t = 0; t < T; t++) for (let s = 0; s < B; s++) tokenNats[s * b.batchLen + i * T + t + 1] = rows[t * B + s]!;
  };
  let state = model.initialState(B), cost = 0, steps = 0, lastYield = performance.now();
  const step = opts.dynamic ? dynamicStepper(model, B, T, opts.dynamic) : null;
  for (let i = 0; i < total; i++) {
    const w = b.window(i);
    if (step) {
      const r = step(w.x, w.y, state);
      state = r.state; cost += r.cost; steps += T;
      record(i, r.rows);
    } else {
      const r = evaluateWindows(model, [w], B, T, state, (rows) => record(i, rows));
      state = r.state; cost += r.cost; steps += r.steps;
    }
    opts.progress?.(i + 1, total);
    if ((opts.yieldEveryWindow ?? true) && performance.now() - lastYield >= 20) { await yieldToEventLoop(); lastYield = performance.now(); }
  }
  const res: ScoreResult = { cost, steps, perplexity: Math.exp(cost / Math.max(steps, 1)), tokens: steps * B, state };
  if (tokenNats) res.tokenNats = tokenNats;
  return res;
}

/**
 * Resolves after pending events (signals, timers, I/O) have had their turn: setImmediate where it
 * exists (Node), otherwise a zero-delay timer (a page), so long loops stay interruptible in both.
 *
 * @example
 * ```ts
 * import { yieldToEventLoop } from 'backprop';
 * for (let i = 0; i < 1000; i++) {
 *   if (i % 100 === 0) await yieldToEventLoop(); // a long loop that a signal or timer can still interrupt
 * }
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((res) => { if (immediate) immediate(res); else setTimeout(res, 0); });
}

/** One dynamic-evaluation window: score (before the update), then adapt. x, y batch-major [B·T]. */
function dynamicStepper(model: LanguageModel, B: number, T: number, d: DynamicEvalOptions) {
  if (!(Number.isFinite(d.lr) && d.lr > 0)) throw new ConfigError(`dynamic evaluation: the learning rate must be > 0, got ${d.lr}`);
  const decay = d.decay ?? 0;
  if (!(decay >= 0 && decay < 1)) throw new ConfigError(`dynamic evaluation: decay must be in [0, 1), got ${decay}`);
  const opt = new SGD(model, { lr: d.lr });
  const theta0 = decay > 0 ? Float64Array.from(opt.arena.values) : null;
  model.eval();   // no dropout: the model predicts as it would at test time
  return (x: Int32Array, y: Int32Array, state: StackState): { cost: number; rows: Float64Array; state: StackState } => {
    const ids = new Int32Array(B * T), tg = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { ids[t * B + b] = x[b * T + t]!; tg[t * B + b] = y[b * T + t]!; }
    let rows = new Float64Array(0), cost = 0;
    const next = withScope(() => {
      opt.zeroGrad();
      const r = model.run(ids, B, T, state);
      const perRow = o.softmaxCrossEntropy(r.logits, new Tensor(tg, [T * B], 'int32'));
      rows = Float64Array.from(perRow.data as ArrayLike<number>);
      for (const v of rows) cost += v;
      cost /= B;
      if (!Number.isFinite(cost)) throw new DivergenceError(`dynamic evaluation: the loss is ${cost} (lower the learning rate)`);
      o.backward(o.div(o.sum(perRow), B));
      if (d.maxGradNorm) clipGradNorm(opt.arena, d.maxGradNorm);
      opt.step();
      if (theta0) {
        const v = opt.arena.values;
        for (let j = 0; j < v.length; j++) v[j]! += decay * (theta0[j]! - v[j]!);
      }
      return detachState(r.state);
    });
    return { cost, rows, state: next };
  };
}

/** Cost, steps and perplexity of an evaluation, and the state it ended in. */
export interface EvalResult { /** Σ over steps of the batch-mean cost. */ cost: number; steps: number; perplexity: number; state: StackState }

/**
 * Perplexity exactly as the TF tutorial computes it: exp(total_cost / total_steps), costs averaged over
 * the batch and summed over steps, with the state carried from window to window. x, y batch-major [B·T].
 * `onRows`, if given, receives each window's per-token costs, time-major [T·B] (row t·B + b).
 *
 * @example
 * ```ts
 * import { evaluateWindows, LanguageModel, Rng } from 'backprop';
 * const lm = new LanguageModel({ vocabSize: 10, embedSize: 4, hiddenSize: 4, numLayers: 1, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(1));
 * const x = new Int32Array([1, 2, 3, 4]), y = new Int32Array([2, 3, 4, 5]); // B = 2, T = 2, batch-major
 * evaluateWindows(lm, [{ x, y }], 2, 2).perplexity; // about 10 for an untrained model
 * ```
 */
export function evaluateWindows(model: LanguageModel, windows: Iterable<{ x: Int32Array; y: Int32Array }>, B: number, T: number, state?: StackState, onRows?: (nats: ArrayLike<number>) => void): EvalResult {
  let s = state ?? model.initialState(B);
  let cost = 0, steps = 0;
  const wasTraining = model.training;
  model.eval();
  try {
    o.noGrad(() => {
      for (const win of windows) {
        const ids = new Int32Array(B * T), tg = new Int32Array(B * T);
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { ids[t * B + b] = win.x[b * T + t]!; tg[t * B + b] = win.y[b * T + t]!; }
        s = withScope(() => {
          const r = model.run(ids, B, T, s);
          const perRow = o.softmaxCrossEntropy(r.logits, new Tensor(tg, [T * B], 'int32'));
          if (onRows) onRows(Float64Array.from(perRow.data)); // a copy: perRow's storage dies with the window
          cost += o.sum(perRow).item() / B;
          return detachState(r.state);   // a clone: it outlives the window's scope
        });
        steps += T;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { cost, steps, perplexity: Math.exp(cost / Math.max(steps, 1)), state: s };
}

/**
 * Perplexity from per-token costs (positions with NaN are skipped).
 *
 * @example
 * ```ts
 * import { perplexityOf } from 'backprop';
 * perplexityOf(new Float64Array([Math.log(4), Math.log(4), NaN])); // { perplexity: 4, tokens: 2, nats: 1.386… }
 * ```
 */
export function perplexityOf(nats: Float64Array): { perplexity: number; tokens: number; nats: number } {
  let s = 0, n = 0;
  for (const v of nats) if (!Number.isNaN(v)) { s += v; n++; }
  if (n === 0) throw new ShapeError('perplexityOf: no scored tokens');
  return { perplexity: Math.exp(s / n), tokens: n, nats: s / n };
}

/**
 * Per-token costs of the mixture λ·P_a + (1−λ)·P_b: −ln(λ·e^(−a) + (1−λ)·e^(−b)), computed stably;
 * NaN where either input is NaN.
 *
 * @example
 * ```ts
 * import { mixNats } from 'backprop';
 * mixNats(new Float64Array([1, 2]), new Float64Array([3, 0.5]), 0.5); // per-token nats of ½P_a + ½P_b
 * ```
 */
export function mixNats(a: Float64Array, b: Float64Array, lambda: number): Float64Array {
  if (a.length !== b.length) throw new ShapeError(`mixNats: per-token costs of different lengths (${a.length} and ${b.length})`);
  if (!(lambda >= 0 && lambda <= 1)) throw new ConfigError(`mixture weight must be in [0, 1], got ${lambda}`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) { out[i] = NaN; continue; }
    // log-sum-exp of (ln λ − x, ln(1−λ) − y)
    const u = lambda > 0 ? Math.log(lambda) - x : -Infinity, v = lambda < 1 ? Math.log(1 - lambda) - y : -Infinity;
    const m = Math.max(u, v);
    out[i] = -(m + Math.log(Math.exp(u - m) + Math.exp(v - m)));
  }
  return out;
}

/**
 * The λ that maximises the likelihood of λ·P_a + (1−λ)·P_b on these tokens, by EM (each iteration is
 * the mean posterior responsibility of model a; the log-likelihood is concave in λ, so EM converges
 * to the optimum). Positions where either cost is NaN are ignored.
 *
 * @example
 * ```ts
 * import { fitMixtureWeight, mixNats, perplexityOf } from 'backprop';
 * const a = new Float64Array([1, 2, 0.5]), b = new Float64Array([3, 0.5, 1]); // per-token nats of two models
 * const lambda = fitMixtureWeight(a, b);
 * perplexityOf(mixNats(a, b, lambda)).perplexity; // at most the better of the two
 * ```
 */
export function fitMixtureWeight(a: Float64Array, b: Float64Array, opts: { iterations?: number; tol?: number } = {}): number {
  if (a.length !== b.length) throw new ShapeError(`fitMixtureWeight: per-token costs of different lengths (${a.length} and ${b.length})`);
  const idx: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]!) && !Number.isNaN(b[i]!)) idx.push(i);
  if (idx.length === 0) throw new ShapeError('fitMixtureWeight: no position is scored by both models');
  let lambda = 0.5;
  for (let it = 0; it < (opts.iterations ?? 200); it++) {
    let r = 0;
    for (const i of idx) {
      // responsibility of a: λe^(−a) / (λe^(−a) + (1−λ)e^(−b)) = 1 / (1 + (1−λ)/λ · e^(a−b))
      const z = Math.log((1 - lambda) / lambda) + a[i]! - b[i]!;
      r += z > 700 ? 0 : 1 / (1 + Math.exp(z));
    }
    const next = Math.min(Math.max(r / idx.length, 1e-6), 1 - 1e-6);
    if (Math.abs(next - lambda) < (opts.tol ?? 1e-7)) return next;
    lambda = next;
  }
  return lambda;
}
