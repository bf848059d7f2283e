/**
 * Training configurations: the TensorFlow PTB tutorial's small / medium / large (same numbers, same
 * names in comments), plus `tiny`, sized to finish in a few minutes on a 2-core machine, and
 * `awd-small` (Brown) and `awd-char` (Tiny Shakespeare), AWD-LSTM's regularisers sized for it.
 * A configuration is plain JSON: it goes into every checkpoint, so a run can be resumed or evaluated
 * from the checkpoint alone.
 *
 * @example
 *   const cfg = resolveConfig('small', { epochs: 2, maxStepsPerEpoch: 100 });   // throws ConfigError if impossible
 */
import { ConfigError } from '../errors.js';
import { cellKinds, type CellKind } from '../nn/recurrent.js';
import { optimizerKinds, type OptimizerKind } from '../optim/optimizers.js';
import { checkCorpusSource, type DataSource } from '../data/sources.js';

/** The regularisers' fields, all off: the defaults of a configuration written before they existed (buildModel and validateConfig read a missing field as off). */
export const regulariserDefaults: Pick<TrainConfig, 'tieWeights' | 'dropoutEmbed' | 'dropoutInput' | 'dropoutHidden' | 'dropoutOutput' | 'weightDrop' | 'ar' | 'tar'> = {
  tieWeights: false, dropoutEmbed: 0, dropoutInput: 0, dropoutHidden: 0, dropoutOutput: 0, weightDrop: 0, ar: 0, tar: 0,
};

