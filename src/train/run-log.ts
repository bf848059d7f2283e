/**
 * The training log's first line and reading configurations back from logs: what makes a run
 * rerunnable from what is committed. Every train.jsonl opens with a header holding the fully
 * resolved configuration, the package version and the identity of the data (corpus name, split
 * sizes, |V| and a SHA-256 of the token ids and vocabulary), so `backprop train --config LOG`
 * reruns that configuration and can tell whether the data it loads is the same.
 *
 * Lines of train.jsonl, one JSON object each, told apart by a marker field:
 *   { "header": true, ... }     the first line (this file)
 *   { "check": true, ... }      a validation check inside an epoch (`validEvery`)
 *   { "progress": true, ... }   a progress line (`logEvery`)
 *   { "epoch": n, ... }         an epoch record
 *   { "test": true, ... }       the final test
 * Logs written before the header existed start with an epoch record; readers accept both.
 *
 * Pure (no file access): the CLI reads the file and hands its text here.
 */
import { ConfigError } from '../errors.js';
import type { Corpus } from '../data/corpus.js';
import { Sha256 } from '../io/sha256.js';
import { backendInfo, getBackend } from '../backend/index.js';
import type { TrainConfig } from './presets.js';

/**
 * The package version written into every log header (src/train/run-log.test.ts checks it against package.json).
 *
 * @example
 * ```ts
 * import { PACKAGE_VERSION } from 'backprop/node';
 * console.log(`backprop ${PACKAGE_VERSION}`);
 * ```
 */
export const PACKAGE_VERSION = '0.1.0';

/** Which data a run trained on: enough to tell whether a rerun loads the same tokens. */
export interface DataIdentity {
  name: string;
  level: 'word' | 'char';
  vocabSize: number;
  /** Tokens in each split. */
  train: number;
  valid: number;
  test: number;
  /** SHA-256 (hex) of the vocabulary (JSON of its tokens, in id order) and then the train, valid and test ids (int32, little-endian). */
  sha256: string;
  /** The loader's description of the preparation (source, counts, rule). */
  info: Record<string, number | string>;
}

/** The first line of train.jsonl. */
export interface LogHeader {
  header: true;
  /** The backprop package version that wrote the log. */
  version: string;
  /** The fully resolved configuration: `backprop train --config LOG` reruns it. */
  config: TrainConfig;
  data: DataIdentity;
  /** The kernels that ran it (`getBackend().name`, e.g. wasm-fma-2t+blas): another backend or thread count agrees to rounding, not bit for bit. Absent in logs written before 2 December 2026. */
  kernels?: string;
  /** With the native GEMM, OpenBLAS's configuration string (its version and the CPU kernels it chose, which differ between CPUs). */
  blas?: string;
}

/**
 * The identity of a loaded corpus (hashes every token id once).
 *
 * @example
 * ```ts
 * import { dataIdentity, loadCorpus } from 'backprop/node';
 * const id = dataIdentity(loadCorpus({ data: 'brown-ptb', level: 'word' }));
 * id.sha256; // the same hex string wherever the same tokens load
 * ```
 */
export function dataIdentity(corpus: Corpus): DataIdentity {
  const h = new Sha256();
  h.update(new TextEncoder().encode(JSON.stringify(corpus.vocab.itos)));
  for (const ids of [corpus.train, corpus.valid, corpus.test]) {
    const le = new Uint8Array(ids.length * 4);
    const view = new DataView(le.buffer);
    for (let i = 0; i < ids.length; i++) view.setInt32(4 * i, ids[i]!, true);
    h.update(le);
  }
  return {
    name: corpus.name, level: corpus.level, vocabSize: corpus.vocab.size,
    train: corpus.train.length, valid: corpus.valid.length, test: corpus.test.length,
    sha256: h.digestHex(), info: { ...corpus.info },
  };
}

/**
 * The header line of a run of `config` on `corpus` (what `LMTrainer` writes first into train.jsonl).
 *
 * @example
 * ```ts
 * import { logHeader, loadCorpus, resolveConfig } from 'backprop/node';
 * const cfg = resolveConfig('tiny');
 * const line = JSON.stringify(logHeader(cfg, loadCorpus(cfg))); // {"header":true,"version":…,"config":…,"data":…}
 * ```
 */
export function logHeader(config: TrainConfig, corpus: Corpus): LogHeader {
  return { header: true, version: PACKAGE_VERSION, config: { ...config }, data: dataIdentity(corpus), ...runKernels() };
}

/**
 * What decides a run's last bits besides its configuration and data: the active backend's name (SIMD,
 * FMA, threads, native GEMM) and, with the native GEMM, OpenBLAS's configuration string (its CPU kernels).
 * Two runs with equal values give the same numbers; otherwise they agree to rounding.
 *
 * @example
 * ```ts
 * import { runKernels } from 'backprop/node';
 * runKernels(); // { kernels: 'wasm-fma-2t+blas', blas: 'OpenBLAS 0.3.21 … Haswell MAX_THREADS=64' }
 * ```
 */
export function runKernels(): { kernels: string; blas?: string } {
  const blas = backendInfo().native?.blas;
  return { kernels: getBackend().name, ...(blas ? { blas } : {}) };
}

/**
 * The configuration in a file's text: a JSON object (a configuration, or a log header line) or a
 * JSONL log whose first line is a header. Returns the configuration fields as written (the caller
 * fills any missing field from a preset and validates), and the header when there is one.
 * @throws ConfigError naming the file and what is wrong (not JSON, a log without a header line).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { configFromText, resolveConfig } from 'backprop/node';
 * const { config } = configFromText(readFileSync('docs/runs/tiny.jsonl', 'utf8'), 'docs/runs/tiny.jsonl');
 * const cfg = resolveConfig('tiny', { epochs: 8 }, config); // the logged run, 8 epochs long
 * ```
 */
export function configFromText(text: string, file: string): { config: Partial<TrainConfig>; header: LogHeader | null } {
  const trimmed = text.trim();
  if (!trimmed) throw new ConfigError(`${file}: empty; --config needs a JSON configuration or a train.jsonl log`);
  let whole: unknown;
  try { whole = JSON.parse(trimmed); } catch { whole = undefined; }
  const asObject = (v: unknown, where: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${where}: not a JSON object`);
    return v as Record<string, unknown>;
  };
  if (whole === undefined) {
    // JSONL: the first line must be a header.
    const first = trimmed.split('\n')[0]!;
    let v: unknown;
    try { v = JSON.parse(first); } catch { throw new ConfigError(`${file}:1: not JSON (--config needs a JSON configuration or a train.jsonl log)`); }
    const o = asObject(v, `${file}:1`);
    if (o.header !== true) throw noHeader(file);
    return { config: headerConfig(o, `${file}:1`), header: o as unknown as LogHeader };
  }
  const o = asObject(whole, file);
  if (o.header === true) return { config: headerConfig(o, file), header: o as unknown as LogHeader };
  if (file.endsWith('.jsonl') || ['trainPerplexity', 'test', 'check', 'progress'].some((k) => k in o)) throw noHeader(file);
  return { config: o as Partial<TrainConfig>, header: null };
}

function noHeader(file: string): ConfigError {
  return new ConfigError(`${file}: its first line is not a log header ({"header": true, "config": …}); logs written before headers existed hold no configuration — give the run's config.json instead`);
}

function headerConfig(o: Record<string, unknown>, where: string): Partial<TrainConfig> {
  const c = o.config;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new ConfigError(`${where}: the header has no "config" object`);
  return c as Partial<TrainConfig>;
}
