// brain.js 1.6.1 peer. It expresses W1 exactly; W2/W3/W4 only approximately (see notes); W5 n/a.
// Usage: node --expose-gc dist/bench/peers/brain.js --workload W1 [--windows 5] [--quick]
import { createRequire } from 'node:module';
import { fromMeasured, measure, randInts, randUniform, runParticipant, type PartialResult, type WorkloadContext } from '../harness.js';
import { SPEC, type LstmSpec } from '../workloads.js';

interface Pattern { input: number[]; output: number[] }
interface BrainNN {
  train(data: Pattern[], opts: Record<string, unknown>): unknown;
  trainPattern(p: Pattern, logErrorRate?: boolean): number | null;
  trainOpts: { momentum: number; learningRate: number };
}
interface BrainRNN {
  initialize(): void;
  trainPattern(seq: number[], logErrorRate?: boolean): number | undefined;
}
interface BrainModule {
  NeuralNetwork: new (opts: Record<string, unknown>) => BrainNN;
  recurrent: { LSTM: new (opts: Record<string, unknown>) => BrainRNN };
}
const require = createRequire(import.meta.url);
const brain = require('brain.js') as BrainModule;
const version = (require('brain.js/package.json') as { version: string }).version;

function toPatterns(xs: Float32Array, ts: Float32Array, nIn: number, nOut: number, n: number): Pattern[] {
  const out: Pattern[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ input: Array.from(xs.subarray(i * nIn, (i + 1) * nIn)), output: Array.from(ts.subarray(i * nOut, (i + 1) * nOut)) });
  }
  return out;
}

// Build a NeuralNetwork, let brain.js size/initialize it with one train() call, then drive trainPattern()
// (one forward + backward + SGD update per pattern) directly so that no error bookkeeping is timed.
function makeNet(hidden: number[], activation: string, data: Pattern[], lr: number): BrainNN {
  const net = new brain.NeuralNetwork({ hiddenLayers: hidden, activation });
  net.train(data.slice(0, 1), { iterations: 1, learningRate: lr, errorThresh: 0.005, log: false });
  net.trainOpts.momentum = 0; // validateTrainingOptions rejects 0; adjustWeights still computes the (zero) momentum term
  return net;
}

async function w1(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W1;
  const data = toPatterns(randUniform(s.nData, -1, 1, 1), randUniform(s.nData, 0, 1, 2), 1, 1, s.nData);
  const net = makeNet(s.sizes.slice(1, -1), 'sigmoid', data, s.lr);
  let i = 0;
  const m = await measure(() => { net.trainPattern(data[i]!); i = (i + 1) % s.nData; }, 1, ctx.timing);
  return fromMeasured(m, 'NeuralNetwork.trainPattern, momentum 0 (exact SGD)');
}

async function w2(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W2;
  const [nIn, , , nOut] = s.sizes;
  const n = 256;
  const xs = randUniform(n * nIn!, 0, 1, 200);
  const labels = randInts(n, nOut!, 300);
  const ts = new Float32Array(n * nOut!);
  for (let i = 0; i < n; i++) ts[i * nOut! + labels[i]!] = 1;
  const data = toPatterns(xs, ts, nIn!, nOut!, n);
  const net = makeNet(s.sizes.slice(1, -1), 'relu', data, s.lr);
  let i = 0;
  const m = await measure(() => { net.trainPattern(data[i]!); i = (i + 1) % n; }, 1, ctx.timing);
  return fromMeasured(m, 'APPROX: batch 1 (online SGD), ReLU output with squared error (brain.js has no softmax/cross-entropy)');
}

async function lstm(ctx: WorkloadContext, s: LstmSpec, seed: number): Promise<PartialResult> {
  const net = new brain.recurrent.LSTM({
    inputSize: s.embed, inputRange: s.vocab, hiddenLayers: Array(s.layers).fill(s.hidden), outputSize: s.vocab,
    learningRate: 0.01, clipval: s.clipNorm, // brain.js rejects lr ≥ 1; its update is RMSProp-style anyway
  });
  net.initialize();
  const nSeq = 16;
  const seqs: number[][] = [];
  for (let k = 0; k < nSeq; k++) seqs.push(Array.from(randInts(s.steps, s.vocab, seed + k)));
  let k = 0;
  // One step = one sequence of s.steps tokens (brain.js trains one sequence at a time, batch 1).
  const m = await measure(() => { net.trainPattern(seqs[k]!); k = (k + 1) % nSeq; }, s.steps, ctx.timing);
  return fromMeasured(m, `APPROX: recurrent.LSTM, batch 1 sequence of ${s.steps} tokens (+start token), state reset per sequence, ` +
    `brain.js's RMSProp-style update (lr 0.01) with per-element clip ${s.clipNorm} (no ${s.optimizer === 'sgd' ? 'SGD' : 'Adam'}/global-norm clip), embedding table ${s.vocab + 1}×${s.embed}`);
}

await runParticipant('brain.js', {
  W1: w1,
  W2: w2,
  W3: (ctx) => lstm(ctx, SPEC.W3, 3000),
  W4: (ctx) => lstm(ctx, SPEC.W4, 4000),
  W5: 'brain.js has no general matrix-multiply API',
}, async () => `brain.js ${version} (CPU, plain JS)`);
