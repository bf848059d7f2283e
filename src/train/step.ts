/**
 * One supervised training step as the engine runs it: zero the gradients, compute the loss, backpropagate,
 * optionally clip, update — inside a backend scope, so every tensor the step allocated is reclaimed the
 * moment it ends instead of whenever the garbage collector gets to it. (The WASM backend's memory is not
 * seen by V8 as memory pressure, and a synchronous loop never lets finalizers run, so a plain loop of
 * thousands of steps would hold all their storage until it yields.)
 *
 * Build the model and the optimizer before the first step: storage created inside `lossFn` is freed when
 * the step ends, so nothing that must outlive the step may be created there.
 *
 *
 * @example
 * ```ts
 * import { trainStep, SGD, Dense, mean, softmaxCrossEntropy, tensor, intTensor } from 'backprop';
 * const net = new Dense(2, 2), x = tensor([[0, 1], [1, 0]]), y = intTensor([1, 0]);
 * const opt = new SGD(net, { lr: 0.1 });
 * for (let i = 0; i < 100; i++) trainStep(opt, () => mean(softmaxCrossEntropy(net.forward(x), y)));
 * ```
 */
import * as o from '../autodiff/index.js';
import { withScope } from '../backend/index.js';
import { DivergenceError, ShapeError } from '../errors.js';
import { clipGradNorm, type Optimizer } from '../optim/optimizers.js';
import type { Tensor } from '../tensor/tensor.js';

/** The loss before the update, and the gradient norm and whether it was clipped (with `maxGradNorm`). */
export interface StepResult { loss: number; gradNorm?: number; clipped?: boolean }

/**
 * One training step of `opt` on the scalar loss `lossFn()` builds, in an engine scope (see the file header).
 *
 * @example
 * ```ts
 * import { trainStep, SGD, Dense, mean, squaredError, tensor } from 'backprop';
 * const net = new Dense(2, 1), x = tensor([[0, 1], [1, 0]]), t = tensor([[1], [0]]);
 * const opt = new SGD(net, { lr: 0.1 });
 * const { loss } = trainStep(opt, () => mean(squaredError(net.forward(x), t)), { maxGradNorm: 5 });
 * ```
 */
export function trainStep(opt: Optimizer, lossFn: () => Tensor, opts: { maxGradNorm?: number } = {}): StepResult {
  return withScope(() => {
    opt.zeroGrad();
    const loss = lossFn();
    if (loss.size !== 1) throw new ShapeError(`trainStep: the loss must be a scalar, got ${loss.size} elements`);
    const value = loss.item();
    if (!Number.isFinite(value)) throw new DivergenceError(`trainStep: the loss is ${value} at optimizer step ${opt.stepCount + 1}`);
    o.backward(loss);
    const clip = opts.maxGradNorm !== undefined ? clipGradNorm(opt.arena, opts.maxGradNorm) : undefined;
    opt.step();
    return { loss: value, gradNorm: clip?.norm, clipped: clip?.clipped };
  });
}
