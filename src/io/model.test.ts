// Model IO round trips: every model family saved and loaded gives the same outputs bit for bit; a
// training checkpoint resumes a run exactly; the io handlers and schemes; lazy safetensors reads; the
// pure SHA-256 against node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as o from '../autodiff/index.js';
import { LanguageModel } from '../nn/language-model.js';
import { Activation, Dense, Dropout, Sequential } from '../nn/layers.js';
import { Adam, Momentum } from '../optim/optimizers.js';
import { Rng } from '../tensor/random.js';
import { tensor } from '../tensor/tensor.js';
import { backendInfo, referenceBackend, setBackend, getBackend } from '../backend/index.js';
import { FormatError } from '../errors.js';
import {
  checkpointToBytes, loadModel, loadStateDict, modelFromBytes, modelToBytes, registerIOScheme, restoreCheckpoint, saveModel,
  stateDict, loadTrainingCheckpoint, saveTrainingCheckpoint, type IOHandler,
} from './model.js';
import { safeOpen as safeOpenBytes, bytesSource, type ByteSource } from './safe-open.js';
import { encodeSafetensors } from './safetensors.js';
import { Sha256 } from './sha256.js';
import '../node.js'; // registers file://
import { loadFile, safeOpen, saveFile } from './files.js';

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): void => {
  assert.equal(a.length, b.length, `${what}: length`);
  const x = new Float64Array(Array.from(a)), y = new Float64Array(Array.from(b));
  assert.deepEqual(new Uint8Array(x.buffer), new Uint8Array(y.buffer), `${what}: not bit-identical`);
};

function lm(cell: 'lstm' | 'gru' | 'rnn', seed: number): LanguageModel {
  return new LanguageModel({ vocabSize: 11, embedSize: 6, hiddenSize: 9, numLayers: 2, cell, keepProb: 0.8, forgetBias: cell === 'lstm' ? 1 : 0, initScale: 0.3 }, new Rng(seed));
}

function lmLogits(m: LanguageModel): Float32Array | Float64Array {
  const [B, T] = [3, 5];
  const ids = Int32Array.from({ length: B * T }, (_, k) => (k * 7 + 3) % 11);
  m.eval();
  return m.run(ids, B, T, m.initialState(B)).logits.data as Float32Array;
}

test('save → load gives bit-identical logits for LSTM, GRU and RNN language models, with configuration and vocabulary', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const model = lm(cell, 5);
    const vocab = ['<unk>', ...'abcdefghij'];
    const bytes = modelToBytes(model, { vocab, meta: { note: 'trained on nothing' } });
    const loaded = modelFromBytes(bytes, `${cell}.ckpt`);
    assert.ok(loaded.model instanceof LanguageModel);
    assert.deepEqual(loaded.model.config, model.config);
    assert.deepEqual(loaded.vocab, vocab);
    assert.deepEqual(loaded.meta, { note: 'trained on nothing' });
    assert.equal(loaded.model.training, false, 'loaded in evaluation mode');
    sameBits(lmLogits(loaded.model), lmLogits(model), `${cell} logits`);
    // The file's names are the documented scheme (docs/formats.md).
    assert.ok(Object.hasOwn(stateDict(model), `${cell}.1.kernel`));
    if (cell === 'gru') assert.deepEqual(stateDict(model)['gru.0.candKernel']!.shape, [15, 9]);
  }
});

test('save → load gives bit-identical outputs for dense networks (Sequential, Dense, float64)', () => {
  const x = tensor(Array.from({ length: 4 }, (_, i) => [i - 1.5, 0.25 * i, 1 / (i + 1)]));
  const nets = [
    new Sequential(new Dense(3, 8, { activation: 'relu', rng: new Rng(1) }), new Dropout(0.3), new Dense(8, 2, { rng: new Rng(2) }), new Activation('softmax')),
    new Dense(3, 2, { activation: 'tanh', bias: false, rng: new Rng(3) }),
  ];
  for (const net of nets) {
    const copy = modelFromBytes(modelToBytes(net)).model as typeof net;
    net.eval();
    sameBits(copy.forward(x).data, net.forward(x).data, net.constructor.name);
  }
  const x64 = tensor([[0.1, 0.2, 0.3]], { dtype: 'float64' });
  const net64 = new Dense(3, 2, { activation: 'sigmoid', dtype: 'float64', rng: new Rng(4) });
  const copy64 = modelFromBytes(modelToBytes(net64)).model as Dense;
  assert.equal(copy64.weight.dtype, 'float64');
  sameBits(copy64.forward(x64).data, net64.forward(x64).data, 'float64 dense');
});

