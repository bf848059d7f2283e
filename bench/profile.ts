// Where a workload's time goes, phase by phase: every kernel call of the backend is timed (wall clock,
// performance.now around the call) and counted under its phase; what is left of the step is overhead
// (op dispatch, the tape, tensor objects, scopes). Not part of `npm run bench`: run it beside it, for the
// WASM backend alone and with the native GEMM, on a quiet machine:
//
//   node --expose-gc dist/bench/profile.js [--workload W3|W4|W6] [--native] [--threads N] [--seconds S]
//
// Prints one table: per phase, milliseconds per step, share of the step, and kernel calls per step.
// The timers themselves cost about 0.1 µs per call (a few hundred calls per W3 step).
import { Adam, evaluateWindows, LanguageModel, Rng, SGD, setBackend, TruncatedBPTT } from '../src/index.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { Backend } from '../src/backend/backend.js';
import { randInts } from './harness.js';
import { lstmTokensPerStep, SPEC, type LstmSpec } from './workloads.js';

const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined; };
const workload = (arg('--workload') ?? 'W3').toUpperCase();
const native = process.argv.includes('--native');
const threads = arg('--threads') ? Number(arg('--threads')) : undefined;
const seconds = Number(arg('--seconds') ?? 10);

/** The phases, each with the backend methods whose time it gets. */
const PHASES: Record<string, readonly (keyof Backend)[]> = {
  'GEMM (matmul)': ['matmul'],
  'LSTM cell (fused pointwise)': ['lstmCellForward', 'lstmCellBackward'],
  'softmax / cross-entropy': ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'softmax', 'logSoftmax'],
  'embedding (gather, scatter-add)': ['gatherRows', 'scatterAddRows'],
  'optimizer (axpby updates and gradient sums, clipping norm, Adam)': ['axpby', 'sumSquares', 'adamUpdate'],
  'other kernels (elementwise, reductions, slices, transposes)': ['unary', 'binary', 'clip', 'where', 'reduce', 'transpose', 'slice', 'sliceAddInto'],
  'allocation and scopes': ['alloc', 'allocUninit', 'beginScope', 'endScope'],
};

const be = await createWasmBackend({ ...(threads ? { threads } : {}), native });
if (native && !be.nativeInfo) throw new Error(`--native: the native GEMM is absent (${be.nativeAbsent})`);
setBackend(be);
const spent = new Map<string, { ms: number; calls: number }>();
let timing = false;
for (const [phase, methods] of Object.entries(PHASES)) {
  const slot = { ms: 0, calls: 0 };
  spent.set(phase, slot);
  for (const m of methods) {
    const f = (be as unknown as Record<string, unknown>)[m];
    if (typeof f !== 'function') continue;
    const bound = (f as (...a: unknown[]) => unknown).bind(be);
    (be as unknown as Record<string, unknown>)[m] = (...a: unknown[]): unknown => {
      if (!timing) return bound(...a);
      const t0 = performance.now();
      try { return bound(...a); } finally { slot.ms += performance.now() - t0; slot.calls++; }
    };
  }
}

/** One step of the workload and the tokens it processes. */
function makeStep(): { step: () => void; units: number } {
  if (workload === 'W6') {
    const s = SPEC.W6;
    const model = new LanguageModel({ vocabSize: s.vocab, embedSize: s.embed, hiddenSize: s.hidden, numLayers: s.layers, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: s.initScale }, new Rng(1));
    const ids = randInts(s.nTokens + 1, s.vocab, 60);
    let state = model.initialState(1), i = 0;
    return { units: 1, step: () => {
      state = evaluateWindows(model, [{ x: ids.subarray(i, i + 1), y: ids.subarray(i + 1, i + 2) }], 1, 1, state).state;
      i = (i + 1) % s.nTokens;
    } };
  }
  if (workload !== 'W3' && workload !== 'W4') throw new Error(`--workload must be W3, W4 or W6, got ${workload}`);
  const s: LstmSpec = SPEC[workload];
  const model = new LanguageModel({ vocabSize: s.vocab, embedSize: s.embed, hiddenSize: s.hidden, numLayers: s.layers, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: s.initScale }, new Rng(1));
  const opt = s.optimizer === 'adam' ? new Adam(model, { lr: s.lr }) : new SGD(model, { lr: s.lr });
  const tr = new TruncatedBPTT(model, opt, { k1: s.steps, k2: s.steps, batchSize: s.batch, maxGradNorm: s.clipNorm });
  const data = Array.from({ length: 4 }, (_, b) => ({ x: randInts(s.batch * s.steps, s.vocab, 50 + b), y: randInts(s.batch * s.steps, s.vocab, 80 + b) }));
  let i = 0;
  return { units: lstmTokensPerStep(s), step: () => { const d = data[i]!; i = (i + 1) % 4; tr.feed(d.x, d.y, s.steps); } };
}

const { step, units } = makeStep();
const warm = performance.now();
while (performance.now() - warm < Math.min(3000, seconds * 300)) step();
timing = true;
let steps = 0;
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) { step(); steps++; }
const total = performance.now() - t0;
timing = false;

const perStep = total / steps;
const rows: [string, number, number][] = [...spent].map(([p, s]) => [p, s.ms / steps, s.calls / steps]);
const inKernels = rows.reduce((a, r) => a + r[1], 0);
rows.push(['overhead (op dispatch, tape, tensors: the rest of the step)', perStep - inKernels, 0]);
const info = be.nativeInfo;
console.log(`${workload} on ${be.name}${info ? ` (native GEMM: ${info.blas}, ${info.threads} threads)` : ` (no native GEMM: ${be.nativeAbsent})`}: `
  + `${steps} steps in ${(total / 1000).toFixed(1)} s, ${perStep.toFixed(2)} ms/step, ${Math.round(units * steps / (total / 1000)).toLocaleString('en-US')} tokens/s`);
console.log('');
console.log('| phase | ms/step | share | calls/step |');
console.log('|---|---:|---:|---:|');
for (const [p, ms, calls] of rows) console.log(`| ${p} | ${ms.toFixed(3)} | ${(100 * ms / perStep).toFixed(1)} % | ${calls ? calls.toFixed(1) : ''} |`);
await be.close();
