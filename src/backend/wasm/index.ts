/**
 * The WASM backend's public entry: `createWasmBackend` compiles the embedded kernels (SIMD when the
 * engine supports it), creates the shared memory and a worker pool. With `sharedMemory: false` (a page
 * or worker without cross-origin isolation, where shared memory is not allowed) it creates an ordinary
 * memory, reserved up front (or resizable, `resizableMemory`), and runs on one thread; memory.ts
 * explains how its views survive (or avoid) growing. Importing this module does
 * nothing: no compile, no thread. `createWasmBackendSync` is the same start without a promise, for
 * Node, where compiling and blocking until the workers are up are allowed on the main thread (the
 * backend's first use, `getBackend()` in backend/index.ts, starts it this way).
 *
 * @example
 * ```ts
 * import { useBackend } from 'backprop';
 * await useBackend('wasm', { threads: 2 });
 * ```
 */
import type { Backend } from '../backend.js';
import { checkExports, WasmBackend, type Kernels } from './backend.js';
import { KERNELS_RELAXED_BASE64, KERNELS_SCALAR_BASE64, KERNELS_SIMD_BASE64 } from './kernels.gen.js';
import { CONTROL_BASE, WasmHeap } from './memory.js';
import { ThreadPool, nodeBuiltin, workerUrl } from './pool.js';
import { loadNative, type NativeGemm } from './native.js';

export { WasmBackend } from './backend.js';
export { WasmFloat32Array, WasmInt32Array } from './memory.js';
export type { NativeInfo } from './native.js';

/** Options of the WASM backend (`useBackend('wasm', options)`). */
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
   * cross-origin-isolated Web Worker the pool uses nested Web Workers. Where the worker script cannot
   * be located (the package bundled into a classic script) it is 1 as well.
   */
  threads?: number;
  /**
   * Maximum memory in 64 KiB pages (default 65536 = 4 GiB, halved until the engine accepts it). A
   * non-shared memory that cannot have a resizable buffer is reserved at this size up front and never
   * grown (default there: 16384 pages = 1 GiB, halved until the engine accepts it; only the pages used
   * take physical memory on systems that commit lazily).
   */
  maximumPages?: number;
  /**
   * Use a shared memory (default true), which worker threads need. `false`: an ordinary, non-shared
   * memory and one thread, for pages and workers without cross-origin isolation (Firefox and Safari
   * allow no shared memory there).
   */
  sharedMemory?: boolean;
  /**
   * With `sharedMemory: false`: grow the memory in place through a resizable buffer, where the engine
   * has `toResizableBuffer` (Chromium), instead of reserving it up front (default false: in Chromium 156
   * typed arrays over a resizable buffer made training about 2.4× slower, measured in the explorer).
   */
  resizableMemory?: boolean;
  /**
   * Cap on live collector-owned ('kept') bytes in WASM memory before such storage spills to the JS heap
   * (default 256 MiB, at most a quarter of the memory's maximum; see docs/kernels.md, "Memory").
   */
  keptBudgetBytes?: number;
  /**
   * Node: run large matrix products on the native GEMM (OpenBLAS, through the addon built at install;
   * see native.ts and the README's Backends section) in place on this backend's memory. Default true;
   * `false`, or the environment variable BACKPROP_NATIVE=0, keeps every kernel in WebAssembly. Where the
   * addon is absent (not built, a browser) the WASM GEMM runs and `backendInfo().nativeAbsent` says why.
   */
  native?: boolean;
  /** The addon file to load (default: build/Release/backprop_native.node in the package). */
  nativeModule?: string;
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

const isNode = nodeBuiltin('node:os') !== undefined;
// Blocking waits (Atomics.wait) are allowed in Node and in cross-origin-isolated Web Workers only.
const inIsolatedWorker = !isNode && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined'
  && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

/** True when `createWasmBackendSync` can run here: in Node (20.16 or later, for `process.getBuiltinModule`). */
export function canStartSync(): boolean { return isNode; }

