/**
 * A pool of worker threads that run WASM kernels on the shared memory.
 *
 * Every worker instantiates the same compiled module on the same `WebAssembly.Memory`, so a kernel
 * called in a worker reads and writes the very arrays the calling thread sees. A job is one export
 * called on several chunks of work (argument lists). It is posted in a control block in that memory:
 *   int32 [0] seq        job number (16 bits); bumped, then notified, to post a job
 *   int32 [1] fn         index of the export (−1: workers exit)
 *   int32 [2] nargs      arguments per chunk
 *   int32 [3] nChunks
 *   int32 [4] next       (seq << 16) | index of the next chunk to take
 *   int32 [5] completed  chunks finished (the last one notifies)
 *   int32 [6] error      set when a chunk threw
 *   f64 at byte 64       the argument table, nChunks × nargs
 * Every thread, the caller included, takes chunks with a compare-and-swap on `next` until none are
 * left (self-scheduling), so a worker that the OS has descheduled — the machine is shared — delays
 * nothing: the others take its chunks. The CAS only succeeds while `next` still carries this job's
 * seq, so a worker waking late can never take a chunk of a newer job with an older job's arguments.
 * Threads spin briefly before Atomics.wait, since kernels come in bursts during a training step.
 * `run` returns when all chunks are done, so every kernel stays synchronous. That wait blocks, which a
 * browser's main thread may not do: there the backend runs single-threaded, and the pool is used only
 * in Node or inside a cross-origin-isolated Web Worker.
 */
import { CONTROL_BASE } from './memory.js';

/** Control block layout (int32 indices), shared with worker.ts. */
export const CTRL = { seq: 0, fn: 1, nargs: 2, nChunks: 3, next: 4, completed: 5, error: 6, argsByte: 64 } as const;
/** Most chunks × arguments one job may carry (the control block spans 32 KiB − 64 B). */
const MAX_TABLE = ((1 << 15) - 64) / 8;
export const SPIN = 20000;

/** What a worker is started with (structured-cloned; the memory and module are shared, not copied). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  names: string[];
  /** This worker's GEMM packing block (see set_gemm_scratch in assembly/gemm.ts). */
  gemmScratch: number;
}

/**
 * Takes and runs chunks of job `seq` until none are left. Shared by the caller and the workers.
 * Returns after the last chunk this thread took; other threads may still be running theirs.
 */
