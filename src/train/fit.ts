/**
 * `fit`: Keras-style training of a feed-forward network on in-memory examples. It splits off the last
 * fraction of the examples for validation (as Keras does, before any shuffling), shuffles the rest each
 * epoch with a seeded generator, runs one `trainStep` per mini-batch (an engine scope per step, so a long
 * run holds no garbage), reports batch and epoch logs to callbacks, stops cleanly on an AbortSignal or
 * when the validation loss stops improving, and returns the per-epoch history.
 *
 * The loop is async only so that the page or process stays responsive: it yields to the event loop
 * between batches now and then (about every 16 ms), so an `AbortController.abort()` from a button or a
 * timer is seen after the batch that is running. The arithmetic is the same as a plain loop of
 * `trainStep` calls over the same batches (the test checks this).
 *
 * Losses, per example, averaged over the batch:
 *   'squaredError'         E = Σ_k ½(y_k − t_k)²  (the tutorial's E, summed over output nodes); targets float [N, out]
 *   'softmaxCrossEntropy'  E = −log softmax(logits)[label]; targets int32 class ids [N]; also reports accuracy
 */
import * as o from '../autodiff/index.js';
import { withScope } from '../backend/index.js';
import type { FloatArray } from '../backend/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import type { Layer } from '../nn/layers.js';
import { Optimizer } from '../optim/optimizers.js';
import { globalRng, type Rng } from '../tensor/random.js';
import { fmtShape, sizeOf } from '../tensor/shape.js';
import { zeros, type Tensor } from '../tensor/tensor.js';
import { trainStep } from './step.js';

/** The losses `fit` can minimise (see the file header for their definitions and target formats). */
export type FitLoss = 'squaredError' | 'softmaxCrossEntropy';

/** What `onBatchEnd` receives: the batch's index within its epoch, its size, and its loss before the update. */
export interface FitBatchLogs { epoch: number; batch: number; size: number; loss: number; accuracy?: number }

/** What `onEpochEnd` receives: the epoch's mean training loss (and accuracy), and the validation figures. */
export interface FitEpochLogs { loss: number; accuracy?: number; valLoss?: number; valAccuracy?: number }

/**
 * Callbacks, called in order after each batch and each epoch. A callback may return a promise; `fit`
 * waits for it. Calling `abort()` on the `signal`'s controller from a callback stops after that batch.
 */
export interface FitCallbacks {
  /** After each batch's update, with the batch's index in its epoch and its logs. */
  onBatchEnd?(batch: number, logs: FitBatchLogs): void | Promise<void>;
  /** After each completed epoch (and its validation), with the epoch's logs. */
  onEpochEnd?(epoch: number, logs: FitEpochLogs): void | Promise<void>;
}

/** Early stopping on the validation loss (needs `validationSplit` > 0). */
export interface EarlyStopping {
  /** Training stops after this many epochs in a row without an improvement of more than `minDelta` (0: at the first). */
  patience: number;
  /** The smallest decrease of the validation loss that counts as an improvement (default 0). */
  minDelta?: number;
  /**
   * When training stops early, put back the weights of the epoch with the best validation loss (default
   * false: keep the last weights, as Keras does). The optimizer's moments are not rolled back.
   */
  restoreBestWeights?: boolean;
}

/** Options of `fit`. Only `loss` and `optimizer` are required. */
export interface FitOptions {
  loss: FitLoss;
  /** An optimizer built over the model's parameters (`new Adam(model, { lr })`). */
  optimizer: Optimizer;
  /** Passes over the training examples (default 1). */
  epochs?: number;
  /** Examples per update (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** The last fraction of the examples, in [0, 1), held out for validation (default 0), taken before shuffling. */
  validationSplit?: number;
  /** Shuffle the training examples at the start of every epoch (default true). */
  shuffle?: boolean;
  /** The generator that shuffles (default the library's global one; pass `new Rng(seed)` to reproduce a run). */
  rng?: Rng;
  /** Stops training after the batch that is running when it is aborted; `fit` then resolves normally. */
  signal?: AbortSignal;
  earlyStopping?: EarlyStopping;
  /** Clip the gradients to this global L2 norm before each update. */
  maxGradNorm?: number;
  callbacks?: FitCallbacks | readonly FitCallbacks[];
}

/** Why `fit` returned. */
export type FitStopReason = 'completed' | 'aborted' | 'earlyStopping';

