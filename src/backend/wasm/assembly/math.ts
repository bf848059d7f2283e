// Vector and scalar transcendental functions for the kernels.
//
// Vector versions (f32x4) use Cephes-style range reduction: exp(x) = 2^n · exp(r), r = x − n·ln2,
// |r| ≤ ln2/2, with a degree-6 polynomial for exp(r) (≈1 ulp). The scale 2^n is applied as two
// factors so that n in [−150, 129] never overflows the exponent field: exp(89) becomes +inf and
// exp(−104) becomes 0 through ordinary float arithmetic, and ±inf inputs are clamped into that range.
// The clamp passes NaN through, and NaN in gives NaN out without a special case.
// Scalar versions (used for tails and by the non-SIMD build) compute in f64 with the standard library
// and round once, so they agree with the JavaScript reference (Math.*) to the last bit in most cases.

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;

// @ts-ignore: decorator
@inline export function expV(x: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x and pmin(y, hi) = hi < y ? hi : y both pass NaN through (and are
  // single instructions, unlike the NaN-propagating f32x4.min/max).
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-104.0)), f32x4.splat(89.0));
  // n = round(x·log2e) by the 1.5·2^23 trick: adding it leaves the integer in the low mantissa bits,
  // so the float n and the integer n both come out without a (slow) f32x4.nearest / trunc_sat.
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(12582912.0));
  const n = f32x4.sub(t, f32x4.splat(12582912.0));
  const ni = i32x4.sub(t, i32x4.splat(0x4B400000));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  const e = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  // 2^n as 2^n1 · 2^n2 with n1 = n >> 1, n2 = n − n1: both stay within the normal exponent range.
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  return f32x4.mul(f32x4.mul(e, s1), s2);
}

// tanh: an odd Taylor polynomial for |x| < 0.3 (where 1 − 2/(e^{2x}+1) would cancel), otherwise
// 1 − 2/(exp(2|x|) + 1) with the sign of x restored. Large |x| gives exp = inf, so exactly ±1.
// @ts-ignore: decorator
@inline export function tanhV(x: v128): v128 {
  const a = f32x4.abs(x);
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(<f32>(62.0 / 2835.0));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(<f32>(-17.0 / 315.0)));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(<f32>(2.0 / 15.0)));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(<f32>(-1.0 / 3.0)));
  const small = f32x4.add(x, f32x4.mul(f32x4.mul(x, x2), p));
  const e = expV(f32x4.add(a, a));
  const t = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  const big = v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, big, f32x4.lt(a, f32x4.splat(0.3)));
}

// sigmoid: with e = exp(−|x|) ≤ 1 nothing overflows: σ(x) = 1/(1+e) for x ≥ 0, e/(1+e) otherwise.
// @ts-ignore: decorator
@inline export function sigmoidV(x: v128): v128 {
  const e = expV(f32x4.neg(f32x4.abs(x)));
  const r = f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), e));
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(x, f32x4.splat(0.0)));
}

// @ts-ignore: decorator
@inline export function expS(x: f32): f32 { return <f32>Math.exp(<f64>x); }
// @ts-ignore: decorator
@inline export function tanhS(x: f32): f32 { return <f32>Math.tanh(<f64>x); }
// @ts-ignore: decorator
@inline export function sigmoidS(x: f32): f32 {
  const v = <f64>x;
  if (v >= 0) return <f32>(1.0 / (1.0 + Math.exp(-v)));
  const e = Math.exp(v);
  return <f32>(e / (1.0 + e));
}
