/**
 * Saving and loading models and training checkpoints from code, the same names in Node and in a
 * browser (no Node API here). The anchors are PyTorch's `state_dict` / `load_state_dict` and
 * TensorFlow.js's io handlers:
 *
 *   stateDict(model) / loadStateDict(model, dict)   named float tensors (copies) in and out
 *   modelToBytes / modelFromBytes                   weights + configuration + vocabulary, as bytes
 *   checkpointToBytes / restoreCheckpoint           + optimizer, random generators, data position
 *   saveModel / loadModel, saveTrainingCheckpoint / loadTrainingCheckpoint
 *                                                   the same through a destination: an `IOHandler`, or a
 *                                                   URL 'downloads://name' (a browser download),
 *                                                   'indexeddb://key' (the browser's IndexedDB), or
 *                                                   'file://path' (Node; registered by `backprop/node`)
 *
 * A model file IS a checkpoint (docs/formats.md, "Checkpoints": one safetensors file with a checksum)
 * whose metadata `backprop.model` describes the architecture, so any safetensors reader can open it
 * and a training checkpoint is a model file too. Language-model parameters use the documented file
 * names (`lstm.0.kernel`, `gru.0.candKernel`, …); other modules their module paths (`layers.0.weight`).
 *
 * Why `saveModel(model, …)` and not `model.save(…)`: the layers (src/nn) sit below io in the layer
 * table, so a model cannot call into io; the free functions work on any supported model.
 */
import { ConfigError, FormatError } from '../errors.js';
import { LanguageModel, type LMConfig, type TiedOutput } from '../nn/language-model.js';
import { Activation, Dense, Dropout, Sequential, type Layer } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { ActivationKind } from '../nn/activations.js';
import { Optimizer } from '../optim/optimizers.js';
import { Rng, type RngState } from '../tensor/random.js';
import type { DType } from '../backend/index.js';
import { decodeCheckpoint, encodeCheckpoint, type LoadedCheckpoint } from './checkpoint-codec.js';
import type { DecodedTensor, TensorRecord } from './safetensors.js';
import { tiedProjWeight, type DenseNetWeights, type RecurrentLmWeights } from './weights.js';

// ---------------------------------------------------------------------------------------------
// What can be saved, and how its architecture is described

/** The models `saveModel` knows how to rebuild: a language model, a dense layer, or a Sequential of Dense, Activation and Dropout layers. */
export type SavableModel = LanguageModel | Sequential | Dense;

/** One layer of a saved Sequential. */
export type SavedLayerSpec =
  | { type: 'Dense'; inSize: number; outSize: number; activation: ActivationKind; bias: boolean; dtype: DType }
  | { type: 'Activation'; kind: ActivationKind }
  | { type: 'Dropout'; p: number };

/** A model's architecture as stored in a model file (`backprop.model` metadata): enough to rebuild it. */
export type ModelSpec =
  | { type: 'LanguageModel'; config: LMConfig }
  | { type: 'Sequential'; layers: SavedLayerSpec[] }
  | { type: 'Dense'; layer: Extract<SavedLayerSpec, { type: 'Dense' }> };

function layerSpec(layer: Layer, where: string): SavedLayerSpec {
  if (layer instanceof Dense) {
    return { type: 'Dense', inSize: layer.inSize, outSize: layer.outSize, activation: layer.activation, bias: layer.bias !== null, dtype: layer.weight.dtype };
  }
  if (layer instanceof Activation) return { type: 'Activation', kind: layer.kind };
  if (layer instanceof Dropout) return { type: 'Dropout', p: layer.p };
  throw new ConfigError(`${where}: cannot save a ${layer.constructor.name} layer (Dense, Activation and Dropout can be saved)`);
}

/**
 * The architecture of a model, as `modelToBytes` stores it.
 *
 * @example
 * ```ts
 * import { Dense, Sequential, describeModel } from 'backprop';
 * describeModel(new Sequential(new Dense(2, 3, { activation: 'tanh' }), new Dense(3, 1)));
 * // { type: 'Sequential', layers: [{ type: 'Dense', inSize: 2, outSize: 3, activation: 'tanh', … }, …] }
 * ```
 */
