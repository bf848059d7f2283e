/**
 * Model IO on paths (Node only): the `file://` io handler, safetensors `saveFile` / `loadFile` and a
 * lazy `safeOpen` over a file. The package entry `backprop/node` (src/node.ts) exports these; the public
 * entry `backprop` stays Node-free.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FormatError } from '../errors.js';
import { ensureDirectory, writeFileAtomic } from './atomic.js';
import type { IOHandler } from './model.js';
import { safeOpen as safeOpenSource, type ByteSource, type SafetensorsFile } from './safe-open.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents, type TensorRecord } from './safetensors.js';

/** Reads a whole file, a file-system error becoming a `FormatError` naming the file. */
function readFile(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FormatError(`${file}: cannot read: ${code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : (error as Error).message}`);
  }
}

/**
 * The io handler of a file path: `save` replaces the file atomically (a crash leaves the old file or the
 * new one, never half of one), creating missing directories; `load` reads it. `file://PATH` URLs resolve to it.
 *
 * @example
 * ```ts
 * import { Dense, saveModel } from 'backprop';
 * import { fileHandler } from 'backprop/node';
 * await saveModel(new Dense(2, 1), fileHandler('out/net.ckpt'));
 * ```
 */
export function fileHandler(file: string): IOHandler {
  if (file === '') throw new FormatError('file://: no path given');
  return {
    async save(bytes) {
      ensureDirectory(path.dirname(path.resolve(file)), 'save into'); // bounded, one-line errors (not recursive mkdir)
      writeFileAtomic(file, bytes);
    },
    async load() { return readFile(file); },
  };
}

/**
 * Writes tensors as a safetensors file (Hugging Face's `save_file`), atomically.
 *
 * @example
 * ```ts
 * import { saveFile, loadFile } from 'backprop/node';
 * saveFile({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, 'out/w.safetensors', { note: 'hi' });
 * loadFile('out/w.safetensors').tensors.w.data;   // Float32Array [1, 2, 3, 4]
 * ```
 */
export function saveFile(tensors: Record<string, TensorRecord>, file: string, metadata?: Record<string, string>): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a whole safetensors file (Hugging Face's `load_file`); see `decodeSafetensors` for dtype conversions.
 *
 * @example
 * ```ts
 * import { loadFile } from 'backprop/node';
 * const { tensors, metadata } = loadFile('model.safetensors');
 * ```
 */
export function loadFile(file: string): SafetensorsContents {
  return decodeSafetensors(readFile(file), file);
}

/** A ByteSource over an open file: positioned reads, no whole-file read. */
async function fileSource(file: string): Promise<ByteSource> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FormatError(`${file}: cannot read: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
  }
  const { size } = await fh.stat();
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
}

/**
 * Opens a safetensors file lazily (Hugging Face's `safe_open`): the header now, each tensor when asked,
 * by positioned reads. Also takes what the root `safeOpen` takes (bytes, a Blob, a ByteSource).
 *
 * @example
 * ```ts
 * import { safeOpen } from 'backprop/node';
 * const f = await safeOpen('model.safetensors');
 * const emb = await f.getTensor('embedding.weight');   // reads this tensor's bytes only
 * await f.close();
 * ```
 */
export async function safeOpen(input: string | Uint8Array | Blob | ByteSource): Promise<SafetensorsFile> {
  if (typeof input !== 'string') return safeOpenSource(input);
  const src = await fileSource(input);
  try {
    return await safeOpenSource(src, input);
  } catch (error) {
    await src.close?.();
    throw error;
  }
}
