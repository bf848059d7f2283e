// Fused kernels: row-wise softmax family, softmax cross-entropy, the LSTM cell, embedding gather/scatter.
// Each one is a single pass (or a few passes over a row that stays in L1) instead of a chain of
// elementwise kernels with temporaries. Semantics are the reference backend's (src/backend/js/backend.ts).
import { expS, expV, sigmoidS, sigmoidV, tanhS, tanhV } from './math';

// @ts-ignore
@inline function rowMax(x: usize, C: i32): f32 {
  let i = 0;
  let m: f32 = -Infinity;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(-Infinity);
    for (; i + 4 <= C; i += 4) acc = f32x4.max(acc, v128.load(x + (<usize>i << 2)));
    m = max(max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
  }
  for (; i < C; i++) m = max(m, load<f32>(x + (<usize>i << 2)));
  return m;
}

// Writes e[c] = exp(x[c] − mx) into out (if store) and returns Σ e.
// @ts-ignore
@inline function rowExpSum(x: usize, C: i32, mx: f32, out: usize, store_: bool): f32 {
  let i = 0;
  let s: f64 = 0; // the scalar path sums in f64, as the reference does (rows can be 10^4 long)
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(mx);
    let acc = f32x4.splat(0);
    for (; i + 4 <= C; i += 4) {
      const o = <usize>i << 2;
      const e = expV(f32x4.sub(v128.load(x + o), vm));
      if (store_) v128.store(out + o, e);
      acc = f32x4.add(acc, e);
    }
    s = <f64>((f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3)));
  }
  for (; i < C; i++) {
    const o = <usize>i << 2;
    const e = expS(load<f32>(x + o) - mx);
    if (store_) store<f32>(out + o, e);
    s += <f64>e;
  }
  return <f32>s;
}

// @ts-ignore
@inline function rowScale(out: usize, C: i32, k: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vk = f32x4.splat(k);
    for (; i + 4 <= C; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.mul(v128.load(out + o), vk)); }
  }
  for (; i < C; i++) { const o = <usize>i << 2; store<f32>(out + o, load<f32>(out + o) * k); }
}

/** Row-wise softmax: x [R, C] -> out [R, C]. */
export function softmax(x: usize, R: i32, C: i32, out: usize): void {
  const row = <usize>C << 2;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>r * row, orow = out + <usize>r * row;
    const mx = rowMax(xr, C);
    const s = rowExpSum(xr, C, mx, orow, true);
    rowScale(orow, C, 1 / s);
  }
}

/** Row-wise log-softmax: out = x − (max + log Σ exp(x − max)). */
export function log_softmax(x: usize, R: i32, C: i32, out: usize): void {
  const row = <usize>C << 2;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>r * row, orow = out + <usize>r * row;
    const mx = rowMax(xr, C);
    const s = rowExpSum(xr, C, mx, 0, false);
    const lse = <f32>(<f64>mx + Math.log(<f64>s));
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vl = f32x4.splat(lse);
      for (; i + 4 <= C; i += 4) { const o = <usize>i << 2; v128.store(orow + o, f32x4.sub(v128.load(xr + o), vl)); }
    }
    for (; i < C; i++) { const o = <usize>i << 2; store<f32>(orow + o, load<f32>(xr + o) - lse); }
  }
}

/**
 * Softmax cross-entropy with int32 targets (checked by the caller): probs [R, C] = softmax(x),
 * loss[r] = lse(x[r]) − x[r, t[r]] (exact even when p_t underflows).
 */
export function softmax_cross_entropy(x: usize, R: i32, C: i32, targets: usize, loss: usize, probs: usize): void {
  const row = <usize>C << 2;
  for (let r = 0; r < R; r++) {
    const xr = x + <usize>r * row, prow = probs + <usize>r * row;
    const mx = rowMax(xr, C);
    const s = rowExpSum(xr, C, mx, prow, true);
    rowScale(prow, C, 1 / s);
    const t = load<i32>(targets + (<usize>r << 2));
    const lse = <f64>mx + Math.log(<f64>s);
    store<f32>(loss + (<usize>r << 2), <f32>(lse - <f64>load<f32>(xr + (<usize>t << 2))));
  }
}

