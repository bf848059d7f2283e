/**
 * The WASM backend's storage: one shared `WebAssembly.Memory` and a size-class allocator over it.
 *
 * Layout: [0, RESERVED) holds the module's static data (math tables) and the thread pool's control
 * block; everything above is handed out in 64-byte-aligned blocks. A block's size is rounded up to its
 * size class (multiples of 64 B up to 4 KiB, then eight classes per power of two, so at most 12.5%
 * waste), and a freed block goes onto its class's free list for the next request of that class.
 * Blocks are never split or coalesced: a training loop allocates the same shapes step after step,
 * so exact-class reuse is what matters (the jax-js design).
 *
 * Who frees what (users never do). Every block has one of three lifetimes (`Lifetime`):
 *  - 'scope': allocated while an engine scope is open (a backward pass, an optimizer step, a training
 *    step): freed, all at once, when that scope ends. The engine opens scopes only around code whose
 *    results it controls, and whatever must outlive one is allocated 'kept' (`Tensor.clone()`).
 *  - 'kept' (also what a request outside any scope gets): owned by the garbage collector. The view is
 *    registered with a FinalizationRegistry and the block returns to its free list once the view is
 *    collected. But finalizers run only between tasks, and V8 does not count WASM memory as memory
 *    pressure, so a synchronous loop of ops would grow the heap without bound. Hence two rules: a small
 *    request (under `SMALL_KEPT` bytes: a carried state, a loss, a tiny network's activations) gets an
 *    ordinary JS-heap typed array, and so does any request once `keptBudget` bytes of 'kept' blocks are
 *    live. The collector reclaims JS-heap arrays even inside a synchronous loop, and kernels stage them
 *    in and out (a copy, cheap at these sizes). So memory stays flat in a plain loop of ops, and once
 *    the loop yields and finalizers run, large requests return to WASM memory.
 *  - 'arena': parameters, gradients and optimizer moments: collected like 'kept', but never counted
 *    against the budget nor moved out of WASM memory (they are few, large and used by every kernel).
 * The views are a subclass whose `subarray` keeps the parent view alive, so a named sub-view of a
 * block (an arena) can never outlive its storage.
 *
 * Growing. A shared memory's buffer never detaches on grow, so views stay valid. A non-shared memory
 * (a page without cross-origin isolation) replaces its buffer on every grow, and every view taken before
 * it would read zero elements. Two answers, chosen by `createPrivateMemory` in index.ts: by default the
 * memory is reserved at its full size up front and never grown (`fixed`); asked for (`resizableMemory`)
 * and where the engine has `WebAssembly.Memory.prototype.toResizableBuffer` (Chromium), its buffer is a
 * resizable ArrayBuffer, which grows in place, so views stay valid exactly as with shared memory — but
 * V8's typed arrays over a resizable buffer are slower (training about 2.4× slower in Chromium 156,
 * hence not the default). A fixed memory, when it fills, serves 'scope' and 'kept' requests from the
 * JS heap (kernels stage them in and out, as for the kept budget), keeping the last eighth of the memory free for that staging; only an 'arena' request that does not fit
 * is an error.
 */

/** Bytes below which nothing is allocated: static data, then the pool control block at CONTROL_BASE. */
export const RESERVED = 1 << 16;
export const CONTROL_BASE = 1 << 15;
const ALIGN = 64;
const PAGE = 1 << 16;

// A sub-view made by subarray() holds its parent here, so the parent's block stays allocated.
const parents = new WeakMap<object, object>();

/** A Float32Array living in the WASM memory. Identical to Float32Array except that subarray keeps it alive. */
export class WasmFloat32Array extends Float32Array {
  // (buffer, offset, length) from the allocator and from subarray; (length) from map/slice.
  constructor(buffer: ArrayBufferLike | number, byteOffset?: number, length?: number) {
    if (typeof buffer === 'number') super(buffer);
    else super(buffer as ArrayBuffer, byteOffset, length);
  }
  override subarray(begin?: number, end?: number): WasmFloat32Array {
    const child = super.subarray(begin, end) as WasmFloat32Array;
    parents.set(child, this);
    return child;
  }
}

