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

export type { Backend, DType, DataArray, FloatArray, UnaryOp, BinaryOp, ReduceOp } from './backend.js';

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

/**
 * Run `fn` in a backend scope: storage it allocates is reclaimed when it returns, except the arrays
 * `keep(result)` names (and anything allocated before). For the engine's own loops only (see Backend).
 */
export function withScope<T>(fn: () => T, keep: (result: T | undefined) => readonly DataArray[]): T {
  const b = active;
  b.beginScope?.();
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    b.endScope?.(keep(result));
  }
}