/** dx[r, c] = dLoss[r] · (probs[r, c] − [c == t[r]]). */
export function softmax_cross_entropy_backward(probs: usize, R: i32, C: i32, targets: usize, dLoss: usize, dx: usize): void {
  const row = <usize>C << 2;
  for (let r = 0; r < R; r++) {
    const prow = probs + <usize>r * row, drow = dx + <usize>r * row;
    const g = load<f32>(dLoss + (<usize>r << 2));
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      const vg = f32x4.splat(g);
      for (; i + 4 <= C; i += 4) { const o = <usize>i << 2; v128.store(drow + o, f32x4.mul(vg, v128.load(prow + o))); }
    }
    for (; i < C; i++) { const o = <usize>i << 2; store<f32>(drow + o, g * load<f32>(prow + o)); }
    const t = <usize>load<i32>(targets + (<usize>r << 2)) << 2;
    store<f32>(drow + t, load<f32>(drow + t) - g);
  }
}

/**
 * LSTM cell forward (gate order i, j, f, o), rows b0..b1 of B. z [B, 4H], cPrev/c/h/tanhC [B, H], acts [B, 4H].
 *   i = σ(z_i), j = tanh(z_j), f = σ(z_f + forgetBias), o = σ(z_o); c = f·cPrev + i·j; h = o·tanh(c).
 */
export function lstm_cell_forward(z: usize, cPrev: usize, b0: i32, b1: i32, H: i32, forgetBias: f32,
  c: usize, h: usize, acts: usize, tanhC: usize): void {
  const hb = <usize>H << 2;
  for (let b = b0; b < b1; b++) {
    const zo = <usize>b * 4 * hb, so = <usize>b * hb;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const vfb = f32x4.splat(forgetBias);
      for (; k + 4 <= H; k += 4) {
        const o = <usize>k << 2;
        const zi = zo + o;
        const i = sigmoidV(v128.load(z + zi));
        const j = tanhV(v128.load(z + zi + hb));
        const f = sigmoidV(f32x4.add(v128.load(z + zi + 2 * hb), vfb));
        const og = sigmoidV(v128.load(z + zi + 3 * hb));
        const cv = f32x4.add(f32x4.mul(f, v128.load(cPrev + so + o)), f32x4.mul(i, j));
        const tc = tanhV(cv);
        v128.store(acts + zi, i); v128.store(acts + zi + hb, j);
        v128.store(acts + zi + 2 * hb, f); v128.store(acts + zi + 3 * hb, og);
        v128.store(c + so + o, cv); v128.store(tanhC + so + o, tc); v128.store(h + so + o, f32x4.mul(og, tc));
      }
    }
    for (; k < H; k++) {
      const o = <usize>k << 2;
      const zi = zo + o;
      const i = sigmoidS(load<f32>(z + zi));
      const j = tanhS(load<f32>(z + zi + hb));
      const f = sigmoidS(load<f32>(z + zi + 2 * hb) + forgetBias);
      const og = sigmoidS(load<f32>(z + zi + 3 * hb));
      const cv = f * load<f32>(cPrev + so + o) + i * j;
      const tc = tanhS(cv);
      store<f32>(acts + zi, i); store<f32>(acts + zi + hb, j);
      store<f32>(acts + zi + 2 * hb, f); store<f32>(acts + zi + 3 * hb, og);
      store<f32>(c + so + o, cv); store<f32>(tanhC + so + o, tc); store<f32>(h + so + o, og * tc);
    }
  }
}

/**
 * LSTM cell backward, rows b0..b1. dh, dc, cPrev, tanhC, dcPrev [B, H]; acts, dz [B, 4H].
 *   dcTotal = dc + dh·o·(1 − tanh²c); dz_i = dcTotal·j·i(1−i); dz_j = dcTotal·i·(1−j²);
 *   dz_f = dcTotal·cPrev·f(1−f); dz_o = dh·tanh c·o(1−o); dcPrev = dcTotal·f.
 */
