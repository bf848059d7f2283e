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
 *   int32 [7] started    workers that have instantiated the kernels (Node's synchronous start)
 *   f64 at byte 64       the argument table, nChunks × nargs
 * Every thread, the caller included, takes chunks with a compare-and-swap on `next` until none are
 * left (self-scheduling), so a worker that the OS has descheduled — the machine is shared — delays
 * nothing: the others take its chunks. The CAS only succeeds while `next` still carries this job's
 * seq, so a worker waking late can never take a chunk of a newer job with an older job's arguments.
 * Threads spin briefly before Atomics.wait, since kernels come in bursts during a training step.
 * `run` returns when all chunks are done, so every kernel stays synchronous. That wait blocks, which a
 * browser's main thread may not do: there the backend runs single-threaded, and the pool is used only
 * in Node or inside a cross-origin-isolated Web Worker.
 *
 * In Node the pool starts synchronously (`createSync`): the workers are spawned, then the caller blocks
 * in Atomics.wait until each has counted itself in `started`, so the backend can start on its first
 * use without a promise. A browser's workers start asynchronously (`create`), since a nested Web
 * Worker may need its parent's event loop to start.
 */
import { CONTROL_BASE } from './memory.js';

/** Control block layout (int32 indices), shared with worker.ts. */
export const CTRL = { seq: 0, fn: 1, nargs: 2, nChunks: 3, next: 4, completed: 5, error: 6, started: 7, argsByte: 64 } as const;
/** Most chunks × arguments one job may carry (the control block spans 32 KiB − 64 B). */
const MAX_TABLE = ((1 << 15) - 64) / 8;
export const SPIN = 20000;
/** How long a synchronous start waits for its workers before giving up (a loaded machine is slow). */
const START_TIMEOUT_MS = 15_000;

/**
 * A Node built-in module, loaded synchronously (`process.getBuiltinModule`, Node 20.16+), or undefined
 * outside Node. Neither a static nor a dynamic import: the first would break browsers and bundles,
 * the second would make starting the backend asynchronous.
 */
export function nodeBuiltin<T = unknown>(id: string): T | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return p?.getBuiltinModule?.(id) as T | undefined;
}

/**
 * The worker script's URL, or undefined where it cannot be located (this module bundled into a
 * classic script, where `import.meta` is empty): then the backend runs single-threaded.
 */
export function workerUrl(): URL | undefined {
  const here = (import.meta as { url?: unknown }).url;
  if (typeof here !== 'string') return undefined;
  if (here.endsWith('.ts') && nodeBuiltin('node:os')) {
    // Running from sources under tsx (scripts): tsx's loader is not active in workers, so a small ESM
    // bootstrap registers it and then imports worker.ts.
    const ts = new URL('./worker.ts', here).href;
    const api = import.meta.resolve('tsx/esm/api');
    const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(ts)});`;
    return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
  }
  return new URL('./worker.js', here);
}

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

/** The part of node:worker_threads the pool uses. */
interface NodeWorkers {
  Worker: new (url: URL, options: { workerData: WorkerInit }) => AnyWorker & {
    unref(): void;
    on(event: 'error', listener: (e: Error) => void): unknown;
  };
}

/** Starts one browser module Web Worker with `init` and resolves when it reports ready. */
async function startWebWorker(init: WorkerInit, url: URL): Promise<AnyWorker> {
  const worker = new Worker(url, { type: 'module' });
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

  /**
   * Node: starts one worker_threads worker per entry of `gemmScratch` (each worker's packing block)
   * and blocks until all have instantiated the kernels. Throws if they do not within a minute.
   */
  static createSync(module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], gemmScratch: number[]): ThreadPool {
    const wt = nodeBuiltin<NodeWorkers>('node:worker_threads');
    const url = workerUrl();
    if (!wt || !url) throw new Error('wasm pool: a synchronous start needs Node worker_threads and the worker script');
    // A missing worker script (the engine bundled into one file) would only show as a timeout, since the
    // workers' error events cannot arrive while this thread blocks: check for it first.
    const fs = nodeBuiltin<{ existsSync(p: URL): boolean }>('node:fs');
    if (url.protocol === 'file:' && fs && !fs.existsSync(url)) throw new Error(`wasm pool: the worker script ${url.pathname} does not exist (bundled?)`);
    const ctrl = new Int32Array(memory.buffer, CONTROL_BASE, 16);
    Atomics.store(ctrl, CTRL.started, 0);
    let failure: Error | undefined;
    const workers = gemmScratch.map((block) => {
      const w = new wt.Worker(url, { workerData: { module, memory, control: CONTROL_BASE, names, gemmScratch: block } });
      // An idle pool must not keep the process alive. A start failure is only seen after the wait
      // below gives up (the event loop is blocked meanwhile); the listener keeps it from crashing the process.
      w.unref();
      w.on('error', (e) => { failure = e; });
      return w;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let n = Atomics.load(ctrl, CTRL.started); n < workers.length; n = Atomics.load(ctrl, CTRL.started)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        for (const w of workers) w.terminate();
        throw new Error(`wasm pool: only ${n} of ${workers.length} workers started within ${START_TIMEOUT_MS / 1000} s${failure ? ` (${failure.message})` : ''}`);
      }
      Atomics.wait(ctrl, CTRL.started, n, left);
    }
    return new ThreadPool(memory, workers, new Map(names.map((s, i) => [s, i])));
  }

  /** Browser (inside a cross-origin-isolated Web Worker): starts the workers without blocking. */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], gemmScratch: number[]): Promise<ThreadPool> {
    const url = workerUrl();
    if (!url) throw new Error('wasm pool: the worker script cannot be located from a classic script');
    const workers = await Promise.all(gemmScratch.map((block) =>
      startWebWorker({ module, memory, control: CONTROL_BASE, names, gemmScratch: block }, url)));
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
