/**
 * Issue 12's acceptance in Node, as a new user's program: consumer.test.ts copies the compiled file into
 * a fresh project that installed the packed tarball and runs it there, so 'backprop' and 'backprop/node'
 * are the installed package's documented root exports and nothing else (onnxruntime-node is the
 * consumer's own dependency, linked from this repository). It type-checks here against the same
 * declarations (the package's self-reference), so a missing or mistyped export fails the build.
 *
 * What it does, each step asserted (a failure exits non-zero with the assertion's message):
 *   1. trains a dense network with `fit`, saves it to a file and to bytes, loads both back: the same
 *      outputs bit for bit;
 *   2. trains a small LSTM language model with `fitLanguageModel` and callbacks, aborts it from a
 *      callback through an AbortSignal, resumes from the checkpoint, and ends with exactly the parameters
 *      of an uninterrupted run; saves it (file and bytes) and loads it back: the same logits bit for bit;
 *   3. exports both to ONNX and runs them in onnxruntime-node: the same outputs as our forward, to a
 *      float32 tolerance.
 * The last line it prints is a JSON summary the test checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import {
  Adam, Dense, LanguageModel, Rng, Sequential, denseWeights, exportDenseOnnx, exportLmOnnx, fit, intTensor, lmWeights,
  loadModel, modelFromBytes, ready, saveModel, stateDict, tensor,
} from 'backprop';
import { fitLanguageModel, resolveConfig, textCorpusFromBytes, type WindowEvent } from 'backprop/node';

/** Every element the same float (Object.is: -0 and NaN count too). */
function bitIdentical(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
}

/** Two models' parameters, name by name, bit for bit. */
function sameParameters(a: Parameters<typeof stateDict>[0], b: Parameters<typeof stateDict>[0], what: string): void {
  const sa = stateDict(a), sb = stateDict(b);
  assert.deepEqual(Object.keys(sb), Object.keys(sa), `${what}: parameter names`);
  for (const [name, t] of Object.entries(sa)) assert.ok(bitIdentical(t.data, sb[name]!.data), `${what}: ${name} differs`);
}

/** onnxruntime's float32 outputs against ours: |a − b| ≤ 1e-4 + 1e-4·|b| everywhere. */
function closeF32(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= 1e-4 + 1e-4 * Math.abs(expected[i]!), `${what}: onnxruntime ${actual[i]} vs ours ${expected[i]} at ${i}`);
    worst = Math.max(worst, d);
  }
  return worst;
}

await ready();

// 1. A dense network trained with fit (XOR as two classes), saved to a file and to bytes, loaded back.
const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]].flatMap((r) => [r, r, r, r]));
const labels = intTensor([0, 1, 1, 0].flatMap((c) => [c, c, c, c]));
const rng = new Rng(1);
const net = new Sequential(new Dense(2, 8, { activation: 'tanh', rng }), new Dense(8, 2, { rng }));
let batches = 0;
const history = await fit(net, x, labels, {
  loss: 'softmaxCrossEntropy', optimizer: new Adam(net, { lr: 0.05 }), epochs: 100, batchSize: 4, rng,
  callbacks: { onBatchEnd: () => { batches++; } },
});
assert.equal(history.epoch.length, 100);
assert.equal(batches, 100 * 4);
assert.equal(history.history.accuracy?.at(-1), 1, `fit learned XOR (loss ${history.history.loss?.at(-1)})`);
const netBytes = await saveModel(net, 'file://out/dense.ckpt');
assert.ok(bitIdentical(readFileSync('out/dense.ckpt'), netBytes), 'saveModel wrote the bytes it returned');
const netOut = net.forward(x).data;
for (const loaded of [await loadModel('file://out/dense.ckpt'), await loadModel(netBytes), modelFromBytes(netBytes)]) {
  assert.ok(loaded.model instanceof Sequential, 'the dense network comes back as a Sequential');
  assert.ok(bitIdentical(loaded.model.forward(x).data, netOut), 'the reloaded dense network gives the same outputs bit for bit');
  sameParameters(loaded.model, net, 'reloaded dense network');
}

