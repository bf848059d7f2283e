// Elementwise kernels, made by two factories: `mapUnary(op, ...)` and `mapBinary(op, ...)`.
// Each export below passes a constant op code; the factory is inlined and the optimizer folds the
// op switch away, so every export is a straight SIMD loop with a scalar tail. Adding a kernel means
// one case in applyUV/applyUS (vector and scalar form) and one export line.
// All pointers are byte addresses into the shared memory; n counts float32 elements.
import { expS, expV, sigmoidS, sigmoidV, tanhS, tanhV } from './math';

// Unary op codes (order matches UnaryOp in backend.ts's JS side: see UNARY_OPS in wasm/backend.ts).
// @ts-ignore
@inline const NEG = 0; // @ts-ignore
@inline const EXP = 1; // @ts-ignore
@inline const LOG = 2; // @ts-ignore
@inline const SQRT = 3; // @ts-ignore
@inline const TANH = 4; // @ts-ignore
@inline const SIGMOID = 5; // @ts-ignore
@inline const RELU = 6; // @ts-ignore
@inline const STEP = 7; // @ts-ignore
@inline const ABS = 8; // @ts-ignore
@inline const SQUARE = 9;

// @ts-ignore
@inline function applyUV(op: i32, x: v128): v128 {
  if (op == NEG) return f32x4.neg(x);
  if (op == EXP) return expV(x);
  if (op == SQRT) return f32x4.sqrt(x);
  if (op == TANH) return tanhV(x);
  if (op == SIGMOID) return sigmoidV(x);
  // x > 0 ? x : 0 (NaN gives 0, as in the reference).
  if (op == RELU) return v128.and(x, f32x4.gt(x, f32x4.splat(0)));
  if (op == STEP) return v128.and(f32x4.splat(1), f32x4.gt(x, f32x4.splat(0)));
  if (op == ABS) return f32x4.abs(x);
  if (op == SQUARE) return f32x4.mul(x, x);
  return x;
}
// @ts-ignore
@inline function applyUS(op: i32, x: f32): f32 {
  if (op == NEG) return -x;
  if (op == EXP) return expS(x);
  if (op == LOG) return <f32>Math.log(<f64>x);
  if (op == SQRT) return Mathf.sqrt(x);
  if (op == TANH) return tanhS(x);
  if (op == SIGMOID) return sigmoidS(x);
  if (op == RELU) return x > 0 ? x : 0;
  if (op == STEP) return x > 0 ? 1 : 0;
  if (op == ABS) return Mathf.abs(x);
  if (op == SQUARE) return x * x;
  return x;
}
// log has no vector form (it is rare in training); it runs the scalar f64 path.
// @ts-ignore
@inline function hasUV(op: i32): bool { return op != LOG; }

// @ts-ignore
@inline function mapUnary(op: i32, x: usize, out: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && hasUV(op)) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, applyUV(op, v128.load(x + o)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, applyUS(op, load<f32>(x + o)));
  }
}

export function unary_neg(x: usize, out: usize, n: i32): void { mapUnary(NEG, x, out, n); }
export function unary_exp(x: usize, out: usize, n: i32): void { mapUnary(EXP, x, out, n); }
export function unary_log(x: usize, out: usize, n: i32): void { mapUnary(LOG, x, out, n); }
export function unary_sqrt(x: usize, out: usize, n: i32): void { mapUnary(SQRT, x, out, n); }
export function unary_tanh(x: usize, out: usize, n: i32): void { mapUnary(TANH, x, out, n); }
export function unary_sigmoid(x: usize, out: usize, n: i32): void { mapUnary(SIGMOID, x, out, n); }
export function unary_relu(x: usize, out: usize, n: i32): void { mapUnary(RELU, x, out, n); }
export function unary_step(x: usize, out: usize, n: i32): void { mapUnary(STEP, x, out, n); }
export function unary_abs(x: usize, out: usize, n: i32): void { mapUnary(ABS, x, out, n); }
export function unary_square(x: usize, out: usize, n: i32): void { mapUnary(SQUARE, x, out, n); }

