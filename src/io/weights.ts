/**
 * Plain weight records for the model families we export (dense networks and the LSTM, GRU and RNN
 * language models), and the tensor naming scheme that maps them to and from named tensors in
 * checkpoints and weight files. docs/formats.md describes the same scheme for other tools.
 *
 * Dimension letters: V vocabulary, E embedding width, H hidden width, L recurrent layers.
 * Every matrix is row-major and multiplies from the right: y = x · W + b, W [in, out].
 */
import { FormatError } from '../errors.js';
import type { ActivationKind } from '../nn/activations.js';
import type { TensorRecord } from './safetensors.js';

/** A dense layer's activation: a row of the activation table (src/nn/activations.ts). */
export type DenseActivation = ActivationKind;

/** One dense layer, y = f(x · weight + bias); `weight` [inSize, outSize], `bias` [outSize]. */
export interface DenseLayerWeights {
  weight: Float32Array;
  bias: Float32Array;
  inSize: number;
  outSize: number;
  activation: DenseActivation;
}

/** A dense network's weights as plain arrays, layer by layer (what `exportDenseOnnx` takes). */
export interface DenseNetWeights {
  layers: DenseLayerWeights[];
}

/**
 * One LSTM layer in TensorFlow's BasicLSTMCell layout: z = [x, h] · kernel + bias,
 * `kernel` [inSize + H, 4H], `bias` [4H], gate columns in order i, j, f, o (each H wide).
 */
export interface LstmLayerWeights {
  kernel: Float32Array;
  bias: Float32Array;
}

/**
 * The LSTM language model: embedding → L stacked LSTM layers → projection to logits.
 * `embedding` [V, E]; layer 0 reads E inputs, later layers H; `projWeight` [H, V], `projBias` [V].
 * `forgetBias` is added to the forget gate's pre-activation (f = σ(z_f + forgetBias)).
 */
export interface LstmLmWeights {
  vocabSize: number;
  embedSize: number;
  hiddenSize: number;
  numLayers: number;
  forgetBias: number;
  embedding: Float32Array;
  layers: LstmLayerWeights[];
  projWeight: Float32Array;
  projBias: Float32Array;
}

/** Throws `FormatError` naming `what` if `data` does not hold `expected` values. */
export function checkSize(what: string, data: ArrayLike<number>, expected: number, source: string): void {
  if (data.length !== expected) {
    throw new FormatError(`${source}: ${what} has ${data.length} values, expected ${expected}`);
  }
}

/** Checks every array in a dense net against its declared sizes. */
export function validateDenseNet(net: DenseNetWeights, source = 'dense net'): void {
  if (net.layers.length === 0) throw new FormatError(`${source}: has no layers`);
  net.layers.forEach((layer, k) => {
    checkSize(`layers.${k}.weight [${layer.inSize}, ${layer.outSize}]`, layer.weight, layer.inSize * layer.outSize, source);
    checkSize(`layers.${k}.bias [${layer.outSize}]`, layer.bias, layer.outSize, source);
    if (k > 0 && layer.inSize !== net.layers[k - 1]!.outSize) {
      throw new FormatError(`${source}: layers.${k} reads ${layer.inSize} inputs but layers.${k - 1} gives ${net.layers[k - 1]!.outSize}`);
    }
  });
}

/** Checks every array in an LSTM LM against V, E, H, L. */
export function validateLstmLm(lm: LstmLmWeights, source = 'LSTM LM'): void {
  const { vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L } = lm;
  if (lm.layers.length !== L) throw new FormatError(`${source}: numLayers is ${L} but ${lm.layers.length} layers are given`);
  checkSize(`embedding.weight [${V}, ${E}]`, lm.embedding, V * E, source);
  lm.layers.forEach((layer, l) => {
    const inSize = l === 0 ? E : H;
    checkSize(`lstm.${l}.kernel [${inSize + H}, ${4 * H}]`, layer.kernel, (inSize + H) * 4 * H, source);
    checkSize(`lstm.${l}.bias [${4 * H}]`, layer.bias, 4 * H, source);
  });
  checkSize(`proj.weight [${H}, ${V}]`, lm.projWeight, H * V, source);
  checkSize(`proj.bias [${V}]`, lm.projBias, V, source);
}

/**
 * Names an LSTM LM's weights: embedding.weight, lstm.{l}.kernel, lstm.{l}.bias, proj.weight, proj.bias.
 *
 * @example
 * ```ts
 * import { lstmLmToTensors, encodeSafetensors, type LstmLmWeights } from 'backprop';
 * declare const lm: LstmLmWeights;
 * const bytes = encodeSafetensors(lstmLmToTensors(lm));
 * ```
 */
