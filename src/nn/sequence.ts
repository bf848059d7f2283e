/**
 * The contract between a stateful sequence model and the loops that run it over a stream (truncated
 * BPTT in src/train, scoring in src/eval): what a model must offer so that one TruncatedBPTT trains
 * the language model and the explorer's small RNN alike, with any per-row loss.
 *
 * Layout, with dimension letters B (parallel streams), T (steps), I (values per stream and step):
 * sequence data is a flat typed array, time-major [T·B·I] when a model runs it (row t·B + b holds
 * stream b at step t), and each run's outputs are a tensor whose rows follow the same order.
 */
import * as o from '../autodiff/index.js';
import { ShapeError } from '../errors.js';
import { Tensor, tensor } from '../tensor/tensor.js';

/** Token ids (int32) or real-valued inputs/targets, flat. */
export type SeqData = Int32Array | Float32Array | Float64Array;

/**
 * What a sequence model's run keeps besides its outputs. Whether it trains (dropout and the other
 * regularisers on) or evaluates is the model's mode, `model.train()` / `model.eval()`, not an option here.
 */
export interface SequenceRunOptions {
  /** Return the state after every step (`states`): TBPTT keeps the ones a later window starts from. */
  keepStates?: boolean;
  /** Also keep each step's hidden state's gradient (`retainGrad`), for ‖∂E/∂h_t‖ diagnostics; implies keepStates. */
  retainStates?: boolean;
}

/** A sequence model's run over a window: outputs, states, final state. */
export interface SequenceRun<S> {
  /** Per-step outputs, time-major rows [T·B, …] (row t·B + b). */
  outputs: Tensor;
  /** The state after each step (states[t] after step t); empty unless asked for. */
  states: S[];
  /** The state after the last step. */
  state: S;
  /**
   * A scalar the training loss adds to the outputs' loss and the reported loss leaves out: a
   * regulariser of the model's activations (the language model's AR and TAR), per token like a mean
   * loss. Absent when the model has none (or in evaluation mode).
   */
  penalty?: Tensor;
}

/**
 * A stateful sequence model over B parallel streams. The state S is any structure of tensors whose
 * first axis is the stream (e.g. per layer { h [B, H], c [B, H] }).
 */
export interface SequenceModel<S> {
  /** The zero state of B streams. */
  initialState(B: number): S;
  /**
   * Run T steps of B streams from `state` with a graph through all of them: backward() on a loss of
   * `outputs` is backpropagation through these T steps into `state` (stop it there by passing a state
   * with no history). x: time-major [T·B·I].
   */
  run(x: SeqData, B: number, T: number, state: S, opts?: SequenceRunOptions): SequenceRun<S>;
  /** The same structure with `f` applied to every tensor of the state: how a loop copies, detaches or zeroes streams of it. */
  mapState(s: S, f: (t: Tensor) => Tensor): S;
  /** The hidden state h [B, H] of each layer: the tensors whose ‖∂E/∂h‖ diagnostics report. */
  hidden(s: S): Tensor[];
}

/** A loss given per row: outputs [R, …] and targets for the same R rows (R = T·B, time-major) → [R]. */
export interface SequenceLoss {
  /** The loss of each row: outputs [R, …], targets for the R rows → [R]. */
  perRow(outputs: Tensor, targets: SeqData): Tensor;
}

/**
 * Softmax cross-entropy against int32 class ids (one per row): a language model's loss.
 *
 * @example
 * ```ts
 * import { crossEntropyLoss, tensor } from 'backprop';
 * crossEntropyLoss.perRow(tensor([[2, 0], [0, 2]]), new Int32Array([0, 1])); // −log p(target), one per row
 * ```
 */
export const crossEntropyLoss: SequenceLoss = {
  perRow(logits, targets) {
    if (!(targets instanceof Int32Array)) throw new ShapeError('cross-entropy loss: targets must be int32 class ids');
    return o.softmaxCrossEntropy(logits, new Tensor(targets, [targets.length], 'int32'));
  },
};

/**
 * ½(y − target)² summed over each row's values, times a per-row weight: targets are [R, C + 1] with
 * the row's C target values followed by its weight (0 leaves a step out of the loss, as when only the
 * last step of a sequence is scored).
 *
 * @example
 * ```ts
 * import { weightedSquaredErrorLoss, tensor } from 'backprop';
 * // rows [target, weight]: the first row counts, the second is left out of the loss
 * weightedSquaredErrorLoss.perRow(tensor([[0.5], [0.9]]), new Float32Array([1, 1, 0, 0])); // [0.125, 0]
 * ```
 */
export const weightedSquaredErrorLoss: SequenceLoss = {
  perRow(y, targets) {
    const R = y.shape[0]!, C = y.size / R;
    if (targets.length !== R * (C + 1)) throw new ShapeError(`squared-error loss: targets must be [${R}, ${C} + 1] (values and a weight per row), got ${targets.length} values`);
    const t = new Float64Array(R * C), w = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) t[r * C + c] = targets[r * (C + 1) + c]!;
      w[r] = targets[r * (C + 1) + C]!;
    }
    const y2 = y.rank === 2 ? y : o.reshape(y, [R, C]);
    const e = o.mul(o.squaredError(y2, tensor(t, [R, C], { dtype: y.dtype })), tensor(w, [R, 1], { dtype: y.dtype }));
    return C === 1 ? o.reshape(e, [R]) : o.sum(e, -1);
  },
};