export function describeModel(model: SavableModel): ModelSpec {
  if (model instanceof LanguageModel) return { type: 'LanguageModel', config: { ...model.config } };
  if (model instanceof Sequential) return { type: 'Sequential', layers: model.layers.map((l, k) => layerSpec(l, `layers.${k}`)) };
  if (model instanceof Dense) return { type: 'Dense', layer: layerSpec(model, 'model') as Extract<SavedLayerSpec, { type: 'Dense' }> };
  throw new ConfigError(`cannot save a ${(model as object)?.constructor?.name ?? typeof model}: saveModel takes a LanguageModel, a Sequential or a Dense`);
}

/**
 * Builds a fresh model (random parameters from `rng`) from its description; `loadStateDict` then fills it.
 *
 * @example
 * ```ts
 * import { buildModelFromSpec } from 'backprop';
 * const net = buildModelFromSpec({ type: 'Sequential', layers: [{ type: 'Dense', inSize: 2, outSize: 1, activation: 'sigmoid', bias: true, dtype: 'float32' }] });
 * ```
 */
export function buildModelFromSpec(spec: ModelSpec, rng: Rng = new Rng(0)): SavableModel {
  const dense = (l: Extract<SavedLayerSpec, { type: 'Dense' }>) => new Dense(l.inSize, l.outSize, { activation: l.activation, bias: l.bias, dtype: l.dtype, rng });
  switch (spec?.type) {
    case 'LanguageModel': return new LanguageModel(spec.config, rng);
    case 'Dense': return dense(spec.layer);
    case 'Sequential':
      return new Sequential(...spec.layers.map((l): Layer => {
        switch (l.type) {
          case 'Dense': return dense(l);
          case 'Activation': return new Activation(l.kind);
          case 'Dropout': return new Dropout(l.p, rng);
          default: throw new FormatError(`unknown layer type ${JSON.stringify((l as { type?: unknown }).type)} in a saved Sequential`);
        }
      }));
    default: throw new FormatError(`unknown model type ${JSON.stringify((spec as { type?: unknown })?.type)} (LanguageModel, Sequential or Dense)`);
  }
}

// ---------------------------------------------------------------------------------------------
// state_dict

/** A language model's module path → its documented file name: `rnn.layers.{l}.X` → `{cell}.{l}.X`. */
function fileName(model: Module, name: string): string {
  return model instanceof LanguageModel && name.startsWith('rnn.layers.') ? `${model.config.cell}.${name.slice('rnn.layers.'.length)}` : name;
}

/**
 * The model's parameters as named tensors (copies, in the parameters' dtype), PyTorch's `state_dict()`.
 * Language models use the file names of docs/formats.md (`embedding.weight`, `lstm.0.kernel`, …), other
 * modules their module paths (`layers.0.weight`).
 *
 * @example
 * ```ts
 * import { Dense, stateDict, encodeSafetensors } from 'backprop';
 * const bytes = encodeSafetensors(stateDict(new Dense(3, 2)));   // a plain .safetensors file
 * ```
 */
export function stateDict(model: Module): Record<string, TensorRecord> {
  const out: Record<string, TensorRecord> = {};
  for (const [name, p] of model.namedParameters()) {
    const data = p.dtype === 'float64' ? new Float64Array(p.data as Float64Array) : new Float32Array(p.data as Float32Array);
    out[fileName(model, name)] = { shape: [...p.shape], data };
  }
  return out;
}

/**
 * Copies named tensors into the model's parameters (PyTorch's `load_state_dict`), bit for bit when the
 * dtypes match. Every parameter must be present with its exact shape (a `ShapeError` names the one that
 * is not); with `strict` (the default) a tensor that names no parameter is a `FormatError` too.
 *
 * @example
 * ```ts
 * import { Dense, stateDict, loadStateDict } from 'backprop';
 * const a = new Dense(3, 2), b = new Dense(3, 2);
 * loadStateDict(b, stateDict(a));   // b now computes what a computes
 * ```
 */
