/**
 * The optional native GEMM for Node: a Node-API addon (native/backprop_native.c, built at install from
 * binding.gyp) that runs the GEMM family through OpenBLAS's CBLAS in place on the WASM backend's memory.
 * The WASM backend hands it byte offsets, as it hands its own kernels, so tensors, arenas, scopes and
 * every other kernel are untouched; only `matmul` goes native, and only above a size where it measures
 * faster (see `NATIVE_MIN_WORK` in backend.ts).
 *
 * Loading never fails the engine: in a browser, with `native: false` or BACKPROP_NATIVE=0, or when the
 * addon was not built (no compiler or OpenBLAS at install time) or does not load, `loadNative` says why
 * and the WASM GEMM runs. Nothing is loaded at import.
 *
 * Threads: the addon's OpenBLAS threads and the WASM worker pool take turns, never overlap. Every
 * kernel call is synchronous on the calling thread, so while OpenBLAS multiplies the pool has no job,
 * and while the pool runs a kernel OpenBLAS has none. What is left is idle spinning: OpenBLAS's threads
 * spin for 2^OPENBLAS_THREAD_TIMEOUT cycles after a product before they sleep (2^28, about 0.1 s, by
 * default), which would take the pool's cores between two products of a training step; so, unless the
 * user set it, the loader sets OPENBLAS_THREAD_TIMEOUT before OpenBLAS starts (`THREAD_TIMEOUT` below).
 * The thread count the user chooses (`threads`) is given to OpenBLAS too (openblas_set_num_threads).
 */
import { nodeBuiltin } from './pool.js';

/** The addon's exports (native/backprop_native.c). */
interface NativeAddon {
  sgemm(memory: Uint8Array<ArrayBufferLike>, a: number, b: number, c: number, batch: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number, strideA: number, strideB: number): void;
  setThreads(n: number): void;
  info(): { config: string; corename: string; threads: number; parallel: string };
}

/** What the native kernels report: the BLAS and its threading. */
export interface NativeInfo {
  /** OpenBLAS's configuration string (version, build options, the kernel set), e.g. 'OpenBLAS 0.3.21 DYNAMIC_ARCH … SkylakeX MAX_THREADS=64'. */
  blas: string;
  /** The CPU kernel set OpenBLAS chose at run time (e.g. 'SkylakeX', 'Haswell'). */
  core: string;
  /** OpenBLAS's threads (the backend's `threads`). */
  threads: number;
  /** How OpenBLAS runs threads: 'pthreads', 'openmp' or 'sequential'. */
  threading: string;
}

/** log2 of the cycles OpenBLAS's idle threads spin before sleeping, unless OPENBLAS_THREAD_TIMEOUT is set (see the file comment). */
const THREAD_TIMEOUT = '16';

/** The file name node-gyp gives the addon, under build/Release of the package. */
const ADDON = 'build/Release/backprop_native.node';

/** The addon, loaded once per process (Node loads a .node file once anyway). */
const loaded = new Map<string, NativeAddon | Error>();

/** The addon's default location: build/Release/ of the package, found above this module (dist/src/backend/wasm or src/backend/wasm). */
function defaultPath(): string | undefined {
  const here = (import.meta as { url?: unknown }).url;
  const path = nodeBuiltin<{ join(...p: string[]): string; dirname(p: string): string }>('node:path');
  const url = nodeBuiltin<{ fileURLToPath(u: string): string }>('node:url');
  const fs = nodeBuiltin<{ existsSync(p: string): boolean }>('node:fs');
  if (typeof here !== 'string' || !here.startsWith('file:') || !path || !url || !fs) return undefined;
  let dir = path.dirname(url.fileURLToPath(here));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, ADDON);
    dir = path.dirname(dir);
  }
  return undefined;
}

/** True when BACKPROP_NATIVE turns the native kernels off (0, false, off, no). */
export function nativeDisabledByEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return /^(0|false|off|no)$/i.test(env?.['BACKPROP_NATIVE'] ?? '');
}

/**
 * The native GEMM shared by every WASM backend of this thread. Each call hands the addon a view of the
 * calling backend's memory (cached per buffer); OpenBLAS's thread count is one setting per process, set
 * before a call when it differs from the last one this thread set.
 */
export class NativeGemm {
  private buffer: ArrayBufferLike | undefined;
  private view: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private threadsSet = 0;

  constructor(private readonly addon: NativeAddon, readonly path: string) {}

  /**
   * C (+)= op(A) · op(B) over `batch` matrices, on byte offsets into `buffer` (the memory's current
   * buffer: after a grow it is a new object, and the addon re-reads its base and size). Shapes and
   * strides as `Backend.matmul`; the addon checks that every operand lies inside the buffer.
   */
  sgemm(buffer: ArrayBufferLike, threads: number, a: number, b: number, c: number, batch: number, M: number, K: number, N: number,
    transA: number, transB: number, accumulate: number, strideA: number, strideB: number): void {
    if (buffer !== this.buffer) { this.view = new Uint8Array(buffer); this.buffer = buffer; }
    if (threads !== this.threadsSet) { this.addon.setThreads(threads); this.threadsSet = threads; }
    this.addon.sgemm(this.view, a, b, c, batch, M, K, N, transA, transB, accumulate, strideA, strideB);
  }

  /** What OpenBLAS reports, with `threads` as the backend has set it. */
  info(threads: number): NativeInfo {
    const i = this.addon.info();
    return { blas: i.config, core: i.corename, threads, threading: i.parallel };
  }
}

/** One NativeGemm per addon file (they share the addon's state). */
const gemms = new Map<string, NativeGemm>();

/**
 * Loads the native GEMM from `file` (default: build/Release/backprop_native.node of the package), or
 * says why it is not available: in a browser, BACKPROP_NATIVE=0, not built, or not loadable. Never throws.
 */
export function loadNative(file?: string): NativeGemm | { absent: string } {
  if (nativeDisabledByEnv()) return { absent: 'turned off by BACKPROP_NATIVE' };
  const mod = nodeBuiltin<{ createRequire(u: string): (id: string) => unknown }>('node:module');
  const fs = nodeBuiltin<{ existsSync(p: string): boolean }>('node:fs');
  if (!mod || !fs) return { absent: 'native kernels exist in Node only' };
  const path = file ?? defaultPath();
  if (path === undefined) return { absent: 'the package folder was not found' };
  let addon = loaded.get(path);
  if (addon === undefined) {
    if (!fs.existsSync(path)) {
      return { absent: `not built (${path} is missing: install a C compiler, make and OpenBLAS, e.g. apt-get install libopenblas-dev g++ make, then npm rebuild backprop)` };
    }
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    // Read by OpenBLAS when it loads, i.e. during the require below (see the file comment).
    if (env && env['OPENBLAS_THREAD_TIMEOUT'] === undefined) env['OPENBLAS_THREAD_TIMEOUT'] = THREAD_TIMEOUT;
    try {
      addon = mod.createRequire(path)(path) as NativeAddon;
      if (typeof addon.sgemm !== 'function') throw new Error('it has no sgemm export');
    } catch (e) {
      addon = e instanceof Error ? e : new Error(String(e));
    }
    loaded.set(path, addon);
  }
  if (addon instanceof Error) return { absent: `${path} did not load (${addon.message.split('\n')[0]})` };
  let g = gemms.get(path);
  if (!g) { g = new NativeGemm(addon, path); gemms.set(path, g); }
  return g;
}
