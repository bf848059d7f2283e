// TensorFlow.js peer: `--backend wasm` (@tensorflow/tfjs-backend-wasm) or `--backend cpu` (pure JS).
// Usage: node --expose-gc dist/bench/peers/tfjs.js --backend wasm --workload W3 [--windows 5] [--quick]
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import {
  fromMeasured, measure, randInts, randUniform, runParticipant,
  type ParticipantImpls, type PartialResult, type WorkloadContext,
} from '../harness.js';
import { SPEC, gemmCaseName, lstmTokensPerStep, type LstmSpec } from '../workloads.js';

const backendArg = process.argv[process.argv.indexOf('--backend') + 1];
const backend: 'wasm' | 'cpu' = process.argv.includes('--backend') && backendArg === 'cpu' ? 'cpu' : 'wasm';
if (process.argv.includes('--backend') && backendArg !== 'cpu' && backendArg !== 'wasm') {
  throw new Error(`--backend must be wasm or cpu, got ${backendArg}`);
}

function leakCheck(before: number, label: string): string {
  const after = tf.memory().numTensors;
  return after > before + 64 ? `WARNING ${label}: ${after - before} tensors leaked` : '';
}

// ---------------- W1: 1-2-2-1 sigmoid, batch 1, SGD ----------------
async function w1(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W1;
  const sizes = s.sizes;
  const ws: tf.Variable[] = [];
  const bs: tf.Variable[] = [];
  for (let l = 1; l < sizes.length; l++) {
    ws.push(tf.variable(tf.tensor2d(randUniform(sizes[l - 1]! * sizes[l]!, -1, 1, 10 + l), [sizes[l - 1]!, sizes[l]!])));
    bs.push(tf.variable(tf.tensor1d(randUniform(sizes[l]!, -1, 1, 20 + l))));
  }
  const xs = randUniform(s.nData, -1, 1, 1);
  const ts = randUniform(s.nData, 0, 1, 2);
  const xT = Array.from(xs, (v) => tf.tensor2d([v], [1, 1]));
  const tT = Array.from(ts, (v) => tf.tensor2d([v], [1, 1]));
  const opt = tf.train.sgd(s.lr);
  let i = 0;
  const n0 = tf.memory().numTensors;
  const step = () => {
    const x = xT[i]!, t = tT[i]!;
    i = (i + 1) % s.nData;
    tf.tidy(() => {
      opt.minimize(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < ws.length; l++) h = tf.sigmoid(tf.add(tf.matMul(h, ws[l]!), bs[l]!));
        return tf.mul(0.5, tf.sum(tf.square(tf.sub(h, t)))) as tf.Scalar;
      }, false);
    });
  };
  const m = await measure(step, 1, ctx.timing);
  return fromMeasured(m, leakCheck(n0, 'W1'));
}

// ---------------- W2: 784-512-512-10 ReLU MLP, softmax CE, batch 128, SGD ----------------
async function w2(ctx: WorkloadContext): Promise<PartialResult> {
  const s = ctx.spec.W2;
  const sizes = s.sizes;
  const ws: tf.Variable[] = [];
  const bs: tf.Variable[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const lim = Math.sqrt(6 / sizes[l - 1]!); // He-uniform
    ws.push(tf.variable(tf.tensor2d(randUniform(sizes[l - 1]! * sizes[l]!, -lim, lim, 100 + l), [sizes[l - 1]!, sizes[l]!])));
    bs.push(tf.variable(tf.zeros([sizes[l]!])));
  }
  const xb: tf.Tensor2D[] = [];
  const yb: tf.Tensor2D[] = [];
  for (let b = 0; b < s.nBatches; b++) {
    xb.push(tf.tensor2d(randUniform(s.batch * sizes[0]!, 0, 1, 200 + b), [s.batch, sizes[0]!]));
    const labels = randInts(s.batch, sizes[sizes.length - 1]!, 300 + b);
    yb.push(tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), sizes[sizes.length - 1]!).toFloat() as tf.Tensor2D));
  }
  const opt = tf.train.sgd(s.lr);
  let i = 0;
  const n0 = tf.memory().numTensors;
  const step = () => {
    const x = xb[i]!, y = yb[i]!;
    i = (i + 1) % s.nBatches;
    tf.tidy(() => {
      opt.minimize(() => {
        let h: tf.Tensor = x;
        for (let l = 0; l < ws.length; l++) {
          h = tf.add(tf.matMul(h, ws[l]!), bs[l]!);
          if (l < ws.length - 1) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      }, false);
    });
  };
  const m = await measure(step, s.batch, ctx.timing);
  return fromMeasured(m, leakCheck(n0, 'W2'));
}