/** A complete language-model training run: data, model, optimizer, schedule and evaluation (a preset plus overrides, `resolveConfig`). */
export interface TrainConfig {
  /** Run name (default output folder runs/<name>). */
  name: string;
  data: DataSource;
  /** data = 'text': the file; data = 'ptb': the folder with ptb.{train,valid,test}.txt. */
  text?: string;
  ptbDir?: string;
  /** Token level for 'text' and 'ptb' (Brown is always word level). */
  level: 'word' | 'char';
  /** Number of epochs (TF max_max_epoch). */
  epochs: number;
  /** B, parallel streams (TF batch_size). */
  batchSize: number;
  /** T, steps per window (TF num_steps). */
  numSteps: number;
  /** TBPTT(k1, k2): update every k1 steps through the last k2 (TF: k1 = k2 = num_steps). */
  k1: number;
  k2: number;
  hidden: number;
  /** Embedding width (TF: = hidden). */
  embed: number;
  layers: number;
  cell: CellKind;
  optimizer: OptimizerKind;
  /** TF learning_rate. */
  lr: number;
  /** TF lr_decay, applied as lr·decay^max(epoch+1−maxEpoch, 0). */
  lrDecay: number;
  /** TF max_epoch: epochs at the initial learning rate. */
  maxEpoch: number;
  /** TF max_grad_norm; 0 = no clipping. */
  maxGradNorm: number;
  keepProb: number;
  forgetBias: number;
  initScale: number;
  // AWD-LSTM's model-side regularisers (Merity et al. 2017); LMConfig (src/nn/language-model.ts) defines
  // each. All off by default; a configuration without these fields (an older checkpoint) means off.
  /** Tie the output weights to the embedding (a learned H→E projection first when hidden ≠ embed). */
  tieWeights: boolean;
  /** Embedding dropout: whole word types dropped per window (AWD 0.1). */
  dropoutEmbed: number;
  /** Locked dropout on the first layer's inputs (AWD dropouti: 0.4 on PTB, 0.65 on WikiText-2). */
  dropoutInput: number;
  /** Locked dropout between recurrent layers (AWD dropouth 0.3 on PTB). */
  dropoutHidden: number;
  /** Locked dropout on the last layer's outputs (AWD dropout 0.4). */
  dropoutOutput: number;
  /** Weight-drop (DropConnect) on the hidden-to-hidden weights, one mask per window (AWD wdrop 0.5). */
  weightDrop: number;
  /** Activation regularisation α (AWD 2). */
  ar: number;
  /** Temporal activation regularisation β (AWD 1). */
  tar: number;
  seed: number;
  /** Stop each training epoch after this many windows (0 = the whole epoch). For quick runs; successive
   *  short epochs take successive slices of the stream (see LMTrainer.windowIndex). */
  maxStepsPerEpoch: number;
  /** Evaluate validation on at most this many tokens (0 = the whole split). */
  validTokens: number;
  /** Final test evaluation: batch size, steps, token limit (0 = all), or skip it (testTokens < 0). */
  testBatchSize: number;
  testNumSteps: number;
  testTokens: number;
  /** Also score the test split after every epoch (recorded as testPerplexity in that epoch's record). */
  testEveryEpoch: boolean;
  /** Record ‖∂E/∂h_t‖ per step and report it each epoch. */
  diagnostics: boolean;
  /**
   * The divergence guard (docs/training.md): a NaN/Inf loss or gradient, a non-finite epoch perplexity,
   * or `divergencePatience` consecutive updates (0 = off) whose mean cost exceeds divergenceFactor·ln|V|
   * (a uniform guess costs ln|V|) is divergence. 'stop' ends the run with a DivergenceError; 'skip' skips
   * a non-finite update, or halves the learning rate after a run of high losses, and goes on (a
   * non-finite perplexity stops in either mode).
   */
  onDivergence: 'stop' | 'skip';
  divergenceFactor: number;
  divergencePatience: number;
  // --- Trainer schedule: validation checks, NT-ASGD, variable BPTT, log rows (docs/training.md) ---
  /**
   * Validate after windows validEvery, 2·validEvery, … of every epoch as well as at its end; 0 = at
   * epoch ends only. Each validation is a *check*: a line in the log, best.ckpt
   * when it is the lowest so far, a checkpoint, and one entry of NT-ASGD's history.
   */
  validEvery: number;
  /**
   * NT-ASGD, non-monotonically triggered averaged SGD (Merity, Keskar & Socher 2017, "Regularizing and
   * Optimizing LSTM Language Models", §3, Algorithm 1): train with the optimizer as configured until a
   * check's validation loss v is worse than the best of all checks except the last n ones, i.e. t > n
   * and v > min(logs[0 … t−n−1]) with t checks logged before this one; from then on keep the running
   * average of the weights from that point, (1/(k−T+1)) Σ_{i=T..k} w_i over the iterates w_i after
   * each update. Validation, best.ckpt, the final test and the checkpoint's parameters (eval,
   * generate, export) use the average; training continues on the raw weights. This field is n (the
   * paper uses 5 with a check every epoch); 0 = off. The paper's optimizer is plain SGD.
   */
  ntAsgd: number;
  /**
   * Variable-length BPTT (Merity et al. 2017, §4.1): each training window's length is drawn as
   * max(bpttMin, round(N(μ, bpttSd²))) with μ = numSteps with probability bpttP, else numSteps/2. The
   * paper scales the learning rate by length/numSteps for that window's update, so that every token
   * weighs the same whatever the window's length: its loss is the window's *mean*, clipped at c, and
   * the optimizer steps at lr·len/T. Our loss is the tutorial's *sum* over the window's steps, so the
   * trainer first normalises the window's gradient to T steps (×T/len: T times the paper's mean-loss
   * gradient), clips it at maxGradNorm (= c_paper·T) and steps at lr·len/T: the paper's update for any
   * optimizer, with lr = lr_paper/T for SGD and momentum and lr = lr_paper for Adam (which ignores the
   * constant T). src/train/schedule.test.ts checks the updates agree, for SGD, momentum and Adam,
   * clipped and unclipped. The draws come from the run's seeded generator, so a resumed run
   * draws the same lengths. Each window is one update over exactly its steps (k1 = k2 = its length),
   * so k1 and k2 must equal numSteps. An epoch is one pass over the stream (or maxStepsPerEpoch windows).
   */
  bpttVariable: boolean;
  bpttP: number;
  bpttSd: number;
  bpttMin: number;
  /** Write a progress line to the log every `logEvery` training windows (the epoch's training loss so far); 0 = none. */
  logEvery: number;
}

/** The TF tutorial's fields shared by every preset that does not set them. */
const base: Omit<TrainConfig, 'name'> = {
  ...regulariserDefaults,
  data: 'brown-ptb', level: 'word',
  epochs: 13, batchSize: 20, numSteps: 20, k1: 20, k2: 20, hidden: 200, embed: 200, layers: 2,
  cell: 'lstm', optimizer: 'sgd', lr: 1.0, lrDecay: 0.5, maxEpoch: 4, maxGradNorm: 5, keepProb: 1.0,
  forgetBias: 0, initScale: 0.1, seed: 1, maxStepsPerEpoch: 0, validTokens: 0,
  testBatchSize: 1, testNumSteps: 1, testTokens: 0, testEveryEpoch: false, diagnostics: false, onDivergence: 'stop',
  divergenceFactor: 3, divergencePatience: 20,
  validEvery: 0, ntAsgd: 0, bpttVariable: false, bpttP: 0.95, bpttSd: 5, bpttMin: 5, logEvery: 0,
};

