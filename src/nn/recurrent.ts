/**
 * Recurrent layers and stacks. A layer advances one time step at a time (`step`), so backpropagation
 * through time is a visible loop over t: the forward loop records each step on the tape, and
 * `backward()` walks it in reverse. An RNN unrolled over T steps is just a T-deep feed-forward graph.
 *
 * State: per layer { h [B, H] } (plus c [B, H] for an LSTM). States are ordinary tensors: carrying one into
 * the next batch with the gradient stopped is `detachState(state)`.
 */
import * as o from '../autodiff/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import { globalRng, type Rng } from '../tensor/random.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import type { DType } from '../backend/index.js';
import { gruStep, lstmSequence, lstmStep, rnnStep, unpackHC } from '../autodiff/cells.js';
import { initialize, type Init } from './init.js';
import { Dropout, dropoutMask } from './layers.js';
import { Module, Parameter } from './module.js';

/** The recurrent cells: Elman RNN, LSTM (TensorFlow BasicLSTMCell) and GRU (TensorFlow GRUCell). */
export type CellKind = 'rnn' | 'lstm' | 'gru';
/**
 * Every cell kind.
 *
 * @example
 * ```ts
 * import { cellKinds } from 'backprop';
 * cellKinds; // ['rnn', 'lstm', 'gru']
 * ```
 */
export const cellKinds: readonly CellKind[] = ['rnn', 'lstm', 'gru'];

/** One layer's state: h [B, H], and c [B, H] for an LSTM. */
export interface LayerState { h: Tensor; c?: Tensor }
/** The state of every layer of a stack, bottom first. */
export type StackState = LayerState[];

/** Options of a recurrent layer: initializer, forget bias (LSTM), dtype, generator. */
export interface RecurrentOptions { init?: Init; forgetBias?: number; dtype?: DType; rng?: Rng }

/**
 * One recurrent layer of the given cell kind; parameter names follow docs/formats.md.
 *
 * @example
 * ```ts
 * import { RecurrentLayer, randNormal } from 'backprop';
 * const layer = new RecurrentLayer('gru', 3, 8);
 * const s1 = layer.step(randNormal([2, 3]), layer.initialState(2)); // s1.h is [2, 8]
 * ```
 */
export class RecurrentLayer extends Module {
  readonly kernel: Parameter;
  readonly bias: Parameter;
  /** GRU only: the candidate's kernel and bias. */
  readonly candKernel: Parameter | null = null;
  readonly candBias: Parameter | null = null;
  readonly forgetBias: number;

