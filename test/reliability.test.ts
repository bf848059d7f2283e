// Reliability: the network JSON reader under fuzzing, divergence detection, and flat memory over a long run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackpropError, DivergenceError, LanguageModel, type Dense, parseNetworkSpec, defaultNetwork, Rng, SGD, TruncatedBPTT } from '../src/index.js';

test('fuzz: the network JSON reader throws only BackpropError on random and mutated input', () => {
  const rng = new Rng(99);
  const valid = JSON.stringify(defaultNetwork);
  const pick = <T>(xs: T[]): T => xs[rng.int(xs.length)]!;
  let accepted = 0;
  for (let k = 0; k < 600; k++) {
    let text: string;
    if (k % 3 === 0) {
      text = Array.from({ length: rng.int(60) }, () => String.fromCharCode(rng.int(128))).join('');
    } else {
      const chars = valid.split('');
      for (let m = 0; m < 1 + rng.int(4); m++) {
        const i = rng.int(chars.length);
        const op = rng.int(3);
        if (op === 0) chars.splice(i, 1);
        else if (op === 1) chars.splice(i, 0, pick(['1', '-', ',', '[', ']', '{', '}', '"', 'e', '9', 'null', 'true']));
        else chars[i] = pick(['0', '2', '"', ':', ']', 'x']);
      }
      text = chars.join('');
    }
    let value: unknown;
    try { value = JSON.parse(text); } catch { continue; }
    try {
      parseNetworkSpec(value, 'fuzz.json');
      accepted++;
    } catch (e) {
      assert.ok(e instanceof BackpropError, `non-library error on ${text}: ${(e as Error).stack}`);
      assert.match((e as Error).message, /fuzz\.json/);
    }
  }
  assert.ok(accepted > 0, 'some mutations stay valid');
});

const tinyLM = () => new LanguageModel({ vocabSize: 20, embedSize: 8, hiddenSize: 16, numLayers: 1, cell: 'lstm', keepProb: 0.9, forgetBias: 0, initScale: 0.1 }, new Rng(1));
function batch(rng: Rng, B: number, T: number): { x: Int32Array; y: Int32Array } {
  const x = Int32Array.from({ length: B * T }, () => rng.int(20));
  return { x, y: Int32Array.from(x, (v) => (v + 1) % 20) };
}

test('divergence: a NaN loss stops training with the step named; "skip" lowers the learning rate instead', () => {
  const model = tinyLM();
  const opt = new SGD(model, { lr: 1 });
  const tr = new TruncatedBPTT(model, opt, { k1: 5, k2: 5, batchSize: 2 });
  const rng = new Rng(2);
  tr.feed(batch(rng, 2, 5).x, batch(rng, 2, 5).y, 5);
  (model.proj as Dense).weight.data[3] = NaN;
  const before = Float32Array.from(model.arena().values);
  assert.throws(() => { const b = batch(rng, 2, 5); tr.feed(b.x, b.y, 5); }, (e: Error) => e instanceof DivergenceError && /step 10/.test(e.message));
  // parameters untouched by the failed update (NaN included)
  assert.deepEqual(Array.from(model.arena().values, String), Array.from(before, String));

  const m2 = tinyLM();
  const o2 = new SGD(m2, { lr: 1 });
  const t2 = new TruncatedBPTT(m2, o2, { k1: 5, k2: 5, batchSize: 2, onDivergence: 'skip', skipLrFactor: 0.5 });
  m2.proj.bias!.data[0] = Infinity;
  const b = batch(rng, 2, 5);
  const r = t2.feed(b.x, b.y, 5);
  assert.equal(r.updates[0]!.skipped, true);
  assert.equal(o2.lr, 0.5);
});