export function drain(ctrl: Int32Array, table: Float64Array, seq: number, fn: (...args: number[]) => unknown): void {
  const nargs = ctrl[CTRL.nargs]!, n = ctrl[CTRL.nChunks]!;
  for (;;) {
    const c = Atomics.load(ctrl, CTRL.next);
    if (c >>> 16 !== seq || (c & 0xffff) >= n) return;
    if (Atomics.compareExchange(ctrl, CTRL.next, c, c + 1) !== c) continue;
    const i = c & 0xffff;
    try {
      fn(...Array.from(table.subarray(i * nargs, i * nargs + nargs)));
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
    if (Atomics.add(ctrl, CTRL.completed, 1) + 1 === n) Atomics.notify(ctrl, CTRL.completed);
  }
}

/** The part of a Node Worker or a browser Worker the pool uses. */
interface AnyWorker {
  terminate(): unknown;
}

// A non-literal specifier keeps browser bundlers from trying to resolve the Node module.
const nodeImport = (m: string): Promise<unknown> => import(m);

/** Starts one worker with `init` and resolves when it reports ready. */
async function startWorker(init: WorkerInit, node: boolean): Promise<AnyWorker> {
  if (node) {
    const { Worker } = await nodeImport('node:worker_threads') as typeof import('node:worker_threads');
    let url = new URL('./worker.js', import.meta.url);
    if (import.meta.url.endsWith('.ts')) {
      // Running from sources under tsx (tests, scripts): tsx's loader is not active in workers, so a
      // small ESM bootstrap registers it and then imports worker.ts.
      const ts = new URL('./worker.ts', import.meta.url).href;
      const api = import.meta.resolve('tsx/esm/api');
      const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(ts)});`;
      url = new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
    }
    const worker = new Worker(url, { workerData: init });
    await new Promise<void>((resolve, reject) => {
      // Once ready, unref: an idle pool must not keep the process alive (but a starting one must).
      worker.once('message', () => { worker.unref(); resolve(); });
      worker.once('error', reject);
    });
    return worker;
  }
  // Browser: a module Web Worker (only used where blocking waits are allowed, see createWasmBackend).
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  await new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(`wasm pool: worker failed to start: ${e.message}`));
    worker.postMessage(init);
  });
  return worker;
}

export class ThreadPool {
  private readonly ctrl: Int32Array;
  private readonly table: Float64Array;
  private seq = 0;

  private constructor(
    memory: WebAssembly.Memory,
    private readonly workers: AnyWorker[],
    private readonly names: Map<string, number>,
  ) {
    this.ctrl = new Int32Array(memory.buffer, CONTROL_BASE, 16);
    this.table = new Float64Array(memory.buffer, CONTROL_BASE + CTRL.argsByte, MAX_TABLE);
  }

  /** Number of threads including the calling one. */
  get threads(): number { return this.workers.length + 1; }

  /** Starts one worker per entry of `gemmScratch` (each worker's packing block). */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], gemmScratch: number[],
    node: boolean): Promise<ThreadPool> {
    const workers = await Promise.all(gemmScratch.map((block) =>
      startWorker({ module, memory, control: CONTROL_BASE, names, gemmScratch: block }, node)));
    return new ThreadPool(memory, workers, new Map(names.map((s, i) => [s, i])));
  }

  /**
   * Calls export `fn` once per argument list (chunk), spread over all threads; `local` is this
   * thread's instance of the same export. Returns when every chunk is done; throws if one failed.
   */
  run(fn: string, chunks: readonly (readonly number[])[], local: (...args: number[]) => unknown): void {
    const index = this.names.get(fn);
    if (index === undefined) throw new Error(`wasm pool: no kernel named ${fn}`);
    const n = chunks.length, nargs = n > 0 ? chunks[0]!.length : 0;
    if (n === 0) return;
    if (n > 0xffff || n * nargs > MAX_TABLE) throw new Error(`wasm pool: job ${fn} has too many chunks (${n} × ${nargs})`);
    const ctrl = this.ctrl;
    for (let i = 0; i < n; i++) this.table.set(chunks[i]!, i * nargs);
    this.seq = (this.seq + 1) & 0xffff;
    ctrl[CTRL.fn] = index; ctrl[CTRL.nargs] = nargs; ctrl[CTRL.nChunks] = n;
    ctrl[CTRL.completed] = 0; ctrl[CTRL.error] = 0;
    Atomics.store(ctrl, CTRL.next, this.seq << 16);
    Atomics.store(ctrl, CTRL.seq, this.seq);
    Atomics.notify(ctrl, CTRL.seq);
    drain(ctrl, this.table, this.seq, local);
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.completed);
      if (done === n) break;
      if (++spins > SPIN) Atomics.wait(ctrl, CTRL.completed, done, 50);
    }
    if (ctrl[CTRL.error] !== 0) throw new Error(`wasm pool: kernel ${fn} failed`);
  }

  /** Stops the workers (the pool cannot be used afterwards). */
  async close(): Promise<void> {
    const ctrl = this.ctrl;
    this.seq = (this.seq + 1) & 0xffff;
    ctrl[CTRL.fn] = -1; ctrl[CTRL.nChunks] = 0;
    Atomics.store(ctrl, CTRL.next, this.seq << 16);
    Atomics.store(ctrl, CTRL.seq, this.seq);
    Atomics.notify(ctrl, CTRL.seq);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
