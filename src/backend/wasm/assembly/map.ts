// The two elementwise factories: `mapUnary(op, ...)` and `mapBinary(op, ...)` run one op of the kernel
// table (src/backend/kernels.ts) over an array. The exports `unary_<op>` / `binary_<op>` that call them
// (exports.gen.ts), the op codes and the dispatch on them (`applyUS`, `applyUV`, ..., in ops.gen.ts) are
// generated from that table by scripts/build-wasm.mjs; the per-op math lives in unary.ts / binary.ts.
// Each export passes a constant op code; the factory is inlined and the optimizer folds the dispatch
// away, so every export is a straight SIMD loop with a scalar tail.
// All pointers are byte addresses into the shared memory; n counts float32 elements.
import { applyBS, applyBV, applyUS, applyUV, hasBV, hasUV } from './ops.gen';

// @ts-ignore
@inline export function mapUnary(op: i32, x: usize, out: usize, n: i32): void {
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
@inline export function mapBinary(op: i32, a: usize, b: usize, out: usize, n: i32, mode: i32, C: i32): void {
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
