/**
 * A language model and its training state as checkpoint contents, and back: which configuration
 * builds which model, the file names of its parameters (docs/formats.md), where the optimizer's
 * buffers and the carried recurrent state go, and reading a trained model for eval, generate and
 * export. The trainer calls these; the bytes and files themselves are src/io's.
 */
import { ConfigError, FormatError } from '../errors.js';
import { Vocab } from '../data/vocab.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import type { TensorRecord } from '../io/safetensors.js';
import { LanguageModel, type LMConfig } from '../nn/language-model.js';
import type { StackState } from '../nn/recurrent.js';
import type { Optimizer } from '../optim/optimizers.js';
import { Rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { TrainConfig } from './presets.js';

/**
 * The model for a configuration. An allocation beyond what the backend can hold (the engine's
 * RangeError) becomes a ConfigError giving the model's size and the limit.
 */
export function buildModel(cfg: TrainConfig, vocabSize: number, rng: Rng): LanguageModel {
  try {
    return new LanguageModel({ ...lmRegularisers(cfg),
      vocabSize, embedSize: cfg.embed, hiddenSize: cfg.hidden, numLayers: cfg.layers, cell: cfg.cell,
      keepProb: cfg.keepProb, forgetBias: cfg.forgetBias, initScale: cfg.initScale,
    }, rng);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const n = parameterCount(cfg, vocabSize);
    throw new ConfigError(`the model needs ${4 * n.parameters} bytes for its ${n.parameters} parameters (its largest tensor ${4 * n.largest} bytes), ` +
      `and the backend can hold ${4 * MAX_TENSOR_ELEMENTS} bytes (2^32 float32 values) in one tensor and what the machine's memory allows ` +
      `(${e.message}): choose a smaller --hidden, --embed or --layers`);
  }
}

/**
 * The regularisers of a training configuration as `LMConfig` fields; a field the configuration lacks (a
 * checkpoint written before it existed) is off.
 */
export function lmRegularisers(cfg: Partial<TrainConfig>): Pick<LMConfig, 'tieWeights' | 'dropoutEmbed' | 'dropoutInput' | 'dropoutHidden' | 'dropoutOutput' | 'weightDrop' | 'ar' | 'tar'> {
  return {
    tieWeights: cfg.tieWeights ?? false, dropoutEmbed: cfg.dropoutEmbed ?? 0, dropoutInput: cfg.dropoutInput ?? 0, dropoutHidden: cfg.dropoutHidden ?? 0,
    dropoutOutput: cfg.dropoutOutput ?? 0, weightDrop: cfg.weightDrop ?? 0, ar: cfg.ar ?? 0, tar: cfg.tar ?? 0,
  };
}

/** The most elements one typed array (hence one tensor) can have in Node 20's V8. */
const MAX_TENSOR_ELEMENTS = 2 ** 32;

/** Parameters of the model `buildModel` makes (embedding, recurrent kernels and biases, projection), and the largest tensor's size. */
export function parameterCount(cfg: TrainConfig, vocabSize: number): { parameters: number; largest: number } {
  const gates = cfg.cell === 'lstm' ? 4 : cfg.cell === 'gru' ? 2 : 1;
  // Tied: the output reuses the embedding; a projection [H, E] only when H ≠ E.
  const out = cfg.tieWeights ? (cfg.hidden === cfg.embed ? 0 : cfg.hidden * cfg.embed) : cfg.hidden * vocabSize;
  const sizes = [vocabSize * cfg.embed, out, vocabSize];
  for (let l = 0; l < cfg.layers; l++) {
    const K = (l === 0 ? cfg.embed : cfg.hidden) + cfg.hidden;
    sizes.push(K * gates * cfg.hidden, gates * cfg.hidden);
    if (cfg.cell === 'gru') sizes.push(K * cfg.hidden, cfg.hidden);
  }
  return { parameters: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) };
}

/**
 * Our module's parameter names → the file naming scheme of docs/formats.md:
 * `rnn.layers.{l}.kernel` → `{cell}.{l}.kernel` (so an LSTM's are `lstm.{l}.kernel`, as lstmLmToTensors
 * names them); `embedding.weight`, `proj.weight`, `proj.bias` stay. A tied model has no `proj.weight`
 * (its output weights are `embedding.weight`, stored once) and, when H ≠ E, a `proj.hiddenToEmbed` [H, E].
 */
export function fileParamName(name: string, cell: string): string {
  return name.startsWith('rnn.layers.') ? `${cell}.${name.slice('rnn.layers.'.length)}` : name;
}

