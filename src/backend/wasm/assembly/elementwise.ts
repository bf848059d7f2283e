// Elementwise kernels outside the kernel table (whose ops are generated: see map.ts): clip, where,
// axpby (which SGD and momentum updates are made of), the sum of squares, the fused Adam step, reductions over one axis and the blocked 2-D transpose.
// All pointers are byte addresses into the shared memory; n counts float32 elements.

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

/**
 * The optional fused Adam step (Backend.adamUpdate): src/optim/optimizers.ts's flat loop in one SIMD pass,
 * with the bias correction folded into c1 = 1 − β1^t, c2 = 1 − β2^t (computed by the caller in f64).
 */
export function adam_update(p: usize, g: usize, m: usize, v: usize, lr: f32, beta1: f32, beta2: f32, eps: f32,
  ib1: f32, ib2: f32, c1: f32, c2: f32, n: i32): void {
  // ib1 = 1 − β1 and ib2 = 1 − β2 come from the caller in f64: 1 − f32(0.999) would be 1.3e-5 off.
  const ic1: f32 = 1 / c1, ic2: f32 = 1 / c2;
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