  constructor(readonly cell: CellKind, readonly inputSize: number, readonly hiddenSize: number, opts: RecurrentOptions = {}) {
    super();
    if (!cellKinds.includes(cell)) throw new ConfigError(`unknown cell "${cell}" (choose ${cellKinds.join(', ')})`);
    for (const [k, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${cell}: ${k} must be a positive integer, got ${v}`);
    }
    const init = opts.init ?? { kind: 'uniform', scale: 0.1 };
    const H = hiddenSize, K = inputSize + H, dt = opts.dtype;
    const gates = cell === 'lstm' ? 4 : cell === 'gru' ? 2 : 1;
    this.forgetBias = opts.forgetBias ?? 0;
    this.kernel = initialize(new Parameter([K, gates * H], dt), init, opts.rng) as Parameter;
    // TF's GRUCell starts its gate bias at 1 (gates open); other biases start at 0.
    this.bias = initialize(new Parameter([gates * H], dt), cell === 'gru' ? { kind: 'constant', value: 1 } : { kind: 'zeros' }, opts.rng) as Parameter;
    if (cell === 'gru') {
      this.candKernel = initialize(new Parameter([K, H], dt), init, opts.rng) as Parameter;
      this.candBias = new Parameter([H], dt);
    }
  }

  /** A zero state for a batch of B streams. */
  initialState(B: number, dtype: DType = this.kernel.dtype): LayerState {
    const h = zeros([B, this.hiddenSize], { dtype });
    return this.cell === 'lstm' ? { h, c: zeros([B, this.hiddenSize], { dtype }) } : { h };
  }

  /**
   * Advance one step: x [B, inputSize] → new state (its h is the output). `k` replaces the kernels for
   * this step (a window's weight-dropped kernels, `dropConnect`); the parameters by default.
   */
  step(x: Tensor, s: LayerState, k: LayerKernels = this.kernels()): LayerState {
    if (x.rank !== 2 || x.shape[1] !== this.inputSize || x.shape[0] !== s.h.shape[0]) {
      throw new ShapeError(`${this.cell} layer: input must be [${s.h.shape[0]}, ${this.inputSize}], got ${fmtShape(x.shape)}`);
    }
    switch (this.cell) {
      case 'lstm': {
        const [h, c] = unpackHC(lstmStep(x, s.h, s.c!, k.kernel, this.bias, this.forgetBias));
        return { h, c };
      }
      case 'gru': return { h: gruStep(x, s.h, k.kernel, this.bias, k.candKernel!, this.candBias!) };
      case 'rnn': return { h: rnnStep(x, s.h, k.kernel, this.bias) };
    }
  }

  /** The layer's own kernels (no weight drop). */
  kernels(): LayerKernels { return { kernel: this.kernel, candKernel: this.candKernel }; }

  /**
   * Weight-drop (Merity et al. 2017, after Wan et al. 2013's DropConnect): the kernels with each
   * hidden-to-hidden weight — rows inputSize … inputSize+H−1 of `kernel` (W_h), and of a GRU's
   * `candKernel` — zeroed with probability p and the survivors scaled by 1/(1−p); the input rows are
   * untouched. The result is a function of the parameters (W ⊙ M), so the gradient reaches them through
   * the mask. One draw serves a whole window: every step and stream of it see the same dropped weights.
   */
  dropConnect(p: number, rng: Rng): LayerKernels {
    const drop = (W: Tensor): Tensor => {
      const I = this.inputSize, N = W.shape[1]!;
      const m = dropoutMask([I + this.hiddenSize, N], p, rng, W.dtype, I * N);
      return o.mul(W, m);
    };
    return { kernel: drop(this.kernel), candKernel: this.candKernel ? drop(this.candKernel) : null };
  }
}

/** The kernels a layer runs with: its parameters, or a window's weight-dropped copies of them. */
export interface LayerKernels {
  /** [I+H, gates·H]. */
  kernel: Tensor;
  /** GRU only: the candidate's kernel [I+H, H]. */
  candKernel: Tensor | null;
}

/**
 * Locked (variational) dropout probabilities, AWD-LSTM's (Merity et al. 2017, after Gal & Ghahramani
 * 2016): one mask per window and stream, [B, width], drawn when a run begins and shared by every time
 * step of it; survivors are scaled by 1/(1−p). 0 (the default) is off.
 */
export interface LockedDropoutOptions {
  /** On the first layer's inputs (AWD's dropouti). */
  input?: number;
  /** On the inputs of layers 1 … L−1, i.e. between layers (AWD's dropouth). */
  hidden?: number;
  /** On the last layer's outputs (AWD's dropout). */
  output?: number;
}

/** Options of a recurrent stack. */
export interface StackOptions extends RecurrentOptions {
  /** Dropout probability on non-recurrent connections (Zaremba et al. 2014): 1 − keep_prob. A fresh mask every step. */
  dropout?: number;
  /** Locked dropout on the layers' inputs and the stack's output: one mask per window (see `LockedDropoutOptions`). */
  lockedDropout?: LockedDropoutOptions;
  /** Weight-drop probability on the hidden-to-hidden weights, one mask per window (`RecurrentLayer.dropConnect`). */
  weightDrop?: number;
}

/**
 * What one run over a window draws once, in training mode: each layer's (weight-dropped) kernels and the
 * locked-dropout masks. Outside training it is the parameters and no masks.
 */
export interface WindowDraw {
  /** Per layer: the kernels every step of the window uses. */
  kernels: LayerKernels[];
  /** locked[l], l < L: the [B, in_l] mask on layer l's input; locked[L]: the [B, H] mask on the stack's output; null where off. */
  locked: (Tensor | null)[];
}

/** Options of a stack's run over a sequence. */
export interface SequenceOptions {
  /** [T, B] 0/1 float: 0 marks a padded step; the state is held and the output is 0 there. */
  mask?: Tensor;
  /** Keep each step's state tensors with retainGrad() (for ∂E/∂h_t diagnostics). */
  retainStates?: boolean;
  /** The window's kernels and locked masks (default: `drawWindow` at the start of the run). */
  draw?: WindowDraw;
}

/** A stack's outputs and states over a sequence. */
export interface SequenceResult {
  /** Top layer's output per step, each [B, H]. */
  outputs: Tensor[];
  /** The state after each step (states[t] is after step t). */
  states: StackState[];
  /** The final state. */
  state: StackState;
}

/**
 * A stack of recurrent layers with dropout between them (on the input of each layer and on the stack's
 * output, never on the recurrent h → h path).
 *
 * @example
 * ```ts
 * import { RecurrentStack, randNormal } from 'backprop';
 * const stack = new RecurrentStack('lstm', 3, 8, 2, { dropout: 0.1 });
 * const { outputs, state } = stack.forward([randNormal([4, 3]), randNormal([4, 3])], stack.initialState(4));
 * ```
 */
export class RecurrentStack extends Module {
  readonly layers: RecurrentLayer[];
  readonly dropouts: Dropout[];
  /** Locked-dropout probability at each layer's input (l < L) and at the output (l = L). */
  readonly lockedP: readonly number[];
  /** Weight-drop probability on the hidden-to-hidden weights. */
  readonly weightDrop: number;
  /** Draws the per-window masks (the same generator as the per-step dropout). */
  readonly #rng: Rng;

  constructor(readonly cell: CellKind, inputSize: number, readonly hiddenSize: number, readonly numLayers: number, opts: StackOptions = {}) {
    super();
    if (!Number.isInteger(numLayers) || numLayers <= 0) throw new ConfigError(`numLayers must be a positive integer, got ${numLayers}`);
    this.layers = Array.from({ length: numLayers }, (_, l) => new RecurrentLayer(cell, l === 0 ? inputSize : hiddenSize, hiddenSize, opts));
    const p = opts.dropout ?? 0;
    this.#rng = opts.rng ?? globalRng;
    this.dropouts = Array.from({ length: numLayers + 1 }, () => new Dropout(p, this.#rng));
    const ld = opts.lockedDropout ?? {};
    for (const [k, v] of [['lockedDropout.input', ld.input], ['lockedDropout.hidden', ld.hidden], ['lockedDropout.output', ld.output], ['weightDrop', opts.weightDrop]] as const) {
      if (v !== undefined && !(v >= 0 && v < 1)) throw new ConfigError(`${k} must be a probability in [0, 1), got ${v}`);
    }
    this.lockedP = Array.from({ length: numLayers + 1 }, (_, l) => (l === 0 ? ld.input : l === numLayers ? ld.output : ld.hidden) ?? 0);
    this.weightDrop = opts.weightDrop ?? 0;
  }

  /** A zero state for every layer, for a batch of B streams. */
  initialState(B: number): StackState { return this.layers.map((l) => l.initialState(B)); }

  /**
   * The window's draws for B streams (see `WindowDraw`): in training mode, weight-dropped kernels and
   * the locked masks (layer by layer, kernels first, from the stack's generator); otherwise the
   * parameters and no masks, so evaluation is deterministic.
   */
  drawWindow(B: number): WindowDraw {
    const on = this.training, dt = this.layers[0]!.kernel.dtype;
    const kernels = this.layers.map((layer) => (on && this.weightDrop > 0 ? layer.dropConnect(this.weightDrop, this.#rng) : layer.kernels()));
    const locked = this.lockedP.map((p, l) => (on && p > 0 ? dropoutMask([B, l === 0 ? this.layers[0]!.inputSize : this.hiddenSize], p, this.#rng, dt) : null));
    return { kernels, locked };
  }

  /**
   * One time step through every layer: x [B, I] → (top output [B, H], new state). `draw` gives the
   * window's kernels and locked masks (`drawWindow`); without it the step uses the parameters and only
   * the per-step dropout.
   */
  step(x: Tensor, state: StackState, draw?: WindowDraw): { out: Tensor; state: StackState } {
    let inp = x;
    const next: StackState = [];
    this.layers.forEach((layer, l) => {
      const m = draw?.locked[l];
      const s = layer.step(this.dropouts[l]!.forward(m ? o.mul(inp, m) : inp), state[l]!, draw?.kernels[l]);
      next.push(s);
      inp = s.h;
    });
    const m = draw?.locked[this.numLayers];
    return { out: this.dropouts[this.numLayers]!.forward(m ? o.mul(inp, m) : inp), state: next };
  }

  /**
   * Run over a sequence: xs is T tensors [B, I] (or one [T, B, I] tensor). Full backpropagation through
   * time is `backward()` on a loss of the outputs: the graph spans every step.
   */
  forward(xs: Tensor[] | Tensor, state: StackState, opts: SequenceOptions = {}): SequenceResult {
    const steps = Array.isArray(xs) ? xs : splitTime(xs);
    const outputs: Tensor[] = [], states: StackState[] = [];
    const draw = opts.draw ?? this.drawWindow(state[0]!.h.shape[0]!);
    let s = state;
    steps.forEach((x, t) => {
      let { out, state: ns } = this.step(x, s, draw);
      if (opts.mask) {
        const m = o.reshape(o.slice(opts.mask, [t, 0], [1, x.shape[0]!]), [x.shape[0]!, 1]);
        ns = ns.map((ls, l) => ({ h: o.where(m, ls.h, s[l]!.h), ...(ls.c ? { c: o.where(m, ls.c, s[l]!.c!) } : {}) }));
        out = o.mul(out, m);
      }
      if (opts.retainStates) ns.forEach((ls) => ls.h.retainGrad());
      outputs.push(out); states.push(ns);
      s = ns;
    });
    return { outputs, states, state: s };
  }
}

/** A stack's outputs over a sequence, time-major, and its states. */
export interface StackSequenceResult {
  /** Top layer's outputs for every step, time-major [T·B, H], after the output dropout. */
  output: Tensor;
  /** The top layer's hidden states h_t for every step, [T·B, H], before the output dropout (AWD-LSTM's TAR reads these). */
  rawOutput: Tensor;
  /** The state after each step, when asked for (`keepStates`). */
  states: StackState[] | null;
  state: StackState;
}

/**
 * Run a stack over T steps given as one time-major tensor x [T·B, I]. LSTM layers use the fused
 * sequence op (all input projections as one GEMM, the weight gradients as one GEMM each); other cells,
 * masks and per-step gradient diagnostics (`retainStates`) use the step-by-step path. Both draw the
 * window's regularisers once (`drawWindow`): the weight-dropped kernels go into the sequence op or
 * every step, and each locked mask [B, I] multiplies every step's rows.
 *
 * @example
 * ```ts
 * import { RecurrentStack, runStack, randNormal } from 'backprop';
 * const stack = new RecurrentStack('lstm', 3, 8, 1);
 * const { output, state } = runStack(stack, randNormal([5 * 2, 3]), 5, stack.initialState(2)); // T = 5, B = 2
 * ```
 */
export function runStack(stack: RecurrentStack, x: Tensor, T: number, state: StackState, opts: { keepStates?: boolean; retainStates?: boolean; draw?: WindowDraw } = {}): StackSequenceResult {
  const B = state[0]!.h.shape[0]!, H = stack.hiddenSize, I = x.shape[1]!, L = stack.numLayers;
  const draw = opts.draw ?? stack.drawWindow(B);
  if (stack.cell !== 'lstm' || opts.retainStates) {
    const steps = Array.from({ length: T }, (_, t) => (T === 1 ? x : o.slice(x, [t * B, 0], [B, I])));
    const r = stack.forward(steps, state, { retainStates: opts.retainStates ?? false, draw });
    const raw = r.states.map((s) => s[L - 1]!.h);
    return { output: T === 1 ? r.outputs[0]! : o.concat(r.outputs, 0), rawOutput: T === 1 ? raw[0]! : o.concat(raw, 0), states: r.states, state: r.state };
  }
  let inp = x;
  const outs: Tensor[] = [];
  stack.layers.forEach((layer, l) => {
    const s = state[l]!;
    const xin = stack.dropouts[l]!.forward(lockTime(inp, draw.locked[l] ?? null, T));
    const out = lstmSequence(xin, s.h, s.c!, draw.kernels[l]!.kernel, layer.bias, T, layer.forgetBias);
    outs.push(out);
    inp = o.reshape(o.slice(out, [0, 0, 0, 0], [1, T, B, H]), [T * B, H]);
  });
  const at = (out: Tensor, which: 0 | 1, t: number) => o.reshape(o.slice(out, [which, t, 0, 0], [1, 1, B, H]), [B, H]);
  const stateAt = (t: number): StackState => outs.map((out) => ({ h: at(out, 0, t), c: at(out, 1, t) }));
  return {
    output: stack.dropouts[L]!.forward(lockTime(inp, draw.locked[L] ?? null, T)),
    rawOutput: inp,
    states: opts.keepStates ? Array.from({ length: T }, (_, t) => stateAt(t)) : null,
    state: stateAt(T - 1),
  };
}

/** x [T·B, I] with one [B, I] mask applied at every step (locked dropout); x itself without a mask. */
function lockTime(x: Tensor, m: Tensor | null, T: number): Tensor {
  if (!m) return x;
  if (T === 1) return o.mul(x, m);
  const [B, I] = m.shape as [number, number];
  return o.reshape(o.mul(o.reshape(x, [T, B, I]), m), [T * B, I]);
}

/**
 * [T, B, I] → T tensors [B, I].
 *
 * @example
 * ```ts
 * import { splitTime, zeros } from 'backprop';
 * splitTime(zeros([5, 2, 3])).length; // 5 tensors [2, 3]
 * ```
 */
export function splitTime(x: Tensor): Tensor[] {
  if (x.rank !== 3) throw new ShapeError(`expected a [T, B, I] sequence, got ${fmtShape(x.shape)}`);
  const [T, B, I] = x.shape as [number, number, number];
  return Array.from({ length: T }, (_, t) => o.reshape(o.slice(x, [t, 0, 0], [1, B, I]), [B, I]));
}

/**
 * The boundary between two windows: the state's values with the gradient stopped, copied (`clone`) into
 * storage that outlives the engine scope of the step that computed them. The one mark a carried state needs.
 *
 * @example
 * ```ts
 * import { RecurrentStack, detachState, randNormal } from 'backprop';
 * const stack = new RecurrentStack('rnn', 3, 4, 1);
 * let { state } = stack.forward([randNormal([2, 3])], stack.initialState(2));
 * state = detachState(state); // carried into the next window without its gradient history
 * ```
 */
export function detachState(s: StackState): StackState {
  return s.map((l) => ({ h: l.h.clone(), ...(l.c ? { c: l.c.clone() } : {}) }));
}

/**
 * Zero the state of selected streams (rows), e.g. at a document boundary.
 *
 * @example
 * ```ts
 * import { RecurrentStack, resetStreams } from 'backprop';
 * const stack = new RecurrentStack('gru', 3, 4, 1);
 * const state = resetStreams(stack.initialState(8), [0, 5]); // streams 0 and 5 start a new document
 * ```
 */
export function resetStreams(s: StackState, rows: readonly number[]): StackState {
  return s.map((l) => {
    const fix = (t: Tensor) => {
      const c = t.clone();
      const H = t.shape[1]!;
      for (const r of rows) {
        if (r < 0 || r >= t.shape[0]!) throw new ShapeError(`resetStreams: stream ${r} is out of range [0, ${t.shape[0]})`);
        c.data.fill(0, r * H, (r + 1) * H);
      }
      return c;
    };
    return { h: fix(l.h), ...(l.c ? { c: fix(l.c) } : {}) };
  });
}
