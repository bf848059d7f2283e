/**
 * `fitLanguageModel`: the language-model trainer behind `backprop train`, as one call from code (Keras's
 * `fit` for the TensorFlow PTB tutorial's loop). Give it a configuration (a preset plus overrides,
 * `resolveConfig`) or a checkpoint to resume, optionally the data; it trains with TBPTT(k1, k2), evaluates
 * on the validation split after each epoch, writes checkpoints and the log when given a folder, and
 * returns the history.
 *
 * - Callbacks: the trainer's events (`window` after every update window, `epochStart`, `epochEnd` with the
 *   epoch's record, `checkpoint` with the file and why, `test`), so progress is pluggable: the CLI passes
 *   its console bars, a page would pass its own handlers.
 * - An `AbortSignal` stops the run cleanly after the current window, with a checkpoint (when there is a
 *   folder) from which `resume` continues exactly.
 * - Early stopping on validation perplexity (`patience` epochs without an improvement of `minDelta`);
 *   the folder's best.ckpt always holds the best epoch.
 *
 * It reads and writes files through io/ (Node), so it is exported from 'backprop/node'.
 *
 * @example
 * ```ts
 * import { fitLanguageModel, resolveConfig } from 'backprop/node';
 * const ac = new AbortController();
 * const r = await fitLanguageModel({
 *   config: resolveConfig('tiny', { data: 'text', text: 'input.txt', level: 'char', epochs: 2 }),
 *   outDir: 'runs/char', signal: ac.signal, earlyStopping: { patience: 2 },
 *   callbacks: { epochEnd: (e) => console.log(e.epoch, e.validPerplexity) },
 * });
 * console.log(r.stopReason, r.history.length, r.checkpoint);
 * ```
 */
import { ConfigError } from '../errors.js';
import type { Corpus } from '../data/corpus.js';
import { LMTrainer, type EpochRecord, type RunResult, type TrainerEvents } from './lm-trainer.js';
import type { TrainConfig } from './presets.js';

/** When `fitLanguageModel` stops early: after `patience` epochs whose validation perplexity did not improve by `minDelta`. */
export interface EarlyStoppingOptions {
  /** Epochs without an improvement before stopping (≥ 1). */
  patience: number;
  /** How much lower the validation perplexity must be to count as an improvement (default 0). */
  minDelta?: number;
}

/** What `fitLanguageModel` trains (a configuration, or a checkpoint to resume), on what data, and how it reports and stops. */
export interface LMFitOptions {
  /** The run's configuration (`resolveConfig(preset, overrides)`). Give this or `resume`. */
  config?: TrainConfig;
  /** A checkpoint file to continue from (its configuration is used). Give this or `config`. */
  resume?: string;
  /** With `resume`: train up to this many epochs in all (extends a finished run). */
  epochs?: number;
  /** The data; by default loaded from the configuration's source. */
  corpus?: Corpus;
  /** Folder for checkpoint.ckpt, best.ckpt, train.jsonl and config.json; null or absent: write nothing. */
  outDir?: string | null;
  /** Replace an existing run in `outDir` (a fresh run into a used folder is refused otherwise). */
  force?: boolean;
  /** Progress and lifecycle callbacks (see `TrainerEvents`). */
  callbacks?: TrainerEvents;
  /** Aborting stops the run after the current window, with a checkpoint. */
  signal?: AbortSignal;
  /** Stop when validation perplexity stops improving. */
  earlyStopping?: EarlyStoppingOptions;
  /** Called once the trainer is built (model, corpus and configuration known), before the first window. */
  onStart?: (trainer: LMTrainer) => void;
}

/** Why a run ended. */
export type LMStopReason = 'completed' | 'aborted' | 'early-stopping';

/** What `fitLanguageModel` returns: the run's history, test record and last checkpoint, why it ended, and the trainer. */
export interface LMFitResult extends RunResult {
  stopReason: LMStopReason;
  /**
   * The trainer: its model, corpus (vocabulary) and configuration, to evaluate, sample or save. With
   * NT-ASGD switched, `trainer.model` holds the training weights and `trainer.withEvalWeights(fn)` runs
   * `fn` with the averaged ones (what validation, the test and the checkpoint's parameters use).
   */
  trainer: LMTrainer;
}

/**
 * Train (or continue training) a language model; see the file comment.
 *
 * @example
 * ```ts
 * import { fitLanguageModel, resolveConfig } from 'backprop/node';
 * const ac = new AbortController(); // ac.abort() stops after the current window, with a checkpoint
 * const r = await fitLanguageModel({ config: resolveConfig('tiny', { epochs: 1 }), outDir: null, signal: ac.signal });
 * console.log(r.stopReason, r.history.at(-1)?.validPerplexity);
 * ```
 */
export async function fitLanguageModel(opts: LMFitOptions): Promise<LMFitResult> {
  if ((opts.config === undefined) === (opts.resume === undefined)) {
    throw new ConfigError('fitLanguageModel: give either a configuration (config) or a checkpoint to resume (resume), not both');
  }
  const es = opts.earlyStopping;
  if (es && !(Number.isInteger(es.patience) && es.patience >= 1)) throw new ConfigError(`earlyStopping.patience must be an integer ≥ 1, got ${es.patience}`);
  if (es && es.minDelta !== undefined && !(es.minDelta >= 0)) throw new ConfigError(`earlyStopping.minDelta must be ≥ 0, got ${es.minDelta}`);

  // Early stopping: the trainer polls shouldStop right after each epochEnd, so it stops at that boundary.
  let best = Infinity, stale = 0, earlyStop = false;
  const track = (r: EpochRecord): void => {
    if (!es) return;
    if (r.validPerplexity < best - (es.minDelta ?? 0)) { best = r.validPerplexity; stale = 0; } else if (++stale >= es.patience) earlyStop = true;
  };
  const user = opts.callbacks ?? {};
  const events: TrainerEvents = { ...user, epochEnd: (r) => { user.epochEnd?.(r); track(r); } };
  const base = { outDir: opts.outDir ?? null, events, ...(opts.corpus ? { corpus: opts.corpus } : {}) };
  const trainer = opts.resume !== undefined
    ? LMTrainer.resume(opts.resume, { ...base, ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}) })
    : LMTrainer.create(opts.config!, { ...base, force: opts.force ?? false });
  // Early stopping on a resumed run counts from the epochs already in its history.
  for (const r of trainer.st.history) track(r);
  earlyStop = false;
  opts.onStart?.(trainer);
  const r = await trainer.run({ shouldStop: () => opts.signal?.aborted === true || earlyStop });
  const stopReason: LMStopReason = r.status === 'done' ? 'completed' : opts.signal?.aborted ? 'aborted' : 'early-stopping';
  return { ...r, stopReason, trainer };
}