function defaultThreads(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
  if (os) return os.availableParallelism?.() ?? os.cpus().length;
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** The memory a backend runs on: its maximum in bytes, and `fixed` when it must never grow (see memory.ts). */
interface CreatedMemory { memory: WebAssembly.Memory; maxBytes: number; fixed: boolean }

/** A shared memory with the largest maximum the engine accepts, up to `maximumPages`; and that maximum in bytes. */
function createMemory(maximumPages: number): CreatedMemory {
  for (let max = maximumPages; max >= 256; max >>= 1) {
    try { return { memory: new WebAssembly.Memory({ initial: 256, maximum: max, shared: true }), maxBytes: max * 65536, fixed: false }; } catch { /* try smaller */ }
  }
  throw new Error('wasm backend: cannot create a shared WebAssembly.Memory (in a browser the page must be '
    + 'cross-origin isolated, i.e. served with COOP/COEP headers); use the reference backend instead');
}

/** The engine's `toResizableBuffer` (newer engines; Chromium has it, Node 20 does not). */
type Resizable = WebAssembly.Memory & { toResizableBuffer?: () => ArrayBuffer };

/**
 * A non-shared memory. With `wantResizable` and where the engine can give it a resizable buffer (which
 * grows in place, so views survive a grow), it starts small and grows up to `maximumPages`; otherwise it
 * is reserved at `fixedPages` up front and never grown (memory.ts). Either way halved until the engine
 * accepts it.
 */
export function createPrivateMemory(maximumPages: number, fixedPages: number, wantResizable = false): CreatedMemory {
  const resizable = wantResizable && typeof (WebAssembly.Memory.prototype as Resizable).toResizableBuffer === 'function';
  for (let max = resizable ? maximumPages : fixedPages; max >= 16; max >>= 1) {
    let memory: Resizable;
    try { memory = new WebAssembly.Memory({ initial: resizable ? Math.min(256, max) : max, maximum: max }); } catch { continue; }
    if (resizable) memory.toResizableBuffer!();
    return { memory, maxBytes: max * 65536, fixed: !resizable };
  }
  throw new Error('wasm backend: cannot create a WebAssembly.Memory of even 1 MiB');
}

/** True when the relaxed-SIMD build validates, enabling V8's flag for it in Node if needed. */
function relaxedSupported(bytes: Uint8Array): boolean {
  if (WebAssembly.validate(bytes as BufferSource)) return true;
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  if (!v8) return false;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return WebAssembly.validate(bytes as BufferSource);
  } catch {
    return false;
  }
}

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0, shift = 0, i = at;
  for (;;) {
    const b = bytes[i++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return { value, next: i };
    shift += 7;
  }
}

/**
 * The kernels' module with its imported memory declared non-shared: a copy of `bytes` whose `env.memory`
 * import has limits flag 0x01 (maximum, not shared) instead of 0x03 (shared). The kernels are built for
 * a shared memory (assembly/, --sharedMemory), and a module importing a shared memory links only to one;
 * nothing else in them depends on sharing (atomics are valid on ordinary memory), so this one byte is the
 * whole difference. Throws if the module has no such import (a build this code does not know).
 */
export function unshareMemoryImport(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  const name = (at: number): { text: string; next: number } => {
    const { value: n, next } = readLeb(out, at);
    return { text: new TextDecoder().decode(out.subarray(next, next + n)), next: next + n };
  };
  for (let at = 8; at < out.length;) {
    const id = out[at]!;
    const { value: size, next: body } = readLeb(out, at + 1);
    if (id === 2) {
      let { value: count, next: i } = readLeb(out, body);
      for (; count > 0; count--) {
        const mod = name(i), field = name(mod.next);
        const kind = out[field.next]!;
        i = field.next + 1;
        if (kind === 0) i = readLeb(out, i).next;                       // function: type index
        else if (kind === 1) { i++; const f = out[i++]!; i = readLeb(out, i).next; if (f & 1) i = readLeb(out, i).next; } // table
        else if (kind === 2) {                                          // memory: limits
          if (out[i] !== 0x03) throw new Error(`wasm backend: the kernels' memory import has limits flag ${out[i]}, not 0x03 (shared)`);
          out[i] = 0x01;
          return out;
        } else if (kind === 3) i += 2;                                  // global: value type, mutability
        else throw new Error(`wasm backend: unexpected import kind ${kind} in the kernels' module`);
      }
    }
    at = body + size;
  }
  throw new Error('wasm backend: the kernels\' module imports no memory');
}

/** What both starts decide before compiling: which build, how many threads. */
interface Plan { bytes: Uint8Array; simd: boolean; relaxed: boolean; threads: number; maximumPages: number; keptBudget: number | undefined; shared: boolean; fixedPages: number; resizable: boolean; native: NativeGemm | { absent: string } }