// ---------------- W3/W4: stateful multi-layer LSTM language model ----------------

// Embedding lookup. tf.gather's gradient uses the UnsortedSegmentSum kernel, which tfjs-backend-wasm lacks
// and which tfjs-backend-cpu implements with one full-size mask per segment (10,000 masks of [400,200]
// per W3 step: minutes per step). Both backends therefore use gather forward + a custom gradient
// dTable = scatterND(ids, dy) (ScatterNd sums duplicate indices).
const gatherScatterGrad = tf.customGrad((...inputs) => {
  const table = inputs[0] as tf.Tensor, ids = inputs[1] as tf.Tensor;
  const value = tf.gather(table, ids);
  return {
    value,
    gradFunc: (dy: tf.Tensor) => [tf.scatterND(tf.expandDims(ids, 1), dy, table.shape), tf.zerosLike(ids)],
  };
});
function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  return gatherScatterGrad(table, ids);
}

async function lstmLM(ctx: WorkloadContext, s: LstmSpec, seedBase: number): Promise<PartialResult> {
  const { vocab: V, embed: E, hidden: H, layers: L, batch: B, steps: T } = s;
  const u = (n: number, seed: number) => randUniform(n, -s.initScale, s.initScale, seed);
  const emb = tf.variable(tf.tensor2d(u(V * E, seedBase + 1), [V, E]), true, 'emb');
  const wx: tf.Variable[] = [], wh: tf.Variable[] = [], bb: tf.Variable[] = [];
  for (let l = 0; l < L; l++) {
    const inp = l === 0 ? E : H;
    // gate order i, f, g, o
    wx.push(tf.variable(tf.tensor2d(u(inp * 4 * H, seedBase + 10 + l), [inp, 4 * H]), true, `wx${l}`));
    wh.push(tf.variable(tf.tensor2d(u(H * 4 * H, seedBase + 20 + l), [H, 4 * H]), true, `wh${l}`));
    bb.push(tf.variable(tf.zeros([4 * H]), true, `b${l}`));
  }
  const wo = tf.variable(tf.tensor2d(u(H * V, seedBase + 30), [H, V]), true, 'wo');
  const bo = tf.variable(tf.zeros([V]), true, 'bo');
  const opt = s.optimizer === 'sgd' ? tf.train.sgd(s.lr) : tf.train.adam(s.lr);

  // Random token stream, cut into time-major batches: ids[t*B + b].
  const nBatches = 4;
  const inputs: tf.Tensor1D[] = [], targets: tf.Tensor2D[] = [];
  for (let k = 0; k < nBatches; k++) {
    const ids = randInts(T * B, V, seedBase + 100 + k);
    const tg = randInts(T * B, V, seedBase + 200 + k);
    inputs.push(tf.tensor1d(ids, 'int32'));
    targets.push(tf.tidy(() => tf.oneHot(tf.tensor1d(tg, 'int32'), V).toFloat() as tf.Tensor2D));
  }
  let hs: tf.Tensor2D[] = [], cs: tf.Tensor2D[] = [];
  for (let l = 0; l < L; l++) { hs.push(tf.zeros([B, H])); cs.push(tf.zeros([B, H])); }

  let k = 0;
  const n0 = tf.memory().numTensors;
  const step = () => {
    const ids = inputs[k]!, y = targets[k]!;
    k = (k + 1) % nBatches;
    const newH: tf.Tensor2D[] = [], newC: tf.Tensor2D[] = [];
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        let x = embed(emb, ids) as tf.Tensor2D; // [T*B, E]
        for (let l = 0; l < L; l++) {
          const xw = tf.add(tf.matMul(x, wx[l]!), bb[l]!) as tf.Tensor2D; // input projection for all steps
          let h = hs[l]!, c = cs[l]!;
          const outs: tf.Tensor2D[] = [];
          for (let t = 0; t < T; t++) {
            const z = tf.add(tf.slice(xw, [t * B, 0], [B, 4 * H]), tf.matMul(h, wh[l]!));
            const [zi, zf, zg, zo] = tf.split(z, 4, 1);
            c = tf.add(tf.mul(tf.sigmoid(zf!), c), tf.mul(tf.sigmoid(zi!), tf.tanh(zg!))) as tf.Tensor2D;
            h = tf.mul(tf.sigmoid(zo!), tf.tanh(c)) as tf.Tensor2D;
            outs.push(h);
          }
          newH.push(tf.keep(h)); newC.push(tf.keep(c)); // carried state; gradient stops at the boundary
          x = tf.concat(outs, 0);
        }
        const logits = tf.add(tf.matMul(x, wo), bo);
        // TF PTB: sum of per-token cross-entropy over time, mean over batch.
        return tf.div(tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.SUM), B) as tf.Scalar;
      });
      // Clip by global norm.
      const names = Object.keys(grads);
      const sq = tf.addN(names.map((n) => tf.sum(tf.square(grads[n]!))));
      const norm = tf.sqrt(sq);
      const scale = tf.div(s.clipNorm, tf.maximum(norm, s.clipNorm));
      const clipped: Record<string, tf.Tensor> = {};
      for (const n of names) clipped[n] = tf.mul(grads[n]!, scale);
      opt.applyGradients(clipped as { [name: string]: tf.Variable });
    });
    for (const t of [...hs, ...cs]) t.dispose();
    hs = newH; cs = newC;
  };
  const m = await measure(step, lstmTokensPerStep(s), ctx.timing);
  const emNote = backend === 'wasm'
    ? 'embedding grad via scatterND custom gradient (wasm lacks UnsortedSegmentSum)'
    : 'embedding grad via scatterND custom gradient (cpu UnsortedSegmentSum loops one mask per vocab id)';
  return fromMeasured(m, [emNote, leakCheck(n0, 'LSTM')].filter(Boolean).join('; '));
}

