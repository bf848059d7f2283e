// The unary elementwise kernels, one pair per row of src/backend/kernels.ts: `<op>S` on one f32 and,
// where the row says `simd`, `<op>V` on four lanes (f32x4). The generated ops.gen.ts imports them by
// name, so a row without its kernel here does not compile. Semantics follow the reference (`ref` in the
// table) exactly, NaN and ±inf included; the scalar forms compute transcendentals in f64 and round once.
import { sigmoidV } from './math';
export { expS, expV, sigmoidS, sigmoidV, tanhS, tanhV } from './math';

// @ts-ignore: decorator
@inline export function negS(x: f32): f32 { return -x; }
// @ts-ignore: decorator
@inline export function negV(x: v128): v128 { return f32x4.neg(x); }

// @ts-ignore: decorator
@inline export function logS(x: f32): f32 { return <f32>Math.log(<f64>x); }

// @ts-ignore: decorator
@inline export function sqrtS(x: f32): f32 { return Mathf.sqrt(x); }
// @ts-ignore: decorator
@inline export function sqrtV(x: v128): v128 { return f32x4.sqrt(x); }

// x <= 0 ? 0 : x, so NaN stays NaN (as in the reference and PyTorch: the divergence guard needs it).
// @ts-ignore: decorator
@inline export function reluS(x: f32): f32 { return x <= 0 ? 0 : x; }
// @ts-ignore: decorator
@inline export function reluV(x: v128): v128 { return v128.andnot(x, f32x4.le(x, f32x4.splat(0))); }

// @ts-ignore: decorator
@inline export function stepS(x: f32): f32 { return x > 0 ? 1 : 0; }
// @ts-ignore: decorator
@inline export function stepV(x: v128): v128 { return v128.and(f32x4.splat(1), f32x4.gt(x, f32x4.splat(0))); }

// @ts-ignore: decorator
@inline export function absS(x: f32): f32 { return Mathf.abs(x); }
// @ts-ignore: decorator
@inline export function absV(x: v128): v128 { return f32x4.abs(x); }

// @ts-ignore: decorator
@inline export function squareS(x: f32): f32 { return x * x; }
// @ts-ignore: decorator
@inline export function squareV(x: v128): v128 { return f32x4.mul(x, x); }

// GELU, tanh approximation, as x·σ(2u) with 2u = x·(K + K3·x²) (see its row in kernels.ts). The scalar
// forms compute in f64 like the reference; the vector forms in f32.
// @ts-ignore: decorator
@inline const GELU_K: f64 = 1.5957691216057308; // √(8/π)
// @ts-ignore: decorator
@inline const GELU_K3: f64 = GELU_K * 0.044715;

// @ts-ignore: decorator
@inline function sigmoid64(v: f64): f64 {
  if (v >= 0) return 1.0 / (1.0 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1.0 + e);
}
// @ts-ignore: decorator
@inline export function geluS(x: f32): f32 {
  const v = <f64>x;
  return <f32>(v * sigmoid64(v * (GELU_K + GELU_K3 * v * v)));
}
// @ts-ignore: decorator
@inline export function geluV(x: v128): v128 {
  const u = f32x4.mul(x, f32x4.add(f32x4.splat(<f32>GELU_K), f32x4.mul(f32x4.splat(<f32>GELU_K3), f32x4.mul(x, x))));
  return f32x4.mul(x, sigmoidV(u));
}

// d gelu = s·(1 + c·(1 − s)·(K + 3·K3·c²)), s = σ(2u), c = x clamped to [−20, 20] (the limits at ±inf).
// @ts-ignore: decorator
@inline export function geluGradS(x: f32): f32 {
  const v = <f64>x;
  const s = sigmoid64(v * (GELU_K + GELU_K3 * v * v));
  const c = v < -20 ? -20 : v > 20 ? 20 : v;
  return <f32>(s * (1 + c * (1 - s) * (GELU_K + 3 * GELU_K3 * c * c)));
}
// @ts-ignore: decorator
@inline export function geluGradV(x: v128): v128 {
  const k = f32x4.splat(<f32>GELU_K), k3 = f32x4.splat(<f32>GELU_K3), one = f32x4.splat(1);
  const s = sigmoidV(f32x4.mul(x, f32x4.add(k, f32x4.mul(k3, f32x4.mul(x, x)))));
  // pmax/pmin clamp and pass NaN through.
  const c = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-20)), f32x4.splat(20));
  const du = f32x4.add(k, f32x4.mul(f32x4.splat(<f32>(3 * GELU_K3)), f32x4.mul(c, c)));
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(f32x4.mul(c, f32x4.sub(one, s)), du)));
}