/**
 * The record of a `fit` run, after Keras's History: `epoch` lists the epochs that completed and
 * `history` holds one value per completed epoch for each metric (validation ones only with a split,
 * accuracy only for 'softmaxCrossEntropy'). An aborted epoch is not recorded.
 */
export interface FitHistory {
  epoch: number[];
  history: { loss: number[]; accuracy?: number[]; valLoss?: number[]; valAccuracy?: number[] };
  stopReason: FitStopReason;
  /** The epoch with the lowest validation loss (with a validation split). */
  bestEpoch?: number;
  /** Optimizer steps taken in this run. */
  steps: number;
}

const YIELD_EVERY_MS = 16;

/** The rows of `x` listed in `idx`, as a new tensor in backend storage (freed with the caller's scope). */
function rows(x: Tensor, idx: Int32Array): Tensor {
  const n = x.shape[0]!, width = x.size / n;
  const out = zeros([idx.length, ...x.shape.slice(1)], { dtype: x.dtype });
  for (let r = 0; r < idx.length; r++) {
    const src = idx[r]! * width;
    out.data.set(x.data.subarray(src, src + width) as never, r * width);
  }
  return out;
}

/** The summed per-example loss of a batch, and how many predictions were right (classification). */
function batchLoss(kind: FitLoss, out: Tensor, target: Tensor): { total: Tensor; correct?: number } {
  if (kind === 'squaredError') {
    if (out.shape.length !== target.shape.length || out.shape.some((d, i) => d !== target.shape[i])) {
      throw new ShapeError(`fit: the model's output ${fmtShape(out.shape)} does not match the targets ${fmtShape(target.shape)}`);
    }
    return { total: o.sum(o.squaredError(out, target)) };
  }
  if (out.rank !== 2) throw new ShapeError(`fit: softmaxCrossEntropy needs logits [N, classes] from the model, got ${fmtShape(out.shape)}`);
  const C = out.shape[1]!, labels = target.data;
  let correct = 0;
  for (let r = 0; r < target.size; r++) {
    const label = labels[r]!;
    if (label < 0 || label >= C) throw new ShapeError(`fit: label ${label} is outside the model's ${C} classes`);
    let best = 0;
    for (let c = 1; c < C; c++) if (out.data[r * C + c]! > out.data[r * C + best]!) best = c;
    if (best === label) correct++;
  }
  return { total: o.sum(o.softmaxCrossEntropy(out, target)), correct };
}

function checkOptions(model: Layer, x: Tensor, y: Tensor, opts: FitOptions): void {
  if (!(opts.optimizer instanceof Optimizer)) throw new ConfigError('fit: optimizer must be an Optimizer built over the model (new SGD(model, { lr }))');
  const entries = new Set(opts.optimizer.arena.entries.map((e) => e.tensor));
  if (!model.parameters().every((p) => entries.has(p))) throw new ConfigError("fit: the optimizer does not hold the model's parameters; build it over this model");
  if (opts.loss !== 'squaredError' && opts.loss !== 'softmaxCrossEntropy') throw new ConfigError(`fit: unknown loss ${JSON.stringify(opts.loss)} (choose squaredError or softmaxCrossEntropy)`);
  const posInt = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new ConfigError(`fit: ${name} must be a positive integer, got ${v}`);
  };
  posInt('epochs', opts.epochs);
  posInt('batchSize', opts.batchSize);
  const split = opts.validationSplit ?? 0;
  if (!(split >= 0 && split < 1)) throw new ConfigError(`fit: validationSplit must be in [0, 1), got ${split}`);
  if (opts.maxGradNorm !== undefined && !(opts.maxGradNorm > 0)) throw new ConfigError(`fit: maxGradNorm must be > 0, got ${opts.maxGradNorm}`);
  const es = opts.earlyStopping;
  if (es) {
    if (!Number.isInteger(es.patience) || es.patience < 0) throw new ConfigError(`fit: earlyStopping.patience must be an integer ≥ 0, got ${es.patience}`);
    if (es.minDelta !== undefined && !(es.minDelta >= 0)) throw new ConfigError(`fit: earlyStopping.minDelta must be ≥ 0, got ${es.minDelta}`);
    if (split === 0) throw new ConfigError('fit: earlyStopping watches the validation loss; set validationSplit > 0');
  }
  if (x.rank < 1 || x.dtype === 'int32') throw new ShapeError(`fit: x must be a float tensor [N, ...], got ${x.dtype} ${fmtShape(x.shape)}`);
  if (y.rank < 1 || y.shape[0] !== x.shape[0]) throw new ShapeError(`fit: x has ${x.shape[0]} examples but y has shape ${fmtShape(y.shape)}`);
  if (opts.loss === 'softmaxCrossEntropy' && (y.dtype !== 'int32' || y.rank !== 1)) throw new ShapeError(`fit: softmaxCrossEntropy needs int32 class labels [N], got ${y.dtype} ${fmtShape(y.shape)}`);
  if (opts.loss === 'squaredError' && y.dtype === 'int32') throw new ShapeError('fit: squaredError needs float targets, got int32');
  const n = x.shape[0]!, nVal = n - Math.floor(n * (1 - split));
  if (n - nVal < 1) throw new ShapeError(`fit: no training examples left (${n} examples, validationSplit ${split})`);
  if (split > 0 && nVal < 1) throw new ShapeError(`fit: validationSplit ${split} of ${n} examples holds out none`);
}

