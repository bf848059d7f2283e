/**
 * A training run's folder (Node only): the names of the files a run writes and the writes themselves,
 * so the trainer never builds a path. A run folder holds
 *
 *   config.json        the resolved configuration (written when the run starts)
 *   train.jsonl        a header line (configuration, version, data), then one JSON line per epoch
 *                      record, validation check and progress line, and one for the final test
 *   checkpoint.ckpt    the latest checkpoint (replaced atomically; resume from it)
 *   best.ckpt          the checkpoint of the epoch with the lowest validation perplexity so far
 *
 * Every file is replaced atomically (./atomic.ts), the log included: it is rewritten whole from the
 * checkpoint's history after the checkpoint is saved, so it never holds a record the checkpoint lacks,
 * and a resume rewrites it from the checkpoint (docs/training.md lists what survives which fault).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { ensureDirectory, fileError, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { saveCheckpoint, type Checkpoint } from './checkpoint.js';

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
export const LOG_FILE = 'train.jsonl';
/** The checkpoint of the epoch with the lowest validation perplexity so far (early stopping: evaluate this one). */
export const BEST_FILE = 'best.ckpt';
export const CONFIG_FILE = 'config.json';
const RUN_FILES = [CONFIG_FILE, LOG_FILE, CHECKPOINT_FILE, BEST_FILE];

export class RunFolder {
  constructor(readonly dir: string) {}

  get checkpointFile(): string { return path.join(this.dir, CHECKPOINT_FILE); }
  get bestFile(): string { return path.join(this.dir, BEST_FILE); }
  get logFile(): string { return path.join(this.dir, LOG_FILE); }

  /**
   * A fresh run: creates the folder, writes the configuration and the log's first records (the
   * trainer's header line; none by default). A folder that already holds a run is refused (ConfigError
   * naming it) unless `force`, which deletes that run's files first.
   */
  start(config: unknown, force = false, firstRecords: readonly unknown[] = []): void {
    ensureDirectory(this.dir, 'create the run folder');
    const existing = RUN_FILES.filter((f) => fs.existsSync(path.join(this.dir, f)));
    if (existing.length && !force) {
      throw new ConfigError(`${this.dir} already holds a run (${existing.join(', ')}): continue it with --resume, or start over with --force (which replaces it)`);
    }
    for (const f of RUN_FILES) {
      const file = path.join(this.dir, f);
      removeStaleTemps(file);
      if (force && existing.includes(f)) {
        try { fs.unlinkSync(file); } catch (e) { throw fileError(e, file, 'remove'); }
      }
    }
    writeFileAtomic(path.join(this.dir, CONFIG_FILE), new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'));
    this.writeLog(firstRecords);
  }

  /** A resumed run: removes the temporary files a killed write left, and makes the log the checkpoint's. */
  resume(records: readonly unknown[]): void {
    for (const f of RUN_FILES) removeStaleTemps(path.join(this.dir, f));
    this.writeLog(records);
  }

  /** Replaces the log (atomically) with these records, one JSON line each. */
  writeLog(records: readonly unknown[]): void {
    writeFileAtomic(this.logFile, new TextEncoder().encode(records.map((r) => JSON.stringify(r) + '\n').join('')));
  }

  /** Writes (atomically) the latest or the best checkpoint; returns its path. */
  save(which: 'latest' | 'best', checkpoint: Checkpoint): string {
    const file = which === 'best' ? this.bestFile : this.checkpointFile;
    saveCheckpoint(file, checkpoint);
    return file;
  }
}
