/**
 * A recurrent language model, the TensorFlow PTB tutorial's architecture: embedding → dropout →
 * stacked recurrent layers (dropout between, Zaremba et al. 2014) → dropout → a time-distributed
 * projection to vocabulary logits. Dimension letters: B batch (parallel streams), T unrolled steps,
 * E embedding size, H hidden size, V vocabulary size.
 *
 * Options add the model-side regularisers of AWD-LSTM (Merity et al. 2017, "Regularizing and
 * Optimizing LSTM Language Models"): weight tying, embedding dropout, locked dropout, weight-drop, and
 * the activation penalties AR and TAR. Each is off by default (the tutorial's model, as before), acts
 * only in training mode (`model.train()`), and draws its masks once per `run`, i.e. per window.
 */
import * as o from '../autodiff/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import type { DType } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';
import { initialize, type Init } from './init.js';
import { Dense, Embedding, dropoutMask } from './layers.js';
import { Module, Parameter } from './module.js';
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
  /**
   * Weight tying (Inan et al. 2017; Press & Wolf 2017): the output layer's weights are the embedding
   * matrix, logits = h·Eᵀ + b, so one [V, E] table both reads and predicts words. When the hidden size
   * H differs from E, a learned projection P [H, E] comes first: logits = (h·P)·Eᵀ + b. The decoder bias
   * b [V] stays its own parameter. Default false (a separate `proj` [H, V]).
   */
  tieWeights?: boolean;
  /**
   * Embedding dropout (Gal & Ghahramani 2016; AWD's dropoute): in each window, each row of the
   * embedding matrix — a whole word type — is zeroed with this probability and the survivors scaled by
   * 1/(1−p), so every occurrence of a dropped word in the window reads zeros. Default 0.
   */
  dropoutEmbed?: number;
  /**
   * Locked (variational) dropout on the first layer's inputs (Gal & Ghahramani 2016; Merity et al. 2017
   * §4.2, AWD's dropouti): x_t ← m ⊙ x_t / (1−p) with one Bernoulli(1−p) mask m [B, E] drawn per window
   * and shared by every step of it (not a fresh mask per step, as Zaremba et al.'s dropout). Default 0.
   */
  dropoutInput?: number;
  /** Locked dropout, as `dropoutInput`, on the outputs of every recurrent layer but the last (the next layer's inputs), one mask [B, H] per window (AWD's dropouth). Default 0. */
  dropoutHidden?: number;
  /** Locked dropout, as `dropoutInput`, on the last layer's outputs before the decoder, one mask [B, H] per window (AWD's dropout). Default 0. */
  dropoutOutput?: number;
  /**
   * Weight-drop (AWD's wdrop; DropConnect, Wan et al. 2013) on the hidden-to-hidden weights W_h: each
   * is zeroed with this probability (survivors ×1/(1−p)), one mask per window shared by every step and
   * stream, so the recurrence itself is regularised while the fused LSTM sequence op still runs. Default 0.
   */
  weightDrop?: number;
  /**
   * Activation regularisation (AR, Merity et al. 2017 §4.6): α·mean((m ⊙ h_t)²), the mean square of
   * the last layer's outputs after their dropout m (over every step, stream and unit). Default 0.
   */
  ar?: number;
  /**
   * Temporal activation regularisation (TAR, §4.6): β·mean((h_t − h_{t+1})²) over the last layer's
   * outputs before dropout, for consecutive steps of the window. Default 0.
   */
  tar?: number;
}

/** The keys of `LMConfig` that are probabilities in [0, 1). */
const dropoutKeys = ['dropoutEmbed', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'weightDrop'] as const;

/**
 * The output layer of a tied language model (see `LMConfig.tieWeights`): logits = (h·P)·Eᵀ + b, with E
 * the embedding's weight (not a parameter of this module: it is the embedding's, stored once), P [H, E]
 * only when H ≠ E, and b [V].
 *
 * @example
 * ```ts
 * import { Embedding, TiedOutput, randNormal } from 'backprop';
 * const emb = new Embedding(10, 4);
 * const out = new TiedOutput(emb, 6);          // H = 6 → a projection [6, 4], then embᵀ
 * out.forward(randNormal([3, 6])).shape;       // [3, 10]
 * ```
 */
export class TiedOutput extends Module {
  /** P [H, E], the projection from the hidden size to the embedding size (null when H = E). */
  readonly hiddenToEmbed: Parameter | null;
  /** The decoder bias b [V]. */
  readonly bias: Parameter;
  /** The embedding table E [V, E], shared (a private field, so it is not listed as this module's parameter). */
  readonly #table: Tensor;

  constructor(embedding: Embedding, readonly hiddenSize: number, opts: { init?: Init; rng?: Rng; dtype?: DType } = {}) {
    super();
    const E = embedding.dim, V = embedding.vocabSize;
    this.#table = embedding.weight;
    const init = opts.init ?? { kind: 'uniform' as const, scale: 0.1 };
    this.hiddenToEmbed = hiddenSize === E ? null : initialize(new Parameter([hiddenSize, E], opts.dtype), init, opts.rng) as Parameter;
    this.bias = initialize(new Parameter([V], opts.dtype), init, opts.rng) as Parameter;
  }

