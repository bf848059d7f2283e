/**
 * The tutorial's network as data: a JSON description of a dense network (any layer sizes), turned into
 * the library's own layers. The default is the tutorial's 1-2-2-1 sigmoid network.
 *
 * JSON format (documented in the README):
 *   { "inputSize": 1,
 *     "layers": [ { "activation": "sigmoid", "weights": [[w_11, w_12]], "biases": [b_1, b_2] }, ... ] }
 * `weights[i][j]` is w_ij, from node i of the previous layer to node j of this layer ([in][out]).
 */
import { ConfigError, DataError } from '../errors.js';
import { activationKinds, Dense, Sequential, type ActivationKind } from '../nn/layers.js';
import type { DType } from '../backend/index.js';

/** One layer of an explained network: activation, weights [in][out], biases [out]. */
export interface LayerSpec { activation: ActivationKind; weights: number[][]; biases: number[] }
/** A small dense network as plain numbers (the explain trace and the explorer page use it). */
export interface NetworkSpec { inputSize: number; layers: LayerSpec[] }

/**
 * The default network: 1 input, two hidden layers of 2 sigmoid nodes, 1 sigmoid output.
 *
 * @example
 * ```ts
 * import { defaultNetwork, traceStep } from 'backprop';
 * defaultNetwork.inputSize; // 1: the tutorial's 1-2-2-1 sigmoid network
 * traceStep(defaultNetwork, [1], [0], 0.5).error;
 * ```
 */
export const defaultNetwork: NetworkSpec = {
  inputSize: 1,
  layers: [
    { activation: 'sigmoid', weights: [[0.5, -0.3]], biases: [0.1, -0.2] },
    { activation: 'sigmoid', weights: [[0.4, 0.8], [-0.6, 0.2]], biases: [0.05, -0.1] },
    { activation: 'sigmoid', weights: [[0.7], [-0.5]], biases: [0.3] },
  ],
};

/**
 * Validate a parsed JSON value as a NetworkSpec; errors name the field (and `source`, e.g. a file).
 *
 * @example
 * ```ts
 * import { parseNetworkSpec } from 'backprop';
 * const spec = parseNetworkSpec(JSON.parse('{"inputSize":1,"layers":[{"activation":"sigmoid","weights":[[0.5]],"biases":[0.1]}]}'), 'net.json');
 * ```
 */
export function parseNetworkSpec(v: unknown, source = 'network'): NetworkSpec {
  const fail = (msg: string): never => { throw new DataError(`${source}: ${msg}`); };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('expected a JSON object with "inputSize" and "layers"');
  const o = v as Record<string, unknown>;
  const inputSize = o.inputSize;
  if (typeof inputSize !== 'number' || !Number.isInteger(inputSize) || inputSize <= 0) fail(`"inputSize" must be a positive integer, got ${JSON.stringify(inputSize)}`);
  if (!Array.isArray(o.layers) || o.layers.length === 0) fail('"layers" must be a non-empty array');
  let prev = inputSize as number;
  const layers = (o.layers as unknown[]).map((l, k): LayerSpec => {
    if (typeof l !== 'object' || l === null) fail(`layers[${k}] must be an object`);
    const L = l as Record<string, unknown>;
    const act = L.activation ?? 'sigmoid';
    if (typeof act !== 'string' || !activationKinds.includes(act as ActivationKind)) fail(`layers[${k}].activation must be one of ${activationKinds.join(', ')}, got ${JSON.stringify(act)}`);
    const w = L.weights;
    if (!Array.isArray(w) || w.length !== prev) fail(`layers[${k}].weights must have ${prev} rows (one per input node), got ${Array.isArray(w) ? w.length : JSON.stringify(w)}`);
    const out = Array.isArray((w as unknown[])[0]) ? ((w as unknown[])[0] as unknown[]).length : 0;
    if (out <= 0) fail(`layers[${k}].weights rows must be non-empty arrays`);
    (w as unknown[]).forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== out) fail(`layers[${k}].weights[${i}] must have ${out} entries`);
      (row as unknown[]).forEach((x, j) => { if (typeof x !== 'number' || !Number.isFinite(x)) fail(`layers[${k}].weights[${i}][${j}] must be a finite number, got ${JSON.stringify(x)}`); });
    });
    const b = L.biases ?? new Array(out).fill(0);
    if (!Array.isArray(b) || b.length !== out || b.some((x) => typeof x !== 'number' || !Number.isFinite(x))) fail(`layers[${k}].biases must be ${out} finite numbers`);
    prev = out;
    return { activation: act as ActivationKind, weights: w as number[][], biases: b as number[] };
  });
  return { inputSize: inputSize as number, layers };
}

/**
 * Build the network from the library's Dense layers, weights copied in.
 *
 * @example
 * ```ts
 * import { buildNetwork, defaultNetwork, tensor } from 'backprop';
 * const net = buildNetwork(defaultNetwork); // a float64 Sequential of Dense layers with the spec's weights
 * net.forward(tensor([[1]], { dtype: 'float64' }));
 * ```
 */
export function buildNetwork(spec: NetworkSpec, dtype: DType = 'float64'): Sequential {
  let prev = spec.inputSize;
  const layers = spec.layers.map((l) => {
    const out = l.biases.length;
    const d = new Dense(prev, out, { activation: l.activation, dtype });
    for (let i = 0; i < prev; i++) for (let j = 0; j < out; j++) d.weight.data[i * out + j] = l.weights[i]![j]!;
    for (let j = 0; j < out; j++) d.bias!.data[j] = l.biases[j]!;
    prev = out;
    return d;
  });
  return new Sequential(...layers);
}

/**
 * Read the current weights back out of a network as a spec.
 *
 * @example
 * ```ts
 * import { buildNetwork, specOf, defaultNetwork } from 'backprop';
 * specOf(buildNetwork(defaultNetwork), 1); // the same spec back (after training: the trained weights)
 * ```
 */
export function specOf(net: Sequential, inputSize: number): NetworkSpec {
  return {
    inputSize,
    layers: net.layers.map((l) => {
      const d = l as Dense;
      const weights = Array.from({ length: d.inSize }, (_, i) => Array.from({ length: d.outSize }, (_, j) => d.weight.data[i * d.outSize + j]!));
      return { activation: d.activation, weights, biases: Array.from(d.bias!.data) };
    }),
  };
}

/**
 * Throws a one-line error unless `input` and `target` fit the network's input and output sizes.
 *
 * @example
 * ```ts
 * import { checkSizes, defaultNetwork } from 'backprop';
 * checkSizes(defaultNetwork, [1], [0]);    // fine
 * checkSizes(defaultNetwork, [1, 2], [0]); // ConfigError: input has 2 values, the network has 1 input nodes
 * ```
 */
export function checkSizes(spec: NetworkSpec, input: number[], target: number[]): void {
  const outSize = spec.layers[spec.layers.length - 1]!.biases.length;
  if (input.length !== spec.inputSize) throw new ConfigError(`input has ${input.length} values, the network has ${spec.inputSize} input nodes`);
  if (target.length !== outSize) throw new ConfigError(`target has ${target.length} values, the network has ${outSize} output nodes`);
}
