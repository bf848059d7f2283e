/**
 * View 3's training worker: a character-level language model trained by TBPTT off the page's main thread.
 *
 * Engine mode: in a cross-origin-isolated page the WASM kernels run on shared memory with a pool of
 * nested workers (threads); without isolation, on one thread over an ordinary memory (`sharedMemory:
 * false`), which every browser allows, reserved up front (`?memory=resizable` in the page's URL: a
 * memory that grows in place, slower in V8). The page shows which ('ready' message).
 *
 * Training runs in slices of about 100 ms of windows; after each slice the worker reports progress and
 * yields to its event loop, so 'pause', 'save' and the temperature are handled between windows. A
 * window is T = k1·⌈max(k1, k2)/k1⌉ steps of B streams, so every slice ends on an update boundary: a
 * paused run resumes exactly where it stopped, and a checkpoint (model, optimizer, dropout generator,
 * carried state, data position) continues the same run. Validation and samples use their own state and
 * generator, never the training run's, so when they happen does not change the run.
 */
import {
  Rng, LanguageModel, TruncatedBPTT, backendInfo, buildModelFromSpec, checkpointToBytes, createOptimizer,
  evaluateWindows, exportLmOnnx, lmWeights, modelFromBytes, modelToBytes, noGrad, restoreCheckpoint, useBackend,
  getBackend, Tensor, type Optimizer, type StackState, type TensorRecord, type UpdateInfo,
} from '../../src/index.js';
import type { Corpus, FromWorker, LmSettings, SaveFormat, ToWorker } from './lm-protocol.js';

const scope = globalThis as unknown as {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  location: { href: string };
  crossOriginIsolated?: boolean;
  navigator: { hardwareConcurrency?: number };
};
const post = (m: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(m, transfer);

const SLICE_MS = 100;
const VALID_EVERY_MS = 4000;
const SAMPLE_EVERY_MS = 3000;
const SAMPLE_CHARS = 240;
const VALID_TOKENS = 8192;
const VALID_B = 4, VALID_T = 64;

/**
 * Token ids ↔ tokens, in the vocabulary form model files and `backprop train` checkpoints carry
 * ({ itos: [...] }, as the engine's `Vocab` writes it; `<unk>` stands for tokens not in it).
 */
class Vocab {
  readonly stoi: Map<string, number>;
  readonly unkId: number | undefined;
  constructor(readonly itos: readonly string[]) {
    this.stoi = new Map(itos.map((tok, i) => [tok, i]));
    if (this.stoi.size !== itos.length || itos.some((tok) => typeof tok !== 'string' || tok === '')) throw new Error('the vocabulary has an empty, non-text or repeated token');
    this.unkId = this.stoi.get('<unk>');
  }
  get size(): number { return this.itos.length; }
  encode(tokens: readonly string[]): Int32Array { return Int32Array.from(tokens, (tok) => this.stoi.get(tok) ?? this.unkId!); }
  decode(ids: readonly number[]): string[] { return ids.map((i) => this.itos[i]!); }
  toJSON(): { itos: string[] } { return { itos: [...this.itos] }; }
}

/**
 * B parallel streams over `data`, cut into windows of T steps, as the engine's PTB batcher cuts them:
 * stream b is data[b·L … (b+1)·L), L = ⌊N/B⌋; window i holds x[b·T + t] = stream b's token i·T + t and
 * y the token after it. An epoch is ⌊(L − 1)/T⌋ windows.
 */
class Streams {
  readonly len: number;
  readonly epochSize: number;
  constructor(readonly data: Int32Array, readonly B: number, readonly T: number) {
    this.len = Math.floor(data.length / B);
    this.epochSize = Math.floor((this.len - 1) / T);
  }
  window(i: number): { x: Int32Array; y: Int32Array } {
    const { B, T, len, data } = this;
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = b * len + i * T;
      x.set(data.subarray(start, start + T), b * T);
      y.set(data.subarray(start + 1, start + T + 1), b * T);
    }
    return { x, y };
  }
}