test('loadStateDict checks names and shapes, naming the problem', () => {
  const a = new Dense(3, 2, { rng: new Rng(1) }), b = new Dense(3, 2, { rng: new Rng(2) });
  loadStateDict(b, stateDict(a));
  sameBits(b.weight.data, a.weight.data, 'weights copied');
  assert.throws(() => loadStateDict(b, { ...stateDict(a), extra: { shape: [1], data: [0] } }), /"extra" name no parameter/);
  loadStateDict(b, { ...stateDict(a), extra: { shape: [1], data: [0] } }, { strict: false });
  assert.throws(() => loadStateDict(b, { weight: { shape: [2, 3], data: new Float32Array(6) }, bias: stateDict(a)['bias']! }), /weight has shape \[2, 3\], the model needs \[3, 2\]/);
  assert.throws(() => loadStateDict(b, { weight: stateDict(a)['weight']! }), /missing parameter bias/);
});

test('a corrupted or foreign model file is a one-line FormatError naming it', () => {
  const bytes = modelToBytes(new Dense(2, 2));
  const bad = bytes.slice();
  bad[bad.length - 1]! ^= 1;
  assert.throws(() => modelFromBytes(bad, 'net.ckpt'), (e: Error) => e instanceof FormatError && /net\.ckpt: checksum mismatch/.test(e.message));
  assert.throws(() => modelFromBytes(encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } }), 'w.safetensors'), /w\.safetensors: a safetensors file but not a backprop checkpoint/);
});

test('a training checkpoint resumes a run exactly: optimizer moments, step, random generators, data position', () => {
  // Train a small net for 6 steps straight, and for 3 steps, checkpoint, restore into fresh objects, 3 more.
  const data = Array.from({ length: 6 }, (_, s) => tensor([[s / 6, 1 - s / 6], [0.5, -s / 3]]));
  const step = (net: Sequential, opt: Adam, rng: Rng, s: number) => {
    opt.zeroGrad();
    const y = net.forward(o.mul(data[s]!, rng.uniform() + 0.5));
    o.backward(o.sum(o.mul(y, y)));
    opt.step();
  };
  const make = (seed: number) => {
    const net = new Sequential(new Dense(2, 4, { activation: 'tanh', rng: new Rng(seed) }), new Dense(4, 1, { rng: new Rng(seed + 1) }));
    return { net, opt: new Adam(net, { lr: 0.05 }), rng: new Rng(seed + 2) };
  };
  const straight = make(1);
  for (let s = 0; s < 6; s++) step(straight.net, straight.opt, straight.rng, s);

  const first = make(1);
  for (let s = 0; s < 3; s++) step(first.net, first.opt, first.rng, s);
  const bytes = checkpointToBytes({ model: first.net, optimizer: first.opt, rngs: { noise: first.rng }, dataPosition: { step: 3 }, vocab: null });
  const resumed = make(99); // other parameters and generator: everything must come from the checkpoint
  const r = restoreCheckpoint(bytes, { model: resumed.net, optimizer: resumed.opt, rngs: { noise: resumed.rng } });
  assert.deepEqual(r.dataPosition, { step: 3 });
  assert.equal(resumed.opt.stepCount, 3);
  for (let s = (r.dataPosition as { step: number }).step; s < 6; s++) step(resumed.net, resumed.opt, resumed.rng, s);
  sameBits(resumed.net.arena().values, straight.net.arena().values, 'parameters after 6 steps');

  assert.throws(() => restoreCheckpoint(bytes, { optimizer: new Momentum(make(1).net, { lr: 0.1 }) }), /optimizer state is for Adam/);
  assert.throws(() => restoreCheckpoint(bytes, { rngs: { other: new Rng(0) } }), /no state for random generator "other" \(saved: noise\)/);
  assert.throws(() => restoreCheckpoint(modelToBytes(make(1).net), { optimizer: make(1).opt }), /no optimizer state/);
  // Without a target model, one is built from the file's description.
  sameBits((restoreCheckpoint(bytes).model as Sequential).arena().values, first.net.arena().values, 'model built from the checkpoint');
});