export function loadStateDict(model: Module, dict: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, options: { strict?: boolean; source?: string } = {}): void {
  const source = options.source ?? 'state dict';
  const named = model.namedParameters();
  const byModuleName: Record<string, { shape: readonly number[]; data: ArrayLike<number> }> = {};
  const used = new Set<string>();
  for (const [name] of named) {
    const key = fileName(model, name);
    if (Object.hasOwn(dict, key)) { byModuleName[name] = dict[key]!; used.add(key); }
  }
  if (options.strict ?? true) {
    const extra = Object.keys(dict).filter((k) => !used.has(k));
    if (extra.length > 0) throw new FormatError(`${source}: ${extra.map((k) => JSON.stringify(k)).join(', ')} name no parameter of this model`);
  }
  model.arena().load(byModuleName, source);
}

// ---------------------------------------------------------------------------------------------
// Model files as bytes

/** What a model file holds besides the parameters. */
export interface ModelFileOptions {
  /** The vocabulary (any JSON value: a `Vocab`'s `toJSON()`, a word list). */
  vocab?: unknown;
  /** More JSON metadata, by key (stored as `backprop.<key>`; `model`, `vocab`, `format_version` and `checksum` are taken). */
  meta?: Record<string, unknown>;
}

/** A model read back: the rebuilt model (in evaluation mode), its description, vocabulary and metadata. */
export interface LoadedModel<M extends SavableModel = SavableModel> {
  model: M;
  spec: ModelSpec;
  vocab: unknown;
  meta: Record<string, unknown>;
}

function reserved(meta: Record<string, unknown> | undefined, keys: readonly string[]): Record<string, unknown> {
  for (const k of Object.keys(meta ?? {})) if (keys.includes(k)) throw new ConfigError(`meta key "${k}" is reserved for the model file`);
  return meta ?? {};
}

/**
 * Serializes a model (parameters, architecture, vocabulary) to the bytes of a model file.
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, modelToBytes, modelFromBytes } from 'backprop';
 * const lm = new LanguageModel({ vocabSize: 5, embedSize: 4, hiddenSize: 8, numLayers: 1, cell: 'lstm',
 *   keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(1));
 * const bytes = modelToBytes(lm, { vocab: ['<unk>', 'a', 'b', 'c', 'd'] });
 * const { model, vocab } = modelFromBytes(bytes);   // the same logits, bit for bit
 * ```
 */
export function modelToBytes(model: SavableModel, options: ModelFileOptions = {}): Uint8Array {
  const meta: Record<string, unknown> = { ...reserved(options.meta, ['model', 'vocab']), model: describeModel(model) };
  if (options.vocab !== undefined) meta['vocab'] = options.vocab;
  return encodeCheckpoint({ tensors: stateDict(model), meta });
}

/**
 * The architecture a checkpoint describes: its `model` metadata, or (a `backprop train` checkpoint) its
 * training configuration, with the vocabulary size read from `embedding.weight`.
 */
function specOf(ck: LoadedCheckpoint, source: string): ModelSpec {
  if (ck.meta['model'] !== undefined) return ck.meta['model'] as ModelSpec;
  const c = ck.meta['config'] as Record<string, unknown> | undefined;
  const emb = ck.tensors['embedding.weight'];
  if (c && typeof c === 'object' && typeof c['cell'] === 'string' && emb) {
    return {
      type: 'LanguageModel',
      config: {
        vocabSize: emb.shape[0]!, embedSize: Number(c['embed']), hiddenSize: Number(c['hidden']), numLayers: Number(c['layers']),
        cell: c['cell'] as LMConfig['cell'], keepProb: Number(c['keepProb']), forgetBias: Number(c['forgetBias']), initScale: Number(c['initScale']),
        // The regularisers (absent from configurations older than them: off). Only tying changes the parameters.
        tieWeights: c['tieWeights'] === true,
        ...Object.fromEntries((['dropoutEmbed', 'dropoutInput', 'dropoutHidden', 'dropoutOutput', 'weightDrop', 'ar', 'tar'] as const)
          .filter((k) => typeof c[k] === 'number').map((k) => [k, c[k] as number])),
      },
    };
  }
  throw new FormatError(`${source}: a checkpoint without a model description (no "backprop.model" metadata)`);
}

