/**
 * ONNX export (opset 13, IR version 7; a newer opset only where an activation needs one) of dense
 * networks and the LSTM, GRU and RNN language models, serialized by onnx-proto.ts (no protobuf
 * library, no Node APIs: a page can export too). The graphs compute exactly what `reference.ts`
 * computes; the tests run both, and our engine's forward, in onnxruntime.
 *
 * The subtle part is the recurrent cells: ours are TensorFlow's (BasicLSTMCell, GRUCell, BasicRNNCell),
 * whose single kernel multiplies [x, h]; ONNX's `LSTM`, `GRU` and `RNN` operators order and split their
 * parameters differently. `onnxLstmWeights`, `onnxGruWeights` and `onnxRnnWeights` convert.
 */
import { littleEndianBytes } from './safetensors.js';
import { activationRow } from '../nn/activations.js';
import type { DenseNetWeights, LstmLmWeights, RecurrentLayerWeights, RecurrentLmWeights } from './weights.js';
import { validateDenseNet, validateRecurrentLm } from './weights.js';
import { FLOAT, INT64, graphProto, modelProto, nodeProto, tensorProto, valueInfoProto, type ProtoWriter } from './onnx-proto.js';

/**
 * The opset of every export, unless a dense layer's activation needs a newer one (see the activation table).
 *
 * @example
 * ```ts
 * import { ONNX_OPSET } from 'backprop';
 * ONNX_OPSET; // 13: the default opset of the exported graphs (an activation that needs more raises it)
 * ```
 */
