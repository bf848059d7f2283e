/**
 * Lazy safetensors reading, Hugging Face's `safe_open`: read the header, then only the tensors asked
 * for, from any source that can read a byte range (a Uint8Array, a Blob or File in a page, a file in
 * Node via `backprop/node`). A 10 GB file's one tensor costs its header and that tensor's bytes.
 */
import { FormatError } from '../errors.js';
import type { DecodedTensor, SafetensorsEntry } from './safetensors.js';
import { decodeTensors, readSafetensorsLayout } from './safetensors.js';

/** Random access to some bytes: their total size, and a read of `length` bytes at `offset`. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes starting at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the source (a file handle). */
  close?(): Promise<void>;
}

/**
 * A ByteSource over bytes already in memory (reads are views, no copies).
 *
 * @example
 * ```ts
 * import { bytesSource } from 'backprop';
 * await bytesSource(new Uint8Array([1, 2, 3])).read(1, 2);   // Uint8Array [2, 3]
 * ```
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.byteLength, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

/**
 * A ByteSource over a Blob or File: each read is one `slice().arrayBuffer()`, so a page reads one tensor
 * of a user's multi-gigabyte file without loading it.
 *
 * @example
 * ```ts
 * import { blobSource, safeOpen } from 'backprop';
 * declare const file: File;   // from <input type="file">
 * const f = await safeOpen(blobSource(file), file.name);
 * ```
 */
export function blobSource(blob: Blob): ByteSource {
  return { size: blob.size, read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()) };
}

/**
 * An open safetensors file (from `safeOpen`): its header, and tensors read on demand.
 *
 * @example
 * ```ts
 * import { safeOpen } from 'backprop';
 * declare const bytes: Uint8Array;
 * const f = await safeOpen(bytes);
 * for (const name of f.keys()) console.log(name, f.info(name).shape);
 * ```
 */
export class SafetensorsFile {
  private readonly byName: Map<string, SafetensorsEntry>;

  constructor(private readonly src: ByteSource, private readonly dataStart: number, entries: SafetensorsEntry[],
    private readonly meta: Record<string, string>, readonly source: string) {
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Tensor names, in data order. */
  keys(): string[] { return [...this.byName.keys()]; }

  /** The `__metadata__` strings. */
  metadata(): Record<string, string> { return { ...this.meta }; }

  /** A tensor's stored dtype and shape, without reading it. */
  info(name: string): { dtype: string; shape: number[] } {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  /** Reads and decodes one tensor (conversions as `decodeSafetensors`). */
  async getTensor(name: string): Promise<DecodedTensor> {
    const e = this.entry(name);
    const raw = await this.src.read(this.dataStart + e.begin, e.end - e.begin);
    if (raw.byteLength !== e.end - e.begin) throw new FormatError(`${this.source}: tensor ${JSON.stringify(name)}: read ${raw.byteLength} of ${e.end - e.begin} bytes (file shrank?)`);
    const one = { ...e, begin: 0, end: raw.byteLength };
    return decodeTensors({ entries: [one], metadata: this.meta, data: raw }, this.source)[name]!;
  }

  /** Releases the source (closes a Node file). */
  async close(): Promise<void> { await this.src.close?.(); }

  private entry(name: string): SafetensorsEntry {
    const e = this.byName.get(name);
    if (!e) throw new FormatError(`${this.source}: no tensor named ${JSON.stringify(name)} (has ${this.keys().slice(0, 8).join(', ')}${this.byName.size > 8 ? ', …' : ''})`);
    return e;
  }
}

/**
 * Opens safetensors lazily: reads and validates the header (against the whole file's size), then
 * reads each tensor only when asked. Accepts a Uint8Array, a Blob/File, or any `ByteSource`; in Node,
 * `safeOpen` from `backprop/node` also takes a path.
 *
 * @example
 * ```ts
 * import { safeOpen, encodeSafetensors } from 'backprop';
 * const bytes = encodeSafetensors({ a: { shape: [2], data: new Float32Array([1, 2]) }, b: { shape: [1], data: new Float32Array([3]) } });
 * const f = await safeOpen(new Blob([bytes.slice()])); // a Blob, as a File from <input type="file"> is
 * f.keys();                       // ['a', 'b']
 * (await f.getTensor('b')).data;  // Float32Array [3], reading 4 bytes of data
 * ```
 */
export async function safeOpen(input: Uint8Array | Blob | ByteSource, source = input instanceof Uint8Array ? '<buffer>' : '<blob>'): Promise<SafetensorsFile> {
  const src: ByteSource = input instanceof Uint8Array ? bytesSource(input)
    : typeof Blob !== 'undefined' && input instanceof Blob ? blobSource(input) : input as ByteSource;
  const size = src.size;
  const fail = (problem: string): never => { throw new FormatError(`${source}: not a valid safetensors file: ${problem}`); };
  if (size < 8) fail(`file is ${size} bytes, shorter than the 8-byte header length`);
  const prefix = await src.read(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  // A length past the end: hand the reader the prefix alone and let it say so (one message for all readers).
  const head = n > BigInt(size - 8) ? prefix : await src.read(0, 8 + Number(n));
  const layout = readSafetensorsLayout(head, source, size);
  return new SafetensorsFile(src, 8 + Number(n), layout.entries, layout.metadata, source);
}