function plan(options: WasmBackendOptions): Plan {
  const simd = (options.simd ?? true) && simdSupported();
  const relaxedBytes = decodeBase64(KERNELS_RELAXED_BASE64);
  const relaxed = simd && (options.relaxedSimd ?? true) && relaxedSupported(relaxedBytes);
  const built = relaxed ? relaxedBytes : decodeBase64(simd ? KERNELS_SIMD_BASE64 : KERNELS_SCALAR_BASE64);
  // The browser main thread may not block in Atomics.wait: single-threaded there.
  const canBlock = isNode || inIsolatedWorker;
  const shared = options.sharedMemory ?? true;
  const bytes = shared ? built : unshareMemoryImport(built);
  // Worker threads share the memory: a private one means one thread.
  const threads = shared && canBlock && workerUrl() !== undefined ? Math.max(1, Math.floor(options.threads ?? defaultThreads())) : 1;
  return {
    bytes, simd, relaxed, threads, maximumPages: options.maximumPages ?? 65536, keptBudget: options.keptBudgetBytes,
    shared, fixedPages: options.maximumPages ?? 16384, resizable: options.resizableMemory === true,
    native: options.native === false ? { absent: 'turned off (native: false)' } : loadNative(options.nativeModule),
  };
}

function memoryFor(p: Plan): CreatedMemory {
  return p.shared ? createMemory(p.maximumPages) : createPrivateMemory(p.maximumPages, p.fixedPages, p.resizable);
}

/** The instance's kernels, checked against the control block, and one GEMM packing block per worker. */
function assemble(p: Plan, instance: WebAssembly.Instance, { memory, maxBytes, fixed }: CreatedMemory) {
  const k = instance.exports as unknown as Kernels;
  checkExports(k); // before any worker starts: a stale build fails here, naming the missing kernels
  if (k.heap_base() > CONTROL_BASE) throw new Error(`wasm backend: static data (${k.heap_base()} B) overlaps the control block`);
  const names = Object.keys(instance.exports).filter((n) => typeof instance.exports[n] === 'function');
  const heap = new WasmHeap(memory, p.keptBudget, maxBytes, fixed);
  const scratch = Array.from({ length: p.threads - 1 }, () => heap.allocBlock(k.gemm_scratch_bytes()).ptr);
  return { k, names, heap, scratch };
}

/** Worker threads that cannot start cost threads, not the WASM kernels: say so once, run on one thread. */
function singleThreaded(e: unknown): void {
  console.warn(`backprop: the WASM kernels run on one thread (${(e as Error).message})`);
}

const imports = (memory: WebAssembly.Memory) => ({ env: { memory, abort: () => { throw new Error('wasm abort'); } } });

/**
 * Creates a WASM backend without awaiting anything: compiles synchronously and blocks until the
 * workers have started. Node only (see `canStartSync`); elsewhere it throws and `createWasmBackend` is
 * the way.
 */
export function createWasmBackendSync(options: WasmBackendOptions = {}): Backend & WasmBackend {
  if (!isNode) throw new Error('wasm backend: a synchronous start needs Node 20.16 or later; elsewhere await createWasmBackend()');
  const p = plan(options);
  const module = new WebAssembly.Module(p.bytes as BufferSource);
  const mem = memoryFor(p), memory = mem.memory;
  const instance = new WebAssembly.Instance(module, imports(memory));
  const { k, names, heap, scratch } = assemble(p, instance, mem);
  let pool: ThreadPool | undefined;
  if (p.threads > 1) {
    try { pool = ThreadPool.createSync(module, memory, names, scratch); } catch (e) { singleThreaded(e); }
  }
  return new WasmBackend(k, heap, p.simd, pool, p.relaxed, p.native, p.threads);
}

/** Creates a WASM backend: SIMD kernels on a shared memory, with a worker pool when threads > 1 (or on a private memory, one thread). */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend & WasmBackend> {
  if (isNode) return createWasmBackendSync(options); // one start path in Node: the workers start in parallel either way
  const p = plan(options);
  const module = await WebAssembly.compile(p.bytes as BufferSource);
  const mem = memoryFor(p), memory = mem.memory;
  const instance = await WebAssembly.instantiate(module, imports(memory));
  const { k, names, heap, scratch } = assemble(p, instance, mem);
  let pool: ThreadPool | undefined;
  if (p.threads > 1) {
    try { pool = await ThreadPool.create(module, memory, names, scratch); } catch (e) { singleThreaded(e); }
  }
  return new WasmBackend(k, heap, p.simd, pool, p.relaxed, p.native, p.threads);
}