  /** h [N, H] → logits [N, V]. */
  forward(h: Tensor): Tensor {
    if (h.rank !== 2 || h.shape[1] !== this.hiddenSize) throw new ShapeError(`tied output: input must be [N, ${this.hiddenSize}], got [${h.shape.join(', ')}]`);
    const e = this.hiddenToEmbed ? o.matmul(h, this.hiddenToEmbed) : h;
    return o.add(o.matmul(e, this.#table, { transB: true }), this.bias);
  }
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
  /** The output layer: a Dense [H, V] (file names proj.weight, proj.bias), or with `tieWeights` a `TiedOutput` (proj.hiddenToEmbed, proj.bias). */
  readonly proj: Dense | TiedOutput;
  /** Draws the embedding-dropout masks (the generator the model was built with). */
  readonly #rng: Rng;

  constructor(readonly config: LMConfig, rng: Rng) {
    super();
    const c = config;
    for (const k of ['vocabSize', 'embedSize', 'hiddenSize', 'numLayers'] as const) {
      if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
    }
    if (!(c.keepProb > 0 && c.keepProb <= 1)) throw new ConfigError(`keepProb must be in (0, 1], got ${c.keepProb}`);
    if (!(c.initScale > 0)) throw new ConfigError(`initScale must be > 0, got ${c.initScale}`);
    for (const k of dropoutKeys) {
      const v = c[k];
      if (v !== undefined && !(v >= 0 && v < 1)) throw new ConfigError(`${k} must be a probability in [0, 1), got ${v}`);
    }
    for (const k of ['ar', 'tar'] as const) {
      const v = c[k];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ConfigError(`${k} must be a finite number ≥ 0, got ${v}`);
    }
    if (c.tieWeights !== undefined && typeof c.tieWeights !== 'boolean') throw new ConfigError(`tieWeights must be true or false, got ${JSON.stringify(c.tieWeights)}`);
    this.#rng = rng;
    const init = { kind: 'uniform' as const, scale: c.initScale };
    this.embedding = new Embedding(c.vocabSize, c.embedSize, { init, rng, dtype: c.dtype });
    this.rnn = new RecurrentStack(c.cell, c.embedSize, c.hiddenSize, c.numLayers, {
      init, forgetBias: c.forgetBias, dropout: 1 - c.keepProb, rng, dtype: c.dtype, weightDrop: c.weightDrop,
      lockedDropout: { input: c.dropoutInput, hidden: c.dropoutHidden, output: c.dropoutOutput },
    });
    this.proj = c.tieWeights
      ? new TiedOutput(this.embedding, c.hiddenSize, { init, rng, dtype: c.dtype })
      : new Dense(c.hiddenSize, c.vocabSize, { init, biasInit: init, rng, dtype: c.dtype });
  }

  initialState(B: number): StackState { return this.rnn.initialState(B); }

  /**
   * The embedded inputs [N, E] of token ids [N]: the embedding's rows, with embedding dropout in
   * training mode (`LMConfig.dropoutEmbed`: one keep/drop draw per word type of the vocabulary, in id
   * order, shared by every occurrence in this call). Equivalent to looking the ids up in the matrix
   * whose dropped rows are zero and the rest scaled, and so is its gradient.
   */
  embed(ids: Int32Array): Tensor {
    const emb = this.embedding.forward(new Tensor(ids, [ids.length], 'int32'));
    const p = this.config.dropoutEmbed ?? 0;
    if (!this.training || p === 0) return emb;
    const rows = dropoutMask([this.config.vocabSize], p, this.#rng, emb.dtype).data;
    const scale = new Tensor(emb.dtype === 'float64' ? new Float64Array(ids.length) : new Float32Array(ids.length), [ids.length, 1], emb.dtype);
    for (let i = 0; i < ids.length; i++) scale.data[i] = rows[ids[i]!]!;
    return o.mul(emb, scale);
  }

  /**
   * Run T steps of B streams from `state`. `ids` is time-major [T·B] (row t·B + b). The graph spans all T
   * steps, so backward() on a loss of the logits is backpropagation through these T steps. In training
   * mode with `ar` or `tar` set, `penalty` is the window's AR + TAR (a scalar for the loss, not the perplexity).
   */
  run(ids: Int32Array | Float32Array | Float64Array, B: number, T: number, state: StackState, opts: SequenceRunOptions = {}): RunResult {
    if (!(ids instanceof Int32Array)) throw new ShapeError('language model: the inputs must be int32 token ids');
    if (ids.length !== B * T) throw new ShapeError(`language model: ${ids.length} token ids do not make ${T} steps of batch ${B}`);
    const r = runStack(this.rnn, this.embed(ids), T, state, opts);
    const logits = this.proj.forward(r.output);
    const penalty = this.penalty(r.output, r.rawOutput, B, T);
    return { outputs: logits, logits, states: r.states ?? [], state: r.state, ...(penalty ? { penalty } : {}) };
  }

  /**
   * AR + TAR of one window (null when both are off or outside training): α·mean(out²) over the dropped
   * outputs [T·B, H], β·mean((h_{t+1} − h_t)²) over the raw ones (rows B… against rows …(T−1)·B).
   */
  private penalty(out: Tensor, raw: Tensor, B: number, T: number): Tensor | null {
    const a = this.config.ar ?? 0, b = this.config.tar ?? 0;
    if (!this.training) return null;
    let p: Tensor | null = null;
    if (a > 0) p = o.mul(o.mean(o.square(out)), a);
    if (b > 0 && T > 1) {
      const H = raw.shape[1]!;
      const d = o.sub(o.slice(raw, [B, 0], [(T - 1) * B, H]), o.slice(raw, [0, 0], [(T - 1) * B, H]));
      const t = o.mul(o.mean(o.square(d)), b);
      p = p ? o.add(p, t) : t;
    }
    return p;
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
