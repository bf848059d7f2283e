/**
 * The active backend. Ops ask `getBackend()` for kernels; `setBackend` swaps the implementation
 * without touching autodiff or layers. Float64 work always runs on the reference backend.
 *
 * Importing this module starts nothing: no WebAssembly compile, no thread. The backend starts on
 * first use, or when asked:
 * - `getBackend()` (every op calls it) picks the default the first time. In Node that is the WASM
 *   backend (SIMD, threads = cores), started synchronously: the kernels compile in a few
 *   milliseconds and the caller blocks until the workers are up. Elsewhere (a browser, whose main
 *   thread may not compile a large module synchronously) it is the reference backend, unless
 *   `await ready()` came first. BACKPROP_BACKEND=js (Node) makes the reference the default; so does a
 *   WASM start that fails (no shared memory, e.g. a page without COOP/COEP headers).
 * - `await ready()` starts the default without blocking (a page's WASM backend starts this way) and
 *   resolves with the active backend.
 * - `await useBackend('wasm', { threads })` or `useBackend('js')` starts the named backend and makes it
 *   active; `setBackend(b)` installs one already made.
 *
 * @example
 * ```ts
 * import { ready, tensor, matmul } from 'backprop';
 * await ready();                       // optional in Node; in a page, the way to get WASM kernels
 * matmul(tensor([[1, 2]]), tensor([[3], [4]]));
 * ```
 */
import type { Backend, DataArray, DType } from './backend.js';
import { ConfigError } from '../errors.js';
import { JsBackend } from './js/backend.js';
import { canStartSync, createWasmBackend, createWasmBackendSync, type WasmBackendOptions } from './wasm/index.js';

export type { Backend, DType, DataArray, FloatArray, Lifetime, UnaryOp, BinaryOp, ReduceOp } from './backend.js';
export type { WasmBackendOptions, NativeInfo } from './wasm/index.js';
import type { NativeInfo } from './wasm/index.js';

/**
 * The plain TypeScript reference backend: the ground truth every kernel is tested against (`useBackend('js')`).
 *
 * @example
 * ```ts
 * import { referenceBackend, setBackend } from 'backprop';
 * setBackend(referenceBackend); // the plain-JavaScript kernels, the ground truth for the WASM ones
 * ```
 */
export const referenceBackend: Backend = new JsBackend();

/** The backends `useBackend` can start: the WASM kernels or the plain TypeScript reference. */
export type BackendKind = 'wasm' | 'js';

let active: Backend | undefined;
// True once the backend was chosen by the caller (setBackend, useBackend) or by a finished default
// start; false while `active` is only the reference a page got by using the engine before ready().
let settled = false;
let starting: Promise<Backend> | undefined;

function envChoice(): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.BACKPROP_BACKEND ?? 'wasm';
}

/**
 * The default start's fallback: the reference backend. Silent where WASM cannot run here (no shared
 * memory: a page without cross-origin isolation); anything else (a stale build missing a kernel, say)
 * is a fault the user must hear about, once, though the engine still works.
 */
function fallBack(e: unknown): Backend {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/shared WebAssembly\.Memory|SharedArrayBuffer/.test(msg)) {
    console.warn(`backprop: the WASM backend could not start (${msg}); using the reference backend`);
  }
  return referenceBackend;
}

/** The default backend, started synchronously where that is allowed (Node), else the reference. */
function startDefaultSync(): Backend {
  if (envChoice() === 'js' || !canStartSync()) return referenceBackend;
  try {
    return createWasmBackendSync();
  } catch (e) {
    return fallBack(e);
  }
}

/**
 * The active backend, starting the default on the first call (see the top of this file).
 *
 * @example
 * ```ts
 * import { getBackend } from 'backprop';
 * getBackend().name; // the running backend (starts the default one on first use)
 * ```
 */
export function getBackend(): Backend {
  if (active) return active;
  active = startDefaultSync();
  settled = canStartSync(); // in a page, a later ready() may still replace the reference with WASM
  return active;
}

/**
 * Starts the default backend if none is chosen yet, without blocking, and resolves with the active
 * backend. In Node this is the same start as the first `getBackend()`; in a browser it is how the
 * WASM backend starts (first use without it gets the reference backend).
 *
 * @example
 * ```ts
 * import { ready, backendInfo } from 'backprop';
 * await ready(); // the WASM kernels compiled and their workers started
 * backendInfo().threads;
 * ```
 */
export function ready(): Promise<Backend> {
  if (settled && active) return Promise.resolve(active);
  if (canStartSync()) return Promise.resolve(getBackend());
  starting ??= (async () => {
    let b = referenceBackend;
    if (envChoice() !== 'js') {
      try { b = await createWasmBackend(); } catch (e) { b = fallBack(e); }
    }
    starting = undefined;
    if (!settled) { active = b; settled = true; } // unless setBackend/useBackend chose meanwhile
    else if (b !== active) void closeBackend(b);    // …in which case the one started here is not used
    return active ?? b;
  })();
  return starting;
}

