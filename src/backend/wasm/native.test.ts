// The native GEMM's loading and its contract with the WASM backend: the fallback engages when the addon
// is absent (a missing file, a file that is not an addon, `native: false`, BACKPROP_NATIVE=0) and the
// backend then computes on its WASM kernels and says why; when the addon is there, products run in place
// on the backend's memory (every transposition, accumulate, batched, one row and one column), stay
// correct after the memory grows, and an offset outside the memory is a RangeError, not a stray write.
// Where the addon was not built the tests that need it are skipped loudly (a failure under
// BACKPROP_REQUIRE_NATIVE=1, as in CI).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWasmBackend, type WasmBackend } from './index.js';
import { loadNative, NativeGemm } from './native.js';
import { JsBackend } from '../js/backend.js';

const opened: WasmBackend[] = [];
const dir = mkdtempSync(join(tmpdir(), 'backprop-native-'));
after(async () => { for (const b of opened) await b.close(); rmSync(dir, { recursive: true, force: true }); });

async function open(options: Parameters<typeof createWasmBackend>[0]): Promise<WasmBackend> {
  const be = await createWasmBackend({ threads: 1, ...options });
  opened.push(be);
  return be;
}

/** Runs `fn` with BACKPROP_NATIVE set to `value` (undefined: unset), restoring it afterwards (CI runs this file under BACKPROP_NATIVE=0 too). */
async function withNativeEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env['BACKPROP_NATIVE'];
  if (value === undefined) delete process.env['BACKPROP_NATIVE']; else process.env['BACKPROP_NATIVE'] = value;
  try { return await fn(); } finally {
    if (saved === undefined) delete process.env['BACKPROP_NATIVE']; else process.env['BACKPROP_NATIVE'] = saved;
  }
}

/** A 40×30·30×50 product on `be` (arena storage) against the reference backend. */
function checkProduct(be: WasmBackend, what: string): void {
  const M = 40, K = 30, N = 50;
  const a = be.alloc('float32', M * K, 'arena') as Float32Array, b = be.alloc('float32', K * N, 'arena') as Float32Array;
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i);
  for (let i = 0; i < b.length; i++) b[i] = Math.cos(i);
  const got = be.alloc('float32', M * N, 'arena') as Float32Array, want = new Float32Array(M * N);
  be.matmul(a, b, got, 1, M, K, N, false, false, false);
  new JsBackend().matmul(a, b, want, 1, M, K, N, false, false, false);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${what}: [${i}] ${got[i]} vs ${want[i]}`);
}

test('the fallback engages when the addon is absent: a missing file, a file that is not an addon', () => withNativeEnv(undefined, async () => {
  const missing = join(dir, 'nowhere', 'backprop_native.node');
  const r = loadNative(missing);
  assert.ok(!(r instanceof NativeGemm) && /^not built \(.*nowhere.* is missing: .*apt-get install libopenblas-dev g\+\+ make/.test(r.absent), JSON.stringify(r));
  const be = await open({ nativeModule: missing });
  assert.equal(be.nativeInfo, null);
  assert.match(be.nativeAbsent ?? '', /is missing/);
  assert.ok(!be.name.includes('blas'), be.name);
  be.nativeFrom = 0;
  checkProduct(be, 'missing addon');

  const junk = join(dir, 'junk.node');
  writeFileSync(junk, 'not a shared object');
  const j = loadNative(junk);
  assert.ok(!(j instanceof NativeGemm) && /junk\.node did not load \(/.test(j.absent), JSON.stringify(j));
  const be2 = await open({ nativeModule: junk });
  assert.equal(be2.nativeInfo, null);
  be2.nativeFrom = 0;
  checkProduct(be2, 'unloadable addon');
}));

test('native: false and BACKPROP_NATIVE=0 turn the native GEMM off', async () => {
  const off = await open({ native: false });
  assert.equal(off.nativeInfo, null);
  assert.equal(off.nativeAbsent, 'turned off (native: false)');
  await withNativeEnv('0', async () => {
    const r = loadNative();
    assert.ok(!(r instanceof NativeGemm) && r.absent === 'turned off by BACKPROP_NATIVE');
    const be = await open({});
    assert.equal(be.nativeAbsent, 'turned off by BACKPROP_NATIVE');
  });
});

/** The native backend, or undefined (the test skipped) when the addon is not built here. */
async function nativeOrSkip(t: { skip(m: string): void }, threads = 1): Promise<WasmBackend | undefined> {
  const be = await open({ threads });
  if (be.nativeAbsent === undefined) return be;
  if (process.env['BACKPROP_REQUIRE_NATIVE'] === '1') assert.fail(`the native GEMM is required (BACKPROP_REQUIRE_NATIVE=1) but absent: ${be.nativeAbsent}`);
  console.error(`#### SKIPPED: the native addon is not built (${be.nativeAbsent})`);
  t.skip('native addon not built');
  return undefined;
}