/** The model's parameters as named float32 tensors (copies), in the file naming scheme. */
export function modelTensors(model: LanguageModel): Record<string, TensorRecord> {
  const out: Record<string, TensorRecord> = {};
  for (const [name, p] of model.namedParameters()) {
    out[fileParamName(name, model.config.cell)] = { shape: [...p.shape], data: new Float32Array(p.data as Float32Array) };
  }
  return out;
}

/** Copies parameters from file-named tensors into the model (ShapeError naming a missing or misshaped one). */
export function loadModelTensors(model: LanguageModel, tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, source: string): void {
  const byModuleName: Record<string, { shape: readonly number[]; data: ArrayLike<number> }> = {};
  for (const [name] of model.namedParameters()) {
    const t = tensors[fileParamName(name, model.config.cell)];
    if (t) byModuleName[name] = t;
  }
  model.arena().load(byModuleName, source);
}

/** The optimizer's state for a checkpoint: its buffers as `optim.<name>` tensors, the rest as metadata. */
export function optimizerContents(opt: Optimizer): { tensors: Record<string, TensorRecord>; meta: { kind: string; step: number; lr: number; buffers: string[] } } {
  const os = opt.state();
  const tensors: Record<string, TensorRecord> = {};
  for (const [k, v] of Object.entries(os.buffers)) tensors[`optim.${k}`] = { shape: [v.length], data: new Float32Array(v) };
  return { tensors, meta: { kind: os.kind, step: os.step, lr: os.lr, buffers: Object.keys(os.buffers) } };
}

/** Restores the optimizer from a checkpoint written with `optimizerContents` (FormatError if it has none). */
export function restoreOptimizer(opt: Optimizer, ck: LoadedCheckpoint, file: string): void {
  const os = ck.meta.optimizer as { kind: string; step: number; lr: number; buffers: string[] } | undefined;
  if (!os) throw new FormatError(`${file}: no optimizer state (not a training checkpoint?)`);
  const buffers: Record<string, Float32Array> = {};
  for (const b of os.buffers) {
    const t = ck.tensors[`optim.${b}`];
    if (!t) throw new FormatError(`${file}: missing tensor optim.${b}`);
    buffers[b] = t.data as Float32Array;
  }
  opt.loadState({ kind: os.kind, step: os.step, lr: os.lr, buffers });
}

/** The carried recurrent state as `state.{l}.h` (and `.c`) tensors (copies). */
export function stateTensors(s: StackState): Record<string, TensorRecord> {
  const out: Record<string, TensorRecord> = {};
  s.forEach((l, i) => {
    out[`state.${i}.h`] = { shape: [...l.h.shape], data: new Float32Array(l.h.data as Float32Array) };
    if (l.c) out[`state.${i}.c`] = { shape: [...l.c.shape], data: new Float32Array(l.c.data as Float32Array) };
  });
  return out;
}

/** The carried state back from `stateTensors`' tensors (FormatError naming a missing one). */
export function stateFromTensors(tensors: LoadedCheckpoint['tensors'], cfg: TrainConfig, file: string): StackState {
  const out: StackState = [];
  for (let l = 0; l < cfg.layers; l++) {
    const get = (k: 'h' | 'c') => {
      const t = tensors[`state.${l}.${k}`];
      if (!t) throw new FormatError(`${file}: missing tensor state.${l}.${k} (the carried state of a mid-epoch checkpoint)`);
      return new Tensor(new Float32Array(t.data), t.shape, 'float32');
    };
    out.push(cfg.cell === 'lstm' ? { h: get('h'), c: get('c') } : { h: get('h') });
  }
  return out;
}

/** A trained model read back from a checkpoint, for eval / generate / export. */
export interface LoadedModel { model: LanguageModel; config: TrainConfig; vocab: Vocab; checkpoint: LoadedCheckpoint }

export function loadModel(file: string): LoadedModel {
  const ck = loadCheckpoint(file);
  const config = ck.meta.config as TrainConfig | undefined;
  if (!config || typeof config !== 'object') throw new FormatError(`${file}: no "config" metadata (not a training checkpoint)`);
  const vocab = Vocab.fromJSON(ck.meta.vocab as never);
  const model = buildModel(config, vocab.size, new Rng(config.seed));
  loadModelTensors(model, ck.tensors, file);
  model.eval();
  return { model, config, vocab, checkpoint: ck };
}
