// backprop (this repository) as a benchmark participant: the same workloads as the peers, through the
// public library API. `--backend wasm` (default: WebAssembly alone) or `--backend js` (the reference
// backend); `--native` adds the native GEMM (OpenBLAS) to the WASM backend (the `ours-native` participant).
// Usage: node --expose-gc dist/bench/ours.js --workload W3 [--windows 5] [--quick] [--backend js|wasm] [--native] [--threads N]
import {
  Adam, Dense, evaluateWindows, FusedDenseTrainer, getBackend, LanguageModel, mean, Rng, SGD, Sequential, setBackend,
  softmaxCrossEntropy, squaredError, sum, tensor, Tensor, trainStep, TruncatedBPTT, type FloatArray,
} from '../src/index.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { fromMeasured, measure, randInts, randUniform, runParticipant, type PartialResult, type WorkloadContext } from './harness.js';
import { gemmCaseName, lstmTokensPerStep, SPEC, type LstmSpec } from './workloads.js';

const arg = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined; };
const backendName = arg('--backend') ?? 'wasm';
const threads = arg('--threads') ? Number(arg('--threads')) : undefined;
const native = process.argv.includes('--native');

async function w1(ctx: WorkloadContext): Promise<PartialResult[]> {
  const s = ctx.spec.W1;
  const make = () => new Sequential(...s.sizes.slice(1).map((n, l) => new Dense(s.sizes[l]!, n, { activation: 'sigmoid', rng: new Rng(10 + l), init: { kind: 'uniform', scale: 1 } })));
  const xs = randUniform(s.nData, -1, 1, 1), ts = randUniform(s.nData, 0, 1, 2);
  // The fused small-network path (plain loops over the parameter arena).
  const fused = new FusedDenseTrainer(make(), s.lr);
  let i = 0;
  const x1 = [0], t1 = [0];
  const mf = await measure(() => { x1[0] = xs[i]!; t1[0] = ts[i]!; i = (i + 1) % s.nData; fused.step(x1, t1); }, 1, ctx.timing);
  // The general autodiff path (tensors + tape + SGD over the arena), for comparison.
  const net = make();
  const opt = new SGD(net, { lr: s.lr });
  const xT = Array.from(xs, (v) => tensor([[v]])), tT = Array.from(ts, (v) => tensor([[v]]));
  let j = 0;
  const ma = await measure(() => {
    trainStep(opt, () => sum(squaredError(net.forward(xT[j]!), tT[j]!)));
    j = (j + 1) % s.nData;
  }, 1, ctx.timing);
  return [fromMeasured(mf, 'fused dense path'), fromMeasured(ma, 'general autodiff path', 'autodiff')];
}

async function w2(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W2;
  const net = new Sequential(new Dense(784, 512, { activation: 'relu', rng: new Rng(1) }), new Dense(512, 512, { activation: 'relu', rng: new Rng(2) }), new Dense(512, 10, { rng: new Rng(3) }));
  const opt = new SGD(net, { lr: s.lr });
  const xb = Array.from({ length: s.nBatches }, (_, b) => tensor(randUniform(s.batch * 784, 0, 1, 200 + b), [s.batch, 784]));
  const yb = Array.from({ length: s.nBatches }, (_, b) => new Tensor(randInts(s.batch, 10, 300 + b), [s.batch], 'int32'));
  let i = 0;
  const m = await measure(() => {
    trainStep(opt, () => mean(softmaxCrossEntropy(net.forward(xb[i]!), yb[i]!)));
    i = (i + 1) % s.nBatches;
  }, s.batch, ctx.timing);
  return fromMeasured(m);
}