export const ONNX_OPSET = 13;
/** The IR version that introduced each opset we may declare. */
const IR_VERSION: Readonly<Record<number, number>> = { 13: 7, 14: 8, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

// ---------------------------------------------------------------------------------------------
// Small builders

function floatTensor(name: string, dims: number[], values: Float32Array): ProtoWriter {
  return tensorProto(name, dims, FLOAT, littleEndianBytes(values).slice());
}

function int64Tensor(name: string, dims: number[], values: number[]): ProtoWriter {
  return tensorProto(name, dims, INT64, littleEndianBytes(BigInt64Array.from(values, (v) => BigInt(v))).slice());
}

const node = nodeProto;

function model(graph: ProtoWriter, docString: string, opset = ONNX_OPSET): Uint8Array {
  const irVersion = IR_VERSION[opset];
  if (irVersion === undefined) throw new Error(`ONNX export: opset ${opset} is not supported (IR version unknown)`);
  return modelProto(irVersion, opset, docString, graph);
}

// ---------------------------------------------------------------------------------------------
// Dense networks

/**
 * Exports a dense network as an ONNX model: input `x` float [N, in], output `y` float [N, out];
 * each layer is a Gemm (x · W + b) followed by its activation's operator (from the activation table).
 * The model declares opset 13, or the newest opset an activation's operator needs.
 *
 * @example
 * ```ts
 * import { Dense, Sequential, denseWeights, exportDenseOnnx } from 'backprop';
 * const net = new Sequential(new Dense(4, 8, { activation: 'relu' }), new Dense(8, 3, { activation: 'softmax' }));
 * const bytes = exportDenseOnnx(denseWeights(net));   // onnxruntime: InferenceSession.create(bytes)
 * ```
 */
export function exportDenseOnnx(net: DenseNetWeights): Uint8Array {
  validateDenseNet(net);
  const nodes: ProtoWriter[] = [];
  const initializer: ProtoWriter[] = [];
  let current = 'x';
  net.layers.forEach((layer, k) => {
    const last = k === net.layers.length - 1;
    initializer.push(floatTensor(`layers.${k}.weight`, [layer.inSize, layer.outSize], layer.weight));
    initializer.push(floatTensor(`layers.${k}.bias`, [layer.outSize], layer.bias));
    nodes.push(node('Gemm', [current, `layers.${k}.weight`, `layers.${k}.bias`], [`layers.${k}.z`]));
    current = last ? 'y' : `layers.${k}.y`;
    const { op, attributes } = activationRow(layer.activation).onnx;
    nodes.push(node(op, [`layers.${k}.z`], [current], attributes));
  });
  const opset = Math.max(ONNX_OPSET, ...net.layers.map((l) => activationRow(l.activation).onnx.opset));
  const first = net.layers[0]!;
  const lastLayer = net.layers[net.layers.length - 1]!;
  const graph = graphProto('backprop_dense', nodes, initializer,
    [valueInfoProto('x', FLOAT, ['N', first.inSize])], [valueInfoProto('y', FLOAT, ['N', lastLayer.outSize])]);
  return model(graph, `Dense network ${[first.inSize, ...net.layers.map((l) => l.outSize)].join('-')} exported by backprop: y = f(x·W + b) per layer.`, opset);
}

// ---------------------------------------------------------------------------------------------
// The LSTM language model

/**
 * Converts one BasicLSTMCell layer to ONNX LSTM parameters (one direction).
 *
 *   ours:  z = [x, h] · kernel + bias     kernel [in + H, 4H], columns  i | j | f | o
 *          f = σ(z_f + forgetBias)
 *   ONNX:  z = x · Wᵀ + h · Rᵀ + Wb + Rb  W [1, 4H, in], R [1, 4H, H], rows  i | o | f | c
 *          B [1, 8H] = Wb ‖ Rb
 *
 * So ONNX gate block g takes our column block SOURCE_BLOCK[g] (c is our j), transposed; the top
 * `in` rows of the kernel feed W, the bottom H rows feed R; Wb is our bias with forgetBias
 * folded into the f block, and Rb is zero.
 */
export function onnxLstmWeights(kernel: Float32Array, bias: Float32Array, inSize: number, H: number, forgetBias: number):
  { W: Float32Array; R: Float32Array; B: Float32Array } {
  // ONNX block order i, o, f, c  ←  our column blocks i=0, j=1, f=2, o=3
  const SOURCE_BLOCK = [0, 3, 2, 1];
  const W = new Float32Array(4 * H * inSize);
  const R = new Float32Array(4 * H * H);
  const B = new Float32Array(8 * H); // second half (Rb) stays zero
  for (let g = 0; g < 4; g++) {
    for (let k = 0; k < H; k++) {
      const ours = SOURCE_BLOCK[g]! * H + k; // column in our kernel
      const row = g * H + k; // row in W and R
      for (let r = 0; r < inSize; r++) W[row * inSize + r] = kernel[r * 4 * H + ours]!;
      for (let r = 0; r < H; r++) R[row * H + r] = kernel[(inSize + r) * 4 * H + ours]!;
      B[row] = bias[ours]! + (g === 2 ? forgetBias : 0);
    }
  }
  return { W, R, B };
}

/**
 * Converts one TF GRUCell layer to ONNX GRU parameters (one direction, `linear_before_reset = 0`).
 *
 *   ours:  [r, u] = σ([x, h] · kernel + bias)          kernel [in + H, 2H], columns  r | u
 *          c̃ = tanh([x, r⊙h] · candKernel + candBias)  candKernel [in + H, H]
 *          h' = u⊙h + (1 − u)⊙c̃
 *   ONNX:  z = σ(x·Wzᵀ + h·Rzᵀ + Wbz + Rbz)   r = σ(x·Wrᵀ + h·Rrᵀ + Wbr + Rbr)
 *          ĥ = tanh(x·Whᵀ + (r⊙h)·Rhᵀ + Rbh + Wbh)     (linear_before_reset = 0: r multiplies h
 *          H' = (1 − z)⊙ĥ + z⊙h                          BEFORE the matmul, as TF's GRUCell does)
 *          W [1, 3H, in], R [1, 3H, H], rows  z | r | h;  B [1, 6H] = Wb ‖ Rb
 *
 * So ONNX's z is our u (kernel block 1), its r our r (block 0), its h our candidate; the top `in` rows
 * of each kernel feed W, the bottom H rows R (the candidate's bottom rows multiply r⊙h, as Rh does);
 * Wb holds our biases and Rb is zero.
 */
export function onnxGruWeights(layer: RecurrentLayerWeights, inSize: number, H: number): { W: Float32Array; R: Float32Array; B: Float32Array } {
  const W = new Float32Array(3 * H * inSize), R = new Float32Array(3 * H * H), B = new Float32Array(6 * H);
  const K = layer.candKernel!, Kb = layer.candBias!;
  for (let g = 0; g < 3; g++) {
    // (matrix, its columns, the column block): z ← u = block 1 of kernel; r ← block 0; h ← candKernel.
    const [M, cols, block, bias] = g === 0 ? [layer.kernel, 2 * H, 1, layer.bias] : g === 1 ? [layer.kernel, 2 * H, 0, layer.bias] : [K, H, 0, Kb];
    for (let k = 0; k < H; k++) {
      const ours = block * H + k, row = g * H + k;
      for (let r = 0; r < inSize; r++) W[row * inSize + r] = M[r * cols + ours]!;
      for (let r = 0; r < H; r++) R[row * H + r] = M[(inSize + r) * cols + ours]!;
      B[row] = bias[ours]!;
    }
  }
  return { W, R, B };
}

/**
 * Converts one tanh RNN layer (h' = tanh([x, h] · kernel + bias), kernel [in + H, H]) to ONNX RNN
 * parameters: W [1, H, in] = kernel[:in]ᵀ, R [1, H, H] = kernel[in:]ᵀ, B [1, 2H] = bias ‖ 0.
 */
export function onnxRnnWeights(layer: RecurrentLayerWeights, inSize: number, H: number): { W: Float32Array; R: Float32Array; B: Float32Array } {
  const W = new Float32Array(H * inSize), R = new Float32Array(H * H), B = new Float32Array(2 * H);
  for (let k = 0; k < H; k++) {
    for (let r = 0; r < inSize; r++) W[k * inSize + r] = layer.kernel[r * H + k]!;
    for (let r = 0; r < H; r++) R[k * H + r] = layer.kernel[(inSize + r) * H + k]!;
    B[k] = layer.bias[k]!;
  }
  return { W, R, B };
}

/** The ONNX operator, its gate count and its extra attributes per cell kind. */
const ONNX_CELL = {
  lstm: { op: 'LSTM', gates: 4, attributes: {} },
  gru: { op: 'GRU', gates: 3, attributes: { linear_before_reset: 0 } },
  rnn: { op: 'RNN', gates: 1, attributes: {} },
} as const;

/**
 * Exports a language model of any cell (LSTM, GRU or tanh RNN) as an ONNX model for stateful inference.
 *
 *   inputs   tokens int64 [T, B]   (seq-major: tokens[t, b] is step t of stream b)
 *            h0 float [L, B, H]    (zeros to start; the previous call's hT to continue)
 *            c0 float [L, B, H]    (LSTM only, likewise with cT)
 *   outputs  logits float [T, B, V], hT (and for an LSTM cT) float [L, B, H]
 *
 * Graph: Gather(embedding, tokens) → per layer l: LSTM | GRU | RNN (x, W_l, R_l, B_l, h0[l] (, c0[l]))
 * whose Y [T, 1, B, H] is squeezed to the next layer's input → MatMul(proj.weight) + proj.bias; the
 * per-layer final states are concatenated into hT (and cT).
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, exportLmOnnx, lmWeights } from 'backprop';
 * const lm = new LanguageModel({ vocabSize: 10, embedSize: 4, hiddenSize: 8, numLayers: 1, cell: 'gru',
 *   keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(1));
 * const onnxBytes = exportLmOnnx(lmWeights(lm));   // a Uint8Array: write it, or InferenceSession.create(onnxBytes)
 * ```
 */
export function exportLmOnnx(lm: RecurrentLmWeights): Uint8Array {
  validateRecurrentLm(lm);
  const { vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, cell } = lm;
  const { op, gates, attributes } = ONNX_CELL[cell];
  const hasC = cell === 'lstm';
  const initializer: ProtoWriter[] = [
    floatTensor('embedding.weight', [V, E], lm.embedding),
    floatTensor('proj.weight', [H, V], lm.projWeight),
    floatTensor('proj.bias', [V], lm.projBias),
    int64Tensor('axis1', [1], [1]),
  ];
  const nodes: ProtoWriter[] = [node('Gather', ['embedding.weight', 'tokens'], ['embedded'], { axis: 0 })];
  let x = 'embedded'; // [T, B, in]
  lm.layers.forEach((layer, l) => {
    const inSize = l === 0 ? E : H;
    const { W, R, B } = cell === 'lstm' ? onnxLstmWeights(layer.kernel, layer.bias, inSize, H, lm.forgetBias)
      : cell === 'gru' ? onnxGruWeights(layer, inSize, H) : onnxRnnWeights(layer, inSize, H);
    const p = `${cell}.${l}`;
    initializer.push(
      floatTensor(`${p}.W`, [1, gates * H, inSize], W),
      floatTensor(`${p}.R`, [1, gates * H, H], R),
      floatTensor(`${p}.B`, [1, 2 * gates * H], B),
      int64Tensor(`${p}.index`, [1], [l]),
    );
    // h0[l:l+1] (and c0): Gather with a 1-element index vector keeps the axis, giving [1, B, H].
    nodes.push(node('Gather', ['h0', `${p}.index`], [`${p}.h0`], { axis: 0 }));
    if (hasC) nodes.push(node('Gather', ['c0', `${p}.index`], [`${p}.c0`], { axis: 0 }));
    nodes.push(node(op,
      [x, `${p}.W`, `${p}.R`, `${p}.B`, '', `${p}.h0`, ...(hasC ? [`${p}.c0`] : [])],
      [`${p}.Y`, `${p}.hT`, ...(hasC ? [`${p}.cT`] : [])],
      { hidden_size: H, ...attributes }));
    nodes.push(node('Squeeze', [`${p}.Y`, 'axis1'], [`${p}.y`])); // [T, 1, B, H] → [T, B, H]
    x = `${p}.y`;
  });
  nodes.push(node('MatMul', [x, 'proj.weight'], ['proj.z']));
  nodes.push(node('Add', ['proj.z', 'proj.bias'], ['logits']));
  nodes.push(node('Concat', lm.layers.map((_, l) => `${cell}.${l}.hT`), ['hT'], { axis: 0 }));
  if (hasC) nodes.push(node('Concat', lm.layers.map((_, l) => `lstm.${l}.cT`), ['cT'], { axis: 0 }));

  const state = (name: string) => valueInfoProto(name, FLOAT, [L, 'B', H]);
  const graph = graphProto(`backprop_${cell}_lm`, nodes, initializer,
    [valueInfoProto('tokens', INT64, ['T', 'B']), state('h0'), ...(hasC ? [state('c0')] : [])],
    [valueInfoProto('logits', FLOAT, ['T', 'B', V]), state('hT'), ...(hasC ? [state('cT')] : [])]);
  const states = hasC ? 'h0/c0' : 'h0';
  return model(graph,
    `${cell.toUpperCase()} language model exported by backprop: V=${V} E=${E} H=${H} L=${L}` +
    (hasC ? `, forget bias ${lm.forgetBias} folded into the f-gate bias` : '') + '. ' +
    `Inputs tokens int64 [T, B] (seq-major), ${states} [L, B, H]; outputs logits [T, B, V], ${hasC ? 'hT/cT' : 'hT'} [L, B, H].`);
}

/**
 * Exports the LSTM language model (`exportLmOnnx` with cell 'lstm'): inputs tokens int64 [T, B], h0 and
 * c0 float [L, B, H]; outputs logits [T, B, V], hT and cT [L, B, H].
 *
 * @example
 * ```ts
 * import { exportLstmLmOnnx, recurrentLmFromTensors, decodeSafetensors } from 'backprop';
 * declare const bytes: Uint8Array; // an exported NAME.safetensors of an LSTM model
 * const onnxBytes = exportLstmLmOnnx(recurrentLmFromTensors(decodeSafetensors(bytes).tensors, 0));
 * ```
 */
export function exportLstmLmOnnx(lm: LstmLmWeights): Uint8Array {
  return exportLmOnnx({ ...lm, cell: 'lstm' });
}
