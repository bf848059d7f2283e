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
 * Users never free: `allocF32`/`allocI32` return views registered with a FinalizationRegistry, and
 * the block returns to its free list once the view is garbage-collected. The views are a subclass
 * whose `subarray` keeps the parent view alive, so a named sub-view of a block (an arena) can never
 * outlive its storage. Memory is shared, so growing it never detaches existing views.
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

interface Block { ptr: number; size: number; freed?: boolean }

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  /** Bytes in blocks currently handed out (views alive or raw blocks not yet freed). */
  liveBytes = 0;
  /** The first never-used address. */
  private top = RESERVED;
  private readonly free = new Map<number, number[]>();
  private readonly registry = new FinalizationRegistry<Block>((b) => this.release(b));
  // Open scopes, innermost last: the blocks handed out as views while each was open.
  private readonly scopes: Set<Block>[] = [];
  // The block behind each view handed out (sub-views resolve to their root through `parents`).
  private readonly blockOf = new WeakMap<object, Block>();
  // Every SharedArrayBuffer object the memory has had (a grow replaces memory.buffer's object).
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private current: ArrayBufferLike;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
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
      if (ptr + size > this.buffer.byteLength) this.grow(ptr + size);
      this.top = ptr + size;
    }
    this.liveBytes += size;
    return { ptr, size };
  }

  /** Free a view's block once, whichever comes first: its scope ending or its view being collected. */
  private release(b: Block): void {
    if (b.freed) return;
    b.freed = true;
    this.freeBlock(b.ptr, b.size);
  }

  /**
   * Scopes let the engine free, in bulk, storage it knows is dead (the end of a training step) instead
   * of waiting for the garbage collector, which does not see WASM memory as memory pressure and runs
   * finalizers only between tasks: a synchronous training loop would otherwise grow the heap without
   * bound. Every view handed out while a scope is open belongs to it.
   */
  beginScope(): void { this.scopes.push(new Set()); }

  /**
   * Close the innermost scope: free every block allocated in it except those behind `keep` (views or
   * sub-views), which move to the enclosing scope (or, outermost, back to the garbage collector's care).
   */
  endScope(keep: readonly ArrayBufferView[]): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('WasmHeap.endScope: no open scope');
    const outer = this.scopes[this.scopes.length - 1];
    for (const v of keep) {
      let root: object = v;
      for (let p = parents.get(root); p; p = parents.get(root)) root = p;
      const b = this.blockOf.get(root);
      if (b && scope.delete(b)) outer?.add(b);
    }
    for (const b of scope) {
      this.registry.unregister(b);
      this.release(b);
    }
  }

  private track<T extends object>(v: T, b: Block): T {
    this.registry.register(v, b, b);
    this.blockOf.set(v, b);
    this.scopes[this.scopes.length - 1]?.add(b);
    return v;
  }

  freeBlock(ptr: number, size: number): void {
    this.liveBytes -= size;
    let list = this.free.get(size);
    if (!list) { list = []; this.free.set(size, list); }
    list.push(ptr);
  }

  /** n zeroed float32 in the memory (contents undefined with `zero` false), freed when the view is collected. */
  allocF32(n: number, zero = true): WasmFloat32Array {
    const b = this.allocBlock(n * 4);
    const v = new WasmFloat32Array(this.buffer, b.ptr, n);
    if (zero) v.fill(0);
    return this.track(v, b);
  }

  /** n zeroed int32 in the memory, freed when the returned view is garbage-collected. */
  allocI32(n: number): WasmInt32Array {
    const b = this.allocBlock(n * 4);
    const v = new WasmInt32Array(this.buffer, b.ptr, n);
    v.fill(0);
    return this.track(v, b);
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