function loadedModel(ck: LoadedCheckpoint, source: string): LoadedModel {
  const spec = specOf(ck, source);
  const model = buildModelFromSpec(spec);
  const params = new Set(model.namedParameters().map(([n]) => fileName(model, n)));
  // A training checkpoint holds more than parameters (optim.*, state.*): only the parameters are the model's.
  const dict: Record<string, DecodedTensor> = {};
  for (const [k, t] of Object.entries(ck.tensors)) if (params.has(k)) dict[k] = t;
  loadStateDict(model, dict, { source });
  model.eval();
  const { model: _m, vocab, ...meta } = ck.meta;
  return { model, spec, vocab, meta };
}

/**
 * Rebuilds a model from model-file bytes (`modelToBytes`, `saveModel`, or a `backprop train` checkpoint),
 * verifying the checksum. The model comes back in evaluation mode. A `FormatError` names `source` on
 * any problem.
 *
 * @example
 * ```ts
 * import { Dense, tensor, modelToBytes, modelFromBytes } from 'backprop';
 * const net = new Dense(2, 1, { activation: 'sigmoid' });
 * const copy = modelFromBytes(modelToBytes(net)).model as Dense;
 * copy.forward(tensor([[1, 2]]));   // exactly net.forward(tensor([[1, 2]]))
 * ```
 */
export function modelFromBytes(bytes: Uint8Array, source = '<buffer>'): LoadedModel {
  return loadedModel(decodeCheckpoint(bytes, source), source);
}

// ---------------------------------------------------------------------------------------------
// Training checkpoints as bytes

/** The parts of a training run a checkpoint captures; all but `model` optional. */
export interface TrainingCheckpoint {
  model: SavableModel;
  optimizer?: Optimizer;
  /** Random generators by name (dropout, shuffling, …): their exact states. */
  rngs?: Record<string, Rng>;
  /** Where the data stream is (epoch, step, batch offset, …): any JSON value. */
  dataPosition?: unknown;
  /** Tensors carried between windows (a recurrent state), stored under `state.` */
  state?: Record<string, TensorRecord>;
  vocab?: unknown;
  meta?: Record<string, unknown>;
}

/**
 * Serializes a training run: the model file's contents plus the optimizer (its buffers as `optim.<name>`
 * tensors, kind/step/lr as metadata), random-generator states and the data position, so a run restored
 * with `restoreCheckpoint` continues exactly as if never stopped.
 *
 * @example
 * ```ts
 * import { Dense, Adam, Rng, checkpointToBytes, restoreCheckpoint } from 'backprop';
 * const net = new Dense(2, 1), opt = new Adam(net, { lr: 0.01 }), rng = new Rng(7);
 * const bytes = checkpointToBytes({ model: net, optimizer: opt, rngs: { shuffle: rng }, dataPosition: { epoch: 2 } });
 * const restored = restoreCheckpoint(bytes, { optimizer: new Adam(net, { lr: 0.01 }), rngs: { shuffle: new Rng(0) } });
 * restored.dataPosition;   // { epoch: 2 }
 * ```
 */
export function checkpointToBytes(ck: TrainingCheckpoint): Uint8Array {
  const meta: Record<string, unknown> = { ...reserved(ck.meta, ['model', 'vocab', 'optimizer', 'rngs', 'data_position']), model: describeModel(ck.model) };
  const tensors: Record<string, TensorRecord> = stateDict(ck.model);
  if (ck.vocab !== undefined) meta['vocab'] = ck.vocab;
  if (ck.optimizer) {
    const os = ck.optimizer.state();
    for (const [k, v] of Object.entries(os.buffers)) {
      tensors[`optim.${k}`] = { shape: [v.length], data: v instanceof Float64Array ? new Float64Array(v) : new Float32Array(v) };
    }
    meta['optimizer'] = { kind: os.kind, step: os.step, lr: os.lr, buffers: Object.keys(os.buffers) };
  }
  if (ck.rngs) meta['rngs'] = Object.fromEntries(Object.entries(ck.rngs).map(([k, r]) => [k, r.getState()]));
  if (ck.dataPosition !== undefined) meta['data_position'] = ck.dataPosition;
  for (const [k, t] of Object.entries(ck.state ?? {})) tensors[`state.${k}`] = t;
  return encodeCheckpoint({ tensors, meta });
}