// Binary op codes.
// @ts-ignore
@inline const ADD = 0; // @ts-ignore
@inline const SUB = 1; // @ts-ignore
@inline const MUL = 2; // @ts-ignore
@inline const DIV = 3; // @ts-ignore
@inline const POW = 4; // @ts-ignore
@inline const MAX = 5; // @ts-ignore
@inline const MIN = 6; // @ts-ignore
@inline const GT = 7; // @ts-ignore
@inline const GE = 8; // @ts-ignore
@inline const EQ = 9;

// Semantics follow the reference exactly, NaN included: max(a, b) = a >= b ? a : b.
// @ts-ignore
@inline function applyBV(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  if (op == MAX) return v128.bitselect(a, b, f32x4.ge(a, b));
  if (op == MIN) return v128.bitselect(a, b, f32x4.le(a, b));
  if (op == GT) return v128.and(f32x4.splat(1), f32x4.gt(a, b));
  if (op == GE) return v128.and(f32x4.splat(1), f32x4.ge(a, b));
  if (op == EQ) return v128.and(f32x4.splat(1), f32x4.eq(a, b));
  return a;
}
// @ts-ignore
@inline function applyBS(op: i32, a: f32, b: f32): f32 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  if (op == DIV) return a / b;
  if (op == POW) return <f32>Math.pow(<f64>a, <f64>b);
  if (op == MAX) return a >= b ? a : b;
  if (op == MIN) return a <= b ? a : b;
  if (op == GT) return a > b ? 1 : 0;
  if (op == GE) return a >= b ? 1 : 0;
  if (op == EQ) return a == b ? 1 : 0;
  return a;
}
// @ts-ignore
@inline function hasBV(op: i32): bool { return op != POW; }

// One contiguous run: out[i] = op(a[i·sa], b[i·sb]) where sa, sb are 1 (vector) or 0 (scalar).
// @ts-ignore
@inline function binaryRun(op: i32, a: usize, b: usize, out: usize, n: i32, aScalar: bool, bScalar: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD && hasBV(op)) {
    const as = v128.load32_splat(a), bs = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const va = aScalar ? as : v128.load(a + o);
      const vb = bScalar ? bs : v128.load(b + o);
      v128.store(out + o, applyBV(op, va, vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, applyBS(op, load<f32>(aScalar ? a : a + o), load<f32>(bScalar ? b : b + o)));
  }
}

// mode 0: same shape; 1: a is a scalar; 2: b is a scalar;
// 3: b has C elements repeated along rows of a [n/C, C]; 4: a has C elements repeated along rows of b.
// @ts-ignore
@inline function mapBinary(op: i32, a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void {
  if (mode == 0) binaryRun(op, a, b, out, n, false, false);
  else if (mode == 1) binaryRun(op, a, b, out, n, true, false);
  else if (mode == 2) binaryRun(op, a, b, out, n, false, true);
  else if (mode == 3) {
    for (let r = 0; r < n; r += C) {
      const o = <usize>r << 2;
      binaryRun(op, a + o, b, out + o, C, false, false);
    }
  } else {
    for (let r = 0; r < n; r += C) {
      const o = <usize>r << 2;
      binaryRun(op, a, b + o, out + o, C, false, false);
    }
  }
}

export function binary_add(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(ADD, a, b, out, n, mode, C); }
export function binary_sub(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(SUB, a, b, out, n, mode, C); }
export function binary_mul(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(MUL, a, b, out, n, mode, C); }
export function binary_div(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(DIV, a, b, out, n, mode, C); }
export function binary_pow(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(POW, a, b, out, n, mode, C); }
export function binary_max(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(MAX, a, b, out, n, mode, C); }
export function binary_min(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(MIN, a, b, out, n, mode, C); }
export function binary_gt(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(GT, a, b, out, n, mode, C); }
export function binary_ge(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(GE, a, b, out, n, mode, C); }
export function binary_eq(a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void { mapBinary(EQ, a, b, out, n, mode, C); }

/** out[i] = min(max(x[i], lo), hi), written as the reference's comparisons (NaN passes through). */
export function clip(x: usize, lo: f32, hi: f32, out: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const t = v128.bitselect(vlo, v, f32x4.lt(v, vlo));
      v128.store(out + o, v128.bitselect(vhi, t, f32x4.gt(t, vhi)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v < lo ? lo : v > hi ? hi : v);
  }
}

/** out[i] = cond[i] != 0 ? a[i] : b[i]. */
export function where(cond: usize, a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const m = f32x4.ne(v128.load(cond + o), f32x4.splat(0));
      v128.store(out + o, v128.bitselect(v128.load(a + o), v128.load(b + o), m));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(cond + o) != 0 ? load<f32>(a + o) : load<f32>(b + o));
  }
}