test('io handlers: a registered scheme, an IOHandler, file:// (backprop/node), bytes and Blobs', async () => {
  const model = lm('gru', 8);
  const store = new Map<string, Uint8Array>();
  registerIOScheme('mem://', (key) => ({ save: async (b) => { store.set(key, b); }, load: async () => store.get(key)! }));
  await saveModel(model, 'mem://a', { vocab: ['x'] });
  sameBits(lmLogits((await loadModel('mem://a')).model as LanguageModel), lmLogits(model), 'mem://');

  let held: Uint8Array | undefined;
  const handler: IOHandler = { save: async (b) => { held = b; }, load: async () => held! };
  const written = await saveModel(model, handler);
  assert.equal(held, written);
  sameBits(lmLogits((await loadModel(handler)).model as LanguageModel), lmLogits(model), 'handler');
  sameBits(lmLogits((await loadModel(new Blob([written as Uint8Array<ArrayBuffer>]))).model as LanguageModel), lmLogits(model), 'Blob');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-modelio-'));
  try {
    const file = path.join(dir, 'nested', 'm.ckpt');
    await saveModel(model, `file://${file}`);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), written);
    sameBits(lmLogits((await loadModel(`file://${file}`)).model as LanguageModel), lmLogits(model), 'file://');
    sameBits(lmLogits((await loadModel(file)).model as LanguageModel), lmLogits(model), 'a plain path');
    await saveTrainingCheckpoint(`file://${dir}/run.ckpt`, { model, rngs: { r: new Rng(3) }, dataPosition: 17 });
    assert.equal((await loadTrainingCheckpoint(`file://${dir}/run.ckpt`)).dataPosition, 17);
    await assert.rejects(loadModel(`file://${dir}/missing.ckpt`), /missing\.ckpt: cannot read: file not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(loadModel('nope://x'), /no io handler for nope:\/\//);
  // With backprop/node loaded, a plain path is a file (as torch.save/torch.load take paths).
  await assert.rejects(loadModel(path.join(os.tmpdir(), 'bp-no-such-dir', 'model.ckpt')), /model\.ckpt: cannot read: file not found/);
  await assert.rejects(loadModel(''), /names no storage/);
  await assert.rejects(saveModel(model, 'downloads://m.ckpt'), /downloads:\/\/ needs a browser page/);
  await assert.rejects(loadModel('indexeddb://m'), /indexeddb:\/\/ needs IndexedDB/);
});

test('safeOpen reads the header and then only the tensor asked for (bytes, Blob, a counting source, a file)', async () => {
  const big = new Float32Array(1 << 16).map((_, i) => i);
  const bytes = encodeSafetensors({ big: { shape: [256, 256], data: big }, small: { shape: [3], data: new Float32Array([1, 2, 3]) }, ids: { dtype: 'I64', shape: [2], data: new Int32Array([-5, 7]) } }, { who: 'test' });
  let read = 0;
  const inner = bytesSource(bytes);
  const counting: ByteSource = { size: inner.size, read: async (off, len) => { read += len; return inner.read(off, len); } };
  const f = await safeOpenBytes(counting, 'counted');
  assert.deepEqual(f.keys().sort(), ['big', 'ids', 'small']);
  assert.deepEqual(f.metadata(), { who: 'test' });
  assert.deepEqual(f.info('big'), { dtype: 'F32', shape: [256, 256] });
  const headerBytes = read;
  assert.deepEqual(Array.from((await f.getTensor('small')).data), [1, 2, 3]);
  assert.equal(read - headerBytes, 12, 'reading "small" reads its 12 bytes, not the 256 kB beside it');
  assert.ok(headerBytes < 400, `the header read is small (${headerBytes} bytes)`);
  assert.deepEqual(Array.from((await (await safeOpenBytes(new Blob([bytes as Uint8Array<ArrayBuffer>]))).getTensor('ids')).data), [-5, 7]);
  await assert.rejects(f.getTensor('nope'), /counted: no tensor named "nope"/);
  await assert.rejects(safeOpenBytes(bytes.subarray(0, bytes.length - 4), 'cut.safetensors'), /cut\.safetensors: not a valid safetensors file: .*data section/);
  await assert.rejects(safeOpenBytes(bytes.subarray(0, 20), 'tiny'), /tiny: not a valid safetensors file: header length \d+ runs past the end/);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-safeopen-'));
  try {
    const file = path.join(dir, 'w.safetensors');
    saveFile({ big: { shape: [256, 256], data: big } }, file, { a: 'b' });
    assert.deepEqual(loadFile(file).metadata, { a: 'b' });
    const g = await safeOpen(file);
    sameBits((await g.getTensor('big')).data, big, 'file tensor');
    await g.close();
    await assert.rejects(safeOpen(path.join(dir, 'none.safetensors')), /none\.safetensors: cannot read: file not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the pure SHA-256 equals node:crypto on every length around the block boundaries and in chunks', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 31 + 7) & 255);
  for (let n = 0; n <= 300; n++) {
    const bytes = data.subarray(0, n);
    assert.equal(new Sha256().update(bytes).digestHex(), createHash('sha256').update(bytes).digest('hex'), `length ${n}`);
  }
  const h = new Sha256();
  for (let at = 0; at < 300; at += 37) h.update(data.subarray(at, Math.min(300, at + 37)));
  assert.equal(h.digestHex(), createHash('sha256').update(data).digest('hex'), 'chunked');
});

test('backendInfo reads back what runs', () => {
  const before = getBackend();
  try {
    setBackend(referenceBackend);
    assert.deepEqual(backendInfo(), { kind: 'js', name: 'js', simd: false, fma: false, threads: 1, native: null });
  } finally {
    setBackend(before);
  }
  const info = backendInfo();
  assert.equal(info.name, before.name);
  if (info.kind === 'wasm') {
    const w = before as unknown as { simd: boolean; relaxed: boolean; threads: number };
    assert.deepEqual([info.simd, info.fma, info.threads], [w.simd, w.relaxed, w.threads]);
  }
});

test('loadModel reads a `backprop train` checkpoint: the language model from its training configuration', async () => {
  const { buildModel, modelTensors, optimizerContents, stateTensors } = await import('../train/model-file.js');
  const { resolveConfig } = await import('../train/presets.js');
  const { encodeCheckpoint } = await import('./checkpoint-codec.js');
  for (const cell of ['gru', 'rnn', 'lstm'] as const) {
    const cfg = resolveConfig('tiny', { cell, hidden: 6, embed: 5, layers: 2, forgetBias: cell === 'lstm' ? 1 : 0 });
    const trained = buildModel(cfg, 13, new Rng(cfg.seed + 5));
    const opt = optimizerContents(new Adam(trained, { lr: 0.01 }));
    // What LMTrainer.snapshot writes: parameters, optimizer tensors, the carried state, and JSON metadata.
    const bytes = encodeCheckpoint({
      tensors: { ...modelTensors(trained), ...opt.tensors, ...stateTensors(trained.initialState(2)) },
      meta: { config: cfg, vocab: { itos: ['<unk>'] }, optimizer: opt.meta, trainer_state: { epoch: 1 } },
    });
    const { model, vocab, meta } = await loadModel(bytes);
    assert.ok(model instanceof LanguageModel);
    assert.equal(model.config.vocabSize, 13);
    assert.equal(model.config.cell, cell);
    assert.deepEqual(vocab, { itos: ['<unk>'] });
    assert.deepEqual(meta['trainer_state'], { epoch: 1 });
    sameBits(lmLogits(model), lmLogits(trained), `${cell} train checkpoint`);
  }
});