/**
 * Starts backend `kind` and makes it active: 'wasm' (the options choose threads, SIMD; see
 * WasmBackendOptions) or 'js' (the reference). Unlike the default start, a WASM backend that cannot
 * start is an error here, not a silent fallback.
 *
 * @example
 * ```ts
 * import { useBackend } from 'backprop';
 * await useBackend('wasm', { threads: 4 });
 * ```
 */
export async function useBackend(kind: BackendKind, options: WasmBackendOptions = {}): Promise<Backend> {
  if (kind !== 'wasm' && kind !== 'js') throw new ConfigError(`unknown backend "${String(kind)}" (choose wasm or js)`);
  const b = kind === 'js' ? referenceBackend : await createWasmBackend(options);
  const prev = active;
  setBackend(b);
  // The backend replaced stops its worker threads (its arrays stay readable, and still work: staged).
  if (prev && prev !== b) void closeBackend(prev);
  return b;
}

/** Stops a backend's worker threads, if it has any (the WASM backend then runs on one thread). */
function closeBackend(b: Backend): Promise<void> {
  return (b as { close?: () => Promise<void> }).close?.() ?? Promise.resolve();
}

/** What `backendInfo()` reports about the running backend. */
export interface BackendInfo {
  /** 'wasm' (the WebAssembly kernels), 'js' (the plain TypeScript reference) or 'custom' (a backend installed with setBackend). */
  kind: BackendKind | 'custom';
  /** The backend's own name, e.g. 'wasm-fma-8t', 'wasm-simd', 'js'. */
  name: string;
  /** WebAssembly SIMD (128-bit) kernels. */
  simd: boolean;
  /** Relaxed SIMD: the GEMM uses fused multiply-add (results differ from the reference in the last bits). */
  fma: boolean;
  /** Threads computing kernels (this one and the workers); 1 without a pool. */
  threads: number;
  /**
   * The native GEMM in use for large matrix products (Node, WASM backend, addon built at install):
   * OpenBLAS's configuration string, its CPU kernels, threads and threading; null when every kernel
   * runs in WebAssembly or JavaScript.
   */
  native: NativeInfo | null;
  /** Why the WASM backend runs without the native GEMM (turned off, not built, a browser); absent otherwise. */
  nativeAbsent?: string;
}

/**
 * Reads back what is running: the active backend's kind, SIMD, FMA (relaxed SIMD), thread count, and
 * the native GEMM (which BLAS, how many threads) or why there is none.
 * Starts the default backend if none is active yet, as the first op would.
 *
 * @example
 * ```ts
 * import { useBackend, backendInfo } from 'backprop';
 * await useBackend('wasm', { threads: 2 });
 * backendInfo();   // { kind: 'wasm', name: 'wasm-fma-2t+blas', simd: true, fma: true, threads: 2, native: { blas: 'OpenBLAS 0.3.21 …', … } }  (where supported)
 * ```
 */
export function backendInfo(): BackendInfo {
  const b = getBackend() as Backend & { simd?: boolean; relaxed?: boolean; threads?: number; nativeInfo?: NativeInfo | null; nativeAbsent?: string };
  const kind: BackendInfo['kind'] = b === referenceBackend ? 'js' : b.name.startsWith('wasm') ? 'wasm' : 'custom';
  const info: BackendInfo = { kind, name: b.name, simd: b.simd === true, fma: b.relaxed === true, threads: typeof b.threads === 'number' ? b.threads : 1, native: b.nativeInfo ?? null };
  if (typeof b.nativeAbsent === 'string') info.nativeAbsent = b.nativeAbsent;
  return info;
}

/** Storage for an output the caller will overwrite completely (zeroed only where the backend must). */
export function allocOutput(dtype: DType, n: number): DataArray {
  const b = getBackend();
  return b.allocUninit ? b.allocUninit(dtype, n) : b.alloc(dtype, n);
}
/**
 * Installs backend `b` for every op from now on (arrays made by another backend still work: they are staged).
 *
 * @example
 * ```ts
 * import { setBackend, referenceBackend } from 'backprop';
 * setBackend(referenceBackend);
 * ```
 */
export function setBackend(b: Backend): void { active = b; settled = true; }

/** Storage that outlives the open engine scope, owned by the garbage collector (see `Backend.alloc`). */
export function allocKept(dtype: DType, n: number): DataArray { return getBackend().alloc(dtype, n, 'kept'); }

/** Long-lived storage for parameters, gradients and optimizer moments (see `Backend.alloc`). */
export function allocArena(dtype: DType, n: number): DataArray { return getBackend().alloc(dtype, n, 'arena'); }

/**
 * Run `fn` in an engine scope: storage it allocates is freed when it returns, except what was allocated
 * 'kept' (`Tensor.clone()`, `detachState`) or 'arena'. The engine's own steps use it (backward, optimizer
 * steps, `trainStep`, TBPTT updates, evaluation windows); a value that must outlive the scope is made
 * with `clone()` inside it. Nothing allocated inside may be used after it returns.
 */
export function withScope<T>(fn: () => T): T {
  const b = getBackend();
  if (!b.beginScope) return fn();
  b.beginScope();
  try {
    return fn();
  } finally {
    b.endScope?.();
  }
}