/** out = x·s + y·t. */
export function axpby(x: usize, s: f32, y: usize, t: f32, out: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s), vt = f32x4.splat(t);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(out + o, f32x4.add(f32x4.mul(v128.load(x + o), vs), f32x4.mul(v128.load(y + o), vt)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(x + o) * s + load<f32>(y + o) * t);
  }
}

/** x *= s. */
export function scale_in_place(x: usize, s: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(x + o, f32x4.mul(v128.load(x + o), vs)); }
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(x + o, load<f32>(x + o) * s); }
}

/** Σ x², accumulated in f64 (the vector path keeps two f64x2 partial sums). */
export function sum_squares(x: usize, n: i32): f64 {
  let s: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
      acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
    }
    const acc = f64x2.add(acc0, acc1);
    s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  }
  for (; i < n; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); s += v * v; }
  return s;
}

/** p -= lr·g. */
export function sgd_update(p: usize, g: usize, lr: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vl = f32x4.splat(lr);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.mul(vl, v128.load(g + o))));
    }
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(p + o, load<f32>(p + o) - lr * load<f32>(g + o)); }
}

/** v = mu·v + g; p -= lr·v. */
export function momentum_update(p: usize, g: usize, v: usize, lr: f32, mu: f32, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vl = f32x4.splat(lr), vm = f32x4.splat(mu);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const nv = f32x4.add(f32x4.mul(vm, v128.load(v + o)), v128.load(g + o));
      v128.store(v + o, nv);
      v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.mul(vl, nv)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const nv = mu * load<f32>(v + o) + load<f32>(g + o);
    store<f32>(v + o, nv);
    store<f32>(p + o, load<f32>(p + o) - lr * nv);
  }
}

/** Adam with bias correction folded into c1 = 1 − β1^t, c2 = 1 − β2^t (computed by the caller in f64). */
export function adam_update(p: usize, g: usize, m: usize, v: usize, lr: f32, beta1: f32, beta2: f32, eps: f32,
  c1: f32, c2: f32, n: i32): void {
  const ib1: f32 = 1 - beta1, ib2: f32 = 1 - beta2, ic1: f32 = 1 / c1, ic2: f32 = 1 / c2;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2), vib1 = f32x4.splat(ib1), vib2 = f32x4.splat(ib2);
    const vic1 = f32x4.splat(ic1), vic2 = f32x4.splat(ic2), vlr = f32x4.splat(lr), veps = f32x4.splat(eps);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const gi = v128.load(g + o);
      const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vib1, gi));
      const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(vib2, f32x4.mul(gi, gi)));
      v128.store(m + o, mi);
      v128.store(v + o, vi);
      const step = f32x4.div(f32x4.mul(vlr, f32x4.mul(mi, vic1)), f32x4.add(f32x4.sqrt(f32x4.mul(vi, vic2)), veps));
      v128.store(p + o, f32x4.sub(v128.load(p + o), step));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = beta1 * load<f32>(m + o) + ib1 * gi;
    const vi = beta2 * load<f32>(v + o) + ib2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, load<f32>(p + o) - (lr * (mi * ic1)) / (Mathf.sqrt(vi * ic2) + eps));
  }
}