export function lstm_cell_backward(dh: usize, dc: usize, cPrev: usize, acts: usize, tanhC: usize,
  b0: i32, b1: i32, H: i32, dz: usize, dcPrev: usize): void {
  const hb = <usize>H << 2;
  for (let b = b0; b < b1; b++) {
    const zo = <usize>b * 4 * hb, so = <usize>b * hb;
    let k = 0;
    if (ASC_FEATURE_SIMD) {
      const one = f32x4.splat(1);
      for (; k + 4 <= H; k += 4) {
        const o = <usize>k << 2;
        const zi = zo + o;
        const i = v128.load(acts + zi), j = v128.load(acts + zi + hb);
        const f = v128.load(acts + zi + 2 * hb), og = v128.load(acts + zi + 3 * hb);
        const tc = v128.load(tanhC + so + o), dhv = v128.load(dh + so + o);
        const dcv = f32x4.add(v128.load(dc + so + o), f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))));
        v128.store(dz + zi, f32x4.mul(f32x4.mul(dcv, j), f32x4.mul(i, f32x4.sub(one, i))));
        v128.store(dz + zi + hb, f32x4.mul(f32x4.mul(dcv, i), f32x4.sub(one, f32x4.mul(j, j))));
        v128.store(dz + zi + 2 * hb, f32x4.mul(f32x4.mul(dcv, v128.load(cPrev + so + o)), f32x4.mul(f, f32x4.sub(one, f))));
        v128.store(dz + zi + 3 * hb, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))));
        v128.store(dcPrev + so + o, f32x4.mul(dcv, f));
      }
    }
    for (; k < H; k++) {
      const o = <usize>k << 2;
      const zi = zo + o;
      const i = load<f32>(acts + zi), j = load<f32>(acts + zi + hb);
      const f = load<f32>(acts + zi + 2 * hb), og = load<f32>(acts + zi + 3 * hb);
      const tc = load<f32>(tanhC + so + o), dhv = load<f32>(dh + so + o);
      const dcv = load<f32>(dc + so + o) + dhv * og * (1 - tc * tc);
      store<f32>(dz + zi, dcv * j * (i * (1 - i)));
      store<f32>(dz + zi + hb, dcv * i * (1 - j * j));
      store<f32>(dz + zi + 2 * hb, dcv * load<f32>(cPrev + so + o) * (f * (1 - f)));
      store<f32>(dz + zi + 3 * hb, dhv * tc * (og * (1 - og)));
      store<f32>(dcPrev + so + o, dcv * f);
    }
  }
}

/** Returns the first position n with idx[n] outside [0, V), or −1 when all are valid. */
export function check_indices(idx: usize, N: i32, V: i32): i32 {
  for (let n = 0; n < N; n++) {
    const r = load<i32>(idx + (<usize>n << 2));
    if (r < 0 || r >= V) return n;
  }
  return -1;
}

/** out[n, :] = table[idx[n], :] (indices checked by the caller). */
export function gather_rows(table: usize, D: i32, idx: usize, N: i32, out: usize): void {
  const row = <usize>D << 2;
  for (let n = 0; n < N; n++) {
    const r = <usize>load<i32>(idx + (<usize>n << 2));
    memory.copy(out + <usize>n * row, table + r * row, row);
  }
}

/** dTable[idx[n], :] += dOut[n, :] (indices checked by the caller). */
export function scatter_add_rows(dOut: usize, D: i32, idx: usize, N: i32, dTable: usize): void {
  const row = <usize>D << 2;
  for (let n = 0; n < N; n++) {
    const t = dTable + <usize>load<i32>(idx + (<usize>n << 2)) * row, s = dOut + <usize>n * row;
    let d = 0;
    if (ASC_FEATURE_SIMD) {
      for (; d + 4 <= D; d += 4) { const o = <usize>d << 2; v128.store(t + o, f32x4.add(v128.load(t + o), v128.load(s + o))); }
    }
    for (; d < D; d++) { const o = <usize>d << 2; store<f32>(t + o, load<f32>(t + o) + load<f32>(s + o)); }
  }
}