/**
 * The fields added after runs were already logged and checkpointed, with the values that reproduce
 * what those runs did (all off): a configuration read from an older checkpoint or log takes these.
 */
export const laterFieldDefaults: Partial<TrainConfig> = {
  divergenceFactor: 3, divergencePatience: 20,
  validEvery: 0, ntAsgd: 0, bpttVariable: false, bpttP: 0.95, bpttSd: 5, bpttMin: 5, logEvery: 0,
  ...regulariserDefaults,
};

export const presets: Record<string, TrainConfig> = {
  // TF SmallConfig: init_scale 0.1, learning_rate 1.0, max_grad_norm 5, num_layers 2, num_steps 20,
  // hidden_size 200, max_epoch 4, max_max_epoch 13, keep_prob 1.0, lr_decay 0.5, batch_size 20.
  small: { ...base, name: 'small' },
  // TF MediumConfig.
  medium: {
    ...base, name: 'medium', initScale: 0.05, lr: 1.0, maxGradNorm: 5, layers: 2, numSteps: 35, k1: 35, k2: 35,
    hidden: 650, embed: 650, maxEpoch: 6, epochs: 39, keepProb: 0.5, lrDecay: 0.8, batchSize: 20,
  },
  // TF LargeConfig.
  large: {
    ...base, name: 'large', initScale: 0.04, lr: 1.0, maxGradNorm: 10, layers: 2, numSteps: 35, k1: 35, k2: 35,
    hidden: 1500, embed: 1500, maxEpoch: 14, epochs: 55, keepProb: 0.35, lrDecay: 1 / 1.15, batchSize: 20,
  },
  // A few minutes on 2 cores: Brown (PTB preparation, |V| = 10,000), a one-layer 64-unit LSTM,
  // 4 short epochs of 150 windows (48,000 tokens each) and 20,000 validation tokens. Adam, because
  // plain SGD needs many more updates than 600 to get anywhere. See docs/training.md.
  tiny: {
    ...base, name: 'tiny', data: 'brown-ptb', epochs: 4, batchSize: 16, numSteps: 20, k1: 20, k2: 20,
    hidden: 64, embed: 64, layers: 1, optimizer: 'adam', lr: 0.01, lrDecay: 0.5, maxEpoch: 3, maxGradNorm: 5,
    maxStepsPerEpoch: 150, validTokens: 20_000, testBatchSize: 16, testNumSteps: 20, testTokens: 20_000,
  },
  // AWD-LSTM's regularisers on the tutorial's SGD schedule, sized for Brown (Bengio split, |V| 17,905) in
  // about an hour of two threads here: 2×LSTM 300 with the 300-wide embedding tied to the softmax (the
  // 300×17,905 softmax is most of the cost; tying halves the parameters), dropouts 0.1 embedding, 0.3
  // input, 0.2 between layers, 0.3 output, weight-drop 0.2, AR 2, TAR 1; SGD at the tutorial's lr 1 for
  // 4 epochs, then halved each epoch, 9 epochs, clip 5. The committed run (docs/results.md) is this preset
  // with seed 1; the reasoning and its measured costs: docs/training.md, "Presets sized for this machine".
  'awd-small': {
    ...base, name: 'awd-small', data: 'brown-bengio', epochs: 9, batchSize: 20, numSteps: 35, k1: 35, k2: 35,
    hidden: 300, embed: 300, layers: 2, optimizer: 'sgd', lr: 1, lrDecay: 0.5, maxEpoch: 4, maxGradNorm: 5,
    keepProb: 1, initScale: 0.1, tieWeights: true, dropoutEmbed: 0.1, dropoutInput: 0.3, dropoutHidden: 0.2,
    dropoutOutput: 0.3, weightDrop: 0.2, ar: 2, tar: 1, testBatchSize: 1, testNumSteps: 1, logEvery: 200,
  },
  // Tiny Shakespeare characters in 60 minutes (sized from one-thread speeds; the committed run used two): 2×LSTM 384 (2.2× the cost per character of the
  // documented 2×256 run, which reached 1.535 nats/char in six passes and was still falling), embedding
  // 64, locked dropout and a light weight-drop in place of per-step dropout, Adam 0.002 halved for the
  // last three of 8 passes, variable BPTT around 100 characters. docs/training.md gives the arithmetic.
  'awd-char': {
    ...base, name: 'awd-char', data: 'shakespeare', level: 'char', epochs: 8, batchSize: 32, numSteps: 100, k1: 100, k2: 100,
    hidden: 384, embed: 64, layers: 2, optimizer: 'adam', lr: 0.002, lrDecay: 0.5, maxEpoch: 5, maxGradNorm: 5,
    keepProb: 1, initScale: 0.08, dropoutInput: 0.1, dropoutHidden: 0.2, dropoutOutput: 0.2, weightDrop: 0.2,
    bpttVariable: true, testBatchSize: 32, testNumSteps: 100, logEvery: 100,
  },
};

