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
import { validateConfig, type TrainConfig } from './presets.js';

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
}

/** The test-set measurement at the end of a run (one line of train.jsonl). */
export interface TestRecord { test: true; perplexity: number; nats: number; tokens: number; batchSize: number; numSteps: number; seconds: number }

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
  /** The test measurement begins. */
  testStart?(e: { tokens: number; batchSize: number; numSteps: number }): void;
  /** The test measurement is done. */
  test?(r: TestRecord): void;
  /** A checkpoint was written, and why. */
  checkpoint?(file: string, reason: 'epoch' | 'interrupt' | 'final' | 'best'): void;
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
      diagnostics: cfg.diagnostics, onDivergence: cfg.onDivergence,
    });
    this.schedule = stepDecay(cfg.lr, cfg.lrDecay, cfg.maxEpoch);
    this.st = { epoch: 0, window: 0, rng: this.rng.getState(), acc: freshAcc(), history: [], test: null, windowsDone: 0, lrScale: 1, highLoss: 0 };
    this.folder = opts.outDir ? new RunFolder(opts.outDir) : null;
  }

  /** A fresh run. Loads the corpus unless given; throws ConfigError/DataError before writing anything. */
  static create(cfg: TrainConfig, opts: TrainerOptions): LMTrainer {
    const t = new LMTrainer(cfg, opts.corpus ?? loadCorpus(cfg), opts);
    t.folder?.start(cfg, opts.force ?? false);
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
    const cfg: TrainConfig = { ...guardDefaults, ...(saved as TrainConfig) };
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
    this.st = { ...saved, lrScale: saved.lrScale ?? 1, highLoss: saved.highLoss ?? 0 } as TrainerState;
    if (this.st.acc.gnMin === null) this.st.acc.gnMin = Infinity;   // JSON has no Infinity
    this.rng.setState(this.st.rng);
    if (this.st.window > 0) this.tbptt.setState(stateFromTensors(ck.tensors, this.cfg, file));
  }

  /** Where the checkpoint goes (null when the trainer writes nothing). */
  get checkpointFile(): string | null { return this.folder?.checkpointFile ?? null; }

  /**
   * The checkpoint's contents (also used by tests to compare runs without files): parameters,
   * optimizer state, the carried state mid-epoch, and the trainer's position.
   */
  snapshot(): Checkpoint {
    const opt = optimizerContents(this.optimizer);
    const tensors = { ...modelTensors(this.model), ...opt.tensors, ...(this.st.window > 0 ? stateTensors(this.tbptt.state) : {}) };
    this.st.rng = this.rng.getState();
    return {
      tensors,
      meta: { config: this.cfg, vocab: this.corpus.vocab.toJSON(), optimizer: opt.meta, trainer_state: this.st },
    };
  }

  private save(reason: 'epoch' | 'interrupt' | 'final'): string | null {
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

  /** What train.jsonl holds: the epoch records, then the test's. */
  logRecords(): Array<EpochRecord | TestRecord> { return this.st.test ? [...this.st.history, this.st.test] : [...this.st.history]; }

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

  /** Windows in one training epoch (the whole epoch, or maxStepsPerEpoch). */
  get windowsPerEpoch(): number {
    const n = this.train.epochSize;
    return this.cfg.maxStepsPerEpoch > 0 ? Math.min(n, this.cfg.maxStepsPerEpoch) : n;
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

  /** Trains until the configured epochs are done (then tests) or until stopped (then checkpoints). */
  async run(ro: RunOptions = {}): Promise<RunResult> {
    const cfg = this.cfg, ev = this.opts.events, st = this.st;
    const B = cfg.batchSize, T = cfg.numSteps;
    const windows = this.windowsPerEpoch;
    let ranThisCall = 0;
    while (st.epoch < cfg.epochs) {
      if (st.window === 0) {
        this.optimizer.lr = this.schedule(st.epoch) * st.lrScale;
        this.tbptt.resetState();
        st.acc = freshAcc();
      }
      ev?.epochStart?.({ epoch: st.epoch + 1, windows, lr: this.optimizer.lr, resumedAt: st.window });
      this.model.train();
      for (; st.window < windows;) {
        const t0 = performance.now();
        const w = this.train.window(this.windowIndex(st.epoch, st.window));
        const r = this.tbptt.feed(w.x, w.y, T);
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
        const scheduled = this.schedule(st.epoch);
        if (scheduled > 0) st.lrScale = this.optimizer.lr / scheduled;
        st.window++; st.windowsDone++; ranThisCall++;
        ev?.window?.({ epoch: st.epoch + 1, window: st.window, windows, tokens: acc.windows * B * T, seconds: acc.seconds, perplexity: Math.exp(acc.cost / Math.max(acc.steps, 1)) });
        ro.afterWindow?.();
        if (ro.yieldEveryWindow ?? true) await yieldToEventLoop();
        const stop = (ro.stopAfterWindows !== undefined && ranThisCall >= ro.stopAfterWindows) || (ro.shouldStop?.() ?? false);
        if (stop) {
          if (st.window === windows) break;   // finish the epoch's validation first, then stop below
          return { status: 'interrupted', history: st.history, test: st.test, checkpoint: this.save('interrupt') };
        }
      }
      const acc = st.acc;
      const t0 = performance.now();
      const valid = await this.evaluate('valid', ro);
      const rec: EpochRecord = {
        epoch: st.epoch + 1, lr: this.optimizer.lr,
        trainPerplexity: Math.exp(acc.cost / acc.steps), validPerplexity: valid.perplexity,
        trainNats: acc.cost / acc.steps, validNats: valid.cost / valid.steps,
        windows: acc.windows, tokens: acc.windows * B * T, seconds: round(acc.seconds + (performance.now() - t0) / 1000, 3),
        tokensPerSecond: Math.round(acc.windows * B * T / acc.seconds),
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
      st.history.push(rec);
      st.epoch++; st.window = 0; st.acc = freshAcc();
      ev?.epochEnd?.(rec);   // before the saves, so a progress bar is closed when their lines print
      const stopNow = (ro.stopAfterWindows !== undefined && ranThisCall >= ro.stopAfterWindows) || (ro.shouldStop?.() ?? false);
      // The order makes every kill recoverable: best.ckpt first (a kill before the latest checkpoint
      // is written redoes this epoch, identically, and writes best again), then checkpoint.ckpt, then
      // the log from the checkpoint's history. A stop request (in the last window or during validation)
      // still gets the best checkpoint.
      if (st.history.every((h) => h.validPerplexity >= rec.validPerplexity)) this.saveBest();
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
      ev?.test?.(st.test);
    }
    const file = this.save('final');
    this.writeLog();
    return { status: 'done', history: st.history, test: st.test, checkpoint: file };
  }

  /**
   * Validation (the training B and T, capped at validTokens) or test (testBatchSize, testNumSteps,
   * testTokens) perplexity, the state carried from zero: `evaluateWindows` one window at a time, so
   * the loop can yield between windows; the sums, hence exp(cost/steps), are the same.
   */
  async evaluate(split: 'valid' | 'test', ro: RunOptions = {}): Promise<ScoreResult> {
    const b = split === 'valid' ? validBatcher(this.cfg, this.corpus) : testBatcher(this.cfg, this.corpus);
    return scoreStream(this.model, b, { yieldEveryWindow: ro.yieldEveryWindow, progress: () => ro.afterWindow?.() });
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
  h.forEach((row, l) => { const off = k2 - row.length; row.forEach((v, i) => { acc.hSum![l]![off + i]! += v; }); });
  acc.hCount++;
}

/** Defaults for configuration fields newer than some checkpoints. */
const guardDefaults = { divergenceFactor: 3, divergencePatience: 20 };

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