/**
 * Trains `model` on examples `x` [N, ...] with targets `y` ([N, out] floats, or int32 labels [N]) and
 * returns the history. See `FitOptions` for the knobs; the model is in training mode for the updates and
 * in evaluation mode for validation, and is left in the mode it was found in.
 *
 * @example
 * ```ts
 * import { fit, Sequential, Dense, Adam, Rng, tensor, intTensor } from 'backprop';
 * const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0], [1, 1]]), labels = intTensor([0, 1, 1, 0, 0, 0]);
 * const model = new Sequential(new Dense(2, 8, { activation: 'tanh' }), new Dense(8, 2));
 * const history = await fit(model, x, labels, {
 *   loss: 'softmaxCrossEntropy', optimizer: new Adam(model, { lr: 0.05 }), epochs: 50, batchSize: 4,
 *   validationSplit: 0.2, rng: new Rng(1), callbacks: { onEpochEnd: (e, logs) => console.log(e, logs.loss) },
 * });
 * history.history.valLoss; // one value per epoch
 * ```
 */
export async function fit(model: Layer, x: Tensor, y: Tensor, opts: FitOptions): Promise<FitHistory> {
  checkOptions(model, x, y, opts);
  const epochs = opts.epochs ?? 1, batchSize = opts.batchSize ?? 32, shuffle = opts.shuffle ?? true;
  const rng = opts.rng ?? globalRng, classify = opts.loss === 'softmaxCrossEntropy';
  const callbacks = opts.callbacks === undefined ? [] : Array.isArray(opts.callbacks) ? opts.callbacks as readonly FitCallbacks[] : [opts.callbacks as FitCallbacks];
  const n = x.shape[0]!, nTrain = Math.floor(n * (1 - (opts.validationSplit ?? 0))), nVal = n - nTrain;
  const valIdx = Int32Array.from({ length: nVal }, (_, i) => nTrain + i);
  const wasTraining = model.training, arena = opts.optimizer.arena;
  const es = opts.earlyStopping;
  let best = Infinity, bestEpoch: number | undefined, wait = 0, bestWeights: FloatArray | null = null;
  const history: FitHistory = { epoch: [], history: { loss: [] }, stopReason: 'completed', steps: 0 };
  if (classify) history.history.accuracy = [];
  if (nVal > 0) { history.history.valLoss = []; if (classify) history.history.valAccuracy = []; }
  const order = Int32Array.from({ length: nTrain }, (_, i) => i);
  let lastYield = performance.now();
  const aborted = () => opts.signal?.aborted === true;

  try {
    for (let epoch = 0; epoch < epochs && !aborted(); epoch++) {
      if (shuffle) {
        for (let i = nTrain - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]!; order[i] = order[j]!; order[j] = t; } // Fisher–Yates
      }
      model.train(true);
      let lossSum = 0, correct = 0, seen = 0, complete = true;
      for (let start = 0, batch = 0; start < nTrain; start += batchSize, batch++) {
        if (aborted()) { complete = false; break; }
        const idx = order.subarray(start, Math.min(start + batchSize, nTrain));
        let right: number | undefined;
        const { loss } = trainStep(opts.optimizer, () => {
          const { total, correct: c } = batchLoss(opts.loss, model.forward(rows(x, idx)), rows(y, idx));
          right = c;
          return o.div(total, idx.length);
        }, { maxGradNorm: opts.maxGradNorm });
        history.steps++;
        lossSum += loss * idx.length; seen += idx.length; correct += right ?? 0;
        const logs: FitBatchLogs = { epoch, batch, size: idx.length, loss, ...(classify ? { accuracy: (right ?? 0) / idx.length } : {}) };
        for (const cb of callbacks) await cb.onBatchEnd?.(batch, logs);
        if (performance.now() - lastYield > YIELD_EVERY_MS) { await new Promise((r) => setTimeout(r, 0)); lastYield = performance.now(); }
      }
      if (!complete) break;
      const logs: FitEpochLogs = { loss: lossSum / seen, ...(classify ? { accuracy: correct / seen } : {}) };
      if (nVal > 0) Object.assign(logs, evaluateRows(model, x, y, valIdx, opts.loss, batchSize));
      history.epoch.push(epoch);
      const h = history.history;
      h.loss.push(logs.loss);
      if (classify) h.accuracy!.push(logs.accuracy!);
      if (nVal > 0) { h.valLoss!.push(logs.valLoss!); if (classify) h.valAccuracy!.push(logs.valAccuracy!); }
      for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs);
      if (logs.valLoss !== undefined && logs.valLoss < best - (es?.minDelta ?? 0)) {
        best = logs.valLoss; bestEpoch = epoch; wait = 0;
        if (es?.restoreBestWeights) bestWeights = arena.values.slice();
      } else if (es && ++wait >= es.patience) {
        history.stopReason = 'earlyStopping';
        if (bestWeights) arena.values.set(bestWeights);
        break;
      }
    }
    if (aborted()) history.stopReason = 'aborted';
  } finally {
    model.train(wasTraining);
  }
  if (bestEpoch !== undefined) history.bestEpoch = bestEpoch;
  return history;
}

