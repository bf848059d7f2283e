/**
 * The messages between view 3 (the page, main thread) and the training worker (lm-worker.ts). Shared
 * types only: both sides import this file, so a message one side sends and the other does not handle
 * does not compile.
 */
import type { CellKind } from '../../src/index.js';

export type OptimizerName = 'sgd' | 'momentum' | 'adam';

/** Everything that defines a run: the model's shape and the training knobs. */
export interface LmSettings {
  cell: CellKind;
  hidden: number;
  /** Embedding size; absent: `hidden` (the page's knobs leave it so; the benchmark sets W4's). */
  embed?: number;
  layers: number;
  /** TBPTT: update every k1 steps, backpropagating through the last k2. */
  k1: number;
  k2: number;
  /** Parallel streams B. */
  batch: number;
  optimizer: OptimizerName;
  lr: number;
  /** Clip the global gradient norm to this; 0 = no clipping. */
  clip: number;
  /** Dropout probability (1 − keepProb). */
  dropout: number;
  seed: number;
}

/** The three files the page offers. */
export type SaveFormat = 'safetensors' | 'onnx' | 'checkpoint';

/**
 * The texts a run trains on: the two shipped with the page (data/tinyshakespeare.txt, data/lunyu.txt,
 * fetched by the worker) or the text the page sends.
 */
export type Corpus = 'tinyshakespeare' | 'lunyu' | 'pasted';

export type ToWorker =
  /**
   * `resizableMemory`: without isolation, grow the memory in place (slower in V8; the test of that path).
   * `threads`: the pool's size when isolated (default: the cores, at most 8; the benchmark sets Node's).
   */
  | { type: 'init'; resizableMemory?: boolean; threads?: number }
  /** Start a fresh run on `corpus` (`text` is the pasted text, and only read for 'pasted'). */
  | { type: 'configure'; settings: LmSettings; corpus: Corpus; text?: string }
  /** Train; with `until`, pause once that many windows are done (tests use it to stop at a known point). */
  | { type: 'start'; until?: number }
  | { type: 'pause' }
  | { type: 'temperature'; value: number }
  | { type: 'save'; format: SaveFormat }
  | { type: 'load'; name: string; bytes: ArrayBuffer }
  | { type: 'digest' };

/** How the kernels run: worker threads over shared memory, or one thread over an ordinary memory. */
export interface EngineMode {
  mode: 'threaded' | 'single';
  threads: number;
  backend: string;
  /** 'shared'; 'resizable' (grows in place); 'fixed' (reserved up front). */
  memory: 'shared' | 'resizable' | 'fixed';
  /** The memory's size when the engine started. */
  memoryBytes: number;
  crossOriginIsolated: boolean;
}

export interface Progress {
  windows: number;
  tokens: number;
  /** Tokens per second over this report's windows (training time only). */
  tokensPerSecond: number;
  /** Training time of the whole run so far (seconds; validation and samples excluded). */
  trainSeconds: number;
  /** Mean per-step training loss (nats per token) over this report's windows. */
  trainLoss: number;
  updates: number;
  clipped: number;
  /** Mean log10 ‖∂E/∂h‖ for [layer][window step], oldest step first (null: no update in this report). */
  heat: number[][] | null;
  /** Memory grows so far (a resizable non-shared memory grows in place). */
  memoryBytes: number;
}

export type FromWorker =
  | ({ type: 'ready' } & EngineMode)
  | { type: 'configured'; settings: LmSettings; vocabSize: number; trainTokens: number; validTokens: number; params: number; dropped: number; source: string }
  | ({ type: 'progress' } & Progress)
  | { type: 'valid'; windows: number; loss: number }
  | { type: 'sample'; windows: number; text: string }
  | { type: 'state'; running: boolean; windows: number }
  | { type: 'file'; name: string; mime: string; bytes: ArrayBuffer }
  | { type: 'loaded'; name: string; kind: 'model' | 'checkpoint' | 'train-checkpoint'; windows: number }
  | { type: 'digest'; digest: string; count: number; windows: number }
  | { type: 'error'; message: string };
