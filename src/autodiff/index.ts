/** The autodiff engine: primitives with their rules, the tape, and function transforms. */
export * from './ops.js';
export { backward, noGrad, isGradEnabled, zeroGrad, recordNode, sumToShape } from './tape.js';
export { grad, valueAndGrad, gradcheck, type GradcheckOptions, type GradcheckResult } from './grad.js';