/** What `restoreCheckpoint` fills in place: pass the live objects of the run being resumed. */
export interface RestoreTargets {
  /** Loaded into this model; without one, a model is built from the file's description. */
  model?: SavableModel;
  optimizer?: Optimizer;
  rngs?: Record<string, Rng>;
}

/** A restored run: the model (the one passed, or a new one), and what was saved beside it. */
export interface RestoredCheckpoint extends LoadedModel {
  dataPosition: unknown;
  /** The carried tensors saved under `state.` (without the prefix). */
  state: Record<string, DecodedTensor>;
}

/**
 * Restores a training checkpoint in place: the model's parameters, the optimizer's state (kind, step,
 * learning rate, moment buffers) and each named generator's state. A target the file has nothing for
 * is a `FormatError`; so is an optimizer of another kind.
 *
 * @example
 * ```ts
 * import { Dense, SGD, restoreCheckpoint } from 'backprop';
 * declare const bytes: Uint8Array;   // from checkpointToBytes
 * const net = new Dense(2, 1), opt = new SGD(net, { lr: 0.1 });
 * const { dataPosition } = restoreCheckpoint(bytes, { model: net, optimizer: opt });
 * ```
 */
export function restoreCheckpoint(bytes: Uint8Array, targets: RestoreTargets = {}, source = '<buffer>'): RestoredCheckpoint {
  const ck = decodeCheckpoint(bytes, source);
  let loaded: LoadedModel;
  if (targets.model) {
    const params = new Set(targets.model.namedParameters().map(([n]) => fileName(targets.model!, n)));
    const dict: Record<string, DecodedTensor> = {};
    for (const [k, t] of Object.entries(ck.tensors)) if (params.has(k)) dict[k] = t;
    loadStateDict(targets.model, dict, { source });
    const { model: _m, vocab, ...meta } = ck.meta;
    loaded = { model: targets.model, spec: specOf(ck, source), vocab, meta };
  } else {
    loaded = loadedModel(ck, source);
  }
  if (targets.optimizer) {
    const os = ck.meta['optimizer'] as { kind: string; step: number; lr: number; buffers: string[] } | undefined;
    if (!os) throw new FormatError(`${source}: no optimizer state (a model file, not a training checkpoint?)`);
    const buffers: Record<string, Float32Array | Float64Array> = {};
    for (const b of os.buffers) {
      const t = ck.tensors[`optim.${b}`];
      if (!t) throw new FormatError(`${source}: missing tensor optim.${b}`);
      buffers[b] = t.data as Float32Array | Float64Array;
    }
    targets.optimizer.loadState({ kind: os.kind, step: os.step, lr: os.lr, buffers });
  }
  const saved = (ck.meta['rngs'] ?? {}) as Record<string, RngState>;
  for (const [k, r] of Object.entries(targets.rngs ?? {})) {
    if (!Object.hasOwn(saved, k)) throw new FormatError(`${source}: no state for random generator "${k}" (saved: ${Object.keys(saved).join(', ') || 'none'})`);
    r.setState(saved[k]!);
  }
  const state: Record<string, DecodedTensor> = {};
  for (const [k, t] of Object.entries(ck.tensors)) if (k.startsWith('state.')) state[k.slice('state.'.length)] = t;
  const { rngs: _r, optimizer: _o, data_position: dataPosition, ...meta } = loaded.meta;
  return { ...loaded, meta, dataPosition, state };
}

// ---------------------------------------------------------------------------------------------
// Weights for export

/**
 * A language model's weights as the plain record the ONNX exporter and the reference forward take (copies).
 *
 * @example
 * ```ts
 * import { LanguageModel, Rng, exportLmOnnx, lmWeights } from 'backprop';
 * declare const lm: LanguageModel;
 * const onnxBytes = exportLmOnnx(lmWeights(lm));
 * ```
 */
