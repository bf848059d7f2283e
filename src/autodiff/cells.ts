/**
 * The fused recurrent cells: primitives like any other (their parameters are declared in primitive.ts),
 * each an explicit forward/backward pair (llm.c style) whose forward caches what its rule needs, plus the
 * same cells composed from tensor primitives (the reference their tests compare against).
 *
 * Dimension letters: B batch, I input size, H hidden size. Every cell first concatenates its input and
 * previous hidden state, xh = [x, h] of shape [B, I+H], and multiplies by one kernel, as TensorFlow's
 * cells do, so a cell step costs one GEMM forward and two backward.
 *
 *   RNN  (tanh):            h' = tanh(xh·W + b)                          W [I+H, H],  b [H]
 *   LSTM (BasicLSTMCell):   z = xh·W + b, gates i, j, f, o (in that order, each H wide)
 *                           c' = σ(f + forget_bias)⊙c + σ(i)⊙tanh(j),  h' = σ(o)⊙tanh(c')
 *                                                                        W [I+H, 4H], b [4H]
 *   GRU  (TF GRUCell):      [r, u] = σ(xh·Wg + bg);  c̃ = tanh([x, r⊙h]·Wc + bc);  h' = u⊙h + (1−u)⊙c̃
 *                                                                        Wg [I+H, 2H], bg [2H], Wc [I+H, H], bc [H]
 * The LSTM step returns h' and c' packed as one tensor hc [2, B, H] (hc[0] = h', hc[1] = c'), so a single
 * node carries both outputs; `unpackHC` slices them apart.
 */
