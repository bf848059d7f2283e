/**
 * Fused kernels by capability: `fused(backend)` gives every fused fast path (FusedKernels), the
 * backend's own where it has one, else the reference backend's implementation, which runs on the same
 * arrays (a WASM backend's storage is ordinary typed arrays). So a backend implements the generic
 * kernels and only the fused paths it makes faster, and callers never ask which.
 */
import type { Backend, FusedKernels } from './backend.js';
import { JsBackend } from './js/backend.js';

/** Every fused kernel's name; typed so that a name missing here is a compile error. */
const FUSED = {
  softmax: true, logSoftmax: true, softmaxCrossEntropy: true, softmaxCrossEntropyBackward: true,
  lstmCellForward: true, lstmCellBackward: true,
} as const satisfies Record<keyof FusedKernels, true>;

const reference = new JsBackend();
const resolved = new WeakMap<Backend, FusedKernels>();

/** The fused kernels for `b`: its own where present, the reference backend's elsewhere. Cached per backend. */
export function fused(b: Backend): FusedKernels {
  let f = resolved.get(b);
  if (f === undefined) {
    const table: Partial<Record<keyof FusedKernels, unknown>> = {};
    for (const k of Object.keys(FUSED) as (keyof FusedKernels)[]) {
      const own = b[k];
      table[k] = own ? own.bind(b) : reference[k].bind(reference);
    }
    f = table as FusedKernels;
    resolved.set(b, f);
  }
  return f;
}