test('the native GEMM: every transposition, accumulate, batched with a broadcast operand, one row, one column; reports its BLAS', async (t) => {
  const be = await nativeOrSkip(t, 2);
  if (!be) return;
  const info = be.nativeInfo!;
  assert.match(info.blas, /^OpenBLAS \d+\.\d+/);
  assert.equal(info.threads, 2);
  assert.match(info.threading, /^(pthreads|openmp|sequential)$/);
  assert.ok(be.name.endsWith('+blas'), be.name);
  be.nativeFrom = 0;
  const ref = new JsBackend();
  const fill = (x: Float32Array, s: number) => { for (let i = 0; i < x.length; i++) x[i] = Math.sin(s + i * 0.37); return x; };
  for (const [batch, M, K, N] of [[1, 1, 7, 33], [1, 9, 7, 1], [1, 17, 33, 65], [3, 5, 4, 6], [2, 1, 200, 300]] as const) {
    for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) for (const bcast of [false, true]) {
      const sB = bcast ? 0 : K * N;
      const a = fill(be.alloc('float32', batch * M * K) as Float32Array, 1), b = fill(be.alloc('float32', bcast ? K * N : batch * K * N) as Float32Array, 2);
      const got = fill(be.alloc('float32', batch * M * N) as Float32Array, 3), want = Float32Array.from(got);
      be.matmul(a, b, got, batch, M, K, N, transA, transB, accumulate, M * K, sB);
      ref.matmul(a, b, want, batch, M, K, N, transA, transB, accumulate, M * K, sB);
      const what = `${batch}×${M}×${K}×${N} tA ${transA} tB ${transB} acc ${accumulate} bcast ${bcast}`;
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${what}: [${i}] ${got[i]} vs ${want[i]}`);
    }
  }
  // Without accumulation the old contents of C are never read (the reference overwrites them): a NaN or an
  // infinity left there must not reach the result, in the general product, one row, one column and K = 0.
  for (const [M, K, N] of [[5, 4, 6], [1, 7, 33], [9, 7, 1], [3, 0, 4]] as const) {
    for (const transA of [false, true]) for (const transB of [false, true]) {
      const a = fill(be.alloc('float32', M * K) as Float32Array, 4), b = fill(be.alloc('float32', K * N) as Float32Array, 5);
      const got = be.alloc('float32', M * N) as Float32Array;
      got.fill(NaN); got[0] = Infinity;
      const want = new Float32Array(M * N);
      be.matmul(a, b, got, 1, M, K, N, transA, transB, false);
      ref.matmul(a, b, want, 1, M, K, N, transA, transB, false);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * Math.max(1, Math.abs(want[i]!)), `${M}×${K}×${N} tA ${transA} tB ${transB}, C held NaN: [${i}] ${got[i]} vs ${want[i]}`);
    }
  }
  // 0·NaN is NaN, not skipped (a BLAS may not drop a zero of A or x).
  const a = be.alloc('float32', 2) as Float32Array, b = be.alloc('float32', 2) as Float32Array, c = be.alloc('float32', 1) as Float32Array;
  a.set([0, 1]); b.set([NaN, 2]);
  be.matmul(a, b, c, 1, 1, 2, 1, false, false, false);
  assert.ok(Number.isNaN(c[0]!), `0·NaN + 1·2 = ${c[0]}`);
});

test('the native GEMM stays in place after the memory grows, and refuses an offset outside the memory', async (t) => {
  const be = await nativeOrSkip(t);
  if (!be) return;
  be.nativeFrom = 0;
  checkProduct(be, 'before growing');
  const before = be.heap.memory.buffer.byteLength;
  const big = be.alloc('float32', 16 << 20, 'arena'); // 64 MiB: the memory grows
  assert.ok(be.heap.memory.buffer.byteLength > before && big.length === 16 << 20);
  checkProduct(be, 'after growing'); // the operands now lie above the old end of the memory
  const end = be.heap.memory.buffer.byteLength;
  const inner = (be as unknown as { native: NativeGemm }).native;
  assert.throws(() => inner.sgemm(be.heap.buffer, 1, end - 8, 64, 128, 1, 2, 2, 2, 0, 0, 0, 4, 4), (e: Error) =>
    e instanceof RangeError && /^backprop native: sgemm operands outside the memory/.test(e.message));
});