import * as o from './ops.js';
import { record, type Rule, type Rules } from './primitive.js';
import { allocOutput, getBackend } from '../backend/index.js';
import type { DType, FloatArray } from '../backend/index.js';
import { fused } from '../backend/fused.js';
import { ShapeError } from '../errors.js';
import { fmtShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

const B_ = () => getBackend();

/** Zero-filled storage (gradients accumulated into: dW, db). */
function alloc(dtype: DType, shape: number[]): Tensor {
  return new Tensor(B_().alloc(dtype, shape.reduce((p, d) => p * d, 1)), shape, dtype);
}

/** Storage a kernel or copy overwrites completely. */
function output(dtype: DType, shape: number[]): Tensor {
  return new Tensor(allocOutput(dtype, shape.reduce((p, d) => p * d, 1)), shape, dtype);
}
const f = (t: Tensor): FloatArray => t.data as FloatArray;

function checkStep(name: string, x: Tensor, h: Tensor, W: Tensor, cols: number): [number, number, number] {
  if (x.rank !== 2 || h.rank !== 2 || x.shape[0] !== h.shape[0]) throw new ShapeError(`${name}: x ${fmtShape(x.shape)} and h ${fmtShape(h.shape)} must be [B, I] and [B, H]`);
  const [B, I] = x.shape as [number, number];
  const H = h.shape[1]!;
  if (W.rank !== 2 || W.shape[0] !== I + H || W.shape[1] !== cols * H) throw new ShapeError(`${name}: kernel must be [${I + H}, ${cols * H}] for I=${I}, H=${H}; got ${fmtShape(W.shape)}`);
  return [B, I, H];
}

/** xh [B, I+H] = [x, h] row by row. */
function concatRows(x: FloatArray, h: FloatArray, B: number, I: number, H: number, out: FloatArray): void {
  for (let b = 0; b < B; b++) {
    out.set(x.subarray(b * I, b * I + I), b * (I + H));
    out.set(h.subarray(b * H, b * H + H), b * (I + H) + I);
  }
}

/** Split d[xh] [B, I+H] into dx [B, I] and dh [B, H]. */
function splitRows(d: FloatArray, B: number, I: number, H: number, dx: FloatArray, dh: FloatArray): void {
  for (let b = 0; b < B; b++) {
    dx.set(d.subarray(b * (I + H), b * (I + H) + I), b * I);
    dh.set(d.subarray(b * (I + H) + I, (b + 1) * (I + H)), b * H);
  }
}

/** z [B, N] = xh·W + b: bias rows first, then the GEMM accumulates onto them. */
function affine(xh: FloatArray, W: FloatArray, bias: FloatArray, B: number, K: number, N: number, z: FloatArray): void {
  for (let r = 0; r < B; r++) z.set(bias, r * N);
  B_().matmul(xh, W, z, 1, B, K, N, false, false, true);
}

/** Gradients of z = xh·W + b: dW += xhᵀ·dz, db += Σ_rows dz, dxh = dz·Wᵀ (each only if wanted). */
function affineBackward(dz: FloatArray, xh: FloatArray, W: FloatArray, B: number, K: number, N: number,
  dW: FloatArray | null, db: FloatArray | null, dxh: FloatArray | null): void {
  const be = B_();
  if (dW) be.matmul(xh, dz, dW, 1, K, B, N, true, false, true);
  if (db) for (let r = 0; r < B; r++) for (let n = 0; n < N; n++) db[n] = db[n]! + dz[r * N + n]!;
  if (dxh) be.matmul(dz, W, dxh, 1, B, N, K, false, true, false);
}

// ---- LSTM ---------------------------------------------------------------------------------------

/**
 * Fused LSTM step. x [B, I], h [B, H], c [B, H], W [I+H, 4H], b [4H] → hc [2, B, H].
 * Forward caches xh, the activated gates and tanh(c'), which the backward needs.
 *
 * @example
 * ```ts
 * import { lstmStep, unpackHC, randNormal, zeros } from 'backprop';
 * const [B, I, H] = [2, 3, 4];
 * const hc = lstmStep(randNormal([B, I]), zeros([B, H]), zeros([B, H]), randNormal([I + H, 4 * H], 0, 0.1), zeros([4 * H]));
 * const [h, c] = unpackHC(hc); // each [B, H]
 * ```
 */
export function lstmStep(x: Tensor, h: Tensor, c: Tensor, W: Tensor, b: Tensor, forgetBias = 0): Tensor {
  const [B, I, H] = checkStep('lstmStep', x, h, W, 4);
  const dt = x.dtype;
  const xh = output(dt, [B, I + H]);
  concatRows(f(x), f(h), B, I, H, f(xh));
  const z = output(dt, [B, 4 * H]);
  affine(f(xh), f(W), f(b), B, I + H, 4 * H, f(z));
  const hc = output(dt, [2, B, H]);
  const acts = output(dt, [B, 4 * H]), tanhC = alloc(dt, [B, H]);
  const hv = f(hc).subarray(0, B * H), cv = f(hc).subarray(B * H);
  fused(B_()).lstmCellForward(f(z), f(c), B, H, forgetBias, cv, hv, f(acts), f(tanhC));
  return record(cellRules, 'lstmStep', hc, [x, h, c, W, b], { forgetBias, xh, acts, tanhC });
}

/** Backward of lstmStep, in exact reverse order: the pointwise part, then the affine map. */
const lstmStepRule: Rule<'lstmStep'> = (dhc, s) => {
  const [x, h, c, W, b] = s.inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const { xh, acts, tanhC } = s.params;
  const [B, I] = x.shape as [number, number], H = h.shape[1]!, dt = x.dtype;
  const dh = f(dhc).subarray(0, B * H), dc = f(dhc).subarray(B * H);
  const dz = output(dt, [B, 4 * H]), dcPrev = output(dt, [B, H]);
  fused(B_()).lstmCellBackward(dh, dc, f(c), f(acts), f(tanhC), B, H, f(dz), f(dcPrev));
  const dW = W.requiresGrad ? alloc(dt, W.shape as number[]) : null;
  const db = b.requiresGrad ? alloc(dt, [4 * H]) : null;
  const needXh = x.requiresGrad || h.requiresGrad;
  const dxh = needXh ? output(dt, [B, I + H]) : null;
  affineBackward(f(dz), f(xh), f(W), B, I + H, 4 * H, dW && f(dW), db && f(db), dxh && f(dxh));
  let dx: Tensor | null = null, dhPrev: Tensor | null = null;
  if (dxh) { dx = output(dt, [B, I]); dhPrev = output(dt, [B, H]); splitRows(f(dxh), B, I, H, f(dx), f(dhPrev)); }
  return [dx, dhPrev, dcPrev, dW, db];
};

/**
 * The same LSTM step composed from primitives (reference for tests).
 *
 * @example
 * ```ts
 * import { lstmStepComposed, randNormal, zeros } from 'backprop';
 * const hc = lstmStepComposed(randNormal([2, 3]), zeros([2, 4]), zeros([2, 4]), randNormal([7, 16]), zeros([16])); // [2, 2, 4]
 * ```
 */
export function lstmStepComposed(x: Tensor, h: Tensor, c: Tensor, W: Tensor, b: Tensor, forgetBias = 0): Tensor {
  const H = h.shape[1]!;
  const z = o.add(o.matmul(o.concat([x, h], 1), W), b);
  const [zi, zj, zf, zo] = o.split(z, [H, H, H, H], 1) as [Tensor, Tensor, Tensor, Tensor];
  const c2 = o.add(o.mul(o.sigmoid(o.add(zf, forgetBias)), c), o.mul(o.sigmoid(zi), o.tanh(zj)));
  const h2 = o.mul(o.sigmoid(zo), o.tanh(c2));
  return o.concat([o.reshape(h2, [1, ...h2.shape]), o.reshape(c2, [1, ...c2.shape])], 0);
}

/**
 * Split hc [2, B, H] into h and c [B, H].
 *
 * @example
 * ```ts
 * import { lstmStep, unpackHC, randNormal, zeros } from 'backprop';
 * const hc = lstmStep(randNormal([1, 3]), zeros([1, 2]), zeros([1, 2]), randNormal([5, 8]), zeros([8]));
 * const [h, c] = unpackHC(hc); // h and c, each [1, 2]
 * ```
 */
export function unpackHC(hc: Tensor): [Tensor, Tensor] {
  const [, B, H] = hc.shape as [number, number, number];
  const h = o.reshape(o.slice(hc, [0, 0, 0], [1, B, H]), [B, H]);
  const c = o.reshape(o.slice(hc, [1, 0, 0], [1, B, H]), [B, H]);
  return [h, c];
}

// ---- simple tanh RNN ----------------------------------------------------------------------------

/**
 * Fused tanh RNN step. x [B, I], h [B, H], W [I+H, H], b [H] → h' [B, H].
 *
 * @example
 * ```ts
 * import { rnnStep, randNormal, zeros } from 'backprop';
 * const h1 = rnnStep(randNormal([2, 3]), zeros([2, 4]), randNormal([3 + 4, 4], 0, 0.1), zeros([4])); // [2, 4]
 * ```
 */
export function rnnStep(x: Tensor, h: Tensor, W: Tensor, b: Tensor): Tensor {
  const [B, I, H] = checkStep('rnnStep', x, h, W, 1);
  const dt = x.dtype;
  const xh = output(dt, [B, I + H]);
  concatRows(f(x), f(h), B, I, H, f(xh));
  const out = alloc(dt, [B, H]);
  affine(f(xh), f(W), f(b), B, I + H, H, f(out));
  B_().unary('tanh', f(out), f(out));
  return record(cellRules, 'rnnStep', out, [x, h, W, b], { xh });
}

/** Backward of rnnStep: through tanh, then the affine map. */
const rnnStepRule: Rule<'rnnStep'> = (dy, s) => {
  const [x, h, W, b] = s.inputs as [Tensor, Tensor, Tensor, Tensor];
  const { xh } = s.params, out = s.out;
  const [B, I] = x.shape as [number, number], H = h.shape[1]!, dt = x.dtype;
  const dz = alloc(dt, [B, H]);
  const y = f(out), g = f(dy), d = f(dz);
  for (let i = 0; i < d.length; i++) d[i] = g[i]! * (1 - y[i]! * y[i]!); // tanh' = 1 − h'²
  const dW = W.requiresGrad ? alloc(dt, W.shape as number[]) : null;
  const db = b.requiresGrad ? alloc(dt, [H]) : null;
  const dxh = x.requiresGrad || h.requiresGrad ? alloc(dt, [B, I + H]) : null;
  affineBackward(d, f(xh), f(W), B, I + H, H, dW && f(dW), db && f(db), dxh && f(dxh));
  let dx: Tensor | null = null, dh: Tensor | null = null;
  if (dxh) { dx = alloc(dt, [B, I]); dh = alloc(dt, [B, H]); splitRows(f(dxh), B, I, H, f(dx), f(dh)); }
  return [dx, dh, dW, db];
};

/**
 * One Elman RNN step as a composition of primitives, h′ = tanh([x, h]·W + b): the reference the fused rnn cell is tested against.
 *
 * @example
 * ```ts
 * import { rnnStepComposed, randNormal, zeros } from 'backprop';
 * const h1 = rnnStepComposed(randNormal([2, 3]), zeros([2, 4]), randNormal([7, 4]), zeros([4])); // tanh([x, h]·W + b)
 * ```
 */
export function rnnStepComposed(x: Tensor, h: Tensor, W: Tensor, b: Tensor): Tensor {
  return o.tanh(o.add(o.matmul(o.concat([x, h], 1), W), b));
}

// ---- GRU ----------------------------------------------------------------------------------------

/**
 * Fused GRU step (TF GRUCell). x [B, I], h [B, H], Wg [I+H, 2H], bg [2H], Wc [I+H, H], bc [H] → h' [B, H].
 *
 * @example
 * ```ts
 * import { gruStep, randNormal, zeros } from 'backprop';
 * const [B, I, H] = [2, 3, 4];
 * const h1 = gruStep(randNormal([B, I]), zeros([B, H]), randNormal([I + H, 2 * H]), zeros([2 * H]), randNormal([I + H, H]), zeros([H]));
 * ```
 */
export function gruStep(x: Tensor, h: Tensor, Wg: Tensor, bg: Tensor, Wc: Tensor, bc: Tensor): Tensor {
  const [B, I, H] = checkStep('gruStep', x, h, Wg, 2);
  checkStep('gruStep (candidate)', x, h, Wc, 1);
  const dt = x.dtype, be = B_();
  const xh = output(dt, [B, I + H]);
  concatRows(f(x), f(h), B, I, H, f(xh));
  const g = output(dt, [B, 2 * H]);                  // activated gates r, u
  affine(f(xh), f(Wg), f(bg), B, I + H, 2 * H, f(g));
  be.unary('sigmoid', f(g), f(g));
  const G = f(g), hv = f(h);
  const rh = output(dt, [B, H]);
  for (let r = 0; r < B; r++) for (let k = 0; k < H; k++) f(rh)[r * H + k] = G[r * 2 * H + k]! * hv[r * H + k]!;
  const xrh = output(dt, [B, I + H]);
  concatRows(f(x), f(rh), B, I, H, f(xrh));
  const cand = output(dt, [B, H]);
  affine(f(xrh), f(Wc), f(bc), B, I + H, H, f(cand));
  be.unary('tanh', f(cand), f(cand));
  const out = alloc(dt, [B, H]);
  const C = f(cand), O = f(out);
  for (let r = 0; r < B; r++) for (let k = 0; k < H; k++) {
    const u = G[r * 2 * H + H + k]!;
    O[r * H + k] = u * hv[r * H + k]! + (1 - u) * C[r * H + k]!;
  }
  return record(cellRules, 'gruStep', out, [x, h, Wg, bg, Wc, bc], { xh, gates: g, xrh, cand });
}

/** Backward of gruStep: through the interpolation, the candidate's affine map, then the gates'. */
const gruStepRule: Rule<'gruStep'> = (dy, s) => {
  const [x, h, Wg, bg, Wc, bc] = s.inputs as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const { xh, gates, xrh, cand } = s.params;
  const [B, I] = x.shape as [number, number], H = h.shape[1]!, dt = x.dtype, be = B_();
  const G = f(gates), C = f(cand), hv = f(h);
  const D = f(dy);
  const dzc = alloc(dt, [B, H]), dzg = alloc(dt, [B, 2 * H]), dh = alloc(dt, [B, H]);
  const Dzc = f(dzc), Dzg = f(dzg), Dh = f(dh);
  for (let r = 0; r < B; r++) for (let k = 0; k < H; k++) {
    const q = r * H + k, u = G[r * 2 * H + H + k]!, cv = C[q]!;
    Dzc[q] = D[q]! * (1 - u) * (1 - cv * cv);                // through c̃ = tanh(·)
    Dzg[r * 2 * H + H + k] = D[q]! * (hv[q]! - cv) * u * (1 - u); // through u = σ(·)
    Dh[q] = D[q]! * u;                                         // the direct path u⊙h
  }
  const needIn = x.requiresGrad || h.requiresGrad;
  const dWc = Wc.requiresGrad ? alloc(dt, Wc.shape as number[]) : null;
  const dbc = bc.requiresGrad ? alloc(dt, [H]) : null;
  const dxrh = output(dt, [B, I + H]);
  affineBackward(Dzc, f(xrh), f(Wc), B, I + H, H, dWc && f(dWc), dbc && f(dbc), f(dxrh));
  const dx = output(dt, [B, I]), drh = alloc(dt, [B, H]);
  splitRows(f(dxrh), B, I, H, f(dx), f(drh));
  const Drh = f(drh);
  for (let r = 0; r < B; r++) for (let k = 0; k < H; k++) {
    const q = r * H + k, rv = G[r * 2 * H + k]!;
    Dzg[r * 2 * H + k] = Drh[q]! * hv[q]! * rv * (1 - rv);    // through r = σ(·) in r⊙h
    Dh[q] = Dh[q]! + Drh[q]! * rv;                                    // h inside r⊙h
  }
  const dWg = Wg.requiresGrad ? alloc(dt, Wg.shape as number[]) : null;
  const dbg = bg.requiresGrad ? alloc(dt, [2 * H]) : null;
  const dxh = needIn ? alloc(dt, [B, I + H]) : null;
  affineBackward(Dzg, f(xh), f(Wg), B, I + H, 2 * H, dWg && f(dWg), dbg && f(dbg), dxh && f(dxh));
  if (dxh) {
    const dx2 = output(dt, [B, I]), dh2 = alloc(dt, [B, H]);
    splitRows(f(dxh), B, I, H, f(dx2), f(dh2));
    be.axpby(f(dx), 1, f(dx2), 1, f(dx));
    be.axpby(Dh, 1, f(dh2), 1, Dh);
  }
  return [needIn ? dx : null, needIn ? dh : null, dWg, dbg, dWc, dbc];
};

/**
 * One GRU step (TensorFlow GRUCell) as a composition of primitives: the reference the fused gru cell is tested against.
 *
 * @example
 * ```ts
 * import { gruStepComposed, randNormal, zeros } from 'backprop';
 * const h1 = gruStepComposed(randNormal([2, 3]), zeros([2, 4]), randNormal([7, 8]), zeros([8]), randNormal([7, 4]), zeros([4]));
 * ```
 */
export function gruStepComposed(x: Tensor, h: Tensor, Wg: Tensor, bg: Tensor, Wc: Tensor, bc: Tensor): Tensor {
  const H = h.shape[1]!;
  const g = o.sigmoid(o.add(o.matmul(o.concat([x, h], 1), Wg), bg));
  const [r, u] = o.split(g, [H, H], 1) as [Tensor, Tensor];
  const cand = o.tanh(o.add(o.matmul(o.concat([x, o.mul(r, h)], 1), Wc), bc));
  return o.add(o.mul(u, h), o.mul(o.sub(1, u), cand));
}

// ---- LSTM over a whole sequence -----------------------------------------------------------------

/**
 * Fused LSTM layer over T steps (the same cell as lstmStep, computed the way cuDNN does it): the input
 * projection of every step is one GEMM, X·W_x for X [T·B, I]; each step then adds h·W_h ([B, H]·[H, 4H])
 * and runs the pointwise cell. Backward runs the steps in reverse for dz_t and dh, then forms dW_x = Xᵀ·dZ,
 * dW_h = H_prevᵀ·dZ, db = Σ dZ and dX = dZ·W_xᵀ as four large GEMMs instead of 3·T small ones.
 *
 *   x  [T·B, I]  inputs, time-major (row t·B + b)      W [I+H, 4H] (rows 0..I−1 are W_x, the rest W_h)
 *   h0, c0 [B, H]  the entering state                  b [4H]
 *   → out [2, T, B, H]: out[0, t] = h after step t, out[1, t] = c after step t.
 *
 * @example
 * ```ts
 * import { lstmSequence, randNormal, zeros } from 'backprop';
 * const [T, B, I, H] = [5, 2, 3, 4];
 * const out = lstmSequence(randNormal([T * B, I]), zeros([B, H]), zeros([B, H]), randNormal([I + H, 4 * H], 0, 0.1), zeros([4 * H]), T);
 * out.shape; // [2, T, B, H]: h and c after every step
 * ```
 */
export function lstmSequence(x: Tensor, h0: Tensor, c0: Tensor, W: Tensor, b: Tensor, T: number, forgetBias = 0): Tensor {
  if (x.rank !== 2 || h0.rank !== 2 || x.shape[0] !== T * h0.shape[0]!) {
    throw new ShapeError(`lstmSequence: x ${fmtShape(x.shape)} must be [T·B, I] with T = ${T} and B = ${h0.shape[0]} (h0 ${fmtShape(h0.shape)})`);
  }
  const B = h0.shape[0]!, H = h0.shape[1]!, I = x.shape[1]!;
  if (W.rank !== 2 || W.shape[0] !== I + H || W.shape[1] !== 4 * H) throw new ShapeError(`lstmSequence: kernel must be [${I + H}, ${4 * H}], got ${fmtShape(W.shape)}`);
  const dt = x.dtype, be = B_(), BH = B * H, G = 4 * H;
  const Wv = f(W), Wx = Wv.subarray(0, I * G), Wh = Wv.subarray(I * G);
  // Z [T·B, 4H] = X·W_x + b (all steps at once); the recurrent part is added step by step.
  const Z = output(dt, [T * B, G]);
  const Zv = f(Z), bv = f(b);
  for (let r = 0; r < T * B; r++) Zv.set(bv, r * G);
  be.matmul(f(x), Wx, Zv, 1, T * B, I, G, false, false, true);
  const out = output(dt, [2, T, B, H]);
  const acts = output(dt, [T, B, G]), tanhC = output(dt, [T, B, H]);
  const O = f(out), A = f(acts), TC = f(tanhC);
  const hAt = (t: number) => (t < 0 ? f(h0) : O.subarray(t * BH, (t + 1) * BH));
  const cAt = (t: number) => (t < 0 ? f(c0) : O.subarray((T + t) * BH, (T + t + 1) * BH));
  for (let t = 0; t < T; t++) {
    const z = Zv.subarray(t * B * G, (t + 1) * B * G);
    be.matmul(hAt(t - 1), Wh, z, 1, B, H, G, false, false, true);
    fused(be).lstmCellForward(z, cAt(t - 1), B, H, forgetBias, cAt(t), hAt(t), A.subarray(t * B * G, (t + 1) * B * G), TC.subarray(t * BH, (t + 1) * BH));
  }
  return record(cellRules, 'lstmSequence', out, [x, h0, c0, W, b], { T, acts, tanhC });
}

/**
 * Backward of lstmSequence: the steps in reverse for dz_t and dh (one small GEMM each), then the weight
 * and input gradients as four large GEMMs over all steps.
 */
const lstmSequenceRule: Rule<'lstmSequence'> = (dOut, s) => {
  const [x, h0, c0, W, b] = s.inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
  const { T, acts, tanhC } = s.params;
  const B = h0.shape[0]!, H = h0.shape[1]!, I = x.shape[1]!;
  const dt = x.dtype, be = B_(), BH = B * H, G = 4 * H;
  const Wx = f(W).subarray(0, I * G), Wh = f(W).subarray(I * G);
  const O = f(s.out), A = f(acts), TC = f(tanhC);
  const cAt = (t: number) => (t < 0 ? f(c0) : O.subarray((T + t) * BH, (T + t + 1) * BH));
  const D = f(dOut);
  const dZ = output(dt, [T * B, G]), dZv = f(dZ);
  // dh, dc: the gradient reaching h_t and c_t from step t+1 (zero after the last step).
  const dh = alloc(dt, [B, H]);
  let dc = alloc(dt, [B, H]), dcPrev = output(dt, [B, H]);
  const dhIn = output(dt, [B, H]), dcIn = output(dt, [B, H]);
  for (let t = T - 1; t >= 0; t--) {
    be.axpby(f(dh), 1, D.subarray(t * BH, (t + 1) * BH), 1, f(dhIn));         // + ∂E/∂h_t from the output
    be.axpby(f(dc), 1, D.subarray((T + t) * BH, (T + t + 1) * BH), 1, f(dcIn));
    const dz = dZv.subarray(t * B * G, (t + 1) * B * G);
    fused(be).lstmCellBackward(f(dhIn), f(dcIn), cAt(t - 1), A.subarray(t * B * G, (t + 1) * B * G), TC.subarray(t * BH, (t + 1) * BH), B, H, dz, f(dcPrev));
    be.matmul(dz, Wh, f(dh), 1, B, G, H, false, true, false);                  // dh_{t−1} = dz_t·W_hᵀ
    [dc, dcPrev] = [dcPrev, dc];
  }
  const dW = W.requiresGrad ? alloc(dt, [I + H, G]) : null;
  if (dW) {
    const dWv = f(dW);
    be.matmul(f(x), dZv, dWv.subarray(0, I * G), 1, I, T * B, G, true, false, false);              // dW_x = Xᵀ·dZ
    // H_prev [T·B, H] = [h0, h_0, …, h_{T−2}]: h0 then out[0, 0..T−2], contiguous after h0.
    be.matmul(f(h0), dZv.subarray(0, B * G), dWv.subarray(I * G), 1, H, B, G, true, false, false);
    if (T > 1) be.matmul(O.subarray(0, (T - 1) * BH), dZv.subarray(B * G), dWv.subarray(I * G), 1, H, (T - 1) * B, G, true, false, true);
  }
  let db: Tensor | null = null;
  if (b.requiresGrad) {
    db = output(dt, [G]);
    be.reduce('sum', dZv, [T * B, G], [0], f(db));
  }
  let dx: Tensor | null = null;
  if (x.requiresGrad) { dx = output(dt, [T * B, I]); be.matmul(dZv, Wx, f(dx), 1, T * B, G, I, false, true, false); } // dX = dZ·W_xᵀ
  return [dx, h0.requiresGrad ? dh : null, c0.requiresGrad ? dc : null, dW, db];
};

/**
 * The cells' rules, for the primitive table (rules.ts).
 *
 * @example
 * ```ts
 * import { cellRules } from 'backprop';
 * Object.keys(cellRules); // ['rnnStep', 'lstmStep', 'gruStep', 'lstmSequence']
 * ```
 */
export const cellRules: Rules<'rnnStep' | 'lstmStep' | 'gruStep' | 'lstmSequence'> = {
  rnnStep: rnnStepRule, lstmStep: lstmStepRule, gruStep: gruStepRule, lstmSequence: lstmSequenceRule,
};
