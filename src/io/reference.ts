/**
 * Plain reference forwards of the exported models, written for clarity (loops, float64), used to
 * check that the ONNX graphs compute the same function as our models. They define the math:
 *
 *   dense layer:  y = f(x · W + b)
 *   LSTM cell (TensorFlow BasicLSTMCell), z = [x, h] · kernel + bias, columns i, j, f, o:
 *     i = σ(z_i)   j = tanh(z_j)   f = σ(z_f + forgetBias)   o = σ(z_o)
 *     c' = f ⊙ c + i ⊙ j           h' = o ⊙ tanh(c')
 *   GRU cell (TensorFlow GRUCell), [r, u] = σ([x, h] · kernel + bias):
 *     c̃ = tanh([x, r ⊙ h] · candKernel + candBias)    h' = u ⊙ h + (1 − u) ⊙ c̃
 *   RNN cell (BasicRNNCell):  h' = tanh([x, h] · kernel + bias)
 */
import { activationRow } from '../nn/activations.js';
import type { DenseActivation, DenseNetWeights, LstmLmWeights, RecurrentLmWeights } from './weights.js';
import { validateDenseNet, validateLstmLm, validateRecurrentLm } from './weights.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Applies `activation` in place to each row of `y` [N, D], with the activation table's float64 reference. */
function activate(y: Float64Array, N: number, D: number, activation: DenseActivation): void {
  const act = activationRow(activation);
  for (let n = 0; n < N; n++) {
    const row = y.subarray(n * D, (n + 1) * D);
    if (act.scalar === null) { act.rowwise(row); continue; }
    for (let d = 0; d < D; d++) row[d] = act.scalar.f(row[d]!);
  }
}

/** Dense forward. x [N, in] → y [N, out]. */
export function denseForward(net: DenseNetWeights, x: Float32Array, N: number): Float32Array {
  validateDenseNet(net);
  let input = Float64Array.from(x);
  for (const layer of net.layers) {
    const { inSize: I, outSize: O } = layer;
    const y = new Float64Array(N * O);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < O; o++) {
        let sum = layer.bias[o]!;
        for (let i = 0; i < I; i++) sum += input[n * I + i]! * layer.weight[i * O + o]!;
        y[n * O + o] = sum;
      }
    }
    activate(y, N, O, layer.activation);
    input = y;
  }
  return Float32Array.from(input);
}

/** What the language-model reference forwards return (`cT` is empty for GRU and RNN models). */
export interface LstmLmOutputs {
  /** [T, B, V] */
  logits: Float32Array;
  /** [L, B, H], the state after the last step, to pass as the next call's h0/c0. */
  hT: Float32Array;
  cT: Float32Array;
}

/**
 * LSTM LM forward over a whole sequence, seq-major.
 * tokens [T, B] (token ids), h0 and c0 [L, B, H] → logits [T, B, V], hT and cT [L, B, H].
 */
export function lstmLmForward(lm: LstmLmWeights, tokens: ArrayLike<number>, T: number, B: number, h0: Float32Array, c0: Float32Array): LstmLmOutputs {
  validateLstmLm(lm);
  return lmForward({ ...lm, cell: 'lstm' }, tokens, T, B, h0, c0);
}

/** [x, h] · M + b for one row: M [in + H, cols], the result [cols] in float64. */
function affineRow(x: Float64Array, h: Float64Array, M: Float32Array, b: Float32Array, cols: number): Float64Array {
  const z = Float64Array.from(b);
  for (let r = 0; r < x.length; r++) for (let col = 0; col < cols; col++) z[col]! += x[r]! * M[r * cols + col]!;
  for (let r = 0; r < h.length; r++) for (let col = 0; col < cols; col++) z[col]! += h[r]! * M[(x.length + r) * cols + col]!;
  return z;
}

/**
 * A language model of any cell over a whole sequence, seq-major: tokens [T, B], h0 (and for an LSTM
 * c0) [L, B, H] → logits [T, B, V], hT (cT) [L, B, H].
 */
export function recurrentLmForward(lm: RecurrentLmWeights, tokens: ArrayLike<number>, T: number, B: number, h0: Float32Array, c0?: Float32Array): LstmLmOutputs {
  if (lm.cell === 'lstm') return lstmLmForward(lm, tokens, T, B, h0, c0 ?? new Float32Array(h0.length));
  validateRecurrentLm(lm);
  return lmForward(lm, tokens, T, B, h0, new Float32Array(0));
}

/** The one time loop behind both (weights already validated): embedding, each layer's cell, projection. */
function lmForward(lm: RecurrentLmWeights, tokens: ArrayLike<number>, T: number, B: number, h0: Float32Array, c0: Float32Array): LstmLmOutputs {
  const { vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L } = lm;
  const h = Float64Array.from(h0), c = Float64Array.from(c0);
  const logits = new Float32Array(T * B * V);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const token = tokens[t * B + b]!;
      let x: Float64Array = Float64Array.from(lm.embedding.subarray(token * E, (token + 1) * E));
      for (let l = 0; l < L; l++) {
        const layer = lm.layers[l]!;
        const hPrev = h.subarray((l * B + b) * H, (l * B + b + 1) * H);
        const hNew = new Float64Array(H);
        if (lm.cell === 'lstm') {
          const cPrev = c.subarray((l * B + b) * H, (l * B + b + 1) * H);
          const z = affineRow(x, hPrev, layer.kernel, layer.bias, 4 * H); // gates i, j, f, o
          const forgetBias = lm.forgetBias ?? 0;
          for (let k = 0; k < H; k++) {
            const i = sigmoid(z[k]!), j = Math.tanh(z[H + k]!), f = sigmoid(z[2 * H + k]! + forgetBias), o = sigmoid(z[3 * H + k]!);
            cPrev[k] = f * cPrev[k]! + i * j;
            hNew[k] = o * Math.tanh(cPrev[k]!);
          }
        } else if (lm.cell === 'rnn') {
          const z = affineRow(x, hPrev, layer.kernel, layer.bias, H);
          for (let k = 0; k < H; k++) hNew[k] = Math.tanh(z[k]!);
        } else {
          const g = affineRow(x, hPrev, layer.kernel, layer.bias, 2 * H).map(sigmoid); // r | u
          const rh = hPrev.map((v, k) => g[k]! * v);
          const cand = affineRow(x, rh, layer.candKernel!, layer.candBias!, H);
          for (let k = 0; k < H; k++) {
            const u = g[H + k]!;
            hNew[k] = u * hPrev[k]! + (1 - u) * Math.tanh(cand[k]!);
          }
        }
        hPrev.set(hNew);
        x = hNew;
      }
      for (let v = 0; v < V; v++) {
        let sum = lm.projBias[v]!;
        for (let k = 0; k < H; k++) sum += x[k]! * lm.projWeight[k * V + v]!;
        logits[(t * B + b) * V + v] = sum;
      }
    }
  }
  return { logits, hT: Float32Array.from(h), cT: Float32Array.from(c) };
}
