/**
 * Checkpoints and weight export (Node only).
 *
 * A checkpoint is ONE safetensors file, so one atomic rename replaces it and a crash never leaves
 * parameters from one step beside optimizer state from another. It holds every tensor the trainer
 * passes (model parameters named as in weights.ts, optimizer state under `optim.`, anything else)
 * and, in `__metadata__`, JSON strings:
 *
 *   backprop.format_version   "1"
 *   backprop.<key>            JSON.stringify(meta[key]) for each key the caller passes
 *                             (by convention config, vocab, trainer_state)
 *   backprop.checksum         "sha256:<hex>" over everything else in the file (see `checksum`)
 *
 * Any other tool can read a checkpoint as a plain safetensors file; `exportWeights` writes the
 * weights-only file plus a JSON sidecar that such tools expect.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { FileError, FormatError } from '../errors.js';
import { ensureDirectory, writeFileAtomic } from './atomic.js';
import type { DecodedTensor, SafetensorsContents, TensorRecord } from './safetensors.js';
import { decodeSafetensors, decodeTensors, encodeSafetensors, readSafetensorsLayout, tensorToLittleEndian } from './safetensors.js';

export const CHECKPOINT_FORMAT_VERSION = 1;
const PREFIX = 'backprop.';
const VERSION_KEY = `${PREFIX}format_version`;
const CHECKSUM_KEY = `${PREFIX}checksum`;

/** What the trainer saves: named tensors, and JSON-able values by key (config, vocab, trainer_state, …). */
export interface Checkpoint {
  tensors: Record<string, TensorRecord>;
  meta: Record<string, unknown>;
}

/** What a load returns: the same tensors (as fresh typed arrays) and meta values parsed back from JSON. */
export interface LoadedCheckpoint {
  tensors: Record<string, DecodedTensor>;
  meta: Record<string, unknown>;
}

/**
 * SHA-256 over a canonical description of the file's contents, independent of its byte layout:
 * the metadata (all but the checksum itself) and each tensor's name, dtype and shape, sorted by
 * key, as JSON; then each tensor's stored little-endian bytes in name order. Writer and reader
 * feed it the same sequence, so any changed byte outside the header's whitespace is detected.
 */
function checksum(metadata: Record<string, string>, tensors: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }>): string {
  const byName = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  hash.update(JSON.stringify({
    metadata: Object.keys(metadata).filter((k) => k !== CHECKSUM_KEY).sort().map((k) => [k, metadata[k]]),
    tensors: byName.map((t) => [t.name, t.dtype, t.shape]),
  }));
  for (const t of byName) hash.update(t.bytes);
  return `sha256:${hash.digest('hex')}`;
}

/** Serializes a checkpoint to safetensors bytes (see the file comment for the layout). */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const metadata: Record<string, string> = { [VERSION_KEY]: String(CHECKPOINT_FORMAT_VERSION) };
  for (const [key, value] of Object.entries(checkpoint.meta)) {
    if (key === 'format_version' || key === 'checksum') throw new FormatError(`checkpoint meta key "${key}" is reserved`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new FormatError(`checkpoint meta "${key}" is not JSON-serializable (${typeof value})`);
    metadata[PREFIX + key] = json;
  }
  const raw = Object.entries(checkpoint.tensors).map(([name, tensor]) => ({ name, shape: tensor.shape, ...tensorToLittleEndian(name, tensor) }));
  metadata[CHECKSUM_KEY] = checksum(metadata, raw);
  return encodeSafetensors(checkpoint.tensors, metadata);
}

/**
 * Parses and verifies checkpoint bytes. Throws `FormatError` naming `source` if the bytes are not
 * valid safetensors, not a backprop checkpoint, of an unknown format version, or fail the checksum.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = '<buffer>'): LoadedCheckpoint {
  const layout = readSafetensorsLayout(bytes, source);
  const { metadata } = layout;
  const version = Object.hasOwn(metadata, VERSION_KEY) ? metadata[VERSION_KEY] : undefined;
  if (version === undefined) throw new FormatError(`${source}: a safetensors file but not a backprop checkpoint (no "${VERSION_KEY}" metadata)`);
  if (version !== String(CHECKPOINT_FORMAT_VERSION)) {
    throw new FormatError(`${source}: checkpoint format version ${JSON.stringify(version)} is not supported (this build reads ${CHECKPOINT_FORMAT_VERSION})`);
  }
  const stored = Object.hasOwn(metadata, CHECKSUM_KEY) ? metadata[CHECKSUM_KEY] : undefined;
  if (stored === undefined) throw new FormatError(`${source}: checkpoint has no "${CHECKSUM_KEY}"`);
  const actual = checksum(metadata, layout.entries.map((e) => ({ ...e, bytes: layout.data.subarray(e.begin, e.end) })));
  if (stored !== actual) throw new FormatError(`${source}: checksum mismatch (stored ${stored}, computed ${actual}); the file is corrupted`);

  const tensors = decodeTensors(layout, source);
  const meta: Record<string, unknown> = {};
  for (const [key, json] of Object.entries(metadata)) {
    if (!key.startsWith(PREFIX) || key === VERSION_KEY || key === CHECKSUM_KEY) continue;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new FormatError(`${source}: metadata "${key}" is not valid JSON`);
    }
    Object.defineProperty(meta, key.slice(PREFIX.length), { value, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, meta };
}

/**
 * Writes a checkpoint atomically: `file` holds either the previous checkpoint or this one.
 *
 * @example
 *   saveCheckpoint('runs/ptb/latest.ckpt', {
 *     tensors: { ...lstmLmToTensors(lm), 'optim.m.proj.bias': { shape: [V], data: m } },
 *     meta: { config, vocab: vocab.words, trainer_state: { step, epoch, lr } },
 *   });
 */