// ---------------- W5: GEMM ----------------
async function w5(ctx: WorkloadContext): Promise<PartialResult[]> {
  const s = ctx.spec.W5;
  const out: PartialResult[] = [];
  for (const [M, K, N] of s.shapes) {
    for (const form of s.forms) {
      const tA = form === 'AtB', tB = form === 'ABt';
      const a = tf.tensor2d(randUniform(M * K, -1, 1, 7), tA ? [K, M] : [M, K]);
      const b = tf.tensor2d(randUniform(K * N, -1, 1, 8), tB ? [N, K] : [K, N]);
      const step = () => { tf.matMul(a, b, tA, tB).dispose(); };
      const m = await measure(step, (2 * M * K * N) / 1e9, ctx.timing);
      out.push(fromMeasured(m, '', gemmCaseName(M, K, N, form)));
      a.dispose(); b.dispose();
    }
  }
  return out;
}

const impls: ParticipantImpls = {
  W1: w1,
  W2: w2,
  W3: (ctx) => lstmLM(ctx, SPEC.W3, 3000),
  W4: (ctx) => lstmLM(ctx, SPEC.W4, 4000),
  W5: w5,
};

await runParticipant(`tfjs-${backend}`, impls, async () => {
  if (!(await tf.setBackend(backend))) throw new Error(`setBackend(${backend}) failed`);
  await tf.ready();
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    return `tfjs ${tf.version.tfjs} wasm ${simd ? 'SIMD' : 'no-SIMD'}, ${tfwasm.getThreadsCount()} thread(s)${mt ? '' : ' (no multithread support in Node)'}`;
  }
  return `tfjs ${tf.version.tfjs} cpu backend (pure JS)`;
});