test('divergence, skip mode: a skipped window carries the state that entered it, so the NaN does not poison the next one', () => {
  const m = tinyLM();
  const opt = new SGD(m, { lr: 0.5 });
  const tr = new TruncatedBPTT(m, opt, { k1: 5, k2: 5, batchSize: 2, onDivergence: 'skip' });
  const E = m.embedding.weight.data, row = 7 * 8, saved = Array.from(E.subarray(row, row + 8));
  E.fill(NaN, row, row + 8);                                    // token 7's embedding is NaN for one window
  const x = Int32Array.from({ length: 10 }, (_, i) => (i === 3 ? 7 : i % 5)), y = Int32Array.from(x, (v) => (v + 1) % 20);
  assert.equal(tr.feed(x, y, 5).updates[0]!.skipped, true);
  assert.ok(tr.state.every((l) => Array.from(l.h.data).every(Number.isFinite) && Array.from(l.c!.data).every(Number.isFinite)), 'the carried state is finite');
  E.set(saved, row);                                            // the fault is gone
  const rng = new Rng(9), b = batch(rng, 2, 5);
  const next = tr.feed(b.x, b.y, 5).updates[0]!;
  assert.equal(next.skipped, false, 'the next window trains');
  assert.ok(Number.isFinite(next.loss));
});

test('memory stays flat over a long training run (no dispose() anywhere)', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with --expose-gc');
  const model = tinyLM();
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0.5 }), { k1: 10, k2: 10, batchSize: 8, maxGradNorm: 5 });
  const rng = new Rng(3);
  const measure = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers; };
  const run = (n: number) => { for (let i = 0; i < n; i++) { const b = batch(rng, 8, 10); tr.feed(b.x, b.y, 10); } };
  run(200);
  const start = measure();
  run(1500);
  const end = measure();
  const growthMiB = (end - start) / 2 ** 20;
  console.log(`# memory after 200 updates ${(start / 2 ** 20).toFixed(1)} MiB, after 1,700: ${(end / 2 ** 20).toFixed(1)} MiB (growth ${growthMiB.toFixed(2)} MiB)`);
  assert.ok(growthMiB < 8, `memory grew by ${growthMiB} MiB`);
});

test('WASM backend: a synchronous training loop keeps its live memory flat (scopes free each step)', async () => {
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const { getBackend, setBackend } = await import('../src/backend/index.js');
  const prev = getBackend();
  const be = await createWasmBackend({ threads: 1 });
  setBackend(be);
  try {
    const model = tinyLM();
    const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0.5 }), { k1: 4, k2: 10, batchSize: 8, maxGradNorm: 5 });
    const rng = new Rng(4);
    const run = (n: number) => { for (let i = 0; i < n; i++) { const b = batch(rng, 8, 10); tr.feed(b.x, b.y, 10); } };
    run(50);
    const start = be.heap.liveBytes;
    run(500); // no await anywhere: finalizers never get a chance to run
    const end = be.heap.liveBytes;
    console.log(`# WASM live bytes after 50 feeds ${start}, after 550: ${end}`);
    assert.ok(end <= start, `live WASM memory grew from ${start} to ${end} bytes`);
  } finally {
    setBackend(prev);
    be.close();
  }
});

test('trainStep: a plain supervised loop on the WASM backend keeps live memory flat and still learns', async () => {
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const { getBackend, setBackend } = await import('../src/backend/index.js');
  const { Dense, Sequential, mean, softmaxCrossEntropy, tensor, Tensor, trainStep, Momentum } = await import('../src/index.js');
  const prev = getBackend();
  const be = await createWasmBackend({ threads: 1 });
  setBackend(be);
  try {
    const rng = new Rng(5);
    const net = new Sequential(new Dense(8, 64, { activation: 'relu', rng }), new Dense(64, 4, { rng }));
    const opt = new Momentum(net, { lr: 0.05 });
    const x = tensor(Array.from({ length: 64 }, () => Array.from({ length: 8 }, () => rng.normal())));
    const labels = Int32Array.from({ length: 64 }, (_, i) => (x.data[i * 8]! > 0 ? 1 : 0) + (x.data[i * 8 + 1]! > 0 ? 2 : 0));
    const y = new Tensor(labels, [64], 'int32');
    const first = trainStep(opt, () => mean(softmaxCrossEntropy(net.forward(x), y))).loss;
    for (let i = 0; i < 50; i++) trainStep(opt, () => mean(softmaxCrossEntropy(net.forward(x), y)));
    const start = be.heap.liveBytes;
    let last = 0;
    for (let i = 0; i < 500; i++) last = trainStep(opt, () => mean(softmaxCrossEntropy(net.forward(x), y))).loss;
    assert.ok(be.heap.liveBytes <= start, `live WASM memory grew from ${start} to ${be.heap.liveBytes}`);
    assert.ok(last < first / 5, `loss ${first} → ${last}`);
  } finally {
    setBackend(prev);
    be.close();
  }
});
