/**
 * A recurrent language model, the TensorFlow PTB tutorial's architecture: embedding → dropout →
 * stacked recurrent layers (dropout between, Zaremba et al. 2014) → dropout → a time-distributed
 * projection to vocabulary logits. Dimension letters: B batch (parallel streams), T unrolled steps,
 * E embedding size, H hidden size, V vocabulary size.
 */
import { ConfigError, ShapeError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import type { DType } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { Dense, Embedding } from './layers.js';
import { Module } from './module.js';
import { RecurrentStack, runStack, type CellKind, type StackState } from './recurrent.js';
import type { SequenceModel, SequenceRun, SequenceRunOptions } from './sequence.js';

/** The shape and hyperparameters of a `LanguageModel`. */
export interface LMConfig {
  vocabSize: number;
  embedSize: number;
  hiddenSize: number;
  numLayers: number;
  cell: CellKind;
  /** Probability of keeping a unit under dropout (1 = no dropout), as the TF tutorial names it. */
  keepProb: number;
  /** Added to the LSTM forget gate's pre-activation (TF BasicLSTMCell; the PTB tutorial uses 0). */
  forgetBias: number;
  /** Parameters start uniform in [−initScale, initScale]. */
  initScale: number;
  /** Parameter dtype (float32 by default; float64 for gradient checks). */
  dtype?: DType;
}

/** A language model's run over a window: logits and states. */
export interface RunResult extends SequenceRun<StackState> {
  /** [T·B, V], time-major rows: row t·B + b is stream b at step t (the same tensor as `outputs`). */
  logits: Tensor;
}

/**
 * A sequence model (src/nn/sequence.ts): TruncatedBPTT trains it with `crossEntropyLoss`.
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, toTimeMajor } from 'backprop';
 * const lm = new LanguageModel({ vocabSize: 50, embedSize: 16, hiddenSize: 16, numLayers: 1, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(1));
 * const [B, T] = [2, 3];
 * const ids = toTimeMajor(new Int32Array([1, 2, 3, 4, 5, 6]), B, T);
 * const { logits, state } = lm.run(ids, B, T, lm.initialState(B)); // logits [T·B, 50]
 * ```
 */
export class LanguageModel extends Module implements SequenceModel<StackState> {
  readonly embedding: Embedding;
  readonly rnn: RecurrentStack;
  readonly proj: Dense;

  constructor(readonly config: LMConfig, rng: Rng) {
    super();
    const c = config;
    for (const k of ['vocabSize', 'embedSize', 'hiddenSize', 'numLayers'] as const) {
      if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
    }
    if (!(c.keepProb > 0 && c.keepProb <= 1)) throw new ConfigError(`keepProb must be in (0, 1], got ${c.keepProb}`);
    if (!(c.initScale > 0)) throw new ConfigError(`initScale must be > 0, got ${c.initScale}`);
    const init = { kind: 'uniform' as const, scale: c.initScale };
    this.embedding = new Embedding(c.vocabSize, c.embedSize, { init, rng, dtype: c.dtype });
    this.rnn = new RecurrentStack(c.cell, c.embedSize, c.hiddenSize, c.numLayers, { init, forgetBias: c.forgetBias, dropout: 1 - c.keepProb, rng, dtype: c.dtype });
    this.proj = new Dense(c.hiddenSize, c.vocabSize, { init, biasInit: init, rng, dtype: c.dtype });
  }

  initialState(B: number): StackState { return this.rnn.initialState(B); }

  /**
   * Run T steps of B streams from `state`. `ids` is time-major [T·B] (row t·B + b). The graph spans all T
   * steps, so backward() on a loss of the logits is backpropagation through these T steps.
   */
  run(ids: Int32Array | Float32Array | Float64Array, B: number, T: number, state: StackState, opts: SequenceRunOptions = {}): RunResult {
    if (!(ids instanceof Int32Array)) throw new ShapeError('language model: the inputs must be int32 token ids');
    if (ids.length !== B * T) throw new ShapeError(`language model: ${ids.length} token ids do not make ${T} steps of batch ${B}`);
    const emb = this.embedding.forward(new Tensor(ids, [T * B], 'int32'));
    const r = runStack(this.rnn, emb, T, state, opts);
    const logits = this.proj.forward(r.output);
    return { outputs: logits, logits, states: r.states ?? [], state: r.state };
  }

  mapState(s: StackState, f: (t: Tensor) => Tensor): StackState {
    return s.map((l) => (l.c ? { h: f(l.h), c: f(l.c) } : { h: f(l.h) }));
  }

  hidden(s: StackState): Tensor[] { return s.map((l) => l.h); }
}

/**
 * Batch-major [B·T] (the batcher's layout, row b·T + t) → time-major [T·B].
 *
 * @example
 * ```ts
 * import { toTimeMajor } from 'backprop';
 * toTimeMajor(new Int32Array([1, 2, 3, 4, 5, 6]), 2, 3); // [1, 4, 2, 5, 3, 6]: B = 2 rows of T = 3 → [T·B]
 * ```
 */
export function toTimeMajor(x: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[t * B + b] = x[b * T + t]!;
  return out;
}