/** One run: the model, its optimizer and TBPTT loop, the data, and where the stream is. */
interface Run {
  settings: LmSettings;
  level: 'char' | 'word';
  vocab: Vocab;
  model: LanguageModel;
  optimizer: Optimizer;
  rng: Rng;
  tbptt: TruncatedBPTT<StackState>;
  train: Streams;
  valid: Streams | null;
  T: number;
  windows: number;
  /** Seconds spent training (not validating or sampling) since the run began in this worker. */
  seconds: number;
}

let run: Run | null = null;
let corpusText: string | null = null;   // the text of the last configure
let corpusName: Corpus = 'tinyshakespeare';
const bundled = new Map<Exclude<Corpus, 'pasted'>, string>();
let running = false;
// Bumped by every start: a loop still awaiting its yield when a newer one starts stops there.
let loopId = 0;
let until: number | undefined;
let temperature = 0.8;
let sampleRng = new Rng(12345);

function tokens(text: string, level: 'char' | 'word'): string[] {
  return level === 'char' ? Array.from(text) : text.split(/\s+/).filter((w) => w.length > 0);
}

/** T for a window: a multiple of k1 at least k2, so every window ends on an update. */
function windowSteps(s: LmSettings): number { return s.k1 * Math.ceil(Math.max(s.k1, s.k2) / s.k1); }

function checkSettings(s: LmSettings): void {
  const ints: (keyof LmSettings)[] = ['hidden', 'layers', 'k1', 'k2', 'batch'];
  for (const k of ints) if (!Number.isInteger(s[k]) || (s[k] as number) < 1) throw new Error(`${k} must be a positive integer, got ${s[k]}`);
  if (s.embed !== undefined && !(Number.isInteger(s.embed) && s.embed >= 1)) throw new Error(`embed must be a positive integer, got ${s.embed}`);
  if (!(s.lr > 0 && Number.isFinite(s.lr))) throw new Error(`the learning rate must be > 0, got ${s.lr}`);
  if (!(s.clip >= 0 && Number.isFinite(s.clip))) throw new Error(`clipping must be ≥ 0 (0 = off), got ${s.clip}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${s.dropout}`);
}

/**
 * Ids of `text` under `vocab` (characters the vocabulary lacks are dropped when it has no <unk>), split
 * 90/10 into training and validation streams.
 */
function encode(text: string, vocab: Vocab, level: 'char' | 'word'): { train: Int32Array; valid: Int32Array; dropped: number } {
  let toks = tokens(text, level);
  const before = toks.length;
  if (vocab.unkId === undefined) toks = toks.filter((t) => vocab.stoi.has(t));
  const ids = vocab.encode(toks);
  const cut = Math.floor(ids.length * 0.9);
  return { train: ids.subarray(0, cut), valid: ids.subarray(cut), dropped: before - toks.length };
}

/** A run over `text` with `settings`, around `model` (a new one when not given). */
function makeRun(settings: LmSettings, text: string, level: 'char' | 'word', given?: { model: LanguageModel; vocab: Vocab; rng: Rng; optimizer?: Optimizer }): { run: Run; dropped: number; trainTokens: number; validTokens: number } {
  checkSettings(settings);
  const vocab = given?.vocab ?? new Vocab([...new Set(tokens(text, level))].sort());
  const { train, valid, dropped } = encode(text, vocab, level);
  const T = windowSteps(settings);
  if (train.length < settings.batch * (T + 1)) {
    throw new Error(`the text is too short: ${train.length} training tokens, but batch ${settings.batch} × (${T} steps + 1) = ${settings.batch * (T + 1)} are needed`);
  }
  const rng = given?.rng ?? new Rng(settings.seed);
  const model = given?.model ?? new LanguageModel({
    vocabSize: vocab.size, embedSize: settings.embed ?? settings.hidden, hiddenSize: settings.hidden, numLayers: settings.layers,
    cell: settings.cell, keepProb: 1 - settings.dropout, forgetBias: 0, initScale: 0.1,
  }, rng);
  model.train();
  const optimizer = given?.optimizer ?? createOptimizer(settings.optimizer, model, settings.lr);
  const tbptt = new TruncatedBPTT(model, optimizer, {
    k1: settings.k1, k2: settings.k2, batchSize: settings.batch,
    maxGradNorm: settings.clip > 0 ? settings.clip : undefined, diagnostics: true, onDivergence: 'skip',
  });
  const validB = valid.length >= VALID_B * (VALID_T + 1) ? new Streams(valid, VALID_B, VALID_T) : null;
  return {
    run: { settings, level, vocab, model, optimizer, rng, tbptt, train: new Streams(train, settings.batch, T), valid: validB, T, windows: 0, seconds: 0 },
    dropped, trainTokens: train.length, validTokens: valid.length,
  };
}

