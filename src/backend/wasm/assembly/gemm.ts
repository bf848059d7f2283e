// GEMM: C[M,N] (+)= op(A) · op(B), Goto/BLIS-style.
//
// Loops, outermost first: jc over N in NC-column blocks; pc over K in KC-deep slices (pack B[kc, nc]
// into NR-wide column panels); ic over M in MC-row blocks (pack A[mc, kc] into MR-tall row panels);
// then jr over the B panels and ir over the A panels, each pair running the MR×NR micro-kernel with
// kc rank-1 updates held in registers. Packing absorbs the transposes: op(A) and op(B) are read
// through strides while packing, so A·B, A·Bᵀ and Aᵀ·B all run the same micro-kernel on the same
// layout. Edge tiles are computed into a scratch tile (padded panels are zero) and copied out.
// Exception: a row-major B with few rows of C (M ≤ 32, e.g. an LSTM step) is read in place.
//
// MR×NR = 4×8 with f32x4: 8 accumulators + 2 B vectors + 1 broadcast A + 1 product = 12 of the 16
// XMM registers V8 allocates on x64, so nothing spills (6×8 or 4×16 would). Unrolling the k loop
// by two measured slower, so it is not unrolled.
// Each call computes one [m0, m1) × [n0, n1) block of C (a chunk of a threaded job), packing into
// its thread's own buffers.

// @ts-ignore
@inline export const MR = 4; // @ts-ignore
@inline export const NR = 8; // @ts-ignore
@inline export const KC = 256; // @ts-ignore
@inline export const MC = 128; // @ts-ignore
@inline export const NC = 2048; // @ts-ignore
@inline const DIRECT_B_MAX_M = 32;

/** Bytes of scratch one thread needs: packed A (MC×KC), packed B (KC×NC) and one MR×NR tile. */
export function gemm_scratch_bytes(): i32 { return (MC * KC + KC * NC + MR * NR) * 4; }

// This thread's packing buffers. A wasm global is per instance, and each thread has its own instance
// of the module, so every thread packs into its own block of the shared memory.
let scratch: usize = 0;
/** Sets this thread's GEMM scratch block (gemm_scratch_bytes() long, 64-byte aligned). */
export function set_gemm_scratch(ptr: usize): void { scratch = ptr; }

