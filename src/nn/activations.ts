/**
 * THE activation table: one row per activation a Dense layer can apply, holding everything every part
 * of the engine needs to know about it, so that adding an activation is one row here (plus, for a new
 * elementwise function, its kernel row in src/backend/kernels.ts and its autodiff primitive):
 *   - `apply`: the differentiable forward on tensors (layers, the explain trace);
 *   - `scalar` / `rowwise`: the float64 reference, f(x) and f'(x) per element (the fused dense trainer,
 *     io/reference's forward, the explain text), or a whole-row function for softmax;
 *   - `onnx`: the ONNX operator that computes it (io/onnx), with the opset that introduced it;
 *   - `text`: the formulas `backprop explain` prints, `tex`: the explorer's (web/src/view1.ts; rows with
 *     `tex: null` are not offered there).
 * Derivatives are written in x and y = f(x) together, so each row uses whichever is cheaper
 * (σ' = y(1−y) needs no exp; relu's mask needs x).
 */
import * as o from '../autodiff/index.js';
import { stableSigmoid, UNARY_KERNELS } from '../backend/kernels.js';
import type { Tensor } from '../tensor/tensor.js';

/** Formats a number for the formulas (digits, and brackets around negatives where asked). */
export type FormatNumber = (v: number, digits?: number, paren?: boolean) => string;

interface RowCommon {
  /** The differentiable forward: x [N, D] → y [N, D]. */
  apply(x: Tensor): Tensor;
  /** The ONNX operator (attributes as strings) and the opset that introduced it in this form. */
  onnx: { op: string; opset: number; attributes?: Readonly<Record<string, string>> };
  /** For `backprop explain`: the name in y = name(x), and f'(x) written out with this node's numbers. */
  text: { name: string; df(x: number, y: number, n: FormatNumber): string };
  /** For the explorer: f and f' in TeX, and f'(x) with this node's numbers; null where not offered. */
  tex: { f: string; df: string; dfAt(x: number, y: number, num: FormatNumber): string } | null;
}

/** An activation applied to each element on its own. */
export interface ElementwiseActivation extends RowCommon {
  /** f(x) and f'(x) (given x and y = f(x)) in float64. */
  scalar: { f(x: number): number; df(x: number, y: number): number };
}

/** An activation over a whole row (softmax): `rowwise` applies it in place to one row, in float64. */
export interface RowActivation extends RowCommon {
  scalar: null;
  rowwise(row: Float64Array): void;
}

/** A row of the activation table: elementwise (f and f') or row-wise (softmax). */
export type ActivationRow = ElementwiseActivation | RowActivation;

/** Softmax of one row in place, max-subtracted so exp never overflows. */
function softmaxRow(row: Float64Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (let d = 0; d < row.length; d++) sum += row[d] = Math.exp(row[d]! - max);
  for (let d = 0; d < row.length; d++) row[d]! /= sum;
}

/**
 * The activation table: for each activation, its function on tensors and numbers, its derivative, its text and its ONNX operator.
 *
 * @example
 * ```ts
 * import { ACTIVATIONS } from 'backprop';
 * ACTIVATIONS.tanh.scalar.f(0.5);   // tanh(0.5)
 * ACTIVATIONS.relu.onnx.op;         // 'Relu'
 * ```
 */
export const ACTIVATIONS = {
  sigmoid: {
    apply: o.sigmoid,
    scalar: { f: stableSigmoid, df: (_x, y) => y * (1 - y) },
    onnx: { op: 'Sigmoid', opset: 6 },
    text: { name: 'σ', df: (_x, y, n) => `y(1−y) = ${n(y)}·(1−${n(y)})` },
    tex: { f: 'f(x) = \\sigma(x) = \\frac{1}{1+e^{-x}}', df: "f'(x) = \\sigma(x)\\,(1-\\sigma(x)) = y\\,(1-y)", dfAt: (_x, y, num) => `${num(y)}\\,(1-${num(y)})` },
  },
  tanh: {
    apply: o.tanh,
    scalar: { f: UNARY_KERNELS.tanh.ref, df: (_x, y) => 1 - y * y },
    onnx: { op: 'Tanh', opset: 6 },
    text: { name: 'tanh', df: (_x, y, n) => `1−y² = 1−${n(y)}²` },
    tex: { f: 'f(x) = \\tanh x', df: "f'(x) = 1-\\tanh^2 x = 1-y^2", dfAt: (_x, y, num) => `(1-${num(y, 4, true)}^2)` },
  },
  relu: {
    apply: o.relu,
    // [x > 0]: the gradient at exactly 0 is 0, as in the autodiff rule.
    scalar: { f: UNARY_KERNELS.relu.ref, df: (x) => (x > 0 ? 1 : 0) },
    onnx: { op: 'Relu', opset: 6 },
    text: { name: 'relu', df: (x) => `[x>0] = ${x > 0 ? 1 : 0}` },
    tex: { f: 'f(x) = \\max(0, x)', df: "f'(x) = [x > 0]", dfAt: (x, _y, num) => `[${num(x)} > 0]` },
  },
  gelu: {
    apply: o.gelu,
    scalar: { f: UNARY_KERNELS.gelu.ref, df: UNARY_KERNELS.geluGrad.ref },
    onnx: { op: 'Gelu', opset: 20, attributes: { approximate: 'tanh' } },
    text: { name: 'gelu', df: (x, _y, n) => `gelu′(${n(x)}) = ${n(UNARY_KERNELS.geluGrad.ref(x))}` },
    tex: {
      f: 'f(x) = \\tfrac{x}{2}\\left(1+\\tanh\\left(\\sqrt{2/\\pi}\\,(x + 0.044715\\,x^3)\\right)\\right)',
      df: "f'(x) = s\\,(1 + x\\,(1-s)\\,\\sqrt{8/\\pi}\\,(1 + 0.134145\\,x^2)),\\quad s = \\sigma\\left(\\sqrt{8/\\pi}\\,(x + 0.044715\\,x^3)\\right)",
      dfAt: (x, _y, num) => num(UNARY_KERNELS.geluGrad.ref(x), 4, true),
    },
  },
  linear: {
    apply: (x) => x,
    scalar: { f: (x) => x, df: () => 1 },
    onnx: { op: 'Identity', opset: 1 },
    text: { name: 'id', df: () => '1' },
    tex: null,
  },
  softmax: {
    apply: o.softmax,
    scalar: null,
    rowwise: softmaxRow,
    onnx: { op: 'Softmax', opset: 13 }, // Softmax-13: over the last axis
    text: { name: 'softmax', df: () => 'softmax Jacobian' },
    tex: null,
  },
} as const satisfies Record<string, ActivationRow>;

/** The name of an activation (a key of the activation table). */
export type ActivationKind = keyof typeof ACTIVATIONS;
/**
 * Every activation's name, in table order.
 *
 * @example
 * ```ts
 * import { activationKinds } from 'backprop';
 * activationKinds; // ['sigmoid', 'tanh', 'relu', 'gelu', 'linear', 'softmax']
 * ```
 */
export const activationKinds = Object.keys(ACTIVATIONS) as ActivationKind[];

/**
 * The table row of `kind`, typed as the general row (so callers can branch on `scalar`).
 *
 * @example
 * ```ts
 * import { activationRow } from 'backprop';
 * const row = activationRow('sigmoid');
 * if (row.scalar) row.scalar.df(0, 0.5); // σ'(x) from y = σ(x): 0.25
 * ```
 */
export function activationRow(kind: ActivationKind): ActivationRow {
  return ACTIVATIONS[kind];
}
