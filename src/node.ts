/**
 * backprop/node: the Node-only part of the public API, model IO on file paths. Import it beside
 * 'backprop' (it does not re-export it). Importing it registers the `file://` scheme, so
 * `saveModel(model, 'file://out/model.ckpt')` and `loadModel('file://…')` work, as importing
 * @tensorflow/tfjs-node does for TensorFlow.js; it starts nothing else.
 *
 * @example
 * ```ts
 * import { Dense, saveModel, loadModel } from 'backprop';
 * import { saveFile, loadFile, safeOpen } from 'backprop/node';
 * await saveModel(new Dense(2, 1), 'file://out/net.ckpt');
 * const { model } = await loadModel('file://out/net.ckpt');
 * ```
 *
 * @module backprop/node
 */
import { registerIOScheme } from './io/model.js';
import { fileHandler } from './io/files.js';

export { fileHandler, saveFile, loadFile, safeOpen } from './io/files.js';
export { saveCheckpoint, loadCheckpoint, exportWeights, importSafetensors, type WeightsSidecar } from './io/checkpoint.js';
export { writeFileAtomic } from './io/atomic.js';
export { fitLanguageModel, type LMFitOptions, type LMFitResult, type LMStopReason, type EarlyStoppingOptions } from './train/fit-lm.js';
export { resolveConfig, presetNames, type TrainConfig } from './train/presets.js';
export { loadCorpus, shakespeareFile, type CorpusSource, type DataSource } from './data/sources.js';
export { configFromText, dataIdentity, logHeader, runKernels, PACKAGE_VERSION, type LogHeader, type DataIdentity } from './train/run-log.js';
export { textCorpusFromBytes, loadTextCorpus, type TextCorpusOptions } from './data/text.js';
export type { Corpus } from './data/corpus.js';
export {
  LMTrainer, type TrainerEvents, type TrainerOptions, type RunOptions, type EpochRecord, type GradStats, type WindowEvent, type TestRecord, type RunResult,
  type CheckRecord, type ProgressRecord,
} from './train/lm-trainer.js';

// file:///abs/path and file://relative/path both name a path (the rest after the scheme).
registerIOScheme('file://', (rest) => fileHandler(rest));
