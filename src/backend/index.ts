/**
 * The active backend. Ops ask `getBackend()` for kernels; `setBackend` swaps the implementation
 * without touching autodiff or layers. Float64 work always runs on the reference backend.
 */
import type { Backend } from './backend.js';
import { JsBackend } from './js/backend.js';

export type { Backend, DType, DataArray, FloatArray, UnaryOp, BinaryOp, ReduceOp } from './backend.js';

export const referenceBackend: Backend = new JsBackend();
let active: Backend = referenceBackend;

export function getBackend(): Backend { return active; }
export function setBackend(b: Backend): void { active = b; }
