/**
 * The active backend. Ops ask `getBackend()` for kernels; `setBackend` swaps the implementation
 * without touching autodiff or layers. Float64 work always runs on the reference backend.
 *
 * The default is the WASM backend (SIMD, threads = cores) wherever it can start: in Node, and in a
 * cross-origin-isolated page. Elsewhere (or with BACKPROP_BACKEND=js in Node) it is the reference backend.
 */
import type { Backend, DataArray, DType } from './backend.js';
import { JsBackend } from './js/backend.js';
import { createWasmBackend } from './wasm/index.js';

export type { Backend, DType, DataArray, FloatArray, Lifetime, UnaryOp, BinaryOp, ReduceOp } from './backend.js';

export const referenceBackend: Backend = new JsBackend();

async function defaultBackend(): Promise<Backend> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const choice = env?.BACKPROP_BACKEND ?? 'wasm';
  if (choice === 'js') return referenceBackend;
  try {
    return await createWasmBackend();
  } catch {
    return referenceBackend; // no shared memory here (a page without COOP/COEP): plain TypeScript kernels
  }
}

let active: Backend = await defaultBackend();

export function getBackend(): Backend { return active; }

/** Storage for an output the caller will overwrite completely (zeroed only where the backend must). */
export function allocOutput(dtype: DType, n: number): DataArray {
  return active.allocUninit ? active.allocUninit(dtype, n) : active.alloc(dtype, n);
}
export function setBackend(b: Backend): void { active = b; }

/** Storage that outlives the open engine scope, owned by the garbage collector (see `Backend.alloc`). */
export function allocKept(dtype: DType, n: number): DataArray { return active.alloc(dtype, n, 'kept'); }

/** Long-lived storage for parameters, gradients and optimizer moments (see `Backend.alloc`). */
export function allocArena(dtype: DType, n: number): DataArray { return active.alloc(dtype, n, 'arena'); }

/**
 * Run `fn` in an engine scope: storage it allocates is freed when it returns, except what was allocated
 * 'kept' (`Tensor.clone()`, `detachState`) or 'arena'. The engine's own steps use it (backward, optimizer
 * steps, `trainStep`, TBPTT updates, evaluation windows); a value that must outlive the scope is made
 * with `clone()` inside it. Nothing allocated inside may be used after it returns.
 */
export function withScope<T>(fn: () => T): T {
  const b = active;
  if (!b.beginScope) return fn();
  b.beginScope();
  try {
    return fn();
  } finally {
    b.endScope?.();
  }
}