export function saveCheckpoint(file: string, checkpoint: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(checkpoint));
}

/**
 * Reads and verifies a checkpoint written by `saveCheckpoint`.
 *
 * @example
 *   const { tensors, meta } = loadCheckpoint('runs/ptb/latest.ckpt');
 *   const lm = lstmLmFromTensors(tensors, (meta.config as { forgetBias: number }).forgetBias, 'latest.ckpt');
 */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  return decodeCheckpoint(readBytes(file), file);
}

/** What `exportWeights` writes beside the weights, for other tools: configuration and vocabulary. */
export interface WeightsSidecar {
  format: 'backprop.weights';
  format_version: number;
  /** The weights file's name, relative to the sidecar. */
  weights: string;
  tensors: Record<string, { dtype: string; shape: number[] }>;
  config: unknown;
  vocab: unknown;
}

/**
 * Writes `NAME.safetensors` (the tensors only, no backprop metadata) and `NAME.json` (a
 * `WeightsSidecar`) for other tools. `target` is a path prefix (`out/ptb` → `out/ptb.safetensors`,
 * `out/ptb.json`) or an existing directory / a path ending in `/` (→ `DIR/model.*`).
 *
 * @example
 *   exportWeights('export/ptb', { tensors: lstmLmToTensors(lm), config, vocab: vocab.words });
 */
export function exportWeights(target: string, weights: { tensors: Record<string, TensorRecord>; config?: unknown; vocab?: unknown }):
  { weightsPath: string; sidecarPath: string } {
  const { weightsPath, sidecarPath } = exportPaths(target);
  ensureDirectory(path.dirname(weightsPath));

  const sidecar: WeightsSidecar = {
    format: 'backprop.weights',
    format_version: CHECKPOINT_FORMAT_VERSION,
    weights: path.basename(weightsPath),
    tensors: Object.fromEntries(Object.entries(weights.tensors).map(([name, t]) =>
      [name, { dtype: tensorToLittleEndian(name, t).dtype, shape: t.shape }])),
    config: weights.config ?? null,
    vocab: weights.vocab ?? null,
  };
  writeFileAtomic(weightsPath, encodeSafetensors(weights.tensors));
  writeFileAtomic(sidecarPath, new TextEncoder().encode(`${JSON.stringify(sidecar, null, 2)}\n`));
  return { weightsPath, sidecarPath };
}

/** The two files `exportWeights(target)` writes (so a caller can check them before writing). */
export function exportPaths(target: string): { weightsPath: string; sidecarPath: string } {
  const isDir = /[\\/]$/.test(target) || (fs.existsSync(target) && fs.statSync(target).isDirectory());
  const prefix = isDir ? path.join(target, 'model') : target;
  return { weightsPath: `${prefix}.safetensors`, sidecarPath: `${prefix}.json` };
}

/**
 * Reads any safetensors file (ours or another tool's, e.g. PyTorch's `save_file`), converting
 * F16/BF16 to F32 and small or 64-bit integers to int32 (with a range check).
 */
export function importSafetensors(file: string): SafetensorsContents {
  return decodeSafetensors(readBytes(file), file);
}

/** The most bytes one read asks for: `fs.readFileSync` and a single `readSync` stop at 2 GiB. */
const READ_CHUNK = 1 << 30;

/**
 * Reads a whole file in pieces of at most `chunk` bytes into one array, so files over 2 GiB (a large
 * model's checkpoint) can be read; turns file-system errors into a `FormatError` naming the file.
 */
export function readBytes(file: string, chunk = READ_CHUNK): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    let bytes: Uint8Array;
    try { bytes = new Uint8Array(size); } catch {
      throw new FileError(`cannot read ${file}: it is ${size} bytes, more than one array can hold here (${2 ** 32} bytes)`);
    }
    for (let at = 0; at < size;) {
      const n = fs.readSync(fd, bytes, at, Math.min(chunk, size - at), at);
      if (n === 0) throw new FormatError(`${file}: the file shrank while it was read (${at} of ${size} bytes); is another program writing it?`);
      at += n;
    }
    return bytes;
  } catch (error) {
    if (error instanceof FormatError || error instanceof FileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : (error as Error).message;
    throw new FormatError(`${file}: cannot read: ${problem}`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
