/**
 * What a primitive is. The set is closed: `PrimParams` lists every differentiable operation the engine
 * has (elementwise, matmul, reductions, shape ops, indexing, the fused cross-entropy loss and the fused
 * recurrent cells) with the parameters its forward saves for its vector-Jacobian product. Each group
 * (ops.ts, cells.ts) defines its forward functions and, beside them, its rules typed `Rule<P>`; the one
 * table in rules.ts gathers them as `{ [P in Prim]: Rule<P> }`, so a primitive without a rule, or a rule
 * reading a parameter its forward does not save, does not compile (jax-js's design).
 *
 * Everything else is a composite (softmax, logSoftmax, squaredError, mean, split, …): a function of
 * primitives, differentiated by composition. A composite may run a fused kernel when no gradient is
 * needed; its test compares the fused result with the composition.
 */
import type { UnaryPrim } from '../backend/kernels.js';
import type { Tensor } from '../tensor/tensor.js';
import { isGradEnabled, recordNode } from './tape.js';

/** A primitive that saves nothing beyond its inputs and output. */
export type NoParams = Record<string, never>;

/**
 * Every primitive, with what its forward saves for its rule (besides its inputs and output). The
 * one-input elementwise primitives come from the kernel table (its rows marked `prim`), so a new
 * differentiable kernel row is a primitive without an edit here.
 */
export type PrimParams = { [P in UnaryPrim]: NoParams } & OtherPrimParams;

interface OtherPrimParams {
  // elementwise, two inputs (broadcasting)
  add: NoParams; sub: NoParams; mul: NoParams; div: NoParams; pow: NoParams; maximum: NoParams;
  // products, reductions, shape
  matmul: { transA: boolean; transB: boolean };
  sum: { kept: readonly number[]; axes: readonly number[] };
  max: { kept: readonly number[]; axes: readonly number[] };
  broadcastTo: NoParams;
  reshape: NoParams;
  transpose: { perm: readonly number[] };
  slice: { begin: readonly number[]; size: readonly number[] };
  concat: { axis: number };
  // indexing and selection
  gather: NoParams;
  where: NoParams;
  clip: { lo: number; hi: number };
  // the fused loss
  softmaxCrossEntropy: { probs: Tensor };
  // the fused recurrent cells (cells.ts): the forward's cached activations
  rnnStep: { xh: Tensor };
  lstmStep: { forgetBias: number; xh: Tensor; acts: Tensor; tanhC: Tensor };
  gruStep: { xh: Tensor; gates: Tensor; xrh: Tensor; cand: Tensor };
  lstmSequence: { T: number; acts: Tensor; tanhC: Tensor };
}

/** The name of every autodiff primitive (the keys of the rule table). */
export type Prim = keyof PrimParams;

/** What a forward saved for its rule: its inputs, its output and its typed parameters. */
export interface Saved<P extends Prim> { readonly inputs: readonly Tensor[]; readonly out: Tensor; readonly params: PrimParams[P] }

/**
 * A vector-Jacobian product: given ∂E/∂out (`dy`) and what the forward saved, ∂E/∂input for each input
 * (null where none flows). It may return a gradient in the broadcast (output) shape: the backward driver
 * sums it down. Rules run under noGrad, written with the same ops as the forward.
 */
export type Rule<P extends Prim> = (dy: Tensor, s: Saved<P>) => (Tensor | null)[];

/** Rules for a group of primitives, each typed by its own parameters. */
export type Rules<Ps extends Prim> = { readonly [P in Ps]: Rule<P> };

/** Whether an op on these inputs will be recorded (some input needs a gradient, and recording is on). */
export function needsGrad(inputs: readonly Tensor[]): boolean {
  return isGradEnabled() && inputs.some((t) => t.requiresGrad);
}

/**
 * Record primitive `op` on the tape: `out` gets a node whose VJP is `rules[op]` applied to what the forward
 * saved. Internal to the engine: only the primitives' forwards call it.
 */
export function record<Ps extends Prim, P extends Ps>(rules: Rules<Ps>, op: P, out: Tensor, inputs: readonly Tensor[],
  params: PrimParams[P]): Tensor {
  if (!needsGrad(inputs)) return out;
  const saved: Saved<P> = { inputs, out, params };
  const rule = rules[op] as Rule<P>;
  return recordNode(out, op, inputs, (dy) => rule(dy, saved));
}