export function lstmLmToTensors(lm: LstmLmWeights): Record<string, TensorRecord> {
  validateLstmLm(lm);
  const { vocabSize: V, embedSize: E, hiddenSize: H } = lm;
  const tensors: Record<string, TensorRecord> = { 'embedding.weight': { shape: [V, E], data: lm.embedding } };
  lm.layers.forEach((layer, l) => {
    tensors[`lstm.${l}.kernel`] = { shape: [(l === 0 ? E : H) + H, 4 * H], data: layer.kernel };
    tensors[`lstm.${l}.bias`] = { shape: [4 * H], data: layer.bias };
  });
  tensors['proj.weight'] = { shape: [H, V], data: lm.projWeight };
  tensors['proj.bias'] = { shape: [V], data: lm.projBias };
  return tensors;
}

/**
 * A tied model's output weights as the one matrix [H, V] of the untied layout: Eᵀ for the embedding
 * E [V, E'] (H = E'), or P·Eᵀ with the projection P [H, E'] (summed in float64, rounded once).
 */
export function tiedProjWeight(embedding: Float32Array, V: number, E: number, P: Float32Array | null, H: number): Float32Array {
  const out = new Float32Array(H * V);
  for (let h = 0; h < H; h++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      if (P) for (let e = 0; e < E; e++) s += P[h * E + e]! * embedding[v * E + e]!;
      else s = embedding[v * E + h]!;
      out[h * V + v] = s;
    }
  }
  return out;
}

/**
 * The output weights [H, V] from a file's tensors: `proj.weight`; or, in a tied model's file (no
 * proj.weight beside a proj.bias: the output reads `embedding.weight`, stored once), Eᵀ, or P·Eᵀ with
 * `proj.hiddenToEmbed` P [H, E].
 */
function projOf(tensors: Record<string, TensorRecord>, embedding: { shape: number[]; data: Float32Array }, source: string): { shape: number[]; data: Float32Array } {
  if (Object.hasOwn(tensors, 'proj.weight') || !Object.hasOwn(tensors, 'proj.bias')) return tensorOf(tensors, 'proj.weight', 2, source);
  const [V, E] = embedding.shape as [number, number];
  const P = Object.hasOwn(tensors, 'proj.hiddenToEmbed') ? tensorOf(tensors, 'proj.hiddenToEmbed', 2, source) : null;
  if (P && P.shape[1] !== E) throw new FormatError(`${source}: tensor "proj.hiddenToEmbed" has shape [${P.shape.join(', ')}], expected [H, ${E}]`);
  const H = P ? P.shape[0]! : E;
  return { shape: [H, V], data: tiedProjWeight(embedding.data, V, E, P?.data ?? null, H) };
}

/** Tensor `name` of rank `rank` from a file's tensors, as float32, or a FormatError naming the file and tensor. */
function tensorOf(tensors: Record<string, TensorRecord>, name: string, rank: number, source: string): { shape: number[]; data: Float32Array } {
  const t = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
  if (t === undefined) throw new FormatError(`${source}: missing tensor "${name}"`);
  if (t.shape.length !== rank) throw new FormatError(`${source}: tensor "${name}" has shape [${t.shape.join(', ')}], expected rank ${rank}`);
  return { shape: [...t.shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) };
}

/**
 * Rebuilds an LSTM LM from named tensors (a checkpoint's or an imported file's), reading V, E, H
 * and L from the shapes. `forgetBias` is not a tensor; it comes from the model's configuration.
 *
 * @example
 * ```ts
 * import { lstmLmFromTensors, decodeSafetensors } from 'backprop';
 * declare const bytes: Uint8Array;
 * const lm = lstmLmFromTensors(decodeSafetensors(bytes).tensors, 0, 'ptb.safetensors');
 * ```
 */
export function lstmLmFromTensors(tensors: Record<string, TensorRecord>, forgetBias: number, source = '<tensors>'): LstmLmWeights {
  const get = (name: string, rank: number) => tensorOf(tensors, name, rank, source);
  const embedding = get('embedding.weight', 2);
  const [V, E] = embedding.shape as [number, number];
  const proj = projOf(tensors, embedding, source);
  const H = proj.shape[0]!;
  let L = 0;
  while (Object.hasOwn(tensors, `lstm.${L}.kernel`)) L++;
  const layers: LstmLayerWeights[] = [];
  for (let l = 0; l < L; l++) layers.push({ kernel: get(`lstm.${l}.kernel`, 2).data, bias: get(`lstm.${l}.bias`, 1).data });
  const lm: LstmLmWeights = {
    vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, forgetBias,
    embedding: embedding.data, layers, projWeight: proj.data, projBias: get('proj.bias', 1).data,
  };
  if (L === 0) throw new FormatError(`${source}: missing tensor "lstm.0.kernel"`);
  validateLstmLm(lm, source);
  return lm;
}

