/**
 * THE kernel table: every elementwise kernel, one row each. Everything else about an elementwise op is
 * derived from here, never listed again by hand:
 *   - the op unions `UnaryOp` and `BinaryOp` (backend.ts re-exports them);
 *   - the reference backend's kernels (`ref`, the ground truth, run in float64 or float32 arrays);
 *   - the WASM exports `unary_<op>` / `binary_<op>` and their op codes: scripts/build-wasm.mjs reads this
 *     file and writes assembly/elementwise.gen.ts, which imports `<op>S` (f32) and, where `simd`, `<op>V`
 *     (f32x4) from assembly/unary.ts or assembly/binary.ts, so a row without its AssemblyScript kernel
 *     fails to compile, naming the op; the WASM backend checks every export against this table at start-up;
 *   - the thread-splitting threshold (`cost`);
 *   - the per-op test lists (the backend tests iterate `unaryOps` / `binaryOps`).
 * Adding an elementwise op: one row here, `<op>S` (and `<op>V`) in the AssemblyScript file, and, if it
 * is differentiable (`prim: true`), its function and rule in autodiff/ops.ts (the primitive table then
 * requires the rule) with a gradcheck row in ops.test.ts (whose table requires that too).
 *
 * This file imports nothing: the build script loads it on its own (through esbuild) before tsc runs.
 */

/** How expensive one element is: decides how big a job must be before it is split across threads. */
export type KernelCost = 'cheap' | 'transcendental';

interface UnaryRow {
  /** The reference kernel (float64 arithmetic; results stored into the output's dtype). */
  readonly ref: (x: number) => number;
  readonly cost: KernelCost;
  /** Whether the AssemblyScript side has a vector form `<op>V`; without it every element runs `<op>S`. */
  readonly simd: boolean;
  /**
   * How close the float32 kernels of the fast backends must come to `ref` (|got − ref| ≤ rtol·|ref| + atol):
   * the backend tests hold every kernel to it. Default `DEFAULT_ACCURACY`.
   */
  readonly accuracy?: { readonly rtol: number; readonly atol: number };
  /**
   * Whether the op is also a differentiable primitive of the same name (`UnaryPrim`): autodiff's primitive
   * table then requires its rule (a row marked here without a rule in autodiff/ops.ts does not compile).
   * Kernels that only serve rules (step, geluGrad) or norms (square, abs) are not.
   */
  readonly prim?: true;
}

/** The accuracy every kernel meets unless its row says otherwise: a few float32 ulps. */
export const DEFAULT_ACCURACY = { rtol: 2e-6, atol: 1e-37 } as const;

interface BinaryRow {
  readonly ref: (a: number, b: number) => number;
  readonly cost: KernelCost;
  readonly simd: boolean;
}

/** σ(x) written so neither branch overflows: exp of a non-positive number only. */
export function stableSigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

// GELU, tanh approximation (PyTorch's gelu(approximate='tanh')): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715x³))),
// written as x·σ(2u) since 1 + tanh(u) = 2σ(2u): no cancellation for negative x, and the vector form
// reuses σ. 2u = x·(GELU_K + GELU_K3·x²).
const GELU_K = Math.sqrt(8 / Math.PI), GELU_K3 = GELU_K * 0.044715;
const gelu = (x: number): number => x * stableSigmoid(x * (GELU_K + GELU_K3 * x * x));
/** d gelu/dx = s·(1 + x·(1 − s)·(GELU_K + 3·GELU_K3·x²)), s = σ(2u); past |x| = 20 the x-terms are clamped
 * (s is then exactly 0 or 1 in float64), so ±inf give the limits 0 and 1 rather than inf·0. */
function geluGrad(x: number): number {
  const s = stableSigmoid(x * (GELU_K + GELU_K3 * x * x));
  const c = x < -20 ? -20 : x > 20 ? 20 : x;
  return s * (1 + c * (1 - s) * (GELU_K + 3 * GELU_K3 * c * c));
}

