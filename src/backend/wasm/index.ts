/**
 * The WASM backend's public entry: `createWasmBackend` compiles the embedded kernels (SIMD when the
 * engine supports it), creates the shared memory and, in Node, a worker pool.
 *
 * @example
 * ```ts
 * import { createWasmBackend } from './backend/wasm/index.js';
 * import { setBackend } from './backend/index.js';
 * setBackend(await createWasmBackend({ threads: 2 }));
 * ```
 */
import type { Backend } from '../backend.js';
import { WasmBackend, type Kernels } from './backend.js';
import { KERNELS_RELAXED_BASE64, KERNELS_SCALAR_BASE64, KERNELS_SIMD_BASE64 } from './kernels.gen.js';
import { CONTROL_BASE, WasmHeap } from './memory.js';
import { ThreadPool } from './pool.js';

export { WasmBackend } from './backend.js';
export { WasmFloat32Array, WasmInt32Array } from './memory.js';

export interface WasmBackendOptions {
  /** Use the SIMD build (default: when the engine supports it). `true` on an engine without SIMD falls back. */
  simd?: boolean;
  /**
   * Use the relaxed-SIMD build, whose GEMM uses fused multiply-add (default: true where the engine
   * supports it). Node 20 ships relaxed SIMD behind `--experimental-wasm-relaxed-simd`; in Node the
   * backend turns that V8 flag on for the process when the build does not validate without it.
   */
  relaxedSimd?: boolean;
  /**
   * Threads for big kernels, the calling thread included (default: the number of cores). 1 means no
   * workers. On a browser's main thread, which may not block, it is always 1; inside a
   * cross-origin-isolated Web Worker the pool uses nested Web Workers.
   */
  threads?: number;
  /** Maximum memory in 64 KiB pages (default 65536 = 4 GiB, halved until the engine accepts it). */
  maximumPages?: number;
}

// The smallest module using a v128 instruction: (func (result v128) i32.const 0 i8x16.splat).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** True when this engine validates WASM SIMD (v128). */
export function simdSupported(): boolean {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

function decodeBase64(s: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(s, 'base64'));
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// A non-literal specifier keeps browser bundlers from trying to resolve Node modules.
const nodeImport = (m: string): Promise<unknown> => import(m);
const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
// Blocking waits (Atomics.wait) are allowed in Node and in cross-origin-isolated Web Workers only.
const inIsolatedWorker = !isNode && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined'
  && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

async function defaultThreads(): Promise<number> {
  if (isNode) {
    const os = await nodeImport('node:os') as typeof import('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

function createMemory(maximumPages: number): WebAssembly.Memory {
  for (let max = maximumPages; max >= 256; max >>= 1) {
    try { return new WebAssembly.Memory({ initial: 256, maximum: max, shared: true }); } catch { /* try smaller */ }
  }
  throw new Error('wasm backend: cannot create a shared WebAssembly.Memory (in a browser the page must be '
    + 'cross-origin isolated, i.e. served with COOP/COEP headers); use the reference backend instead');
}

/** True when the relaxed-SIMD build validates, enabling V8's flag for it in Node if needed. */
async function relaxedSupported(bytes: Uint8Array): Promise<boolean> {
  if (WebAssembly.validate(bytes as BufferSource)) return true;
  if (!isNode) return false;
  try {
    const v8 = await nodeImport('node:v8') as typeof import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssembly.validate(bytes as BufferSource);
  } catch {
    return false;
  }
}

/** Creates a WASM backend: SIMD kernels on a shared memory, with a worker pool when threads > 1. */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend & WasmBackend> {
  const simd = (options.simd ?? true) && simdSupported();
  const relaxedBytes = decodeBase64(KERNELS_RELAXED_BASE64);
  const relaxed = simd && (options.relaxedSimd ?? true) && await relaxedSupported(relaxedBytes);
  const bytes = relaxed ? relaxedBytes : decodeBase64(simd ? KERNELS_SIMD_BASE64 : KERNELS_SCALAR_BASE64);
  const module = await WebAssembly.compile(bytes as BufferSource);
  const memory = createMemory(options.maximumPages ?? 65536);
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  const k = instance.exports as unknown as Kernels;
  if (k.heap_base() > CONTROL_BASE) throw new Error(`wasm backend: static data (${k.heap_base()} B) overlaps the control block`);
  // The browser main thread may not block in Atomics.wait: single-threaded there.
  const canBlock = isNode || inIsolatedWorker;
  const threads = canBlock ? Math.max(1, Math.floor(options.threads ?? await defaultThreads())) : 1;
  const names = Object.keys(instance.exports).filter((n) => typeof instance.exports[n] === 'function');
  const heap = new WasmHeap(memory);
  const scratch = Array.from({ length: threads - 1 }, () => heap.allocBlock(k.gemm_scratch_bytes()).ptr);
  const pool = threads > 1 ? await ThreadPool.create(module, memory, names, scratch, isNode) : undefined;
  return new WasmBackend(k, heap, simd, pool, relaxed);
}