const BUNDLED_NAMES: Record<Exclude<Corpus, 'pasted'>, string> = { tinyshakespeare: 'Tiny Shakespeare', lunyu: 'The Analects (论语)' };

/** A text shipped with the page (data/<name>.txt beside the worker), fetched once. */
async function bundledText(name: Exclude<Corpus, 'pasted'>): Promise<string> {
  const have = bundled.get(name);
  if (have !== undefined) return have;
  const url = new URL(`data/${name}.txt`, scope.location.href);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${BUNDLED_NAMES[name]} is not bundled with this build (${url.pathname}: HTTP ${res.status}); choose another text or paste one`);
  const text = await res.text();
  bundled.set(name, text);
  return text;
}

function memoryBytes(): number {
  const heap = (getBackend() as { heap?: { memory: WebAssembly.Memory } }).heap;
  return heap ? heap.memory.buffer.byteLength : 0;
}

/** One training window: feed it, accumulate costs, updates and ‖∂E/∂h‖ into `acc`. */
function trainWindow(r: Run, acc: { cost: number; steps: number; updates: number; clipped: number; heat: number[][] | null; heatN: number }): void {
  const i = r.windows % r.train.epochSize;
  if (i === 0 && r.windows > 0) r.tbptt.resetState();   // a new pass over the text starts from a zero state
  const w = r.train.window(i);
  const res = r.tbptt.feed(w.x, w.y, r.T);
  for (const c of res.costs) { acc.cost += c; acc.steps++; }
  for (const u of res.updates) addUpdate(acc, u);
  r.windows++;
}

function addUpdate(acc: { updates: number; clipped: number; heat: number[][] | null; heatN: number }, u: UpdateInfo): void {
  acc.updates++;
  if (u.clipped) acc.clipped++;
  if (!u.hGradNorms || u.skipped) return;
  if (!acc.heat) acc.heat = u.hGradNorms.map((l) => l.map(() => 0));
  u.hGradNorms.forEach((layer, l) => layer.forEach((v, s) => { acc.heat![l]![s]! += Math.log10(Math.max(v, 1e-30)); }));
  acc.heatN++;
}

function validate(r: Run): void {
  if (!r.valid) return;
  const n = Math.min(r.valid.epochSize, Math.ceil(VALID_TOKENS / (VALID_B * VALID_T)));
  const wins = Array.from({ length: n }, (_, i) => r.valid!.window(i));
  const e = evaluateWindows(r.model, wins, VALID_B, VALID_T);
  post({ type: 'valid', windows: r.windows, loss: e.cost / Math.max(e.steps, 1) });
}

/** Draw one id from softmax(logits / temperature) (temperature 0: the most likely). */
function draw(logits: ArrayLike<number>, temp: number): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (temp <= 0) return best;
  const p = new Float64Array(logits.length);
  let z = 0;
  for (let i = 0; i < p.length; i++) { p[i] = Math.exp((logits[i]! - logits[best]!) / temp); z += p[i]!; }
  let u = sampleRng.uniform() * z;
  for (let i = 0; i < p.length; i++) { u -= p[i]!; if (u <= 0) return i; }
  return p.length - 1;
}

/** `n` tokens from the model, started after a newline, on its own state and generator. */
function sampleText(r: Run, n: number): string {
  const V = r.vocab.size, wasTraining = r.model.training;
  const start = r.vocab.stoi.get('\n') ?? r.vocab.stoi.get('<eos>') ?? 0;
  const ids: number[] = [];
  r.model.eval();
  try {
    // Outside any engine scope: batch-1 tensors are small, so they live in the JS heap and are collected.
    noGrad(() => {
      let out = r.model.run(Int32Array.of(start), 1, 1, r.model.initialState(1));
      for (let k = 0; k < n; k++) {
        const next = draw(out.logits.data.subarray(0, V), temperature);
        ids.push(next);
        out = r.model.run(Int32Array.of(next), 1, 1, out.state);
      }
    });
  } finally {
    r.model.train(wasTraining);
  }
  const toks = r.vocab.decode(ids).map((t) => (t === '<eos>' ? '\n' : t));
  return r.level === 'char' ? toks.join('') : toks.join(' ').replace(/ ?\n ?/g, '\n');
}

const yieldNow = (): Promise<void> => new Promise((res) => { const c = new MessageChannel(); c.port1.onmessage = () => res(); c.port2.postMessage(0); });

async function loop(id: number): Promise<void> {
  let lastValid = performance.now(), lastSample = -Infinity;
  while (running && run && id === loopId) {
    const r = run;
    const acc = { cost: 0, steps: 0, updates: 0, clipped: 0, heat: null as number[][] | null, heatN: 0 };
    const t0 = performance.now();
    let windows = 0;
    try {
      do {
        trainWindow(r, acc);
        windows++;
      } while (performance.now() - t0 < SLICE_MS && (until === undefined || r.windows < until));
    } catch (e) {
      running = false;
      post({ type: 'error', message: (e as Error).message });
      post({ type: 'state', running: false, windows: r.windows });
      return;
    }
    const secs = (performance.now() - t0) / 1000;
    r.seconds += secs;
    post({
      type: 'progress', windows: r.windows, tokens: r.windows * r.T * r.settings.batch,
      tokensPerSecond: (windows * r.T * r.settings.batch) / Math.max(secs, 1e-6), trainSeconds: r.seconds, trainLoss: acc.cost / Math.max(acc.steps, 1),
      updates: acc.updates, clipped: acc.clipped, heat: acc.heat ? acc.heat.map((l) => l.map((v) => v / acc.heatN)) : null, memoryBytes: memoryBytes(),
    });
    const stop = until !== undefined && r.windows >= until;
    const now = performance.now();
    if (stop || now - lastValid > VALID_EVERY_MS) { validate(r); lastValid = performance.now(); }
    if (stop || now - lastSample > SAMPLE_EVERY_MS) { post({ type: 'sample', windows: r.windows, text: sampleText(r, SAMPLE_CHARS) }); lastSample = performance.now(); }
    if (stop) { running = false; until = undefined; post({ type: 'state', running: false, windows: r.windows }); return; }
    await yieldNow();
  }
}

/** FNV-1a over the parameters' bytes, twice with different seeds: equal digests mean identical weights. */
function digest(r: Run): { digest: string; count: number } {
  const v = r.model.arena().values;
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) { a = Math.imul(a ^ bytes[i]!, 0x01000193); b = Math.imul(b ^ bytes[i]!, 0x01000193) ^ (b >>> 13); }
  return { digest: `${(a >>> 0).toString(16)}-${(b >>> 0).toString(16)}`, count: v.length };
}

function stateRecords(s: StackState): Record<string, TensorRecord> {
  const out: Record<string, TensorRecord> = {};
  s.forEach((l, i) => {
    out[`h.${i}`] = { shape: [...l.h.shape], data: Float32Array.from(l.h.data as Float32Array) };
    if (l.c) out[`c.${i}`] = { shape: [...l.c.shape], data: Float32Array.from(l.c.data as Float32Array) };
  });
  return out;
}

function save(r: Run, format: SaveFormat): void {
  const base = `char-${r.settings.cell}-${r.settings.hidden}x${r.settings.layers}`;
  const meta = { level: r.level, settings: r.settings, corpus: corpusName };
  let bytes: Uint8Array, name: string, mime = 'application/octet-stream';
  if (format === 'onnx') { bytes = exportLmOnnx(lmWeights(r.model)); name = `${base}.onnx`; }
  else if (format === 'safetensors') { bytes = modelToBytes(r.model, { vocab: r.vocab.toJSON(), meta }); name = `${base}.safetensors`; }
  else {
    bytes = checkpointToBytes({
      model: r.model, optimizer: r.optimizer, rngs: { dropout: r.rng }, dataPosition: { windows: r.windows },
      state: stateRecords(r.tbptt.state), vocab: r.vocab.toJSON(), meta,
    });
    name = `${base}.ckpt`;
  }
  const buf = bytes.slice().buffer;
  post({ type: 'file', name, mime, bytes: buf }, [buf]);
}

/** The vocabulary a file carries: a `Vocab` JSON ({ itos }) or a plain token list. */
function vocabOf(v: unknown, name: string): Vocab {
  if (Array.isArray(v)) return new Vocab(v as string[]);
  if (v && typeof v === 'object' && Array.isArray((v as { itos?: unknown }).itos)) return new Vocab((v as { itos: string[] }).itos);
  throw new Error(`${name}: the file has no vocabulary, so its token ids cannot be read as text`);
}

/**
 * Load a file: a model file or checkpoint saved by this page, or a `backprop train` checkpoint. The
 * model, vocabulary and (when the file has them) the optimizer state, dropout generator, carried state
 * and data position are restored; training continues on the current text.
 */
async function load(name: string, buf: ArrayBuffer, current: LmSettings | null): Promise<void> {
  const bytes = new Uint8Array(buf);
  const probe = modelFromBytes(bytes, name);
  if (probe.spec.type !== 'LanguageModel') throw new Error(`${name}: a ${probe.spec.type}, not a language model`);
  const cfg = probe.spec.config;
  const meta = probe.meta as Record<string, unknown>;
  const trainCfg = meta['config'] as Record<string, unknown> | undefined;   // a `backprop train` checkpoint
  const saved = meta['settings'] as Partial<LmSettings> | undefined;
  const level = (meta['level'] ?? trainCfg?.['level'] ?? (trainCfg ? 'word' : 'char')) as 'char' | 'word';
  const base: LmSettings = current ?? { cell: 'lstm', hidden: 64, layers: 1, k1: 32, k2: 32, batch: 16, optimizer: 'adam', lr: 0.01, clip: 5, dropout: 0, seed: 1 };
  const fromTrain: Partial<LmSettings> = trainCfg ? {
    k1: Number(trainCfg['k1']), k2: Number(trainCfg['k2']), batch: Number(trainCfg['batchSize']), optimizer: trainCfg['optimizer'] as LmSettings['optimizer'],
    lr: Number(trainCfg['lr']), clip: Number(trainCfg['maxGradNorm']),
  } : {};
  const settings: LmSettings = { ...base, ...fromTrain, ...saved, cell: cfg.cell, hidden: cfg.hiddenSize, layers: cfg.numLayers, dropout: 1 - cfg.keepProb,
    ...(cfg.embedSize !== cfg.hiddenSize ? { embed: cfg.embedSize } : {}) };
  const vocab = vocabOf(probe.vocab, name);
  const rng = new Rng(settings.seed);
  const model = buildModelFromSpec(probe.spec, rng) as LanguageModel;
  const opt = meta['optimizer'] as { kind?: string } | undefined;
  // The saved kind is the optimizer's class name ('Adam'); createOptimizer takes the lower-case name.
  if (opt?.kind) settings.optimizer = opt.kind.toLowerCase() as LmSettings['optimizer'];
  const optimizer = createOptimizer(settings.optimizer, model, settings.lr);
  const hasRng = Object.hasOwn((meta['rngs'] ?? {}) as object, 'dropout');
  const restored = restoreCheckpoint(bytes, { model, ...(opt ? { optimizer } : {}), ...(hasRng ? { rngs: { dropout: rng } } : {}) }, name);
  const text = corpusText ?? await bundledText('tinyshakespeare');
  const made = makeRun(settings, text, level, { model, vocab, rng, optimizer });
  const pos = restored.dataPosition as { windows?: number } | undefined;
  if (pos && typeof pos.windows === 'number') {
    made.run.windows = pos.windows;
    const st = restored.state;
    if (st['h.0']) {
      made.run.tbptt.setState(Array.from({ length: settings.layers }, (_, l) => {
        const t = (k: string) => new Tensor(Float32Array.from(st[`${k}.${l}`]!.data as ArrayLike<number>), [...st[`${k}.${l}`]!.shape], 'float32');
        return st[`c.${l}`] ? { h: t('h'), c: t('c') } : { h: t('h') };
      }));
    }
  }
  run = made.run;
  post({ type: 'configured', settings, vocabSize: vocab.size, trainTokens: made.trainTokens, validTokens: made.validTokens, params: model.arena().values.length, dropped: made.dropped, source: name });
  post({ type: 'loaded', name, kind: trainCfg ? 'train-checkpoint' : opt ? 'checkpoint' : 'model', windows: made.run.windows });
  validate(made.run);
  post({ type: 'sample', windows: made.run.windows, text: sampleText(made.run, SAMPLE_CHARS) });
}

async function init(resizableMemory: boolean, threads: number | undefined): Promise<void> {
  const isolated = scope.crossOriginIsolated === true;
  try {
    if (isolated) await useBackend('wasm', { threads: threads ?? Math.max(1, Math.min(scope.navigator.hardwareConcurrency ?? 1, 8)) });
    else await useBackend('wasm', { sharedMemory: false, resizableMemory });
  } catch (e) {
    console.warn(`backprop: WASM kernels unavailable (${(e as Error).message}); training on the reference backend`);
    await useBackend('js');
  }
  const info = backendInfo();
  const heap = (getBackend() as { heap?: { fixed?: boolean } }).heap;
  post({
    type: 'ready', mode: info.threads > 1 ? 'threaded' : 'single', threads: info.threads, backend: info.name,
    memory: isolated && info.kind === 'wasm' ? 'shared' : heap?.fixed ? 'fixed' : 'resizable', crossOriginIsolated: isolated, memoryBytes: memoryBytes(),
  });
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'init': return init(m.resizableMemory === true, m.threads);
    case 'configure': {
      running = false;
      corpusText = m.corpus === 'pasted' ? m.text ?? '' : await bundledText(m.corpus);
      corpusName = m.corpus;
      const made = makeRun(m.settings, corpusText, 'char');
      run = made.run;
      sampleRng = new Rng(12345);
      post({ type: 'configured', settings: m.settings, vocabSize: run.vocab.size, trainTokens: made.trainTokens, validTokens: made.validTokens, params: run.model.arena().values.length, dropped: made.dropped, source: m.corpus });
      post({ type: 'state', running: false, windows: 0 });
      validate(run);   // the untrained model's loss starts the validation curve
      return;
    }
    case 'start':
      if (!run) throw new Error('no run configured');
      // A stop point already passed (resuming after it) means no stop point.
      until = m.until !== undefined && m.until > run.windows ? m.until : undefined;
      if (!running) { running = true; post({ type: 'state', running: true, windows: run.windows }); void loop(++loopId); }
      return;
    case 'pause':
      if (running) { running = false; post({ type: 'state', running: false, windows: run?.windows ?? 0 }); }
      return;
    case 'temperature': temperature = m.value; return;
    case 'save': if (run) save(run, m.format); return;
    case 'load': running = false; await load(m.name, m.bytes, run?.settings ?? null); post({ type: 'state', running: false, windows: run?.windows ?? 0 }); return;
    case 'digest': if (run) post({ type: 'digest', ...digest(run), windows: run.windows }); return;
  }
}

// Messages are handled one at a time, in order (a configure finishes before the start after it).
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e: MessageEvent<ToWorker>) => {
  queue = queue.then(() => handle(e.data)).catch((err: unknown) => post({ type: 'error', message: (err as Error).message }));
};