/** Elementwise one-input kernels: out[i] = op(x[i]). */
export const UNARY_KERNELS = {
  neg: { ref: (x) => -x, prim: true, cost: 'cheap', simd: true },
  exp: { ref: Math.exp, prim: true, cost: 'transcendental', simd: true },
  // log has no vector form (it is rare in training); the WASM kernel computes it in f64.
  log: { ref: Math.log, prim: true, cost: 'transcendental', simd: false },
  sqrt: { ref: Math.sqrt, prim: true, cost: 'transcendental', simd: true },
  tanh: { ref: Math.tanh, prim: true, cost: 'transcendental', simd: true },
  sigmoid: { ref: stableSigmoid, prim: true, cost: 'transcendental', simd: true },
  // x <= 0 ? 0 : x, so NaN stays NaN (PyTorch's relu; the divergence guard relies on NaN propagating).
  relu: { ref: (x) => (x <= 0 ? 0 : x), prim: true, cost: 'cheap', simd: true },
  /** The ReLU derivative: 1 where x > 0, else 0 (a mask, not a primitive). */
  step: { ref: (x) => (x > 0 ? 1 : 0), cost: 'cheap', simd: true },
  abs: { ref: Math.abs, cost: 'cheap', simd: true },
  square: { ref: (x) => x * x, prim: true, cost: 'cheap', simd: true },
  // The f32 vector forms round 2u before σ: a relative error of |2u|·ε, up to 1e-5 on [−6, 6].
  gelu: { ref: gelu, prim: true, cost: 'transcendental', simd: true, accuracy: { rtol: 1e-5, atol: 1e-37 } },
  /** gelu's derivative (its autodiff rule's mask, like step for relu); crosses 0 near x = −0.75. */
  geluGrad: { ref: geluGrad, cost: 'transcendental', simd: true, accuracy: { rtol: 1e-5, atol: 1e-6 } },
} as const satisfies Record<string, UnaryRow>;

/** Elementwise two-input kernels, with broadcasting: out = op(a, b). Comparisons write 1 or 0. */
export const BINARY_KERNELS = {
  add: { ref: (a, b) => a + b, cost: 'cheap', simd: true },
  sub: { ref: (a, b) => a - b, cost: 'cheap', simd: true },
  mul: { ref: (a, b) => a * b, cost: 'cheap', simd: true },
  div: { ref: (a, b) => a / b, cost: 'transcendental', simd: true },
  // pow has no vector form; the WASM kernel computes it in f64.
  pow: { ref: Math.pow, cost: 'transcendental', simd: false },
  // a ≥ b or a NaN ? a : b: NaN in either operand gives NaN (PyTorch's maximum), on every backend.
  max: { ref: (a, b) => (a >= b || a !== a ? a : b), cost: 'cheap', simd: true },
  min: { ref: (a, b) => (a <= b || a !== a ? a : b), cost: 'cheap', simd: true },
  gt: { ref: (a, b) => (a > b ? 1 : 0), cost: 'cheap', simd: true },
  ge: { ref: (a, b) => (a >= b ? 1 : 0), cost: 'cheap', simd: true },
  eq: { ref: (a, b) => (a === b ? 1 : 0), cost: 'cheap', simd: true },
} as const satisfies Record<string, BinaryRow>;

export type UnaryOp = keyof typeof UNARY_KERNELS;
export type BinaryOp = keyof typeof BINARY_KERNELS;
/** The unary kernels that are differentiable primitives (rows marked `prim`). */
export type UnaryPrim = { [K in UnaryOp]: (typeof UNARY_KERNELS)[K] extends { readonly prim: true } ? K : never }[UnaryOp];

/** Every unary op, in table order (the WASM op codes are these indices). */
export const unaryOps = Object.keys(UNARY_KERNELS) as UnaryOp[];
/** Every binary op, in table order. */
export const binaryOps = Object.keys(BINARY_KERNELS) as BinaryOp[];

/** How close the float32 kernels of `op` must come to its reference (the row's `accuracy`, else the default). */
export function unaryAccuracy(op: UnaryOp): { readonly rtol: number; readonly atol: number } {
  return (UNARY_KERNELS[op] as UnaryRow).accuracy ?? DEFAULT_ACCURACY;
}
