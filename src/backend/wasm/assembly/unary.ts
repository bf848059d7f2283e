// The unary elementwise kernels, one pair per row of src/backend/kernels.ts: `<op>S` on one f32 and,
// where the row says `simd`, `<op>V` on four lanes (f32x4). The generated ops.gen.ts imports them by
// name, so a row without its kernel here does not compile. Semantics follow the reference (`ref` in the
// table) exactly, NaN and ±inf included; the scalar forms compute transcendentals in f64 and round once.
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

// x > 0 ? x : 0 (NaN gives 0, as in the reference).
// @ts-ignore: decorator
@inline export function reluS(x: f32): f32 { return x > 0 ? x : 0; }
// @ts-ignore: decorator
@inline export function reluV(x: v128): v128 { return v128.and(x, f32x4.gt(x, f32x4.splat(0))); }

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