/**
 * The names of the built-in training presets (`backprop train --preset NAME`, `resolveConfig(NAME)`).
 *
 * @example
 * ```ts
 * import { presetNames } from 'backprop/node';
 * presetNames; // ['small', 'medium', 'large', 'tiny', 'awd-small', 'awd-char']
 * ```
 */
export const presetNames = Object.keys(presets);

/**
 * A preset with fields overridden; throws ConfigError naming the value if the result is impossible.
 * `base` (a configuration read from a file or a log, `backprop train --config`) is applied first and
 * `overrides` (the flags) over it; each layer follows the same rules: numSteps sets k1 and k2 unless
 * the layer gives them, hidden sets embed, data "shakespeare" means characters unless it gives a level.
 * A field the preset does not have is a ConfigError (a misspelt field in a configuration file).
 *
 * @example
 * ```ts
 * import { resolveConfig } from 'backprop/node';
 * const cfg = resolveConfig('small', { epochs: 3, cell: 'gru' }); // the preset with overrides, validated
 * ```
 */
export function resolveConfig(preset: string, overrides: Partial<TrainConfig> = {}, base: Partial<TrainConfig> = {}): TrainConfig {
  const p = Object.hasOwn(presets, preset) ? presets[preset] : undefined;
  if (!p) throw new ConfigError(`unknown preset "${preset}" (choose ${presetNames.join(', ')})`);
  const cfg: TrainConfig = { ...p };
  for (const layer of [base, overrides]) {
    const defined = Object.fromEntries(Object.entries(layer).filter(([, v]) => v !== undefined)) as Partial<TrainConfig>;
    for (const k of Object.keys(defined)) {
      if (!Object.hasOwn(p, k) && k !== 'text' && k !== 'ptbDir') throw new ConfigError(`unknown configuration field "${k}"`);
    }
    Object.assign(cfg, defined);
    // num_steps sets the TBPTT window unless k1/k2 are given.
    if (defined.numSteps !== undefined) {
      if (defined.k1 === undefined) cfg.k1 = defined.numSteps;
      if (defined.k2 === undefined) cfg.k2 = defined.numSteps;
    }
    if (defined.hidden !== undefined && defined.embed === undefined) cfg.embed = defined.hidden;
    if (defined.data === 'shakespeare' && defined.level === undefined) cfg.level = 'char';
  }
  if (overrides.data === 'text' && overrides.name === undefined && base.name === undefined && cfg.text) cfg.name = `${preset}-text`;
  validateConfig(cfg);
  return cfg;
}