export function lmWeights(lm: LanguageModel): RecurrentLmWeights {
  const sd = stateDict(lm);
  const f32 = (name: string) => Float32Array.from(sd[name]!.data);
  const c = lm.config;
  return {
    cell: c.cell, vocabSize: c.vocabSize, embedSize: c.embedSize, hiddenSize: c.hiddenSize, numLayers: c.numLayers, forgetBias: c.forgetBias,
    embedding: f32('embedding.weight'),
    layers: Array.from({ length: c.numLayers }, (_, l) => ({
      kernel: f32(`${c.cell}.${l}.kernel`), bias: f32(`${c.cell}.${l}.bias`),
      ...(c.cell === 'gru' ? { candKernel: f32(`gru.${l}.candKernel`), candBias: f32(`gru.${l}.candBias`) } : {}),
    })),
    projWeight: c.tieWeights ? tiedProjection(lm) : f32('proj.weight'), projBias: f32('proj.bias'),
  };
}

/** A tied model's output weights as the one matrix [H, V] of the export layout (`tiedProjWeight`). */
function tiedProjection(lm: LanguageModel): Float32Array {
  const { vocabSize: V, embedSize: E, hiddenSize: H } = lm.config;
  const P = (lm.proj as TiedOutput).hiddenToEmbed;
  return tiedProjWeight(Float32Array.from(lm.embedding.weight.data), V, E, P ? Float32Array.from(P.data) : null, H);
}

/**
 * A dense network's weights (a Dense, or a Sequential of Dense layers, each optionally followed by an
 * Activation when the Dense is linear; Dropout is the identity at inference and is skipped) as the plain
 * record `exportDenseOnnx` takes (copies). A layer without a bias gets a zero bias.
 *
 * @example
 * ```ts
 * import { Dense, Sequential, denseWeights, exportDenseOnnx } from 'backprop';
 * const net = new Sequential(new Dense(4, 8, { activation: 'relu' }), new Dense(8, 3, { activation: 'softmax' }));
 * const onnxBytes = exportDenseOnnx(denseWeights(net));
 * ```
 */
export function denseWeights(model: Sequential | Dense): DenseNetWeights {
  const layers: DenseNetWeights['layers'] = [];
  const list: Layer[] = model instanceof Sequential ? model.layers : [model];
  list.forEach((l, k) => {
    if (l instanceof Dense) {
      layers.push({
        weight: Float32Array.from(l.weight.data), bias: l.bias ? Float32Array.from(l.bias.data) : new Float32Array(l.outSize),
        inSize: l.inSize, outSize: l.outSize, activation: l.activation,
      });
    } else if (l instanceof Activation) {
      const last = layers[layers.length - 1];
      if (!last || last.activation !== 'linear') throw new ConfigError(`layers.${k}: an Activation must follow a linear Dense layer to be exported`);
      last.activation = l.kind;
    } else if (!(l instanceof Dropout)) {
      throw new ConfigError(`layers.${k}: a ${l.constructor.name} is not a dense-network layer`);
    }
  });
  if (layers.length === 0) throw new ConfigError('the network has no Dense layer');
  return { layers };
}

// ---------------------------------------------------------------------------------------------
// Destinations: io handlers and URL schemes

/**
 * Where `saveModel` writes and `loadModel` reads, TensorFlow.js's io handler: bytes out, bytes in.
 * Write your own for any storage (a fetch to a server, a Cache, a zip).
 */
export interface IOHandler {
  /** Stores the bytes of a saved model or checkpoint. */
  save?(bytes: Uint8Array): Promise<void>;
  /** Returns the bytes stored before. */
  load?(): Promise<Uint8Array>;
}

/** Makes a handler from the part of a URL after its scheme (`'runs/x.ckpt'` for `'file://runs/x.ckpt'`). */
export type IOHandlerFactory = (rest: string) => IOHandler;

const schemes = new Map<string, IOHandlerFactory>();

/**
 * Registers a URL scheme for `saveModel` / `loadModel` (`backprop/node` registers `file://`).
 *
 * @example
 * ```ts
 * import { registerIOScheme } from 'backprop';
 * const store = new Map<string, Uint8Array>();
 * registerIOScheme('mem://', (key) => ({
 *   save: async (bytes) => { store.set(key, bytes); },
 *   load: async () => store.get(key)!,
 * }));
 * ```
 */