async function lstm(ctx: WorkloadContext, s: LstmSpec): Promise<PartialResult> {
  const model = new LanguageModel({ vocabSize: s.vocab, embedSize: s.embed, hiddenSize: s.hidden, numLayers: s.layers, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: s.initScale }, new Rng(1));
  const opt = s.optimizer === 'adam' ? new Adam(model, { lr: s.lr }) : new SGD(model, { lr: s.lr });
  const tr = new TruncatedBPTT(model, opt, { k1: s.steps, k2: s.steps, batchSize: s.batch, maxGradNorm: s.clipNorm });
  const nb = 4;
  const data = Array.from({ length: nb }, (_, b) => ({ x: randInts(s.batch * s.steps, s.vocab, 50 + b), y: randInts(s.batch * s.steps, s.vocab, 80 + b) }));
  let i = 0;
  const m = await measure(() => { const d = data[i]!; i = (i + 1) % nb; tr.feed(d.x, d.y, s.steps); }, lstmTokensPerStep(s), ctx.timing);
  return fromMeasured(m, 'TBPTT(k1 = k2 = steps), state carried');
}

async function w5(ctx: WorkloadContext): Promise<PartialResult[]> {
  const b = getBackend();
  const out: PartialResult[] = [];
  for (const [M, K, N] of ctx.spec.W5.shapes) {
    // Operands resident in the backend's memory for the whole measurement: long-lived ('arena') storage.
    // (A plain alloc outside any scope is collector-owned, and one under 64 kB lives in the JS heap, where
    // every product would first copy it in.)
    const A = b.alloc('float32', M * K, 'arena') as FloatArray, B = b.alloc('float32', K * N, 'arena') as FloatArray;
    const C = b.alloc('float32', M * N, 'arena') as FloatArray;
    A.set(randUniform(M * K, -1, 1, 1)); B.set(randUniform(K * N, -1, 1, 2));
    for (const form of ctx.spec.W5.forms) {
      const m = await measure(() => b.matmul(A, B, C, 1, M, K, N, form === 'AtB', form === 'ABt', false), (2 * M * K * N) / 1e9, ctx.timing);
      out.push(fromMeasured(m, '', gemmCaseName(M, K, N, form)));
    }
  }
  return out;
}

/**
 * W6: batch-1 scoring, as `eval --batch-size 1 --num-steps 1` and `generate` run: one token per step
 * through the library's `evaluateWindows` (no gradient, an engine scope per step), state carried.
 */
async function w6(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W6;
  const model = new LanguageModel({ vocabSize: s.vocab, embedSize: s.embed, hiddenSize: s.hidden, numLayers: s.layers, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: s.initScale }, new Rng(1));
  const ids = randInts(s.nTokens + 1, s.vocab, 60);
  const windows = Array.from({ length: s.nTokens }, (_, i) => ({ x: ids.subarray(i, i + 1), y: ids.subarray(i + 1, i + 2) }));
  let state = model.initialState(1), i = 0;
  const m = await measure(() => {
    state = evaluateWindows(model, [windows[i]!], 1, 1, state).state;
    i = (i + 1) % s.nTokens;
  }, 1, ctx.timing);
  return fromMeasured(m, 'evaluateWindows per token, state carried');
}

await runParticipant('ours', {
  W1: w1, W2: w2, W3: (ctx) => lstm(ctx, SPEC.W3), W4: (ctx) => lstm(ctx, SPEC.W4), W5: w5, W6: w6,
}, async () => {
  let extra = '';
  if (backendName === 'wasm') {
    const be = await createWasmBackend({ ...(threads ? { threads } : {}), native });
    setBackend(be);
    const n = be.nativeInfo;
    extra = n ? `, native GEMM ${n.blas} (core ${n.core}, ${n.threads} threads, ${n.threading})` : `, no native GEMM (${be.nativeAbsent})`;
    if (native && !n) throw new Error(`--native: the native GEMM is absent (${be.nativeAbsent})`);
  } else if (backendName !== 'js') {
    throw new Error(`--backend must be wasm or js, got ${backendName}`);
  }
  return `backprop 0.1.0, backend ${getBackend().name}${threads ? `, ${threads} threads` : ''}${extra}`;
});