/** Throws ConfigError naming the first impossible field. Data-dependent checks happen when the data loads. */
export function validateConfig(c: TrainConfig): void {
  const posInt = ['epochs', 'batchSize', 'numSteps', 'k1', 'k2', 'hidden', 'embed', 'layers', 'maxEpoch', 'testBatchSize', 'testNumSteps'] as const;
  for (const k of posInt) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new ConfigError(`${k} must be a positive integer, got ${c[k]}`);
  }
  for (const k of ['maxStepsPerEpoch', 'validTokens', 'seed'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new ConfigError(`${k} must be an integer ≥ 0, got ${c[k]}`);
  }
  if (!Number.isInteger(c.testTokens)) throw new ConfigError(`testTokens must be an integer (< 0 skips the test), got ${c.testTokens}`);
  checkCorpusSource(c);
  if (!cellKinds.includes(c.cell)) throw new ConfigError(`unknown cell "${c.cell}" (choose ${cellKinds.join(', ')})`);
  if (!optimizerKinds.includes(c.optimizer)) throw new ConfigError(`unknown optimizer "${c.optimizer}" (choose ${optimizerKinds.join(', ')})`);
  // lr 0 is allowed (docs/training.md): the loop runs and measures the initial model without changing it.
  if (!(Number.isFinite(c.lr) && c.lr >= 0)) throw new ConfigError(`lr must be a finite number ≥ 0 (0 = measure without training), got ${c.lr}`);
  if (!(c.lrDecay > 0 && c.lrDecay <= 1)) throw new ConfigError(`lrDecay must be in (0, 1], got ${c.lrDecay}`);
  if (!(Number.isFinite(c.maxGradNorm) && c.maxGradNorm >= 0)) throw new ConfigError(`maxGradNorm must be ≥ 0 (0 = no clipping), got ${c.maxGradNorm}`);
  if (!(c.keepProb > 0 && c.keepProb <= 1)) throw new ConfigError(`keepProb must be in (0, 1], got ${c.keepProb}`);
  // The regularisers (absent = off, as in a configuration older than them).
  if (c.tieWeights !== undefined && typeof c.tieWeights !== 'boolean') throw new ConfigError(`tieWeights must be true or false, got ${JSON.stringify(c.tieWeights)}`);
  for (const k of ['dropoutEmbed', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'weightDrop'] as const) {
    const v = c[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v < 1)) throw new ConfigError(`${k} must be a probability in [0, 1), got ${v}`);
  }
  for (const k of ['ar', 'tar'] as const) {
    const v = c[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new ConfigError(`${k} must be a finite number ≥ 0, got ${v}`);
  }
  if (!Number.isFinite(c.forgetBias)) throw new ConfigError(`forgetBias must be a finite number, got ${c.forgetBias}`);
  if (!(c.initScale > 0)) throw new ConfigError(`initScale must be > 0, got ${c.initScale}`);
  if (!(Number.isFinite(c.divergenceFactor) && c.divergenceFactor >= 1)) throw new ConfigError(`divergenceFactor must be a number ≥ 1 (times ln|V|), got ${c.divergenceFactor}`);
  if (!Number.isInteger(c.divergencePatience) || c.divergencePatience < 0) throw new ConfigError(`divergencePatience must be an integer ≥ 0 (0 = off), got ${c.divergencePatience}`);
  if (c.onDivergence !== 'stop' && c.onDivergence !== 'skip') throw new ConfigError(`onDivergence must be stop or skip, got "${c.onDivergence}"`);
  validateSchedule(c);
  if (!c.name || /[/\\]/.test(c.name)) throw new ConfigError(`run name must be non-empty without slashes, got "${c.name}"`);
}

/** The trainer-schedule fields (validation checks, NT-ASGD, variable BPTT, log rows). */
function validateSchedule(c: TrainConfig): void {
  for (const k of ['validEvery', 'ntAsgd', 'logEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new ConfigError(`${k} must be an integer ≥ 0 (0 = off), got ${c[k]}`);
  }
  if (typeof c.bpttVariable !== 'boolean') throw new ConfigError(`bpttVariable must be true or false, got ${JSON.stringify(c.bpttVariable)}`);
  if (!(c.bpttP >= 0 && c.bpttP <= 1)) throw new ConfigError(`bpttP must be in [0, 1], got ${c.bpttP}`);
  if (!(Number.isFinite(c.bpttSd) && c.bpttSd >= 0)) throw new ConfigError(`bpttSd must be a finite number ≥ 0, got ${c.bpttSd}`);
  if (!Number.isInteger(c.bpttMin) || c.bpttMin < 1) throw new ConfigError(`bpttMin must be a positive integer, got ${c.bpttMin}`);
  if (c.bpttVariable && (c.k1 !== c.numSteps || c.k2 !== c.numSteps)) {
    throw new ConfigError(`variable BPTT makes each window one update over its own length: k1 and k2 must equal numSteps (${c.numSteps}), got k1 ${c.k1}, k2 ${c.k2}`);
  }
}
