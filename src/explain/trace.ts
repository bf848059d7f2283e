/**
 * The tutorial's walk through one training step, computed by the engine and recorded node by node.
 *
 * Forward: the input node (y = x_input, no activation); for each layer x_j = Σ_i w_ij·y_i + b_j and
 * y_j = f(x_j); the error E = Σ ½(y_out − y_target)². Backward: ∂E/∂y_out = y_out − y_target;
 * ∂E/∂x = f'(x)·∂E/∂y; ∂E/∂w_ij = y_i·∂E/∂x_j; ∂E/∂y_i = Σ_j w_ij·∂E/∂x_j; then the update
 * w ← w − α·∂E/∂w. Every number in a trace is read from the autodiff engine: forward values from the ops,
 * derivatives from `.grad` of retained tensors after `backward()`, new weights from the SGD optimizer.
 * Nothing here recomputes the math by hand.
 */
import * as o from '../autodiff/index.js';
import type { Dense, Sequential } from '../nn/layers.js';
import { activate } from '../nn/layers.js';
import { SGD } from '../optim/optimizers.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { buildNetwork, checkSizes, specOf, type NetworkSpec } from './network.js';

/** One node of the trace: x, y, ∂E/∂x and ∂E/∂y. */
export interface NodeTrace {
  /** 0 is the input layer. */
  layer: number;
  index: number;
  /** A label like n1.2 (layer 1, node 2, both 1-based as the tutorial numbers them). */
  label: string;
  activation: string | null;
  /** Pre-activation x (null for input nodes, which have none). */
  x: number | null;
  y: number;
  dEdx: number | null;
  dEdy: number;
}

/** One weight w_ij of the trace: its value, ∂E/∂w and the value after the update. */
export interface WeightTrace { layer: number; from: number; to: number; w: number; dEdw: number; newW: number }
/** One bias of the trace: its value, ∂E/∂b and the value after the update. */
export interface BiasTrace { layer: number; node: number; b: number; dEdb: number; newB: number }

/** Every number of one training step of a small dense network, the tutorial's way. */
export interface StepTrace {
  network: NetworkSpec;
  input: number[];
  target: number[];
  learningRate: number;
  /** Nodes layer by layer, input layer first. */
  nodes: NodeTrace[];
  error: number;
  weights: WeightTrace[];
  biases: BiasTrace[];
  /** The network after the update. */
  updated: NetworkSpec;
  /** The error at the same input after the update (one more forward pass). */
  errorAfter: number;
}

/** Forward pass keeping every node's x and y (retained so their gradients are kept too). */
function forward(net: Sequential, input: number[]): { ys: Tensor[]; xs: (Tensor | null)[] } {
  const y0 = tensor([input], { dtype: 'float64', requiresGrad: true }).retainGrad();
  const ys: Tensor[] = [y0];
  const xs: (Tensor | null)[] = [null];
  for (const l of net.layers) {
    const d = l as Dense;
    const x = d.preActivation(ys[ys.length - 1]!).retainGrad();
    const y = d.activation === 'linear' ? x : activate(d.activation, x).retainGrad();
    xs.push(x); ys.push(y);
  }
  return { ys, xs };
}

function errorOf(yOut: Tensor, target: number[]): Tensor {
  return o.sum(o.squaredError(yOut, tensor([target], { dtype: 'float64' })));
}

/**
 * Run one training step of the tutorial's network and record every value the engine computed.
 *
 * @example
 * ```ts
 * import { traceStep, defaultNetwork } from 'backprop';
 * const t = traceStep(defaultNetwork, [1], [0], 0.5);
 * t.error; t.errorAfter; // 0.1726…, 0.1554…: one step of gradient descent lowered E
 * t.weights[0];          // { layer, from, to, w, dEdw, newW }
 * ```
 */
export function traceStep(spec: NetworkSpec, input: number[], target: number[], learningRate: number): StepTrace {
  checkSizes(spec, input, target);
  const net = buildNetwork(spec, 'float64');
  const { ys, xs } = forward(net, input);
  const E = errorOf(ys[ys.length - 1]!, target);
  o.backward(E);

  const nodes: NodeTrace[] = [];
  ys.forEach((y, L) => {
    const x = xs[L];
    for (let i = 0; i < y.size; i++) {
      nodes.push({
        layer: L, index: i, label: `n${L}.${i + 1}`,
        activation: L === 0 ? null : (net.layers[L - 1] as Dense).activation,
        x: x ? x.data[i]! : null,
        y: y.data[i]!,
        dEdx: x ? x.grad!.data[i]! : null,
        dEdy: y.grad!.data[i]!,
      });
    }
  });

  const before = net.layers.map((l) => {
    const d = l as Dense;
    return { w: Float64Array.from(d.weight.data), b: Float64Array.from(d.bias!.data), gw: Float64Array.from(d.weight.grad!.data), gb: Float64Array.from(d.bias!.grad!.data) };
  });
  const opt = new SGD(net, { lr: learningRate });
  // Packing the arena keeps the gradients computed above (ensureGradViews copies them in).
  opt.step();

  const weights: WeightTrace[] = [], biases: BiasTrace[] = [];
  net.layers.forEach((l, k) => {
    const d = l as Dense, p = before[k]!;
    for (let i = 0; i < d.inSize; i++) for (let j = 0; j < d.outSize; j++) {
      const q = i * d.outSize + j;
      weights.push({ layer: k + 1, from: i, to: j, w: p.w[q]!, dEdw: p.gw[q]!, newW: d.weight.data[q]! });
    }
    for (let j = 0; j < d.outSize; j++) biases.push({ layer: k + 1, node: j, b: p.b[j]!, dEdb: p.gb[j]!, newB: d.bias!.data[j]! });
  });

  const updated = specOf(net, spec.inputSize);
  const errorAfter = o.noGrad(() => errorOf(forward(net, input).ys.at(-1)!, target).item());
  return { network: spec, input, target, learningRate, nodes, error: E.item(), weights, biases, updated, errorAfter };
}

/**
 * Train `steps` steps on one (input, target) pair; returns the trace of each step.
 *
 * @example
 * ```ts
 * import { traceTraining, defaultNetwork } from 'backprop';
 * const steps = traceTraining(defaultNetwork, [1], [0], 0.5, 10);
 * steps.map((s) => s.error); // falling, step by step
 * ```
 */
export function traceTraining(spec: NetworkSpec, input: number[], target: number[], learningRate: number, steps: number): StepTrace[] {
  const out: StepTrace[] = [];
  let cur = spec;
  for (let s = 0; s < steps; s++) {
    const t = traceStep(cur, input, target, learningRate);
    out.push(t);
    cur = t.updated;
  }
  return out;
}
