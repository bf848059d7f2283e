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
import { FileError, FormatError } from '../errors.js';
import { ensureDirectory, writeFileAtomic } from './atomic.js';
import { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type LoadedCheckpoint } from './checkpoint-codec.js';
import type { SafetensorsContents, TensorRecord } from './safetensors.js';
import { decodeSafetensors, encodeSafetensors, tensorToLittleEndian } from './safetensors.js';

// The byte format lives in checkpoint-codec.ts (no Node API, so pages use it too); this file adds files.
export { CHECKPOINT_FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, type Checkpoint, type LoadedCheckpoint } from './checkpoint-codec.js';

/**
 * Writes a checkpoint atomically: `file` holds either the previous checkpoint or this one.
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, Adam, lmWeights, recurrentLmToTensors } from 'backprop';
 * import { saveCheckpoint } from 'backprop/node';
 * const config = { vocabSize: 10, embedSize: 8, hiddenSize: 8, numLayers: 1, cell: 'lstm' as const, keepProb: 1, forgetBias: 0, initScale: 0.1 };
 * const lm = new LanguageModel(config, new Rng(1)), opt = new Adam(lm);
 * const m = opt.buffers()['m']!;
 * saveCheckpoint('latest.ckpt', { // the folder must exist; the write is atomic
 *   tensors: { ...recurrentLmToTensors(lmWeights(lm)), 'optim.m': { shape: [m.length], data: m } },
 *   meta: { config, trainer_state: { step: opt.stepCount, lr: opt.lr } },
 * });
 * ```
 */
export function saveCheckpoint(file: string, checkpoint: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(checkpoint));
}

/**
 * Reads and verifies a checkpoint written by `saveCheckpoint`.
 *
 * @example
 * ```ts
 * import { recurrentLmFromTensors } from 'backprop';
 * import { loadCheckpoint } from 'backprop/node';
 * const { tensors, meta } = loadCheckpoint('latest.ckpt');
 * const lm = recurrentLmFromTensors(tensors, (meta.config as { forgetBias: number }).forgetBias, 'latest.ckpt');
 * ```
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
 * ```ts
 * import { Sequential, Dense, denseWeights, denseToTensors } from 'backprop';
 * import { exportWeights } from 'backprop/node';
 * const net = new Sequential(new Dense(2, 4, { activation: 'tanh' }), new Dense(4, 1));
 * exportWeights('export/net', { tensors: denseToTensors(denseWeights(net)), config: { layers: [2, 4, 1] } }); // export/net.safetensors + export/net.json
 * ```
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
 *
 * @example
 * ```ts
 * import { importSafetensors } from 'backprop/node';
 * const { tensors, metadata } = importSafetensors('model.safetensors'); // e.g. written by PyTorch's save_file
 * ```
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
