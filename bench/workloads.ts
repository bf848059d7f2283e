// Shared workload definitions for the peer benchmark suite.
// Every participant (ours, tfjs-wasm, tfjs-cpu, brain.js, PyTorch) trains the SAME shapes on random data.
// The orchestrator passes SPEC as JSON to the Python peer (--spec), so this file is the single source of truth.

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6';
export const WORKLOAD_IDS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'];

export interface LstmSpec {
  vocab: number;
  embed: number;
  hidden: number;
  layers: number;
  batch: number;
  steps: number; // unrolled time steps per training step
  optimizer: 'sgd' | 'adam';
  lr: number;
  clipNorm: number; // clip by global norm
  initScale: number; // uniform(-initScale, initScale)
}

export const SPEC = {
  W1: {
    title: 'W1 tutorial 1-2-2-1 sigmoid MLP, ½(y−t)², batch 1, SGD',
    unit: 'updates/s',
    sizes: [1, 2, 2, 1],
    lr: 0.5,
    nData: 64, // random (x, t) pairs cycled through, one update per pair
  },
  W2: {
    title: 'W2 784-512-512-10 ReLU MLP, softmax cross-entropy, batch 128, SGD',
    unit: 'examples/s',
    sizes: [784, 512, 512, 10],
    batch: 128,
    lr: 0.01,
    nBatches: 8, // distinct random batches cycled through
  },
  W3: {
    title: 'W3 PTB small LSTM (V=10k, E=200, 2×200, B=20, T=20), SGD lr 1, clip 5, stateful',
    unit: 'tokens/s',
    vocab: 10000,
    embed: 200,
    hidden: 200,
    layers: 2,
    batch: 20,
    steps: 20,
    optimizer: 'sgd',
    lr: 1,
    clipNorm: 5,
    initScale: 0.1,
  } satisfies LstmSpec & { title: string; unit: string },
  W4: {
    title: 'W4 char LSTM (V=65, E=64, 2×256, B=32, T=64), Adam, clip 5, stateful',
    unit: 'tokens/s',
    vocab: 65,
    embed: 64,
    hidden: 256,
    layers: 2,
    batch: 32,
    steps: 64,
    optimizer: 'adam',
    lr: 0.002,
    clipNorm: 5,
    initScale: 0.08,
  } satisfies LstmSpec & { title: string; unit: string },
  W5: {
    title: 'W5 GEMM (2·M·K·N flop per product), plain and transposed forms',
    unit: 'GFLOP/s',
    // [M, K, N]: C[M,N] = A[M,K]·B[K,N]
    shapes: [
      [400, 200, 10000],
      [20, 400, 800],
      [512, 512, 512],
    ] as [number, number, number][],
    // AB: A stored [M,K], B stored [K,N]. AtB: A stored [K,M]. ABt: B stored [N,K].
    forms: ['AB', 'AtB', 'ABt'] as ('AB' | 'AtB' | 'ABt')[],
  },
  W6: {
    title: 'W6 batch-1 scoring: small LSTM (V=17,905, E=200, 2×200), B=1, T=1, state carried, no gradient (eval --batch-size 1, generate)',
    unit: 'tokens/s',
    // Brown corpus in Bengio et al.'s preparation (--data brown-bengio): |V| = 17,905.
    vocab: 17905,
    embed: 200,
    hidden: 200,
    layers: 2,
    initScale: 0.1,
    nTokens: 4096, // random token stream cycled through; one step scores one token
  },
} as const;

export type GemmForm = 'AB' | 'AtB' | 'ABt';
export function gemmCaseName(m: number, k: number, n: number, form: GemmForm): string {
  const f = form === 'AB' ? 'A·B' : form === 'AtB' ? 'Aᵀ·B' : 'A·Bᵀ';
  return `${m}x${k}x${n} ${f}`;
}

/** Tokens processed by one training step of an LSTM workload. */
export function lstmTokensPerStep(s: LstmSpec): number {
  return s.batch * s.steps;
}

/** Timing policy (seconds of work per timed window, number of windows, cap on the measured phase). */
export interface Timing {
  windows: number;
  minWindows: number; // when a single step is so slow that `windows` windows would exceed maxMeasureSec
  windowSec: number;
  warmupSec: number;
  maxMeasureSec: number;
}

export function timingFor(w: WorkloadId, quick: boolean, windowsOverride?: number): Timing {
  const base: Record<WorkloadId, Timing> = {
    W1: { windows: 5, minWindows: 3, windowSec: 1.0, warmupSec: 0.5, maxMeasureSec: 20 },
    W2: { windows: 5, minWindows: 3, windowSec: 2.0, warmupSec: 1.0, maxMeasureSec: 40 },
    W3: { windows: 5, minWindows: 3, windowSec: 3.0, warmupSec: 2.0, maxMeasureSec: 60 },
    W4: { windows: 5, minWindows: 3, windowSec: 3.0, warmupSec: 2.0, maxMeasureSec: 60 },
    // per GEMM case (9 cases)
    W5: { windows: 5, minWindows: 3, windowSec: 0.4, warmupSec: 0.2, maxMeasureSec: 8 },
    W6: { windows: 5, minWindows: 3, windowSec: 2.0, warmupSec: 1.0, maxMeasureSec: 40 },
  };
  const t = { ...base[w] };
  if (quick) {
    t.windows = 2;
    t.minWindows = 2;
    t.windowSec = Math.max(0.15, t.windowSec / 3);
    t.warmupSec = Math.max(0.1, t.warmupSec / 3);
    t.maxMeasureSec = t.maxMeasureSec / 3;
  }
  if (windowsOverride !== undefined) {
    t.windows = windowsOverride;
    t.minWindows = Math.min(t.minWindows, windowsOverride);
  }
  return t;
}