/** An Int32Array living in the WASM memory (indices, targets). */
export class WasmInt32Array extends Int32Array {
  // (buffer, offset, length) from the allocator and from subarray; (length) from map/slice.
  constructor(buffer: ArrayBufferLike | number, byteOffset?: number, length?: number) {
    if (typeof buffer === 'number') super(buffer);
    else super(buffer as ArrayBuffer, byteOffset, length);
  }
  override subarray(begin?: number, end?: number): WasmInt32Array {
    const child = super.subarray(begin, end) as WasmInt32Array;
    parents.set(child, this);
    return child;
  }
}

/** Size class of a request in bytes: a multiple of 64, rounded up to one of 8 steps per power of two above 4 KiB. */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 4096) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** How long a block lives; see the file comment. */
export type Lifetime = 'scope' | 'kept' | 'arena';

/** Default cap on live 'kept' bytes in WASM memory (see the file comment). */
export const DEFAULT_KEPT_BUDGET = 256 * 2 ** 20;
/** 'kept' requests below this many bytes live in the JS heap (see the file comment). */
export const SMALL_KEPT = 64 * 2 ** 10;

interface Block { ptr: number; size: number; kept: boolean; freed?: boolean }

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  /** Bytes in blocks currently handed out (views alive or raw blocks not yet freed). */
  liveBytes = 0;
  /** Bytes in live 'kept' blocks (what `keptBudget` caps). */
  keptBytes = 0;
  /** 'kept' requests served from the JS heap because the budget was full (for tests and profiles). */
  spilled = 0;
  /** The first never-used address. */
  private top = RESERVED;
  private readonly free = new Map<number, number[]>();
  private readonly registry = new FinalizationRegistry<Block>((b) => this.release(b));
  // Open scopes, innermost last: the blocks handed out with lifetime 'scope' while each was open.
  private readonly scopes: Set<Block>[] = [];
  // Every SharedArrayBuffer object the memory has had (a grow replaces memory.buffer's object).
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private current: ArrayBufferLike;

  /** Cap on live 'kept' bytes before requests spill to the JS heap. */
  keptBudget: number;
  /** True for a non-shared memory reserved up front: it is never grown (see the file comment). */
  readonly fixed: boolean;

  /**
   * `maxBytes`, the memory's maximum size, caps the default budget at a quarter of it, so that collected
   * storage never crowds out scopes and arenas. `fixed`: the memory must never grow (a non-shared memory
   * without a resizable buffer, whose views a grow would detach).
   */
  constructor(memory: WebAssembly.Memory, keptBudget?: number, maxBytes = 2 ** 32, fixed = false) {
    this.memory = memory;
    this.fixed = fixed;
    this.keptBudget = keptBudget ?? Math.min(DEFAULT_KEPT_BUDGET, Math.floor(maxBytes / 4));
    this.current = memory.buffer;
    this.buffers.add(this.current);
    if (this.current.byteLength < RESERVED) this.grow(RESERVED);
  }

  /** The memory's current buffer (refreshed after a grow). */
  get buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.current) { this.current = b; this.buffers.add(b); }
    return b;
  }

  /** True when `x` is a view into this memory (so kernels can use it in place). */
  owns(x: ArrayBufferView): boolean {
    return this.buffers.has(x.buffer) || x.buffer === this.buffer;
  }

  /** A raw block of at least `bytes`, 64-byte aligned; contents undefined. Pair with freeBlock. */
  allocBlock(bytes: number): Block {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      if (ptr + size > this.buffer.byteLength) {
        // A full fixed memory: any free block of a larger class will do (it keeps its class, so freeing
        // returns it to its own list); staging a JS-heap array into a kernel must not fail for want of
        // the exact class.
        const larger = this.fixed ? this.smallestFreeAbove(size) : undefined;
        if (larger !== undefined) {
          const p = this.free.get(larger)!.pop()!;
          this.liveBytes += larger;
          return { ptr: p, size: larger, kept: false };
        }
        if (this.fixed) {
          throw new Error(`wasm backend: the non-shared WebAssembly memory (${this.buffer.byteLength / 2 ** 20} MiB, reserved up front `
            + `because growing it would detach every view) has no room for ${size} bytes; reserve more with the maximumPages option`);
        }
        this.grow(ptr + size);
      }
      this.top = ptr + size;
    }
    this.liveBytes += size;
    return { ptr, size, kept: false };
  }

  /** Free a view's block once, whichever comes first: its scope ending or its view being collected. */
  private release(b: Block): void {
    if (b.freed) return;
    b.freed = true;
    if (b.kept) this.keptBytes -= b.size;
    this.freeBlock(b.ptr, b.size);
  }

  /** Open an engine scope: blocks handed out with lifetime 'scope' until it ends belong to it. */
  beginScope(): void { this.scopes.push(new Set()); }

  /** Whether an engine scope is open. */
  get inScope(): boolean { return this.scopes.length > 0; }

  /** Close the innermost scope and free every block allocated in it. */
  endScope(): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('WasmHeap.endScope: no open scope');
    for (const b of scope) {
      this.registry.unregister(b);
      this.release(b);
    }
  }

  /**
   * A view of `n` 4-byte elements with the given lifetime ('scope' outside any scope means 'kept'), or
   * null when a 'kept' request is small or finds the budget full (the caller then uses the JS heap).
   */
  private place<T extends object>(n: number, lifetime: Lifetime, make: (ptr: number) => T): T | null {
    const scope = lifetime === 'scope' ? this.scopes[this.scopes.length - 1] : undefined;
    const kept = lifetime !== 'arena' && !scope;
    if (kept && n * 4 < SMALL_KEPT) return null;
    if (kept && this.keptBytes + sizeClass(n * 4) > this.keptBudget) { this.spilled++; return null; }
    if (this.fixed && lifetime !== 'arena' && !this.fitsBelowHeadroom(sizeClass(n * 4))) { this.spilled++; return null; }
    let b: Block;
    try {
      b = this.allocBlock(n * 4);
    } catch (e) {
      if (!kept) throw e;
      this.spilled++;   // the memory is at its maximum: a collected array can live in the JS heap instead
      return null;
    }
    b.kept = kept;
    if (kept) this.keptBytes += b.size;
    const v = make(b.ptr);
    if (scope) scope.add(b);
    this.registry.register(v, b, b);
    return v;
  }

  /** The smallest size class above `size` with a free block, if any. */
  private smallestFreeAbove(size: number): number | undefined {
    let best: number | undefined;
    for (const [c, list] of this.free) if (c > size && list.length && (best === undefined || c < best)) best = c;
    return best;
  }

  /**
   * Fixed memory: whether a block of class `size` is free or fits below the last eighth of the memory,
   * which is kept for staging JS-heap arrays into kernels.
   */
  private fitsBelowHeadroom(size: number): boolean {
    if (this.free.get(size)?.length) return true;
    const cap = this.buffer.byteLength;
    return this.top + size <= cap - (cap >> 3);
  }

  freeBlock(ptr: number, size: number): void {
    this.liveBytes -= size;
    let list = this.free.get(size);
    if (!list) { list = []; this.free.set(size, list); }
    list.push(ptr);
  }

  /**
   * n float32 (zeroed unless `zero` is false) with the given lifetime. Usually a view into the memory;
   * a plain Float32Array when the 'kept' budget is full (see the file comment).
   */
  allocF32(n: number, zero = true, lifetime: Lifetime = 'scope'): Float32Array {
    const v = this.place(n, lifetime, (ptr) => new WasmFloat32Array(this.buffer, ptr, n));
    if (!v) return new Float32Array(n);
    if (zero) v.fill(0);
    return v;
  }

  /** n zeroed int32, like allocF32. */
  allocI32(n: number, lifetime: Lifetime = 'scope'): Int32Array {
    const v = this.place(n, lifetime, (ptr) => new WasmInt32Array(this.buffer, ptr, n));
    if (!v) return new Int32Array(n);
    v.fill(0);
    return v;
  }

  f32(ptr: number, n: number): Float32Array { return new Float32Array(this.buffer, ptr, n); }
  i32(ptr: number, n: number): Int32Array { return new Int32Array(this.buffer, ptr, n); }

  private grow(minBytes: number): void {
    const have = this.memory.buffer.byteLength;
    // Grow geometrically (by at least half again) so a sequence of allocations grows O(log) times.
    const want = Math.max(minBytes, have + (have >> 1));
    const pages = Math.ceil((want - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      this.memory.grow(Math.ceil((minBytes - have) / PAGE)); // near the maximum: grow only what is needed
    }
    void this.buffer;
  }
}
