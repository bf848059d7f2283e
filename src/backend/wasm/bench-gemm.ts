/**
 * GEMM throughput of the WASM backend on the W5 shapes, for every form and thread count.
 * Run: node --import tsx src/backend/wasm/bench-gemm.ts [--quick]   (after node scripts/build-wasm.mjs)
 * Prints the median GFLOP/s of several runs and, in brackets, the best run: on a shared machine the
 * median shows what a user gets, the best what the kernel does when it has the cores to itself.
 */
import { createWasmBackend } from './index.js';

const SHAPES: [number, number, number][] = [[400, 200, 10000], [20, 400, 800], [512, 512, 512]];
const FORMS = [
  { name: 'A·B', tA: false, tB: false },
  { name: 'A·Bᵀ', tA: false, tB: true },
  { name: 'Aᵀ·B', tA: true, tB: false },
];
const quick = process.argv.includes('--quick');
const simd = !process.argv.includes('--no-simd');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

for (const threads of [1, 2]) {
  const be = await createWasmBackend({ threads, simd });
  for (const [M, K, N] of SHAPES) {
    const a = be.alloc('float32', M * K) as Float32Array, b = be.alloc('float32', K * N) as Float32Array;
    const c = be.alloc('float32', M * N) as Float32Array;
    for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
    for (let i = 0; i < b.length; i++) b[i] = Math.random() - 0.5;
    const flops = 2 * M * N * K;
    const row: string[] = [];
    for (const f of FORMS) {
      const once = (): number => { const t = performance.now(); be.matmul(a, b, c, 1, M, K, N, f.tA, f.tB, false); return performance.now() - t; };
      // Repeat until ~0.25 s (quick: 0.08 s) per measurement, 7 measurements.
      once();
      const reps = Math.max(1, Math.round((quick ? 80 : 250) / Math.max(0.01, once())));
      const times: number[] = [];
      for (let r = 0; r < (quick ? 3 : 7); r++) {
        const t = performance.now();
        for (let i = 0; i < reps; i++) be.matmul(a, b, c, 1, M, K, N, f.tA, f.tB, false);
        times.push((performance.now() - t) / reps);
      }
      const best = Math.min(...times);
      row.push(`${f.name} ${(flops / median(times) / 1e6).toFixed(1).padStart(5)} (${(flops / best / 1e6).toFixed(1).padStart(4)})`);
    }
    console.log(`${be.name.padEnd(14)} (M,K,N)=(${M},${K},${N})`.padEnd(40) + row.join('   ') + '  GFLOP/s');
  }
  await be.close();
}