// 2. A small LSTM language model trained from code: once straight through, once aborted from a
// callback in the middle of epoch 2 and resumed from its checkpoint; both end with the same parameters.
const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(60);
const corpus = () => textCorpusFromBytes(new TextEncoder().encode(text), 'cats.txt', { level: 'char' });
const config = resolveConfig('tiny', {
  data: 'text', text: 'cats.txt', level: 'char', epochs: 3, maxStepsPerEpoch: 6, batchSize: 4, numSteps: 8,
  hidden: 16, embed: 8, layers: 1, cell: 'lstm', seed: 7, validTokens: 200, testTokens: 100, testBatchSize: 1, testNumSteps: 5,
});
const whole = await fitLanguageModel({ config, corpus: corpus(), outDir: 'runs/whole', force: true });
assert.equal(whole.stopReason, 'completed');
assert.equal(whole.history.length, 3);

const stop = new AbortController();
const windows: string[] = [], epochs: number[] = [];
const checkpoints: string[] = [];
const first = await fitLanguageModel({
  config, corpus: corpus(), outDir: 'runs/stopped', force: true, signal: stop.signal,
  callbacks: {
    window: (w: WindowEvent) => { windows.push(`${w.epoch}.${w.window}`); if (windows.length === 9) stop.abort(); },   // window 3 of epoch 2
    epochEnd: (e) => { epochs.push(e.epoch); },
    checkpoint: (file) => { checkpoints.push(file); },
  },
});
assert.equal(first.stopReason, 'aborted');
assert.equal(windows.length, 9, 'the run stopped after the window that aborted it');
assert.equal(first.history.length, 1);
assert.deepEqual(epochs, [1], 'one epoch ended before the abort');
assert.ok(first.checkpoint !== null && checkpoints.includes(first.checkpoint), `the abort wrote a checkpoint (${checkpoints.join(', ')})`);
const rest = await fitLanguageModel({ resume: first.checkpoint, corpus: corpus(), outDir: 'runs/stopped' });
assert.equal(rest.stopReason, 'completed');
assert.deepEqual(rest.history.map((h) => h.validPerplexity), whole.history.map((h) => h.validPerplexity), 'the resumed run has the same history');
const lm = rest.trainer.model.eval();
sameParameters(lm, whole.trainer.model, 'resumed vs uninterrupted run');

const vocab = rest.trainer.corpus.vocab;
const lmBytes = await saveModel(lm, 'file://out/lm.ckpt', { vocab });
const [T, B] = [7, 3];
const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 5 + 3) % lm.config.vocabSize);   // time-major [T·B]
const logits = lm.run(ids, B, T, lm.initialState(B)).logits.data;
// The run's own checkpoint loads as a model too (fitLanguageModel names it by path; loadModel takes a URL).
for (const loaded of [await loadModel('file://out/lm.ckpt'), await loadModel(lmBytes), await loadModel(`file://${rest.checkpoint!}`)]) {
  assert.ok(loaded.model instanceof LanguageModel, 'the language model comes back as a LanguageModel');
  sameParameters(loaded.model, lm, 'reloaded language model');
  assert.ok(bitIdentical(loaded.model.run(ids, B, T, loaded.model.initialState(B)).logits.data, logits), 'the reloaded language model gives the same logits bit for bit');
}
assert.deepEqual(JSON.parse(JSON.stringify((await loadModel(lmBytes)).vocab)), JSON.parse(JSON.stringify(vocab)), 'the vocabulary comes back');

// 3. Both exported to ONNX: onnxruntime-node gives our forward's outputs.
const L = lm.config.numLayers, H = lm.config.hiddenSize;
const lmSession = await ort.InferenceSession.create(exportLmOnnx(lmWeights(lm)));
const zeros = () => new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]);
const lmOut = await lmSession.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [T, B]), h0: zeros(), c0: zeros() });
assert.deepEqual(lmOut['logits']!.dims, [T, B, lm.config.vocabSize]);
const lmWorst = closeF32(lmOut['logits']!.data as Float32Array, logits, 'LSTM LM logits');
await lmSession.release();
const denseSession = await ort.InferenceSession.create(exportDenseOnnx(denseWeights(net)));
const denseOut = await denseSession.run({ x: new ort.Tensor('float32', Float32Array.from(x.data), [x.shape[0]!, 2]) });
const denseWorst = closeF32(denseOut['y']!.data as Float32Array, netOut, 'dense outputs');
await denseSession.release();

console.log(JSON.stringify({
  dense: { epochs: history.epoch.length, accuracy: history.history.accuracy?.at(-1), bytes: netBytes.length },
  lm: { stopped: first.stopReason, resumed: rest.stopReason, epochs: rest.history.length, windows: windows.length, bytes: lmBytes.length },
  onnx: { lm: lmWorst, dense: denseWorst },
}));