// Stores the 4×4 transpose of rows r0..r3 as four vectors at d, d + stride, d + 2·stride, d + 3·stride.
// @ts-ignore
@inline function storeTransposed4(r0: v128, r1: v128, r2: v128, r3: v128, d: usize, stride: usize): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(d, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(d + stride, i32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(d + 2 * stride, i32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(d + 3 * stride, i32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

// Pack op(B)[pc:pc+kc, jc:jc+nc] into panels of NR columns: panel j holds kc rows of NR floats.
function packB(b: usize, transB: bool, K: i32, N: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let j = 0; j < nc; j += NR) {
    const nr = min(NR, nc - j);
    const panel = dst + (<usize>j * <usize>kc << 2);
    if (!transB) {
      // B [K, N]: each k contributes a contiguous run of nr floats.
      for (let k = 0; k < kc; k++) {
        const src = b + ((<usize>(pc + k) * <usize>N + <usize>(jc + j)) << 2);
        const d = panel + (<usize>k * NR << 2);
        if (ASC_FEATURE_SIMD && nr == NR) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < nr ? load<f32>(src + (<usize>c << 2)) : 0);
        }
      }
    } else {
      // B stored [N, K]: column c of the panel is a contiguous run of B's row jc+j+c. Full panels
      // move 4×4 blocks through registers (a transpose), the rest element by element.
      let k0 = 0;
      if (ASC_FEATURE_SIMD && nr == NR) {
        const ldb = <usize>K << 2;
        for (; k0 + 4 <= kc; k0 += 4) {
          for (let g = 0; g < NR; g += 4) {
            const src = b + ((<usize>(jc + j + g) * <usize>K + <usize>(pc + k0)) << 2);
            storeTransposed4(v128.load(src), v128.load(src + ldb), v128.load(src + 2 * ldb), v128.load(src + 3 * ldb),
              panel + ((<usize>k0 * NR + <usize>g) << 2), NR * 4);
          }
        }
      }
      for (let c = 0; c < NR; c++) {
        const d = panel + (<usize>c << 2);
        if (c < nr) {
          const src = b + ((<usize>(jc + j + c) * <usize>K + <usize>pc) << 2);
          for (let k = k0; k < kc; k++) store<f32>(d + (<usize>k * NR << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = k0; k < kc; k++) store<f32>(d + (<usize>k * NR << 2), 0);
        }
      }
    }
  }
}

// Pack op(A)[ic:ic+mc, pc:pc+kc] into panels of MR rows: panel i holds kc columns of MR floats.
function packA(a: usize, transA: bool, M: i32, K: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  for (let i = 0; i < mc; i += MR) {
    const mr = min(MR, mc - i);
    const panel = dst + (<usize>i * <usize>kc << 2);
    if (transA) {
      // A stored [K, M]: each k contributes a contiguous run of mr floats.
      for (let k = 0; k < kc; k++) {
        const src = a + ((<usize>(pc + k) * <usize>M + <usize>(ic + i)) << 2);
        const d = panel + (<usize>k * MR << 2);
        if (ASC_FEATURE_SIMD && mr == MR) v128.store(d, v128.load(src));
        else for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < mr ? load<f32>(src + (<usize>r << 2)) : 0);
      }
    } else {
      // A [M, K]: row r of the panel is a contiguous run of A's row ic+i+r (4×4 transposes when full).
      let k0 = 0;
      if (ASC_FEATURE_SIMD && mr == MR) {
        const lda = <usize>K << 2;
        for (; k0 + 4 <= kc; k0 += 4) {
          const src = a + ((<usize>(ic + i) * <usize>K + <usize>(pc + k0)) << 2);
          storeTransposed4(v128.load(src), v128.load(src + lda), v128.load(src + 2 * lda), v128.load(src + 3 * lda),
            panel + (<usize>k0 * MR << 2), MR * 4);
        }
      }
      for (let r = 0; r < MR; r++) {
        const d = panel + (<usize>r << 2);
        if (r < mr) {
          const src = a + ((<usize>(ic + i + r) * <usize>K + <usize>pc) << 2);
          for (let k = k0; k < kc; k++) store<f32>(d + (<usize>k * MR << 2), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = k0; k < kc; k++) store<f32>(d + (<usize>k * MR << 2), 0);
        }
      }
    }
  }
}

// c + a·b: one fused multiply-add where the engine has relaxed SIMD (x86 FMA3: vfmadd), else mul + add.
// Fused rounding differs from mul-then-add by at most one float32 rounding per step.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// The MR×NR micro-kernel: C[4, 8] (+)= Apanel[kc, 4]ᵀ · Bpanel[kc, 8]. ldb (the step between B's k
// rows: NR·4 when packed, N·4 when read in place) and ldc are in bytes.
function kernel(kc: i32, pa: usize, pb: usize, ldb: usize, c: usize, ldc: usize, addC: bool): void {
  if (ASC_FEATURE_SIMD) {
    let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
    for (let k = 0; k < kc; k++) {
      const b0 = v128.load(pb), b1 = v128.load(pb, 16);
      let a = v128.load32_splat(pa);
      c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
      a = v128.load32_splat(pa, 4);
      c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
      a = v128.load32_splat(pa, 8);
      c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
      a = v128.load32_splat(pa, 12);
      c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
      pa += MR * 4; pb += ldb;
    }
    if (addC) {
      c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
      c10 = f32x4.add(c10, v128.load(c + ldc)); c11 = f32x4.add(c11, v128.load(c + ldc, 16));
      c20 = f32x4.add(c20, v128.load(c + 2 * ldc)); c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
      c30 = f32x4.add(c30, v128.load(c + 3 * ldc)); c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
    }
    v128.store(c, c00); v128.store(c, c01, 16);
    v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
    v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
    v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
  } else {
    // Scalar build: one row of 8 accumulators at a time.
    for (let r = 0; r < MR; r++) {
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0, s4: f32 = 0, s5: f32 = 0, s6: f32 = 0, s7: f32 = 0;
      let a = pa + (<usize>r << 2), b = pb;
      for (let k = 0; k < kc; k++) {
        const av = load<f32>(a);
        s0 += av * load<f32>(b); s1 += av * load<f32>(b, 4); s2 += av * load<f32>(b, 8); s3 += av * load<f32>(b, 12);
        s4 += av * load<f32>(b, 16); s5 += av * load<f32>(b, 20); s6 += av * load<f32>(b, 24); s7 += av * load<f32>(b, 28);
        a += MR * 4; b += ldb;
      }
      const cr = c + <usize>r * ldc;
      if (addC) {
        s0 += load<f32>(cr); s1 += load<f32>(cr, 4); s2 += load<f32>(cr, 8); s3 += load<f32>(cr, 12);
        s4 += load<f32>(cr, 16); s5 += load<f32>(cr, 20); s6 += load<f32>(cr, 24); s7 += load<f32>(cr, 28);
      }
      store<f32>(cr, s0); store<f32>(cr, s1, 4); store<f32>(cr, s2, 8); store<f32>(cr, s3, 12);
      store<f32>(cr, s4, 16); store<f32>(cr, s5, 20); store<f32>(cr, s6, 24); store<f32>(cr, s7, 28);
    }
  }
}

function gemm1(a: usize, b: usize, c: usize, M: i32, K: i32, N: i32, transA: bool, transB: bool, accumulate: bool,
  m0: i32, m1: i32, n0: i32, n1: i32): void {
  const pA = scratch, pB = scratch + (<usize>(MC * KC) << 2), tile = pB + (<usize>(KC * NC) << 2);
  const ldc = <usize>N << 2;
  // With few rows each packed B element would be used only M times, so packing B costs about as
  // much as the product: read a row-major B in place instead (only a ragged last panel is packed).
  const direct = !transB && m1 - m0 <= DIRECT_B_MAX_M;
  for (let jc = n0; jc < n1; jc += NC) {
    const nc = min(NC, n1 - jc);
    const ncFull = nc & ~(NR - 1);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      if (!direct) packB(b, transB, K, N, pc, kc, jc, nc, pB);
      else if (ncFull < nc) packB(b, transB, K, N, pc, kc, jc + ncFull, nc - ncFull, pB);
      const addC = accumulate || pc > 0;
      for (let ic = m0; ic < m1; ic += MC) {
        const mc = min(MC, m1 - ic);
        packA(a, transA, M, K, ic, mc, pc, kc, pA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          let pbp: usize = pB + (<usize>jr * <usize>kc << 2), ldb: usize = NR * 4;
          if (direct) {
            if (jr < ncFull) { pbp = b + ((<usize>pc * <usize>N + <usize>(jc + jr)) << 2); ldb = <usize>N << 2; }
            else pbp = pB;
          }
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pap = pA + (<usize>ir * <usize>kc << 2);
            const cp = c + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            if (mr == MR && nr == NR) {
              kernel(kc, pap, pbp, ldb, cp, ldc, addC);
            } else {
              kernel(kc, pap, pbp, ldb, tile, NR * 4, false);
              for (let r = 0; r < mr; r++) {
                for (let q = 0; q < nr; q++) {
                  const d = cp + <usize>r * ldc + (<usize>q << 2);
                  const v = load<f32>(tile + (<usize>(r * NR + q) << 2));
                  store<f32>(d, addC ? load<f32>(d) + v : v);
                }
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Batched GEMM over matrices p in [p0, p1), restricted to the C block [m0, m1) × [n0, n1).
 * A [M,K] (or stored [K,M] with transA), B [K,N] (or stored [N,K] with transB), C [M,N]; sA, sB are
 * the batch strides of A and B in elements (0 broadcasts one matrix); C's stride is M·N.
 * K must be > 0 (the caller zero-fills C when K = 0). Packs into this thread's set_gemm_scratch block.
 */
export function gemm(a: usize, b: usize, c: usize, p0: i32, p1: i32, sA: i32, sB: i32, M: i32, K: i32, N: i32,
  transA: bool, transB: bool, accumulate: bool, m0: i32, m1: i32, n0: i32, n1: i32): void {
  for (let p = p0; p < p1; p++) {
    gemm1(a + (<usize>p * <usize>sA << 2), b + (<usize>p * <usize>sB << 2), c + (<usize>p * <usize>M * <usize>N << 2),
      M, K, N, transA, transB, accumulate, m0, m1, n0, n1);
  }
}

/** The same contract as gemm for whole matrices, as a plain i-k-j loop: faster for tiny products. */
export function gemm_small(a: usize, b: usize, c: usize, p0: i32, p1: i32, sA: i32, sB: i32, M: i32, K: i32, N: i32,
  transA: bool, transB: bool, accumulate: bool): void {
  // Element strides of op(A)[m, k] and op(B)[k, n].
  const am: usize = transA ? 1 : <usize>K, ak: usize = transA ? <usize>M : 1;
  const bk: usize = transB ? 1 : <usize>N, bn: usize = transB ? <usize>K : 1;
  for (let p = p0; p < p1; p++) {
    const ap = a + (<usize>p * <usize>sA << 2), bp = b + (<usize>p * <usize>sB << 2);
    const cp = c + (<usize>p * <usize>M * <usize>N << 2);
    for (let m = 0; m < M; m++) {
      const crow = cp + (<usize>m * <usize>N << 2);
      if (!accumulate) memory.fill(crow, 0, <usize>N << 2);
      for (let k = 0; k < K; k++) {
        const av = load<f32>(ap + ((<usize>m * am + <usize>k * ak) << 2));
        const brow = bp + (<usize>k * bk << 2);
        for (let n = 0; n < N; n++) {
          const d = crow + (<usize>n << 2);
          store<f32>(d, load<f32>(d) + av * load<f32>(brow + (<usize>n * bn << 2)));
        }
      }
    }
  }
}

// ---- one row of C: the matrix-vector product ----
//
// c[1, n0:n1] (+)= a[K] · op(B)[:, n0:n1], the shape of batch-1 inference (an LSTM step, a vocabulary
// projection). It reads every element of B once and does one multiply-add with it, so it is bound by
// memory bandwidth, not arithmetic: the packed GEMM above would pad the row to MR = 4 rows and walk B's
// rows with a stride of N floats. Here B is read in long contiguous runs that the prefetcher follows.
// B [K, N] row-major: C's columns in blocks of GEMV_NB floats (4 KiB, kept in L1) accumulate four rows of
// B per pass, c += a[k]·B[k] + … + a[k+3]·B[k+3]. B stored [N, K] (transB): four dot products at a
// time over contiguous rows of B. `a` is a contiguous K-vector whether or not A was transposed (M = 1).

// @ts-ignore
@inline const GEMV_NB = 1024;

// c[0:n] += a0·r0[0:n] + a1·r1[0:n] + a2·r2[0:n] + a3·r3[0:n] (rows r0..r3 of B, n floats each).
// @ts-ignore
@inline function axpy4(c: usize, n: i32, a0: f32, a1: f32, a2: f32, a3: f32, r0: usize, r1: usize, r2: usize, r3: usize): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const v0 = f32x4.splat(a0), v1 = f32x4.splat(a1), v2 = f32x4.splat(a2), v3 = f32x4.splat(a3);
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      let y = v128.load(c + o);
      y = madd(v0, v128.load(r0 + o), y);
      y = madd(v1, v128.load(r1 + o), y);
      y = madd(v2, v128.load(r2 + o), y);
      y = madd(v3, v128.load(r3 + o), y);
      v128.store(c + o, y);
    }
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(c + o, load<f32>(c + o) + a0 * load<f32>(r0 + o) + a1 * load<f32>(r1 + o) + a2 * load<f32>(r2 + o) + a3 * load<f32>(r3 + o));
  }
}

// Σ_k x[k]·r[k] over K floats, four lanes then a horizontal sum (scalar build: one accumulator).
// @ts-ignore
@inline function dot(x: usize, r: usize, K: i32): f32 {
  let k = 0, s: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; k + 4 <= K; k += 4) acc = madd(v128.load(x + (<usize>k << 2)), v128.load(r + (<usize>k << 2)), acc);
    s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  }
  for (; k < K; k++) s += load<f32>(x + (<usize>k << 2)) * load<f32>(r + (<usize>k << 2));
  return s;
}

/**
 * Batched matrix-vector product (M = 1) over matrices p in [p0, p1), columns [n0, n1) of C:
 * C_p[1, N] (+)= a_p[K] · op(B_p), B_p [K, N] or, with transB, stored [N, K]. Strides as `gemm`
 * (C's is N). K > 0.
 */
export function gemv(a: usize, b: usize, c: usize, p0: i32, p1: i32, sA: i32, sB: i32, K: i32, N: i32,
  transB: bool, accumulate: bool, n0: i32, n1: i32): void {
  for (let p = p0; p < p1; p++) {
    const ap = a + (<usize>p * <usize>sA << 2), bp = b + (<usize>p * <usize>sB << 2), cp = c + (<usize>p * <usize>N << 2);
    if (transB) {
      const rowB = <usize>K << 2;
      let n = n0;
      if (ASC_FEATURE_SIMD) {
        // Four rows of B at a time: each vector of a is loaded once for four dot products.
        for (; n + 4 <= n1; n += 4) {
          const r0 = bp + <usize>n * rowB, r1 = r0 + rowB, r2 = r1 + rowB, r3 = r2 + rowB;
          let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
          let k = 0;
          for (; k + 4 <= K; k += 4) {
            const o = <usize>k << 2, x = v128.load(ap + o);
            s0 = madd(x, v128.load(r0 + o), s0); s1 = madd(x, v128.load(r1 + o), s1);
            s2 = madd(x, v128.load(r2 + o), s2); s3 = madd(x, v128.load(r3 + o), s3);
          }
          // Horizontal sums of the four accumulators as one 4×4 transpose-and-add.
          const t0 = i32x4.shuffle(s0, s1, 0, 4, 1, 5), t1 = i32x4.shuffle(s2, s3, 0, 4, 1, 5);
          const t2 = i32x4.shuffle(s0, s1, 2, 6, 3, 7), t3 = i32x4.shuffle(s2, s3, 2, 6, 3, 7);
          let v = f32x4.add(f32x4.add(i32x4.shuffle(t0, t1, 0, 1, 4, 5), i32x4.shuffle(t0, t1, 2, 3, 6, 7)),
            f32x4.add(i32x4.shuffle(t2, t3, 0, 1, 4, 5), i32x4.shuffle(t2, t3, 2, 3, 6, 7)));
          for (; k < K; k++) {
            const o = <usize>k << 2, x = load<f32>(ap + o);
            v = f32x4.add(v, f32x4.mul(f32x4.splat(x), f32x4(load<f32>(r0 + o), load<f32>(r1 + o), load<f32>(r2 + o), load<f32>(r3 + o))));
          }
          const d = cp + (<usize>n << 2);
          v128.store(d, accumulate ? f32x4.add(v128.load(d), v) : v);
        }
      }
      for (; n < n1; n++) {
        const d = cp + (<usize>n << 2);
        const v = dot(ap, bp + <usize>n * rowB, K);
        store<f32>(d, accumulate ? load<f32>(d) + v : v);
      }
      continue;
    }
    const rowB = <usize>N << 2;
    for (let j = n0; j < n1; j += GEMV_NB) {
      const nb = min(GEMV_NB, n1 - j);
      const cb = cp + (<usize>j << 2), bb = bp + (<usize>j << 2);
      if (!accumulate) memory.fill(cb, 0, <usize>nb << 2);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const r = bb + <usize>k * rowB, ak = ap + (<usize>k << 2);
        axpy4(cb, nb, load<f32>(ak), load<f32>(ak, 4), load<f32>(ak, 8), load<f32>(ak, 12), r, r + rowB, r + 2 * rowB, r + 3 * rowB);
      }
      for (; k < K; k++) {
        // The last rows one at a time (zero weights for the missing three would turn an inf·0 into NaN).
        const r = bb + <usize>k * rowB, ak = load<f32>(ap + (<usize>k << 2));
        for (let q = 0; q < nb; q++) {
          const o = <usize>q << 2;
          store<f32>(cb + o, load<f32>(cb + o) + ak * load<f32>(r + o));
        }
      }
    }
  }
}
