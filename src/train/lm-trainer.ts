/**
 * The language-model training loop, the TensorFlow PTB tutorial's `main`: for each epoch set the
 * learning rate (lr·decay^max(epoch+1−max_epoch, 0)), run the training windows through TBPTT with the
 * state carried from window to window (zeroed at each epoch's start), then measure validation
 * perplexity with the state carried; at the end, test perplexity (the tutorial: batch 1, 1 step).
 *
 * Perplexity is the tutorial's: exp(total_cost / total_steps), each step's cost the batch-mean
 * cross-entropy in nats.
 *
 * The trainer is the loop. Around it: corpus choice (src/data/sources.ts), the run folder's files
 * (src/io/run-folder.ts), what goes into a checkpoint and how a model is read back
 * (./model-file.ts), and perplexity (src/eval/score.ts).
 *
 * Everything needed to continue a run lives in one checkpoint (written atomically by src/io): the
 * parameters, the optimizer's state, the vocabulary, the configuration, the random generator's
 * state (dropout draws from it), and the data position: epoch, next window and the carried state.
 * Resuming from it reproduces, number for number, the run that was not interrupted (with
 * k1 = k2 = num_steps, the tutorial's scheme; see `resume` for k1 ≠ k2).
 *
 * @example
 *   const t = LMTrainer.create(resolveConfig('tiny'), { outDir: 'runs/tiny' });
 *   const r = await t.run();            // r.history[e].validPerplexity, r.test?.perplexity
 */
