/**
 * Checkpoint bytes: encoding and verifying the checkpoint format (docs/formats.md, "Checkpoints") with no
 * Node API, so a page can save and restore a training run as bytes; checkpoint.ts adds the files.
 *
 * A checkpoint is ONE safetensors file holding every tensor the trainer passes (model parameters named as
 * in weights.ts, optimizer state under `optim.`, anything else) and, in `__metadata__`, JSON strings:
 *
 *   backprop.format_version   "1"
 *   backprop.<key>            JSON.stringify(meta[key]) for each key the caller passes
 *                             (by convention config, vocab, trainer_state)
 *   backprop.checksum         "sha256:<hex>" over everything else in the file (see `checksum`)
 */
import { FormatError } from '../errors.js';
import type { DecodedTensor, TensorRecord } from './safetensors.js';
import { decodeTensors, encodeSafetensors, readSafetensorsLayout, tensorToLittleEndian } from './safetensors.js';
import { Sha256 } from './sha256.js';

/**
 * The version of the checkpoint byte format that `encodeCheckpoint` writes.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT_VERSION, encodeCheckpoint, decodeSafetensors } from 'backprop';
 * const { metadata } = decodeSafetensors(encodeCheckpoint({ tensors: {}, meta: {} }));
 * metadata['backprop.format_version'] === String(CHECKPOINT_FORMAT_VERSION); // true: the version this build writes
 * ```
 */
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
  const hash = new Sha256();
  hash.update(JSON.stringify({
    metadata: Object.keys(metadata).filter((k) => k !== CHECKSUM_KEY).sort().map((k) => [k, metadata[k]]),
    tensors: byName.map((t) => [t.name, t.dtype, t.shape]),
  }));
  for (const t of byName) hash.update(t.bytes);
  return `sha256:${hash.digestHex()}`;
}

/**
 * Serializes a checkpoint to safetensors bytes (see the file comment for the layout).
 *
 * @example
 * ```ts
 * import { encodeCheckpoint, decodeCheckpoint } from 'backprop';
 * const bytes = encodeCheckpoint({ tensors: { w: { shape: [2], data: new Float32Array([1, 2]) } }, meta: { step: 3 } });
 * decodeCheckpoint(bytes).meta.step; // 3
 * ```
 */
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
 * Parses and verifies checkpoint bytes (see `encodeCheckpoint` for an example). Throws `FormatError` naming `source` if the bytes are not
 * valid safetensors, not a backprop checkpoint, of an unknown format version, or fail the checksum.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from 'backprop';
 * const bytes = encodeCheckpoint({ tensors: { w: { shape: [2], data: new Float32Array([1, 2]) } }, meta: { step: 7 } });
 * const { tensors, meta } = decodeCheckpoint(bytes, 'run.ckpt'); // FormatError naming run.ckpt if corrupt
 * ```
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