/**
 * Names a dense net's weights: layers.{k}.weight [in, out], layers.{k}.bias [out].
 *
 * @example
 * ```ts
 * import { Dense, denseWeights, denseToTensors } from 'backprop';
 * denseToTensors(denseWeights(new Dense(2, 1)));   // { 'layers.0.weight': …, 'layers.0.bias': … }
 * ```
 */
export function denseToTensors(net: DenseNetWeights): Record<string, TensorRecord> {
  validateDenseNet(net);
  const tensors: Record<string, TensorRecord> = {};
  net.layers.forEach((layer, k) => {
    tensors[`layers.${k}.weight`] = { shape: [layer.inSize, layer.outSize], data: layer.weight };
    tensors[`layers.${k}.bias`] = { shape: [layer.outSize], data: layer.bias };
  });
  return tensors;
}

/**
 * Rebuilds a dense net from named tensors; activations are configuration, one per layer.
 *
 * @example
 * ```ts
 * import { denseFromTensors, decodeSafetensors } from 'backprop';
 * declare const bytes: Uint8Array;
 * const net = denseFromTensors(decodeSafetensors(bytes).tensors, ['relu', 'softmax']);
 * ```
 */
export function denseFromTensors(tensors: Record<string, TensorRecord>, activations: DenseActivation[], source = '<tensors>'): DenseNetWeights {
  const layers = activations.map((activation, k): DenseLayerWeights => {
    const weight = Object.hasOwn(tensors, `layers.${k}.weight`) ? tensors[`layers.${k}.weight`] : undefined;
    const bias = Object.hasOwn(tensors, `layers.${k}.bias`) ? tensors[`layers.${k}.bias`] : undefined;
    if (weight === undefined || bias === undefined) throw new FormatError(`${source}: missing tensor "layers.${k}.${weight ? 'bias' : 'weight'}"`);
    if (weight.shape.length !== 2) throw new FormatError(`${source}: tensor "layers.${k}.weight" has shape [${weight.shape.join(', ')}], expected [in, out]`);
    return {
      weight: Float32Array.from(weight.data), bias: Float32Array.from(bias.data),
      inSize: weight.shape[0]!, outSize: weight.shape[1]!, activation,
    };
  });
  const net = { layers };
  validateDenseNet(net, source);
  return net;
}

// ---------------------------------------------------------------------------------------------
// Language models of any cell (LSTM, GRU, RNN)

/** The recurrent cells a language model can use (nn/recurrent.ts). */
export type RecurrentCellKind = 'lstm' | 'gru' | 'rnn';

/**
 * One recurrent layer, TensorFlow's cells (src/autodiff/cells.ts), rows of every kernel = [x, h]:
 * - lstm: `kernel` [in + H, 4H] (gates i, j, f, o), `bias` [4H];
 * - gru:  `kernel` [in + H, 2H] (gates r, u), `bias` [2H], `candKernel` [in + H, H] (rows [x, r⊙h]), `candBias` [H];
 * - rnn:  `kernel` [in + H, H], `bias` [H].
 */
export interface RecurrentLayerWeights {
  kernel: Float32Array;
  bias: Float32Array;
  candKernel?: Float32Array;
  candBias?: Float32Array;
}

/** A language model of any cell: embedding → L recurrent layers → projection, as `LstmLmWeights`. */
export interface RecurrentLmWeights extends Omit<LstmLmWeights, 'layers'> {
  cell: RecurrentCellKind;
  layers: RecurrentLayerWeights[];
}

/** Gate blocks per cell kind (columns of `kernel` are this many H-wide blocks). */
export const CELL_GATES: Readonly<Record<RecurrentCellKind, number>> = { lstm: 4, gru: 2, rnn: 1 };