export function registerIOScheme(scheme: string, factory: IOHandlerFactory): void {
  if (!/^[a-z][a-z0-9+.-]*:\/\/$/.test(scheme)) throw new ConfigError(`an io scheme looks like "name://", got ${JSON.stringify(scheme)}`);
  schemes.set(scheme, factory);
}

/**
 * The handler a URL names (by its registered scheme), or the handler given. A plain path (no scheme)
 * names a file once `backprop/node` is imported (as `torch.save` takes a path); before that, and for an
 * unknown scheme, a `ConfigError` (with a hint to import 'backprop/node' for files).
 *
 * @example
 * ```ts
 * import { resolveIOHandler } from 'backprop';
 * const h = resolveIOHandler('indexeddb://my-model');   // { save, load } on the page's IndexedDB
 * ```
 */
export function resolveIOHandler(target: string | IOHandler): IOHandler {
  if (typeof target !== 'string') return target;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/s.exec(target);
  if (!m) {
    const file = schemes.get('file://');
    if (file && target !== '') return file(target);
    throw new ConfigError(`"${target}" names no storage: use a file path or file://PATH (Node, after importing 'backprop/node'), downloads://NAME, indexeddb://KEY, or an IOHandler`);
  }
  const factory = schemes.get(m[1]!);
  if (!factory) {
    const hint = m[1] === 'file://' ? " (import 'backprop/node' first: file paths are Node-only)" : '';
    throw new ConfigError(`no io handler for ${m[1]}${hint}; known: ${[...schemes.keys()].join(', ')}`);
  }
  return factory(m[2]!);
}

/**
 * A browser download of the bytes as `name` (TF.js's `downloads://`); save only.
 *
 * @example
 * ```ts
 * import { saveModel, browserDownloads } from 'backprop';
 * declare const model: import('backprop').Dense;
 * await saveModel(model, browserDownloads('my-model.ckpt'));   // or 'downloads://my-model.ckpt'
 * ```
 */
export function browserDownloads(name = 'model.ckpt'): IOHandler {
  return {
    async save(bytes) {
      const doc = (globalThis as { document?: { createElement(tag: string): { href: string; download: string; click(): void } } }).document;
      if (!doc) throw new ConfigError('downloads:// needs a browser page (no document here)');
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = doc.createElement('a');
      a.href = url; a.download = name; a.click();
      setTimeout(() => URL.revokeObjectURL(url), 0);
    },
  };
}

const IDB_NAME = 'backprop', IDB_STORE = 'models';

/** Opens (creating on first use) the database every `indexeddb://` key lives in. */
function openDatabase(): Promise<IDBDatabase> {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) return Promise.reject(new ConfigError('indexeddb:// needs IndexedDB (a browser page or worker)'));
  return new Promise((resolve, reject) => {
    const req = idb.open(IDB_NAME, 1);
    req.onupgradeneeded = () => { req.result.createObjectStore(IDB_STORE); };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB open failed'));
  });
}

