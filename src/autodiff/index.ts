/**
 * The autodiff engine: the primitives (tensor ops, the fused loss, the fused recurrent cells) with their
 * rules in one table, the composites built from them, the tape, and function transforms.
 */
export * from './ops.js';
export * from './cells.js';
export type { Prim, PrimParams, Rule, Saved } from './primitive.js';
export { rules, primitives } from './rules.js';
export { backward, noGrad, isGradEnabled, zeroGrad } from './tape.js';
export { grad, valueAndGrad, gradcheck, type GradcheckOptions, type GradcheckResult } from './grad.js';