/**
 * Reductions over the middle axis of x viewed as [outer, red, inner]: out[o, i] = op_r x[o, r, i].
 * op 0 = sum, 1 = max (NaN-propagating, like the reference).
 */
// @ts-ignore
@inline function reduceMiddle(op: i32, x: usize, out: usize, outer: i32, red: i32, inner: i32): void {
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const xo = x + <usize>o * <usize>red * rowBytes;
    const oo = out + <usize>o * rowBytes;
    if (inner == 1) {
      // Horizontal reduction of one contiguous run.
      let i = 0;
      let s: f32 = op == 0 ? 0 : -Infinity;
      if (ASC_FEATURE_SIMD) {
        let acc = f32x4.splat(s);
        for (; i + 4 <= red; i += 4) {
          const v = v128.load(xo + (<usize>i << 2));
          acc = op == 0 ? f32x4.add(acc, v) : f32x4.max(acc, v);
        }
        const a0 = f32x4.extract_lane(acc, 0), a1 = f32x4.extract_lane(acc, 1);
        const a2 = f32x4.extract_lane(acc, 2), a3 = f32x4.extract_lane(acc, 3);
        s = op == 0 ? (a0 + a1) + (a2 + a3) : maxNaN(maxNaN(a0, a1), maxNaN(a2, a3));
      }
      for (; i < red; i++) {
        const v = load<f32>(xo + (<usize>i << 2));
        s = op == 0 ? s + v : maxNaN(s, v);
      }
      store<f32>(oo, s);
      continue;
    }
    // Vertical: accumulate rows into out.
    memory.copy(oo, xo, rowBytes);
    for (let r = 1; r < red; r++) {
      const xr = xo + <usize>r * rowBytes;
      let i = 0;
      if (ASC_FEATURE_SIMD) {
        for (; i + 4 <= inner; i += 4) {
          const off = <usize>i << 2;
          const a = v128.load(oo + off), b = v128.load(xr + off);
          v128.store(oo + off, op == 0 ? f32x4.add(a, b) : f32x4.max(a, b));
        }
      }
      for (; i < inner; i++) {
        const off = <usize>i << 2;
        const a = load<f32>(oo + off), b = load<f32>(xr + off);
        store<f32>(oo + off, op == 0 ? a + b : maxNaN(a, b));
      }
    }
  }
}
// @ts-ignore
@inline function maxNaN(a: f32, b: f32): f32 { return a != a || b != b ? NaN : (a > b ? a : b); }

export function reduce_sum(x: usize, out: usize, outer: i32, red: i32, inner: i32): void { reduceMiddle(0, x, out, outer, red, inner); }
export function reduce_max(x: usize, out: usize, outer: i32, red: i32, inner: i32): void { reduceMiddle(1, x, out, outer, red, inner); }

/** 2-D transpose of `batch` matrices [R, C] -> [C, R], in 8×8 blocks for cache locality. 4-byte elements. */
export function transpose2d(x: usize, out: usize, batch: i32, R: i32, C: i32): void {
  const mat = <usize>R * <usize>C << 2;
  for (let p = 0; p < batch; p++) {
    const xb = x + <usize>p * mat, ob = out + <usize>p * mat;
    for (let r0 = 0; r0 < R; r0 += 8) {
      const r1 = min(r0 + 8, R);
      for (let c0 = 0; c0 < C; c0 += 8) {
        const c1 = min(c0 + 8, C);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            store<u32>(ob + ((<usize>c * <usize>R + <usize>r) << 2), load<u32>(xb + ((<usize>r * <usize>C + <usize>c) << 2)));
          }
        }
      }
    }
  }
}