/** Checks every array in a language model of any cell against V, E, H, L. */
export function validateRecurrentLm(lm: RecurrentLmWeights, source = `${lm.cell?.toUpperCase()} LM`): void {
  if (!Object.hasOwn(CELL_GATES, lm.cell)) throw new FormatError(`${source}: unknown cell ${JSON.stringify(lm.cell)} (lstm, gru or rnn)`);
  const { vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, cell } = lm;
  const G = CELL_GATES[cell];
  if (lm.layers.length !== L) throw new FormatError(`${source}: numLayers is ${L} but ${lm.layers.length} layers are given`);
  checkSize(`embedding.weight [${V}, ${E}]`, lm.embedding, V * E, source);
  lm.layers.forEach((layer, l) => {
    const inSize = l === 0 ? E : H;
    checkSize(`${cell}.${l}.kernel [${inSize + H}, ${G * H}]`, layer.kernel, (inSize + H) * G * H, source);
    checkSize(`${cell}.${l}.bias [${G * H}]`, layer.bias, G * H, source);
    if (cell === 'gru') {
      if (!layer.candKernel || !layer.candBias) throw new FormatError(`${source}: gru.${l} has no candKernel/candBias`);
      checkSize(`gru.${l}.candKernel [${inSize + H}, ${H}]`, layer.candKernel, (inSize + H) * H, source);
      checkSize(`gru.${l}.candBias [${H}]`, layer.candBias, H, source);
    }
  });
  checkSize(`proj.weight [${H}, ${V}]`, lm.projWeight, H * V, source);
  checkSize(`proj.bias [${V}]`, lm.projBias, V, source);
}

/**
 * Names a language model's weights: embedding.weight, {cell}.{l}.kernel, {cell}.{l}.bias (and for a
 * GRU gru.{l}.candKernel, gru.{l}.candBias), proj.weight, proj.bias; docs/formats.md gives the layouts.
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, lmWeights, recurrentLmToTensors, encodeSafetensors } from 'backprop';
 * declare const lm: LanguageModel;
 * const bytes = encodeSafetensors(recurrentLmToTensors(lmWeights(lm)));
 * ```
 */
export function recurrentLmToTensors(lm: RecurrentLmWeights): Record<string, TensorRecord> {
  validateRecurrentLm(lm);
  const { vocabSize: V, embedSize: E, hiddenSize: H, cell } = lm;
  const G = CELL_GATES[cell];
  const tensors: Record<string, TensorRecord> = { 'embedding.weight': { shape: [V, E], data: lm.embedding } };
  lm.layers.forEach((layer, l) => {
    const K = (l === 0 ? E : H) + H;
    tensors[`${cell}.${l}.kernel`] = { shape: [K, G * H], data: layer.kernel };
    tensors[`${cell}.${l}.bias`] = { shape: [G * H], data: layer.bias };
    if (cell === 'gru') {
      tensors[`gru.${l}.candKernel`] = { shape: [K, H], data: layer.candKernel! };
      tensors[`gru.${l}.candBias`] = { shape: [H], data: layer.candBias! };
    }
  });
  tensors['proj.weight'] = { shape: [H, V], data: lm.projWeight };
  tensors['proj.bias'] = { shape: [V], data: lm.projBias };
  return tensors;
}

/**
 * Rebuilds a language model from named tensors; the cell is read from the names (`lstm.0.kernel`,
 * `gru.0.kernel` or `rnn.0.kernel`), V, E, H and L from the shapes; `forgetBias` (LSTM only) is configuration.
 *
 * @example
 * ```ts
 * import { recurrentLmFromTensors, exportLmOnnx, decodeSafetensors } from 'backprop';
 * declare const bytes: Uint8Array;   // an exported NAME.safetensors of any cell
 * const onnxBytes = exportLmOnnx(recurrentLmFromTensors(decodeSafetensors(bytes).tensors));
 * ```
 */
export function recurrentLmFromTensors(tensors: Record<string, TensorRecord>, forgetBias = 0, source = '<tensors>'): RecurrentLmWeights {
  const cell = (['lstm', 'gru', 'rnn'] as const).find((c) => Object.hasOwn(tensors, `${c}.0.kernel`));
  if (cell === undefined) throw new FormatError(`${source}: no recurrent layer (missing tensor "lstm.0.kernel", "gru.0.kernel" or "rnn.0.kernel")`);
  const get = (name: string, rank: number) => tensorOf(tensors, name, rank, source);
  const embedding = get('embedding.weight', 2);
  const proj = projOf(tensors, embedding, source);
  let L = 0;
  while (Object.hasOwn(tensors, `${cell}.${L}.kernel`)) L++;
  const layers: RecurrentLayerWeights[] = [];
  for (let l = 0; l < L; l++) {
    layers.push({
      kernel: get(`${cell}.${l}.kernel`, 2).data, bias: get(`${cell}.${l}.bias`, 1).data,
      ...(cell === 'gru' ? { candKernel: get(`gru.${l}.candKernel`, 2).data, candBias: get(`gru.${l}.candBias`, 1).data } : {}),
    });
  }
  const lm: RecurrentLmWeights = {
    cell, vocabSize: embedding.shape[0]!, embedSize: embedding.shape[1]!, hiddenSize: proj.shape[0]!, numLayers: L, forgetBias,
    embedding: embedding.data, layers, projWeight: proj.data, projBias: get('proj.bias', 1).data,
  };
  validateRecurrentLm(lm, source);
  return lm;
}
