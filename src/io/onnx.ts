/**
 * ONNX export (opset 13, IR version 7; a newer opset only where an activation needs one) of dense
 * networks and the LSTM language model, built with
 * the ONNX message builders of onnx-proto.ts and serialized by its encoder. Pure TypeScript, no Node APIs.
 * The graphs compute exactly what `reference.ts` computes; the tests run both in onnxruntime.
 *
 * The one subtle part is the LSTM: ours is TensorFlow's BasicLSTMCell, ONNX's `LSTM` operator
 * orders and splits its parameters differently; `onnxLstmWeights` below converts between them.
 */
import { onnx, type proto } from './onnx-proto.js';
import { littleEndianBytes } from './safetensors.js';
import { activationRow } from '../nn/activations.js';
import type { DenseNetWeights, LstmLmWeights } from './weights.js';
import { validateDenseNet, validateLstmLm } from './weights.js';

/** The opset of every export, unless a dense layer's activation needs a newer one (see the activation table). */
export const ONNX_OPSET = 13;
/** The IR version that introduced each opset we may declare. */
const IR_VERSION: Readonly<Record<number, number>> = { 13: 7, 14: 8, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

// ---------------------------------------------------------------------------------------------
// Small builders over the proto messages

function floatTensor(name: string, dims: number[], values: Float32Array): proto.TensorProto {
  return onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: littleEndianBytes(values).slice() });
}

function int64Tensor(name: string, dims: number[], values: number[]): proto.TensorProto {
  const data = BigInt64Array.from(values, (v) => BigInt(v));
  return onnx.TensorProto.create({ name, dims, dataType: INT64, rawData: littleEndianBytes(data).slice() });
}

/** A graph input/output; a string dimension is symbolic (N, T, B), a number fixed. */
function valueInfo(name: string, elemType: number, dims: Array<number | string>): proto.ValueInfoProto {
  const dim = dims.map((d) => onnx.TensorShapeProto.Dimension.create(typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType, shape: onnx.TensorShapeProto.create({ dim }) }) }),
  });
}

function node(opType: string, inputs: string[], outputs: string[], attributes: Readonly<Record<string, number | string>> = {}): proto.NodeProto {
  const attribute = Object.entries(attributes).map(([name, v]) => typeof v === 'number'
    ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })
    : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(v) }));
  return onnx.NodeProto.create({ name: `${opType}_${outputs[0]}`, opType, input: inputs, output: outputs, attribute });
}

function model(graph: proto.GraphProto, docString: string, opset = ONNX_OPSET): Uint8Array {
  const irVersion = IR_VERSION[opset];
  if (irVersion === undefined) throw new Error(`ONNX export: opset ${opset} is not supported (IR version unknown)`);
  const proto = onnx.ModelProto.create({
    irVersion,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opset })],
    producerName: 'backprop',
    docString,
    graph,
  });
  return onnx.ModelProto.encode(proto).finish();
}

// ---------------------------------------------------------------------------------------------
// Dense networks

/**
 * Exports a dense network as an ONNX model: input `x` float [N, in], output `y` float [N, out];
 * each layer is a Gemm (x · W + b) followed by its activation's operator (from the activation table).
 * The model declares opset 13, or the newest opset an activation's operator needs.
 *
 * @example
 *   const bytes = exportDenseOnnx({ layers: [{ weight, bias, inSize: 4, outSize: 3, activation: 'softmax' }] });
 *   const session = await ort.InferenceSession.create(bytes);
 */
