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
export type { WasmBackendOptions } from './wasm/index.js';

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

/** The default backend, started synchronously where that is allowed (Node), else the reference. */
function startDefaultSync(): Backend {
  if (envChoice() === 'js' || !canStartSync()) return referenceBackend;
  try {
    return createWasmBackendSync();
  } catch {
    return referenceBackend; // no shared memory or no threads here: plain TypeScript kernels
  }
}

/** The active backend, starting the default on the first call (see the top of this file). */
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
 */
export function ready(): Promise<Backend> {
  if (settled && active) return Promise.resolve(active);
  if (canStartSync()) return Promise.resolve(getBackend());
  starting ??= (async () => {
    let b = referenceBackend;
    if (envChoice() !== 'js') {
      try { b = await createWasmBackend(); } catch { /* stays on the reference backend */ }
    }
    starting = undefined;
    if (!settled) { active = b; settled = true; } // unless setBackend/useBackend chose meanwhile
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
 * await useBackend('wasm', { threads: 4 });
 * ```
 */
export async function useBackend(kind: BackendKind, options: WasmBackendOptions = {}): Promise<Backend> {
  if (kind !== 'wasm' && kind !== 'js') throw new ConfigError(`unknown backend "${String(kind)}" (choose wasm or js)`);
  const b = kind === 'js' ? referenceBackend : await createWasmBackend(options);
  setBackend(b);
  return b;
}

/** Storage for an output the caller will overwrite completely (zeroed only where the backend must). */
export function allocOutput(dtype: DType, n: number): DataArray {
  const b = getBackend();
  return b.allocUninit ? b.allocUninit(dtype, n) : b.alloc(dtype, n);
}
/** Installs backend `b` for every op from now on (arrays made by another backend still work: they are staged). */
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