/** Mean loss (and accuracy) of the model on the listed rows, in evaluation mode without a tape. */
function evaluateRows(model: Layer, x: Tensor, y: Tensor, idx: Int32Array, loss: FitLoss, batchSize: number): { valLoss: number; valAccuracy?: number } {
  model.train(false);
  let sum = 0, correct = 0;
  o.noGrad(() => {
    for (let start = 0; start < idx.length; start += batchSize) {
      const part = idx.subarray(start, Math.min(start + batchSize, idx.length));
      withScope(() => {
        const { total, correct: c } = batchLoss(loss, model.forward(rows(x, part)), rows(y, part));
        sum += total.item(); correct += c ?? 0;
      });
    }
  });
  return { valLoss: sum / idx.length, ...(loss === 'softmaxCrossEntropy' ? { valAccuracy: correct / idx.length } : {}) };
}

/**
 * The mean loss (and accuracy, for 'softmaxCrossEntropy') of `model` on examples `x` with targets `y`,
 * computed as `fit` computes its validation figures, in batches of `batchSize` (default 32).
 *
 * @example
 * ```ts
 * import { evaluate, Dense, tensor, intTensor } from 'backprop';
 * const model = new Dense(2, 3); // logits for 3 classes
 * const { loss, accuracy } = evaluate(model, tensor([[0, 1], [1, 0]]), intTensor([2, 0]), 'softmaxCrossEntropy');
 * ```
 */
export function evaluate(model: Layer, x: Tensor, y: Tensor, loss: FitLoss, batchSize = 32): { loss: number; accuracy?: number } {
  if (loss !== 'squaredError' && loss !== 'softmaxCrossEntropy') throw new ConfigError(`evaluate: unknown loss ${JSON.stringify(loss)} (choose squaredError or softmaxCrossEntropy)`);
  if (y.shape[0] !== x.shape[0]) throw new ShapeError(`evaluate: x has ${x.shape[0]} examples but y has shape ${fmtShape(y.shape)}`);
  if (sizeOf(x.shape) === 0) throw new ShapeError('evaluate: no examples');
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new ConfigError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  const wasTraining = model.training;
  try {
    const r = evaluateRows(model, x, y, Int32Array.from({ length: x.shape[0]! }, (_, i) => i), loss, batchSize);
    return { loss: r.valLoss, ...(r.valAccuracy !== undefined ? { accuracy: r.valAccuracy } : {}) };
  } finally {
    model.train(wasTraining);
  }
}