/** One request on the models store, in its own transaction; resolves when the transaction completes. */
async function idbRequest<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(IDB_STORE, mode);
      const req = run(tx.objectStore(IDB_STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? req.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/**
 * The bytes under `key` in the page's IndexedDB (database "backprop", store "models"), TF.js's
 * `indexeddb://`. Saving replaces the key in one transaction; loading a missing key is a `FormatError`.
 *
 * @example
 * ```ts
 * import { saveModel, loadModel } from 'backprop';
 * declare const model: import('backprop').Dense;
 * await saveModel(model, 'indexeddb://my-model');
 * const { model: again } = await loadModel('indexeddb://my-model');
 * ```
 */
export function browserIndexedDB(key: string): IOHandler {
  return {
    async save(bytes) { await idbRequest('readwrite', (s) => s.put(bytes.slice(), key)); },
    async load() {
      const v = await idbRequest<unknown>('readonly', (s) => s.get(key));
      if (v === undefined) throw new FormatError(`indexeddb://${key}: no model saved under this key`);
      return v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer);
    },
  };
}

registerIOScheme('downloads://', (rest) => browserDownloads(rest || undefined));
registerIOScheme('indexeddb://', (rest) => browserIndexedDB(rest));

/** Bytes from a handler, a URL, a Uint8Array or a Blob. */
async function readSource(src: string | IOHandler | Uint8Array | Blob): Promise<{ bytes: Uint8Array; source: string }> {
  if (src instanceof Uint8Array) return { bytes: src, source: '<buffer>' };
  if (typeof Blob !== 'undefined' && src instanceof Blob) return { bytes: new Uint8Array(await src.arrayBuffer()), source: '<blob>' };
  const handler = resolveIOHandler(src as string | IOHandler);
  if (!handler.load) throw new ConfigError(`${typeof src === 'string' ? src : 'this io handler'} cannot load (save only)`);
  return { bytes: await handler.load(), source: typeof src === 'string' ? src : '<handler>' };
}

async function writeTarget(dest: string | IOHandler, bytes: Uint8Array): Promise<void> {
  const handler = resolveIOHandler(dest);
  if (!handler.save) throw new ConfigError(`${typeof dest === 'string' ? dest : 'this io handler'} cannot save (load only)`);
  await handler.save(bytes);
}

/**
 * Saves a model file (parameters, architecture, vocabulary) to a destination: 'file://PATH' (Node, after
 * `import 'backprop/node'`), 'downloads://NAME', 'indexeddb://KEY', a registered scheme, or an `IOHandler`.
 * Resolves with the bytes written.
 *
 * @example
 * ```ts
 * import { Dense, saveModel, loadModel } from 'backprop';
 * import 'backprop/node';                                  // registers file:// (Node only)
 * const net = new Dense(2, 1);
 * await saveModel(net, 'file://out/net.ckpt');
 * const { model } = await loadModel('file://out/net.ckpt');
 * ```
 */
export async function saveModel(model: SavableModel, dest: string | IOHandler, options: ModelFileOptions = {}): Promise<Uint8Array> {
  const bytes = modelToBytes(model, options);
  await writeTarget(dest, bytes);
  return bytes;
}

/**
 * Loads a model file (or a `backprop train` checkpoint) from a URL, an `IOHandler`, a Uint8Array or a Blob.
 *
 * @example
 * ```ts
 * import { loadModel } from 'backprop';
 * const { model, vocab } = await loadModel('indexeddb://my-model');
 * ```
 */
export async function loadModel(src: string | IOHandler | Uint8Array | Blob): Promise<LoadedModel> {
  const { bytes, source } = await readSource(src);
  return modelFromBytes(bytes, source);
}

/**
 * Saves a training checkpoint (`checkpointToBytes`) to a destination, as `saveModel` does.
 *
 * @example
 * ```ts
 * import { Dense, SGD, saveTrainingCheckpoint } from 'backprop';
 * const net = new Dense(2, 1), opt = new SGD(net, { lr: 0.1 });
 * await saveTrainingCheckpoint('indexeddb://run-1', { model: net, optimizer: opt, dataPosition: { step: 100 } });
 * ```
 */
export async function saveTrainingCheckpoint(dest: string | IOHandler, ck: TrainingCheckpoint): Promise<Uint8Array> {
  const bytes = checkpointToBytes(ck);
  await writeTarget(dest, bytes);
  return bytes;
}

/**
 * Restores a training checkpoint from a URL, an `IOHandler`, a Uint8Array or a Blob (`restoreCheckpoint`).
 *
 * @example
 * ```ts
 * import { Dense, SGD, loadTrainingCheckpoint } from 'backprop';
 * const net = new Dense(2, 1), opt = new SGD(net, { lr: 0.1 });
 * const { dataPosition } = await loadTrainingCheckpoint('indexeddb://run-1', { model: net, optimizer: opt });
 * ```
 */
export async function loadTrainingCheckpoint(src: string | IOHandler | Uint8Array | Blob, targets: RestoreTargets = {}): Promise<RestoredCheckpoint> {
  const { bytes, source } = await readSource(src);
  return restoreCheckpoint(bytes, targets, source);
}