export function exportDenseOnnx(net: DenseNetWeights): Uint8Array {
  validateDenseNet(net);
  const nodes: proto.NodeProto[] = [];
  const initializer: proto.TensorProto[] = [];
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
  const graph = onnx.GraphProto.create({
    name: 'backprop_dense',
    node: nodes,
    initializer,
    input: [valueInfo('x', FLOAT, ['N', first.inSize])],
    output: [valueInfo('y', FLOAT, ['N', lastLayer.outSize])],
  });
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
 * Exports the LSTM language model as an ONNX model for stateful inference.
 *
 *   inputs   tokens int64 [T, B]   (seq-major: tokens[t, b] is step t of stream b)
 *            h0, c0 float [L, B, H]  (zeros to start; the previous call's hT/cT to continue)
 *   outputs  logits float [T, B, V], hT, cT float [L, B, H]
 *
 * Graph: Gather(embedding, tokens) → per layer l: LSTM(x, W_l, R_l, B_l, h0[l], c0[l]) whose
 * Y [T, 1, B, H] is squeezed to the next layer's input → MatMul(proj.weight) + proj.bias; the
 * per-layer final states are concatenated into hT and cT.
 */
export function exportLstmLmOnnx(lm: LstmLmWeights): Uint8Array {
  validateLstmLm(lm);
  const { vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L } = lm;
  const initializer: proto.TensorProto[] = [
    floatTensor('embedding.weight', [V, E], lm.embedding),
    floatTensor('proj.weight', [H, V], lm.projWeight),
    floatTensor('proj.bias', [V], lm.projBias),
    int64Tensor('axis1', [1], [1]),
  ];
  const nodes: proto.NodeProto[] = [node('Gather', ['embedding.weight', 'tokens'], ['embedded'], { axis: 0 })];
  let x = 'embedded'; // [T, B, in]
  lm.layers.forEach((layer, l) => {
    const inSize = l === 0 ? E : H;
    const { W, R, B } = onnxLstmWeights(layer.kernel, layer.bias, inSize, H, lm.forgetBias);
    initializer.push(
      floatTensor(`lstm.${l}.W`, [1, 4 * H, inSize], W),
      floatTensor(`lstm.${l}.R`, [1, 4 * H, H], R),
      floatTensor(`lstm.${l}.B`, [1, 8 * H], B),
      int64Tensor(`lstm.${l}.index`, [1], [l]),
    );
    // h0[l:l+1], c0[l:l+1]: Gather with a 1-element index vector keeps the axis, giving [1, B, H].
    nodes.push(node('Gather', ['h0', `lstm.${l}.index`], [`lstm.${l}.h0`], { axis: 0 }));
    nodes.push(node('Gather', ['c0', `lstm.${l}.index`], [`lstm.${l}.c0`], { axis: 0 }));
    nodes.push(node('LSTM',
      [x, `lstm.${l}.W`, `lstm.${l}.R`, `lstm.${l}.B`, '', `lstm.${l}.h0`, `lstm.${l}.c0`],
      [`lstm.${l}.Y`, `lstm.${l}.hT`, `lstm.${l}.cT`],
      { hidden_size: H }));
    nodes.push(node('Squeeze', [`lstm.${l}.Y`, 'axis1'], [`lstm.${l}.y`])); // [T, 1, B, H] → [T, B, H]
    x = `lstm.${l}.y`;
  });
  nodes.push(node('MatMul', [x, 'proj.weight'], ['proj.z']));
  nodes.push(node('Add', ['proj.z', 'proj.bias'], ['logits']));
  nodes.push(node('Concat', lm.layers.map((_, l) => `lstm.${l}.hT`), ['hT'], { axis: 0 }));
  nodes.push(node('Concat', lm.layers.map((_, l) => `lstm.${l}.cT`), ['cT'], { axis: 0 }));

  const graph = onnx.GraphProto.create({
    name: 'backprop_lstm_lm',
    node: nodes,
    initializer,
    input: [valueInfo('tokens', INT64, ['T', 'B']), valueInfo('h0', FLOAT, [L, 'B', H]), valueInfo('c0', FLOAT, [L, 'B', H])],
    output: [valueInfo('logits', FLOAT, ['T', 'B', V]), valueInfo('hT', FLOAT, [L, 'B', H]), valueInfo('cT', FLOAT, [L, 'B', H])],
  });
  return model(graph,
    `LSTM language model exported by backprop: V=${V} E=${E} H=${H} L=${L}, forget bias ${lm.forgetBias} folded into the f-gate bias. ` +
    'Inputs tokens int64 [T, B] (seq-major), h0/c0 [L, B, H]; outputs logits [T, B, V], hT/cT [L, B, H].');
}