import { ConfigError, DataError, DivergenceError, FormatError } from '../errors.js';
import { loadCorpus, StreamBatcher, Vocab, type Corpus } from '../data/index.js';
import { loadCheckpoint, type Checkpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import { RunFolder } from '../io/run-folder.js';
import type { LanguageModel } from '../nn/language-model.js';
import type { StackState } from '../nn/recurrent.js';
import { createOptimizer, stepDecay, type Optimizer } from '../optim/optimizers.js';
import { Rng, type RngState } from '../tensor/random.js';
import { scoreStream, yieldToEventLoop, type ScoreResult } from '../eval/score.js';
import { buildModel, loadModelTensors, modelTensors, optimizerContents, restoreOptimizer, stateFromTensors, stateTensors } from './model-file.js';
import { TruncatedBPTT } from './tbptt.js';
import { laterFieldDefaults, validateConfig, type TrainConfig } from './presets.js';
import { logHeader, type LogHeader } from './run-log.js';

// ---------------------------------------------------------------------------------------------
// Records

/** The mean, smallest and largest global gradient norm of an epoch's updates. */
export interface GradStats { mean: number; min: number; max: number }

/** One line of train.jsonl. */
export interface EpochRecord {
  epoch: number;          // 1-based, as the tutorial prints it
  lr: number;
  trainPerplexity: number;
  validPerplexity: number;
  /** Σ step costs / steps (nats per token) for train and validation. */
  trainNats: number;
  validNats: number;
  /** With testEveryEpoch: the test split's perplexity after this epoch (the final test's B, T and token limit). */
  testPerplexity?: number;
  testNats?: number;
  windows: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  updates: number;
  clipped: number;
  clipRate: number;
  skipped: number;
  gradNorm: GradStats;
  /** diagnostics: mean ‖∂E/∂h_t‖ over the epoch's updates, [layer][step of the window, oldest first]. */
  hGradNorms?: number[][];
  /** NT-ASGD: true when the validation (and test) used the averaged weights. */
  averaged?: boolean;
  /** NT-ASGD switched to averaging at this epoch's validation check. */
  ntAsgdSwitch?: boolean;
}

/**
 * A validation check inside an epoch (`validEvery`), one line of train.jsonl: where it happened, the
 * validation perplexity (with the averaged weights once NT-ASGD has switched), and whether NT-ASGD
 * switched there. Epoch-end validations are checks too; they are in the epoch records.
 */
export interface CheckRecord {
  check: true;
  epoch: number;
  /** Windows of this epoch done, and of the whole run. */
  window: number;
  windowsDone: number;
  validPerplexity: number;
  validNats: number;
  averaged: boolean;
  ntAsgdSwitch?: boolean;
}

/** A progress line of train.jsonl (`logEvery`): the epoch's training loss so far at a window. */
export interface ProgressRecord {
  progress: true;
  epoch: number;
  window: number;
  windowsDone: number;
  /** Tokens of this epoch so far, and Σ step costs / steps over them. */
  tokens: number;
  trainNats: number;
  trainPerplexity: number;
  lr: number;
}

/** The test-set measurement at the end of a run (one line of train.jsonl). */
export interface TestRecord {
  test: true; perplexity: number; nats: number; tokens: number; batchSize: number; numSteps: number; seconds: number;
  /** NT-ASGD: scored with the averaged weights. */
  averaged?: boolean;
}

/** Sums over the windows of the epoch in progress (saved in the checkpoint, so a resumed epoch reports the same numbers). */
interface EpochAcc {
  cost: number; steps: number; windows: number; seconds: number;
  updates: number; clipped: number; skipped: number;
  gnSum: number; gnMin: number; gnMax: number;
  hSum: number[][] | null; hCount: number;
}

const freshAcc = (): EpochAcc => ({
  cost: 0, steps: 0, windows: 0, seconds: 0, updates: 0, clipped: 0, skipped: 0,
  gnSum: 0, gnMin: Infinity, gnMax: 0, hSum: null, hCount: 0,
});

/** The trainer's position, stored as the checkpoint's `trainer_state`. */
export interface TrainerState {
  /** 0-based epoch in progress (= cfg.epochs when training is finished). */
  epoch: number;
  /** Next window of that epoch (0 = the epoch has not started: lr is set and the state zeroed then). */
  window: number;
  rng: RngState;
  acc: EpochAcc;
  history: EpochRecord[];
  test: TestRecord | null;
  /** Total windows trained, all epochs. */
  windowsDone: number;
  /**
   * The factor the divergence guard has applied to the scheduled learning rate (skip mode halves it
   * on each skipped update); each epoch's lr is schedule(epoch) × lrScale, so a halving survives.
   */
  lrScale: number;
  /** Consecutive updates whose window's mean cost exceeded divergenceFactor·ln|V| (the loss guard). */
  highLoss: number;
  /** Validation nats of every check so far, epoch ends included, in order: NT-ASGD's `logs`. */
  checks: number[];
  /** The lowest validation perplexity of any check so far (what best.ckpt holds), or null before the first. */
  bestValid: number | null;
  /**
   * NT-ASGD once switched: where (the check's epoch, window and run-wide window count) and how many
   * iterates the average holds; null while training is plain. The average itself is a tensor of the checkpoint.
   */
  asgd: { epoch: number; window: number; windowsDone: number; count: number } | null;
  /** Variable BPTT: the stream column the next training window starts at. */
  pos: number;
  /** The check and progress lines of the log, in order. */
  rows: Array<CheckRecord | ProgressRecord>;
}

/** Progress after one training window: where in the epoch, tokens so far, elapsed seconds, running perplexity. */
export interface WindowEvent { epoch: number; window: number; windows: number; tokens: number; seconds: number; perplexity: number }

/** The trainer's callbacks (all optional): how progress is shown, by the CLI's console bars or a page's own handlers. */
export interface TrainerEvents {
  /** An epoch begins (`resumedAt`: the window a resumed run continues from, else 0). */
  epochStart?(e: { epoch: number; windows: number; lr: number; resumedAt: number }): void;
  /** A training window (one TBPTT update span) is done. */
  window?(e: WindowEvent): void;
  /** An epoch is done and validated: its record, before its checkpoint is written. */
  epochEnd?(r: EpochRecord): void;
  /** A validation check inside an epoch (`validEvery`) is done: its record, before its checkpoint. */
  check?(r: CheckRecord): void;
  /** The test measurement begins. */
  testStart?(e: { tokens: number; batchSize: number; numSteps: number }): void;
  /** The test measurement is done. */
  test?(r: TestRecord): void;
  /** A checkpoint was written, and why. */
  checkpoint?(file: string, reason: 'epoch' | 'check' | 'interrupt' | 'final' | 'best'): void;
}

/** How one `LMTrainer.run()` call may be stopped early and observed. */
export interface RunOptions {
  /** Stop (checkpointing) after this many training windows in this call: the programmatic interrupt. */
  stopAfterWindows?: number;
  /** Polled after every window; true stops the run with a checkpoint (SIGINT/SIGTERM). */
  shouldStop?: () => boolean;
  /** Yield to the event loop after each window so signal handlers can run (default true). */
  yieldEveryWindow?: boolean;
  /** Called after every window (training and evaluation), before the yield (progress hooks). */
  afterWindow?: () => void;
}

/** How a run ended (`done`, or `interrupted` with a checkpoint), its epoch records, test record and last checkpoint file. */
export interface RunResult { status: 'done' | 'interrupted'; history: EpochRecord[]; test: TestRecord | null; checkpoint: string | null }

/** Where an `LMTrainer` writes (a run folder, or nothing), its callbacks, and optionally its corpus. */
export interface TrainerOptions {
  /** Output folder for checkpoint.ckpt and train.jsonl; null = write nothing (tests). */
  outDir: string | null;
  events?: TrainerEvents;
  /** An already loaded corpus (tests, or to avoid loading twice). */
  corpus?: Corpus;
  /** A fresh run into a folder that already holds one replaces it (default: refused with a ConfigError). */
  force?: boolean;
}

// ---------------------------------------------------------------------------------------------

/**
 * The language-model trainer behind `backprop train` and `fitLanguageModel`: one run of a configuration
 * over a corpus, with its model, optimizer, TBPTT loop, learning-rate schedule, run folder (checkpoints,
 * log) and events. Build it with `create` (a fresh run) or `resume` (from a checkpoint), then `run()`.
 *
 * @example
 * ```ts
 * import { LMTrainer, resolveConfig } from 'backprop/node';
 * const trainer = LMTrainer.create(resolveConfig('tiny', { epochs: 1 }), { outDir: 'runs/tiny', events: { epochEnd: (r) => console.log(r.validPerplexity) } });
 * const result = await trainer.run(); // later: LMTrainer.resume('runs/tiny/latest.ckpt', { outDir: 'runs/tiny' })
 * ```
 */
export class LMTrainer {
  readonly model: LanguageModel;
  readonly optimizer: Optimizer;
  readonly tbptt: TruncatedBPTT<StackState>;
  readonly train: StreamBatcher;
  /** Where the run's files go (null: the trainer writes nothing). */
  readonly folder: RunFolder | null;
  readonly rng: Rng;
  /** The learning rate of each epoch (from 0): the configuration's step decay. */
  readonly schedule: (epoch: number) => number;
  st: TrainerState;

  private constructor(readonly cfg: TrainConfig, readonly corpus: Corpus, readonly opts: TrainerOptions) {
    validateConfig(cfg);
    // Every data-dependent check first, so an impossible configuration writes nothing.
    this.train = new StreamBatcher(corpus.train, cfg.batchSize, cfg.numSteps);
    validBatcher(cfg, corpus);
    if (cfg.testTokens >= 0) testBatcher(cfg, corpus);
    this.rng = new Rng(cfg.seed);
    this.model = buildModel(cfg, corpus.vocab.size, this.rng);
    this.optimizer = createOptimizer(cfg.optimizer, this.model, cfg.lr);
    this.tbptt = new TruncatedBPTT(this.model, this.optimizer, {
      k1: cfg.k1, k2: cfg.k2, batchSize: cfg.batchSize, maxGradNorm: cfg.maxGradNorm > 0 ? cfg.maxGradNorm : undefined,
      diagnostics: cfg.diagnostics, onDivergence: cfg.onDivergence, afterStep: () => this.accumulateAverage(),
    });
    this.schedule = stepDecay(cfg.lr, cfg.lrDecay, cfg.maxEpoch);
    this.st = {
      epoch: 0, window: 0, rng: this.rng.getState(), acc: freshAcc(), history: [], test: null, windowsDone: 0, lrScale: 1, highLoss: 0,
      checks: [], bestValid: null, asgd: null, pos: 0, rows: [],
    };
    this.folder = opts.outDir ? new RunFolder(opts.outDir) : null;
    this.header = logHeader(cfg, corpus);
  }

  /** The first line of train.jsonl: the resolved configuration, the version, the data's identity. */
  readonly header: LogHeader;

  /** A fresh run. Loads the corpus unless given; throws ConfigError/DataError before writing anything. */
  static create(cfg: TrainConfig, opts: TrainerOptions): LMTrainer {
    const t = new LMTrainer(cfg, opts.corpus ?? loadCorpus(cfg), opts);
    t.folder?.start(cfg, opts.force ?? false, [t.header]);
    return t;
  }

  /**
   * Continue from a checkpoint written by `run`. `epochs` may extend a finished run. The corpus is
   * reloaded from the configuration and must give the checkpoint's vocabulary.
   * With k1 ≠ k2 the TBPTT window history (the last k2 steps) is not in the checkpoint: the resumed
   * run starts its first window from the saved state, so it matches an uninterrupted run only
   * when interrupted at an update boundary with k2 ≤ k1.
   */
  static resume(file: string, opts: TrainerOptions & { epochs?: number }): LMTrainer {
    const ck = loadCheckpoint(file);
    const saved = ck.meta.config;
    if (typeof saved !== 'object' || saved === null) throw new FormatError(`${file}: no "config" metadata (not a training checkpoint); train afresh instead of --resume`);
    checkTrainerState(ck.meta.trainer_state, file);
    // Fields added after a checkpoint was written take their defaults.
    // (after the saved ones, so the checkpoint a resumed run writes has the same bytes as the uninterrupted run's).
    const cfg: TrainConfig = { ...(saved as TrainConfig) };
    for (const [k, v] of Object.entries(laterFieldDefaults)) if (!Object.hasOwn(cfg, k)) Object.assign(cfg, { [k]: v });
    if (opts.epochs !== undefined) cfg.epochs = opts.epochs;
    const corpus = opts.corpus ?? loadCorpus(cfg);
    const vocab = Vocab.fromJSON(ck.meta.vocab as never);
    if (vocab.size !== corpus.vocab.size || vocab.itos.some((w, i) => corpus.vocab.itos[i] !== w)) {
      throw new DataError(`${file}: the corpus ${corpus.name} no longer gives the checkpoint's vocabulary (${corpus.vocab.size} vs ${vocab.size} tokens)`);
    }
    const t = new LMTrainer(cfg, corpus, opts);
    t.restore(ck, file);
    if (t.st.epoch < cfg.epochs) t.st.test = null;   // extended: test again at the new end
    // The log becomes the checkpoint's: a kill after the checkpoint but before the log's rewrite is healed here.
    t.folder?.resume(t.logRecords());
    return t;
  }

  private restore(ck: LoadedCheckpoint, file: string): void {
    loadModelTensors(this.model, ck.tensors, file);
    restoreOptimizer(this.optimizer, ck, file);
    const saved = ck.meta.trainer_state as Partial<TrainerState>;
    // A checkpoint from before the validation checks: its epoch records are its checks.
    const history = saved.history ?? [];
    this.st = {
      ...saved, lrScale: saved.lrScale ?? 1, highLoss: saved.highLoss ?? 0,
      checks: saved.checks ?? history.map((h) => h.validNats),
      bestValid: saved.bestValid ?? (history.length ? Math.min(...history.map((h) => h.validPerplexity)) : null),
      asgd: saved.asgd ?? null, pos: saved.pos ?? 0, rows: saved.rows ?? [],
    } as TrainerState;
    if (this.st.acc.gnMin === null) this.st.acc.gnMin = Infinity;   // JSON has no Infinity
    this.rng.setState(this.st.rng);
    if (this.st.window > 0) this.tbptt.setState(stateFromTensors(ck.tensors, this.cfg, file));
    if (this.st.asgd) {
      // The model's tensors hold the average rounded to float32 (what eval and export read); the
      // weights training goes on from and the float64 average are beside them.
      const raw = ck.tensors[RAW_TENSOR], avg = ck.tensors[AVG_TENSOR], arena = this.optimizer.arena;
      for (const [name, t] of [[RAW_TENSOR, raw], [AVG_TENSOR, avg]] as const) {
        if (!t || t.data.length !== arena.size) throw new FormatError(`${file}: NT-ASGD has switched but tensor ${name} is ${t ? `of ${t.data.length} values, not ${arena.size}` : 'missing'}`);
      }
      arena.values.set(raw!.data);
      this.avg = Float64Array.from(avg!.data);
    }
  }

  /** NT-ASGD's running average of the weights (float64, the arena's layout) once switched, else null. */
  private avg: Float64Array | null = null;

  /** After each applied update: the average takes in the new iterate (NT-ASGD, once switched). */
  private accumulateAverage(): void {
    const a = this.avg, asgd = this.st.asgd;
    if (!a || !asgd) return;
    const w = this.optimizer.arena.values, n = ++asgd.count;
    for (let i = 0; i < a.length; i++) a[i]! += (w[i]! - a[i]!) / n;
  }

  /**
   * NT-ASGD's test at a check with validation loss v (nats): once t > n checks are logged and v is
   * above the lowest of all but the last n of them, averaging starts from the current weights.
   * Logs v either way; returns whether it switched now.
   */
  private ntAsgdCheck(v: number): boolean {
    const st = this.st, n = this.cfg.ntAsgd, logs = st.checks, t = logs.length;
    let switched = false;
    if (n > 0 && !st.asgd && t > n && v > Math.min(...logs.slice(0, t - n))) {
      st.asgd = { epoch: st.epoch + 1, window: st.window, windowsDone: st.windowsDone, count: 1 };
      this.avg = Float64Array.from(this.optimizer.arena.values);
      switched = true;
    }
    logs.push(v);
    return switched;
  }

  /** Whether validation, best.ckpt, the test and the checkpoint's parameters use NT-ASGD's average now. */
  get averaging(): boolean { return this.avg !== null; }

  /**
   * Runs `fn` with the weights evaluation uses in the model (NT-ASGD's average once it has switched,
   * else the training weights), then puts the training weights back, also when `fn` throws or its
   * promise rejects. `trainer.model` otherwise holds the weights training continues from.
   */
  withEvalWeights<R>(fn: () => R): R {
    const avg = this.avg;
    if (!avg) return fn();
    const values = this.optimizer.arena.values, raw = values.slice();
    values.set(avg);
    let r: R;
    try { r = fn(); } catch (e) { values.set(raw); throw e; }
    if (r instanceof Promise) return r.finally(() => values.set(raw)) as R;
    values.set(raw);
    return r;
  }

  /** Where the checkpoint goes (null when the trainer writes nothing). */
  get checkpointFile(): string | null { return this.folder?.checkpointFile ?? null; }

  /**
   * The checkpoint's contents (also used by tests to compare runs without files): parameters,
   * optimizer state, the carried state mid-epoch, and the trainer's position.
   */
  snapshot(): Checkpoint {
    const opt = optimizerContents(this.optimizer);
    const tensors = { ...this.withEvalWeights(() => modelTensors(this.model)), ...opt.tensors, ...(this.st.window > 0 ? stateTensors(this.tbptt.state) : {}) };
    if (this.avg) {
      const values = this.optimizer.arena.values;
      tensors[RAW_TENSOR] = { shape: [values.length], data: new Float32Array(values) };
      tensors[AVG_TENSOR] = { shape: [this.avg.length], data: new Float64Array(this.avg) };
    }
    this.st.rng = this.rng.getState();
    return {
      tensors,
      meta: { config: this.cfg, vocab: this.corpus.vocab.toJSON(), optimizer: opt.meta, trainer_state: this.st },
    };
  }

  private save(reason: 'epoch' | 'check' | 'interrupt' | 'final'): string | null {
    if (!this.folder) return null;
    const file = this.folder.save('latest', this.snapshot());
    this.opts.events?.checkpoint?.(file, reason);
    return file;
  }

  /** Writes the epoch's checkpoint again as best.ckpt (same contents; resuming from it continues from that epoch). */
  private saveBest(): void {
    if (!this.folder) return;
    const file = this.folder.save('best', this.snapshot());
    this.opts.events?.checkpoint?.(file, 'best');
  }

  /**
   * What train.jsonl holds: the header (configuration, version, data), then the check and progress
   * lines and the epoch records in the order they happened, then the test's.
   */
  logRecords(): Array<LogHeader | EpochRecord | CheckRecord | ProgressRecord | TestRecord> {
    const out: Array<LogHeader | EpochRecord | CheckRecord | ProgressRecord | TestRecord> = [this.header];
    const rows = this.st.rows;
    let r = 0, end = 0;
    for (const h of this.st.history) {
      end += h.windows;   // the run-wide window count at this epoch's end
      while (r < rows.length && rows[r]!.windowsDone <= end) out.push(rows[r++]!);
      out.push(h);
    }
    while (r < rows.length) out.push(rows[r++]!);
    if (this.st.test) out.push(this.st.test);
    return out;
  }

  /** Rewrites the log from the trainer's state; called after the checkpoint is saved, so the log never runs ahead of it. */
  private writeLog(): void { this.folder?.writeLog(this.logRecords()); }

  /**
   * The loss guard: a run of `divergencePatience` updates whose windows' mean cost is above
   * divergenceFactor·ln|V| (a uniform guess costs ln|V|) is divergence even while every number stays
   * finite. Stop mode throws DivergenceError naming the step; skip mode halves the learning rate (the
   * halving is kept in lrScale, so the next epoch's schedule keeps it) and counts afresh.
   */
  private guardLoss(costs: readonly number[], updates: number): void {
    const cfg = this.cfg, st = this.st;
    if (cfg.divergencePatience <= 0 || updates === 0) return;
    const limit = cfg.divergenceFactor * Math.log(this.corpus.vocab.size);
    const mean = costs.reduce((a, b) => a + b, 0) / Math.max(costs.length, 1);
    st.highLoss = mean > limit ? st.highLoss + updates : 0;
    if (st.highLoss < cfg.divergencePatience) return;
    const what = `the loss has stayed above ${cfg.divergenceFactor}·ln|V| = ${limit.toFixed(3)} nats for ${st.highLoss} updates (now ${mean.toPrecision(4)} nats)`;
    if (cfg.onDivergence === 'stop') {
      throw new DivergenceError(`training diverged at step ${this.tbptt.totals.steps} (epoch ${st.epoch + 1}, window ${st.window + 1}), tensor "loss": ${what}; the last good checkpoint is kept — lower --lr or set --max-grad-norm`);
    }
    this.optimizer.lr *= 0.5;
    st.highLoss = 0;
  }

  /**
   * Windows in one training epoch (the whole epoch, or maxStepsPerEpoch). With variable BPTT the
   * count depends on the lengths drawn: this is then the expected count, the stream over the mean
   * length T·(p + (1 − p)/2) (an estimate for progress bars; the epoch ends at the end of the stream
   * or after maxStepsPerEpoch windows).
   */
  get windowsPerEpoch(): number {
    const c = this.cfg;
    const n = c.bpttVariable ? Math.ceil((this.train.batchLen - 1) / (c.numSteps * (c.bpttP + (1 - c.bpttP) / 2))) : this.train.epochSize;
    return c.maxStepsPerEpoch > 0 ? Math.min(n, c.maxStepsPerEpoch) : n;
  }

  /**
   * The batcher window for window w of epoch e. A whole epoch is windows 0 … epochSize−1, as in the
   * tutorial. With maxStepsPerEpoch, successive short epochs take successive slices of the stream
   * (wrapping around), so a quick run sees new text every epoch instead of the same opening again.
   */
  windowIndex(epoch: number, w: number): number {
    const n = this.train.epochSize, per = this.windowsPerEpoch;
    return per === n ? w : (epoch * per + w) % n;
  }

  /** The last column a variable-length window may reach: each stream's last target. */
  private get streamEnd(): number { return this.train.batchLen - 1; }

  /**
   * Variable BPTT's draw for the next window (Merity et al. 2017, §4.1): μ = numSteps with
   * probability bpttP, else numSteps/2; length max(bpttMin, round(N(μ, bpttSd²))), from the run's generator.
   */
  private drawLength(): number {
    const c = this.cfg, T = c.numSteps;
    const mu = this.rng.uniform() < c.bpttP ? T : T / 2;
    return Math.max(c.bpttMin, Math.round(this.rng.normal(mu, c.bpttSd)));
  }

  /** Whether the epoch in progress has had all its windows. */
  private epochDone(): boolean {
    const c = this.cfg, st = this.st;
    if (!c.bpttVariable) return st.window >= this.windowsPerEpoch;
    return st.pos >= this.streamEnd || (c.maxStepsPerEpoch > 0 && st.window >= c.maxStepsPerEpoch);
  }

  /** Tokens of the epoch in progress so far. */
  private epochTokens(acc: EpochAcc): number {
    return this.cfg.bpttVariable ? acc.steps * this.cfg.batchSize : acc.windows * this.cfg.batchSize * this.cfg.numSteps;
  }

  /** The learning rate before variable BPTT's per-window scaling: the schedule's, times what the divergence guard kept. */
  private baseLr(): number { return this.schedule(this.st.epoch) * this.st.lrScale; }

  /**
   * A validation check inside an epoch: validate (with NT-ASGD's average once switched), run
   * NT-ASGD's test, log it, then best.ckpt when it is the lowest so far, the checkpoint and the log
   * (the same order as at an epoch's end, so a kill anywhere is recoverable).
   */
  private async midEpochCheck(ro: RunOptions): Promise<void> {
    const st = this.st;
    const valid = await this.evaluate('valid', ro);
    const nats = valid.cost / valid.steps;
    if (!Number.isFinite(valid.perplexity)) {
      throw new DivergenceError(`training diverged in epoch ${st.epoch + 1} (window ${st.window}, step ${this.tbptt.totals.steps}), tensor "loss": validation perplexity is ${valid.perplexity}; ` +
        'the last good checkpoint is kept — lower --lr or set --max-grad-norm');
    }
    const averaged = this.averaging;
    const switched = this.ntAsgdCheck(nats);
    const row: CheckRecord = { check: true, epoch: st.epoch + 1, window: st.window, windowsDone: st.windowsDone, validPerplexity: valid.perplexity, validNats: nats, averaged };
    if (switched) row.ntAsgdSwitch = true;
    st.rows.push(row);
    this.opts.events?.check?.(row);
    if (this.isBest(valid.perplexity)) this.saveBest();
    this.save('check');
    this.writeLog();
  }

  /** Records a check's validation perplexity; true when it is the lowest so far (ties included: the later one wins). */
  private isBest(ppl: number): boolean {
    if (this.st.bestValid !== null && ppl > this.st.bestValid) return false;
    this.st.bestValid = ppl;
    return true;
  }

  /** Trains until the configured epochs are done (then tests) or until stopped (then checkpoints). */
  async run(ro: RunOptions = {}): Promise<RunResult> {
    const cfg = this.cfg, ev = this.opts.events, st = this.st;
    const B = cfg.batchSize, T = cfg.numSteps;
    const windows = this.windowsPerEpoch;
    let ranThisCall = 0;
    while (st.epoch < cfg.epochs) {
      if (st.window === 0) {
        this.tbptt.resetState();
        st.acc = freshAcc();
        // Variable BPTT: a whole epoch starts at the stream's beginning; short epochs take successive slices.
        if (cfg.bpttVariable && (cfg.maxStepsPerEpoch === 0 || st.pos >= this.streamEnd)) st.pos = 0;
      }
      ev?.epochStart?.({ epoch: st.epoch + 1, windows, lr: this.baseLr(), resumedAt: st.window });
      this.model.train();
      while (!this.epochDone()) {
        const t0 = performance.now();
        const lr = this.baseLr();
        let r;
        if (cfg.bpttVariable) {
          const len = Math.min(this.drawLength(), this.streamEnd - st.pos);
          const w = this.train.span(st.pos, len);
          st.pos += len;
          // AWD-LSTM's rule for every optimizer: the window's gradient normalised to T steps (our loss sums
          // over steps; the paper's is their mean), clipped at the configured threshold, the rate scaled
          // by len/T (see presets.ts, bpttVariable).
          this.optimizer.lr = lr * len / T;
          r = this.tbptt.feedWindow(w.x, w.y, len, { gradScale: T / len });
        } else {
          const w = this.train.window(this.windowIndex(st.epoch, st.window));
          this.optimizer.lr = lr;
          r = this.tbptt.feed(w.x, w.y, T);
        }
        const applied = this.optimizer.lr;
        const acc = st.acc;
        for (const c of r.costs) acc.cost += c;
        acc.steps += r.costs.length;
        for (const u of r.updates) {
          acc.updates++;
          if (u.clipped) acc.clipped++;
          if (u.skipped) { acc.skipped++; continue; }
          acc.gnSum += u.gradNorm; acc.gnMin = Math.min(acc.gnMin, u.gradNorm); acc.gnMax = Math.max(acc.gnMax, u.gradNorm);
          if (u.hGradNorms) addHGrad(acc, u.hGradNorms, cfg.k2);
        }
        acc.windows++;
        acc.seconds += (performance.now() - t0) / 1000;
        this.guardLoss(r.costs, r.updates.length);
        // Skip mode lowers optimizer.lr on a skipped update (tbptt) or a run of high losses (guardLoss): keep that factor.
        if (this.optimizer.lr !== applied && applied > 0) st.lrScale *= this.optimizer.lr / applied;
        st.window++; st.windowsDone++; ranThisCall++;
        const tokens = this.epochTokens(acc);
        ev?.window?.({ epoch: st.epoch + 1, window: st.window, windows, tokens, seconds: acc.seconds, perplexity: Math.exp(acc.cost / Math.max(acc.steps, 1)) });
        if (cfg.logEvery > 0 && st.windowsDone % cfg.logEvery === 0) {
          const nats = acc.cost / Math.max(acc.steps, 1);
          st.rows.push({ progress: true, epoch: st.epoch + 1, window: st.window, windowsDone: st.windowsDone, tokens, trainNats: nats, trainPerplexity: Math.exp(nats), lr });
        }
        const last = this.epochDone();
        // A check at the epoch's last window would repeat the epoch's own validation.
        if (cfg.validEvery > 0 && st.window % cfg.validEvery === 0 && !last) await this.midEpochCheck(ro);
        ro.afterWindow?.();
        if (ro.yieldEveryWindow ?? true) await yieldToEventLoop();
        const stop = (ro.stopAfterWindows !== undefined && ranThisCall >= ro.stopAfterWindows) || (ro.shouldStop?.() ?? false);
        if (stop) {
          if (last) break;   // finish the epoch's validation first, then stop below
          return { status: 'interrupted', history: st.history, test: st.test, checkpoint: this.save('interrupt') };
        }
      }
      const acc = st.acc;
      const t0 = performance.now();
      const averaged = this.averaging;
      const valid = await this.evaluate('valid', ro);
      const tokens = this.epochTokens(acc);
      const rec: EpochRecord = {
        epoch: st.epoch + 1, lr: this.baseLr(),
        trainPerplexity: Math.exp(acc.cost / acc.steps), validPerplexity: valid.perplexity,
        trainNats: acc.cost / acc.steps, validNats: valid.cost / valid.steps,
        windows: acc.windows, tokens, seconds: round(acc.seconds + (performance.now() - t0) / 1000, 3),
        tokensPerSecond: Math.round(tokens / acc.seconds),
        updates: acc.updates, clipped: acc.clipped, clipRate: acc.updates ? acc.clipped / acc.updates : 0, skipped: acc.skipped,
        gradNorm: { mean: acc.gnSum / Math.max(acc.updates - acc.skipped, 1), min: Number.isFinite(acc.gnMin) ? acc.gnMin : 0, max: acc.gnMax },
      };
      if (cfg.testEveryEpoch && cfg.testTokens >= 0) {
        const t = await this.evaluate('test', ro);
        rec.testPerplexity = t.perplexity; rec.testNats = t.cost / t.steps;
      }
      if (acc.hSum) rec.hGradNorms = acc.hSum.map((row) => row.map((v) => v / acc.hCount));
      // A non-finite perplexity stops the run in either mode: the epoch's updates are already applied, and
      // nothing of it is saved, so checkpoint.ckpt and best.ckpt keep the last good epoch.
      for (const [split, ppl, nats] of [['training', rec.trainPerplexity, rec.trainNats], ['validation', rec.validPerplexity, rec.validNats]] as const) {
        if (!Number.isFinite(ppl)) {
          throw new DivergenceError(`training diverged in epoch ${rec.epoch} (step ${this.tbptt.totals.steps}), tensor "loss": ${split} perplexity is ${ppl} (${nats} nats/token); ` +
            'nothing of this epoch is saved, the last good checkpoint is kept — lower --lr or set --max-grad-norm');
        }
      }
      if (cfg.ntAsgd > 0) rec.averaged = averaged;
      if (this.ntAsgdCheck(rec.validNats)) rec.ntAsgdSwitch = true;
      st.history.push(rec);
      st.epoch++; st.window = 0; st.acc = freshAcc();
      ev?.epochEnd?.(rec);   // before the saves, so a progress bar is closed when their lines print
      const stopNow = (ro.stopAfterWindows !== undefined && ranThisCall >= ro.stopAfterWindows) || (ro.shouldStop?.() ?? false);
      // The order makes every kill recoverable: best.ckpt first (a kill before the latest checkpoint
      // is written redoes this epoch, identically, and writes best again), then checkpoint.ckpt, then
      // the log from the checkpoint's history. A stop request (in the last window or during validation)
      // still gets the best checkpoint.
      if (this.isBest(rec.validPerplexity)) this.saveBest();
      const stopping = stopNow && st.epoch < cfg.epochs;
      const file = this.save(stopping ? 'interrupt' : 'epoch');
      this.writeLog();
      if (stopping) return { status: 'interrupted', history: st.history, test: st.test, checkpoint: file };
    }
    if (!st.test && cfg.testTokens >= 0) {
      const data = limit(this.corpus.test, cfg.testTokens);
      ev?.testStart?.({ tokens: data.length, batchSize: cfg.testBatchSize, numSteps: cfg.testNumSteps });
      const t0 = performance.now();
      const r = await this.evaluate('test', ro);
      st.test = { test: true, perplexity: r.perplexity, nats: r.cost / r.steps, tokens: r.steps * cfg.testBatchSize, batchSize: cfg.testBatchSize, numSteps: cfg.testNumSteps, seconds: round((performance.now() - t0) / 1000, 3) };
      if (this.averaging) st.test.averaged = true;
      ev?.test?.(st.test);
    }
    const file = this.save('final');
    this.writeLog();
    return { status: 'done', history: st.history, test: st.test, checkpoint: file };
  }

  /**
   * Validation (the training B and T, capped at validTokens) or test (testBatchSize, testNumSteps,
   * testTokens) perplexity, with NT-ASGD's averaged weights once it has switched, the state carried from zero: `evaluateWindows` one window at a time, so
   * the loop can yield between windows; the sums, hence exp(cost/steps), are the same.
   */
  async evaluate(split: 'valid' | 'test', ro: RunOptions = {}): Promise<ScoreResult> {
    const b = split === 'valid' ? validBatcher(this.cfg, this.corpus) : testBatcher(this.cfg, this.corpus);
    return this.withEvalWeights(() => scoreStream(this.model, b, { yieldEveryWindow: ro.yieldEveryWindow, progress: () => ro.afterWindow?.() }));
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function limit(data: Int32Array, tokens: number): Int32Array { return tokens > 0 ? data.subarray(0, tokens) : data; }

function validBatcher(cfg: TrainConfig, corpus: Corpus): StreamBatcher {
  return batcherFor('validation', limit(corpus.valid, cfg.validTokens), cfg.batchSize, cfg.numSteps);
}
function testBatcher(cfg: TrainConfig, corpus: Corpus): StreamBatcher {
  return batcherFor('test', limit(corpus.test, cfg.testTokens), cfg.testBatchSize, cfg.testNumSteps);
}
function batcherFor(split: string, data: Int32Array, B: number, T: number): StreamBatcher {
  try { return new StreamBatcher(data, B, T); } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${split} split: ${e.message}`);
    throw e;
  }
}

function addHGrad(acc: EpochAcc, h: number[][], k2: number): void {
  acc.hSum ??= h.map(() => new Array<number>(k2).fill(0));
  // Newest steps aligned; a variable-length window longer than k2 gives its last k2 steps.
  h.forEach((full, l) => { const row = full.slice(-k2), off = k2 - row.length; row.forEach((v, i) => { acc.hSum![l]![off + i]! += v; }); });
  acc.hCount++;
}

/** NT-ASGD's checkpoint tensors (once switched): the weights training continues from, and the float64 average. */
const RAW_TENSOR = 'ntasgd.raw', AVG_TENSOR = 'ntasgd.avg';

/** Throws FormatError unless `x` looks like a `TrainerState` (a re-signed or weights-only checkpoint has none). */
function checkTrainerState(x: unknown, file: string): void {
  const bad = (what: string): never => {
    throw new FormatError(`${file}: ${what}; it cannot be resumed (not written by backprop train?) — train afresh, or use it with eval/generate/export`);
  };
  if (typeof x !== 'object' || x === null) bad('no "trainer_state" metadata');
  const s = x as Record<string, unknown>;
  for (const k of ['epoch', 'window', 'windowsDone'] as const) {
    if (!Number.isInteger(s[k]) || (s[k] as number) < 0) bad(`trainer_state.${k} is ${JSON.stringify(s[k])}, not an integer ≥ 0`);
  }
  if (typeof s.acc !== 'object' || s.acc === null) bad('trainer_state.acc is missing');
  if (!Array.isArray(s.history)) bad('trainer_state.history is missing');
  if (typeof s.rng !== 'object' || s.rng === null) bad('trainer_state.rng is missing');
}

function round(x: number, d: number): number { const f = 10 ** d; return Math.round(x * f) / f; }
