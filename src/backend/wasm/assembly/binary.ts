// The binary elementwise kernels, one pair per row of src/backend/kernels.ts: `<op>S` on f32 and,
// where the row says `simd`, `<op>V` on f32x4. Imported by name by the generated ops.gen.ts.
// Semantics follow the reference exactly, NaN included: max(a, b) = a >= b || a is NaN ? a : b, so a NaN
// in either operand gives NaN (as PyTorch's maximum does; the divergence guard needs NaN to propagate).

// @ts-ignore: decorator
@inline export function addS(a: f32, b: f32): f32 { return a + b; }
// @ts-ignore: decorator
@inline export function addV(a: v128, b: v128): v128 { return f32x4.add(a, b); }

// @ts-ignore: decorator
@inline export function subS(a: f32, b: f32): f32 { return a - b; }
// @ts-ignore: decorator
@inline export function subV(a: v128, b: v128): v128 { return f32x4.sub(a, b); }

// @ts-ignore: decorator
@inline export function mulS(a: f32, b: f32): f32 { return a * b; }
// @ts-ignore: decorator
@inline export function mulV(a: v128, b: v128): v128 { return f32x4.mul(a, b); }

// @ts-ignore: decorator
@inline export function divS(a: f32, b: f32): f32 { return a / b; }
// @ts-ignore: decorator
@inline export function divV(a: v128, b: v128): v128 { return f32x4.div(a, b); }

// @ts-ignore: decorator
@inline export function powS(a: f32, b: f32): f32 { return <f32>Math.pow(<f64>a, <f64>b); }

// @ts-ignore: decorator
@inline export function maxS(a: f32, b: f32): f32 { return a >= b || a != a ? a : b; }
// @ts-ignore: decorator
@inline export function maxV(a: v128, b: v128): v128 { return v128.bitselect(a, b, v128.or(f32x4.ge(a, b), f32x4.ne(a, a))); }

// @ts-ignore: decorator
@inline export function minS(a: f32, b: f32): f32 { return a <= b || a != a ? a : b; }
// @ts-ignore: decorator
@inline export function minV(a: v128, b: v128): v128 { return v128.bitselect(a, b, v128.or(f32x4.le(a, b), f32x4.ne(a, a))); }

// @ts-ignore: decorator
@inline export function gtS(a: f32, b: f32): f32 { return a > b ? 1 : 0; }
// @ts-ignore: decorator
@inline export function gtV(a: v128, b: v128): v128 { return v128.and(f32x4.splat(1), f32x4.gt(a, b)); }

// @ts-ignore: decorator
@inline export function geS(a: f32, b: f32): f32 { return a >= b ? 1 : 0; }
// @ts-ignore: decorator
@inline export function geV(a: v128, b: v128): v128 { return v128.and(f32x4.splat(1), f32x4.ge(a, b)); }

// @ts-ignore: decorator
@inline export function eqS(a: f32, b: f32): f32 { return a == b ? 1 : 0; }
// @ts-ignore: decorator
@inline export function eqV(a: v128, b: v128): v128 { return v128.and(f32x4.splat(1), f32x4.eq(a, b)); }
