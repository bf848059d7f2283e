/**
 * A training run's folder (Node only): the names of the files a run writes and the writes themselves,
 * so the trainer never builds a path. A run folder holds
 *
 *   config.json        the resolved configuration (written when the run starts)
 *   train.jsonl        one JSON line per epoch record (and one for the final test)
 *   checkpoint.ckpt    the latest checkpoint (replaced atomically; resume from it)
 *   best.ckpt          the checkpoint of the epoch with the lowest validation perplexity so far
 */
import fs from 'node:fs';
import path from 'node:path';
import { saveCheckpoint, type Checkpoint } from './checkpoint.js';

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
export const LOG_FILE = 'train.jsonl';
/** The checkpoint of the epoch with the lowest validation perplexity so far (early stopping: evaluate this one). */
export const BEST_FILE = 'best.ckpt';
export const CONFIG_FILE = 'config.json';

export class RunFolder {
  constructor(readonly dir: string) {}

  get checkpointFile(): string { return path.join(this.dir, CHECKPOINT_FILE); }
  get bestFile(): string { return path.join(this.dir, BEST_FILE); }
  get logFile(): string { return path.join(this.dir, LOG_FILE); }

  /** A fresh run: creates the folder, writes the configuration and an empty log. */
  start(config: unknown): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.logFile, '');
    fs.writeFileSync(path.join(this.dir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  }

  /** Appends one record to the log as a JSON line. */
  log(record: unknown): void { fs.appendFileSync(this.logFile, JSON.stringify(record) + '\n'); }

  /** Writes (atomically) the latest or the best checkpoint; returns its path. */
  save(which: 'latest' | 'best', checkpoint: Checkpoint): string {
    const file = which === 'best' ? this.bestFile : this.checkpointFile;
    saveCheckpoint(file, checkpoint);
    return file;
  }
}
