// Long-run memory stability: 20,000 TBPTT updates of a small LSTM language model on the default backend,
// with no dispose() anywhere, reporting resident memory (RSS), the JS heap and the WASM heap along the way.
// Usage: npm run build && node dist/bench/memory.js [updates=20000]
import { getBackend, LanguageModel, Rng, SGD, TruncatedBPTT } from '../src/index.js';

const updates = Number(process.argv[2] ?? 20000);
const B = 16, T = 20, V = 200;
const model = new LanguageModel({ vocabSize: V, embedSize: 32, hiddenSize: 64, numLayers: 2, cell: 'lstm', keepProb: 0.9, forgetBias: 0, initScale: 0.1 }, new Rng(1));
const trainer = new TruncatedBPTT(model, new SGD(model, { lr: 0.5 }), { k1: T, k2: T, batchSize: B, maxGradNorm: 5 });
const rng = new Rng(2);
const be = getBackend() as { name: string; heap?: { liveBytes: number; memory: WebAssembly.Memory } };
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const row = (n: number, secs: number) => {
  const m = process.memoryUsage();
  console.log(`| ${n.toLocaleString('en-US')} | ${secs.toFixed(0)} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${be.heap ? mib(be.heap.liveBytes) : '—'} | ${be.heap ? mib(be.heap.memory.buffer.byteLength) : '—'} |`);
};
console.log(`backend ${be.name}; ${updates.toLocaleString('en-US')} updates of B ${B} × T ${T}, 2×LSTM 64, V ${V}`);
console.log('| updates | seconds | RSS MiB | JS heap used MiB | WASM live MiB | WASM memory MiB |');
console.log('|---|---|---|---|---|---|');
const t0 = performance.now();
const x = new Int32Array(B * T), y = new Int32Array(B * T);
for (let u = 1; u <= updates; u++) {
  for (let i = 0; i < x.length; i++) { x[i] = rng.int(V); y[i] = (x[i]! * 3 + 1) % V; }
  trainer.feed(x, y, T);
  if (u === 100 || u === 1000 || u % 5000 === 0) row(u, (performance.now() - t0) / 1000);
}
