import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { exportDenseOnnx, exportLmOnnx, exportLstmLmOnnx, ONNX_OPSET } from './onnx.js';
import { denseForward, lstmLmForward, recurrentLmForward } from './reference.js';
import { denseWeights, lmWeights, stateDict } from './model.js';
import { LanguageModel } from '../nn/language-model.js';
import { Activation, Dense, Sequential } from '../nn/layers.js';
import { Rng } from '../tensor/random.js';
import { tensor } from '../tensor/tensor.js';
import { seededRandom } from './testing.js';
import { activationKinds } from '../nn/activations.js';
import type { DenseActivation, DenseNetWeights, LstmLmWeights, RecurrentCellKind, RecurrentLmWeights } from './weights.js';
import { CELL_GATES, denseFromTensors, denseToTensors, lstmLmFromTensors, lstmLmToTensors, recurrentLmFromTensors, recurrentLmToTensors } from './weights.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

const TOLERANCE = 1e-4;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = 0;
  for (let k = 0; k < expected.length; k++) {
    const diff = Math.abs(actual[k]! - expected[k]!);
    if (!(diff <= worst)) [worst, at] = [diff, k];
  }
  assert.ok(worst <= TOLERANCE, `${what}: |onnx − reference| = ${worst} at index ${at} (${actual[at]} vs ${expected[at]})`);
}

function uniform(random: () => number, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

function randomDense(random: () => number, sizes: number[], activations: DenseActivation[]): DenseNetWeights {
  return {
    layers: activations.map((activation, k) => ({
      weight: uniform(random, sizes[k]! * sizes[k + 1]!, 1.5), bias: uniform(random, sizes[k + 1]!, 0.5),
      inSize: sizes[k]!, outSize: sizes[k + 1]!, activation,
    })),
  };
}

function randomLm(random: () => number, V: number, E: number, H: number, L: number, forgetBias: number): LstmLmWeights {
  return {
    vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, forgetBias,
    embedding: uniform(random, V * E, 1),
    layers: Array.from({ length: L }, (_, l) => ({ kernel: uniform(random, ((l === 0 ? E : H) + H) * 4 * H, 0.6), bias: uniform(random, 4 * H, 0.3) })),
    projWeight: uniform(random, H * V, 0.8),
    projBias: uniform(random, V, 0.2),
  };
}

test('the exported models declare opset 13 and name their inputs and outputs', () => {
  const random = seededRandom(1);
  const decoded = onnxProto.onnx.ModelProto.decode(exportLstmLmOnnx(randomLm(random, 5, 3, 4, 2, 1)));
  assert.equal(Number(decoded.opsetImport[0]!.version), ONNX_OPSET);
  const graph = decoded.graph!;
  assert.deepEqual(graph.input!.map((i) => i.name), ['tokens', 'h0', 'c0']);
  assert.deepEqual(graph.output!.map((o) => o.name), ['logits', 'hT', 'cT']);
  assert.ok(graph.node!.some((n) => n.opType === 'LSTM'));
});

test('dense networks in onnxruntime match the reference forward', async () => {
  const random = seededRandom(2);
  const cases: Array<[number[], DenseActivation[]]> = [
    [[1, 2, 2, 1], ['sigmoid', 'sigmoid', 'sigmoid']],
    [[4, 16, 3], ['relu', 'softmax']],
    [[3, 5, 5, 2], ['tanh', 'linear', 'softmax']],
    // Every row of the activation table, in one network: a new activation is exported and checked here.
    [[3, ...activationKinds.map(() => 6)], activationKinds],
  ];
  for (const [sizes, activations] of cases) {
    const net = randomDense(random, sizes, activations);
    const session = await ort.InferenceSession.create(exportDenseOnnx(net));
    for (const N of [1, 7]) {
      const x = uniform(random, N * sizes[0]!, 2);
      const { y } = await session.run({ x: new ort.Tensor('float32', x, [N, sizes[0]!]) });
      assert.deepEqual(y!.dims, [N, sizes[sizes.length - 1]!]);
      assertClose(y!.data as Float32Array, denseForward(net, x, N), `dense ${sizes.join('-')} N=${N}`);
    }
    await session.release();
  }
});

test('the LSTM LM in onnxruntime matches the reference: logits and final states, carried across calls', async () => {
  const random = seededRandom(3);
  const configs = [
    { V: 7, E: 5, H: 3, L: 1, forgetBias: 1 },
    { V: 11, E: 6, H: 8, L: 2, forgetBias: 0 },
    { V: 13, E: 4, H: 17, L: 3, forgetBias: 1 },
    { V: 10, E: 8, H: 8, L: 1, forgetBias: 0.5 },
  ];
  for (const { V, E, H, L, forgetBias } of configs) {
    const lm = randomLm(random, V, E, H, L, forgetBias);
    const session = await ort.InferenceSession.create(exportLstmLmOnnx(lm));
    const T = 6;
    const B = 3;
    let h = uniform(random, L * B * H, 0.5);
    let c = uniform(random, L * B * H, 0.5);
    // Two consecutive windows: the second starts from the first's hT/cT, as stateful inference does.
    for (let window = 0; window < 2; window++) {
      const tokens = Array.from({ length: T * B }, () => Math.floor(random() * V));
      const expected = lstmLmForward(lm, tokens, T, B, h, c);
      const out = await session.run({
        tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, B]),
        h0: new ort.Tensor('float32', h, [L, B, H]),
        c0: new ort.Tensor('float32', c, [L, B, H]),
      });
      const what = `V=${V} E=${E} H=${H} L=${L} window ${window}`;
      assert.deepEqual(out.logits!.dims, [T, B, V]);
      assert.deepEqual(out.hT!.dims, [L, B, H]);
      assertClose(out.logits!.data as Float32Array, expected.logits, `${what} logits`);
      assertClose(out.hT!.data as Float32Array, expected.hT, `${what} hT`);
      assertClose(out.cT!.data as Float32Array, expected.cT, `${what} cT`);
      h = out.hT!.data as Float32Array;
      c = out.cT!.data as Float32Array;
    }
    await session.release();
  }
});

test('the naming scheme round-trips both model families through safetensors', () => {
  const random = seededRandom(4);
  const lm = randomLm(random, 6, 4, 5, 2, 1);
  const tensors = decodeSafetensors(encodeSafetensors(lstmLmToTensors(lm))).tensors;
  assert.deepEqual(Object.keys(tensors).sort(),
    ['embedding.weight', 'lstm.0.bias', 'lstm.0.kernel', 'lstm.1.bias', 'lstm.1.kernel', 'proj.bias', 'proj.weight']);
  assert.deepEqual(tensors['lstm.1.kernel']!.shape, [10, 20]);
  assert.deepEqual(lstmLmFromTensors(tensors, 1), lm);
  const net = randomDense(random, [4, 16, 3], ['relu', 'softmax']);
  assert.deepEqual(denseFromTensors(decodeSafetensors(encodeSafetensors(denseToTensors(net))).tensors, ['relu', 'softmax']), net);
  assert.throws(() => lstmLmFromTensors({ ...tensors, 'proj.bias': { shape: [5], data: new Float32Array(5) } }, 1, 'x.ckpt'),
    /x\.ckpt: proj\.bias \[6\] has 5 values/);
});

test('the PyTorch recipe in docs/formats.md (reorder i,j,f,o → i,f,g,o; fold forget bias) reproduces the model', () => {
  // A transliteration of the doc's snippet and of torch.nn.LSTM's equations, checked against our reference.
  const random = seededRandom(5);
  const [V, E, H, L, T, B] = [9, 4, 5, 2, 4, 2];
  const lm = randomLm(random, V, E, H, L, 1);
  const TORCH_FROM_OURS = [0, 2, 1, 3]; // torch blocks i, f, g, o ← our blocks i=0, j=1, f=2, o=3
  const torchLayers = lm.layers.map(({ kernel, bias }, l) => {
    const nIn = l === 0 ? E : H;
    // weight_ih = reorder(kernel[:nIn]).T [4H, nIn]; weight_hh = reorder(kernel[nIn:]).T [4H, H]
    const weightIh = (row: number, r: number): number => kernel[r * 4 * H + TORCH_FROM_OURS[Math.floor(row / H)]! * H + (row % H)]!;
    const weightHh = (row: number, r: number): number => kernel[(nIn + r) * 4 * H + TORCH_FROM_OURS[Math.floor(row / H)]! * H + (row % H)]!;
    const biasIh = Array.from({ length: 4 * H }, (_, row) => bias[TORCH_FROM_OURS[Math.floor(row / H)]! * H + (row % H)]! + (Math.floor(row / H) === 1 ? lm.forgetBias : 0));
    return { nIn, weightIh, weightHh, biasIh };
  });
  const tokens = Array.from({ length: T * B }, () => Math.floor(random() * V));
  const h = new Float64Array(L * B * H);
  const c = new Float64Array(L * B * H);
  const logits: number[] = [];
  const σ = (x: number): number => 1 / (1 + Math.exp(-x));
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      let x = Array.from(lm.embedding.subarray(tokens[t * B + b]! * E, (tokens[t * B + b]! + 1) * E));
      torchLayers.forEach(({ nIn, weightIh, weightHh, biasIh }, l) => {
        const s = (l * B + b) * H;
        // gates = W_ih x + b_ih + W_hh h + b_hh (b_hh = 0), chunks i, f, g, o
        const gates = biasIh.map((bi, row) => {
          let sum = bi;
          for (let r = 0; r < nIn; r++) sum += weightIh(row, r) * x[r]!;
          for (let r = 0; r < H; r++) sum += weightHh(row, r) * h[s + r]!;
          return sum;
        });
        for (let k = 0; k < H; k++) {
          c[s + k] = σ(gates[H + k]!) * c[s + k]! + σ(gates[k]!) * Math.tanh(gates[2 * H + k]!);
          h[s + k] = σ(gates[3 * H + k]!) * Math.tanh(c[s + k]!);
        }
        x = Array.from(h.subarray(s, s + H));
      });
      for (let v = 0; v < V; v++) logits.push(lm.projBias[v]! + x.reduce((sum, xk, k) => sum + xk * lm.projWeight[k * V + v]!, 0));
    }
  }
  const expected = lstmLmForward(lm, tokens, T, B, new Float32Array(L * B * H), new Float32Array(L * B * H));
  assertClose(logits, expected.logits, 'torch-layout logits');
  assertClose(h, expected.hT, 'torch-layout hT');
});

// ---- GRU and RNN language models, and exports of live models -----------------------------------

function randomRecurrentLm(random: () => number, cell: RecurrentCellKind, V: number, E: number, H: number, L: number): RecurrentLmWeights {
  const G = CELL_GATES[cell];
  return {
    cell, vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, forgetBias: 0,
    embedding: uniform(random, V * E, 1),
    layers: Array.from({ length: L }, (_, l) => {
      const K = (l === 0 ? E : H) + H;
      return {
        kernel: uniform(random, K * G * H, 0.6), bias: uniform(random, G * H, 0.3),
        ...(cell === 'gru' ? { candKernel: uniform(random, K * H, 0.6), candBias: uniform(random, H, 0.3) } : {}),
      };
    }),
    projWeight: uniform(random, H * V, 0.8),
    projBias: uniform(random, V, 0.2),
  };
}

for (const cell of ['gru', 'rnn'] as const) {
  test(`the ${cell.toUpperCase()} LM in onnxruntime matches the reference: logits and final state, carried across calls`, async () => {
    const random = seededRandom(cell === 'gru' ? 6 : 7);
    for (const [V, E, H, L] of [[7, 5, 3, 1], [11, 6, 8, 2], [13, 4, 17, 3]] as const) {
      const lm = randomRecurrentLm(random, cell, V, E, H, L);
      const bytes = exportLmOnnx(lm);
      const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
      assert.deepEqual(graph.input!.map((i) => i.name), ['tokens', 'h0']);
      assert.deepEqual(graph.output!.map((o) => o.name), ['logits', 'hT']);
      const op = graph.node!.find((n) => n.opType === cell.toUpperCase());
      assert.ok(op, `a ${cell.toUpperCase()} node`);
      if (cell === 'gru') assert.equal(Number(op.attribute!.find((a) => a.name === 'linear_before_reset')!.i), 0, 'TF GRUCell resets before the matmul');
      const session = await ort.InferenceSession.create(bytes);
      const [T, B] = [5, 3];
      let h = uniform(random, L * B * H, 0.5);
      for (let window = 0; window < 2; window++) {
        const tokens = Array.from({ length: T * B }, () => Math.floor(random() * V));
        const expected = recurrentLmForward(lm, tokens, T, B, h);
        const out = await session.run({
          tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, B]),
          h0: new ort.Tensor('float32', h, [L, B, H]),
        });
        const what = `${cell} V=${V} E=${E} H=${H} L=${L} window ${window}`;
        assert.deepEqual(out.logits!.dims, [T, B, V]);
        assertClose(out.logits!.data as Float32Array, expected.logits, `${what} logits`);
        assertClose(out.hT!.data as Float32Array, expected.hT, `${what} hT`);
        h = out.hT!.data as Float32Array;
      }
      await session.release();
    }
  });
}

test('the reference GRU and RNN forwards are our engine\'s forward (so ONNX = reference = engine)', () => {
  for (const cell of ['gru', 'rnn', 'lstm'] as const) {
    const [V, E, H, L, T, B] = [9, 4, 6, 2, 4, 3];
    const model = new LanguageModel({ vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, cell, keepProb: 1, forgetBias: cell === 'lstm' ? 1 : 0, initScale: 0.5 }, new Rng(11)).eval();
    const random = seededRandom(8);
    const tokens = Int32Array.from({ length: T * B }, () => Math.floor(random() * V));
    const ours = model.run(tokens, B, T, model.initialState(B)).logits.data;
    const ref = recurrentLmForward(lmWeights(model), tokens, T, B, new Float32Array(L * B * H));
    assertClose(ours, ref.logits, `${cell} engine vs reference`);
  }
});

test('live models export: a GRU language model and a Sequential in onnxruntime give our forward\'s outputs', async () => {
  const [V, E, H, L, T, B] = [10, 5, 7, 2, 6, 2];
  for (const cell of ['gru', 'rnn', 'lstm'] as const) {
    const model = new LanguageModel({ vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, cell, keepProb: 1, forgetBias: 0, initScale: 0.4 }, new Rng(3)).eval();
    const random = seededRandom(9);
    const tokens = Int32Array.from({ length: T * B }, () => Math.floor(random() * V));
    const ours = model.run(tokens, B, T, model.initialState(B)).logits.data;
    const session = await ort.InferenceSession.create(exportLmOnnx(lmWeights(model)));
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, B]),
      h0: new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]),
    };
    if (cell === 'lstm') feeds['c0'] = new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]);
    const out = await session.run(feeds);
    assertClose(out.logits!.data as Float32Array, ours, `${cell} onnx vs engine`);
    await session.release();
  }
  const net = new Sequential(new Dense(3, 8, { activation: 'tanh', rng: new Rng(1) }), new Dense(8, 4, { rng: new Rng(2) }), new Activation('softmax'));
  const x = uniform(seededRandom(10), 5 * 3, 1);
  const ours = net.forward(tensor(x, [5, 3])).data;
  const session = await ort.InferenceSession.create(exportDenseOnnx(denseWeights(net)));
  const { y } = await session.run({ x: new ort.Tensor('float32', x, [5, 3]) });
  assertClose(y!.data as Float32Array, ours, 'sequential onnx vs engine');
  await session.release();
});

test('GRU and RNN weights round-trip through the naming scheme; a missing candidate is named', () => {
  const random = seededRandom(12);
  for (const cell of ['gru', 'rnn', 'lstm'] as const) {
    const lm = randomRecurrentLm(random, cell, 6, 4, 5, 2);
    const tensors = decodeSafetensors(encodeSafetensors(recurrentLmToTensors(lm))).tensors;
    assert.deepEqual(recurrentLmFromTensors(tensors, 0), lm);
  }
  const gru = recurrentLmToTensors(randomRecurrentLm(random, 'gru', 6, 4, 5, 1));
  assert.deepEqual(gru['gru.0.candKernel']!.shape, [9, 5]);
  const { ['gru.0.candBias']: _dropped, ...rest } = gru;
  assert.throws(() => recurrentLmFromTensors(rest, 0, 'm.safetensors'), /m\.safetensors: missing tensor "gru\.0\.candBias"/);
});

test('tied language models (with and without the H → E projection) export: onnxruntime and the reference forward give our logits', async () => {
  const [V, E, T, B, L] = [11, 5, 4, 2, 2];
  for (const [cell, H] of [['lstm', 5], ['lstm', 7], ['gru', 8], ['rnn', 5]] as const) {
    const model = new LanguageModel({ vocabSize: V, embedSize: E, hiddenSize: H, numLayers: L, cell, keepProb: 1, forgetBias: 0, initScale: 0.4, tieWeights: true }, new Rng(4)).eval();
    const random = seededRandom(13);
    const tokens = Int32Array.from({ length: T * B }, () => Math.floor(random() * V));
    const ours = model.run(tokens, B, T, model.initialState(B)).logits.data;
    // The export layout is the untied one (docs/formats.md): proj.weight [H, V] = Eᵀ, or P·Eᵀ.
    const w = lmWeights(model);
    assert.equal(w.projWeight.length, H * V);
    // A tied model's weight file stores the embedding once (no proj.weight); reading it back gives the same record.
    const file = decodeSafetensors(encodeSafetensors(stateDict(model))).tensors;
    assert.equal(file['proj.weight'], undefined);
    assert.equal(file['proj.hiddenToEmbed'] !== undefined, H !== E);
    assert.deepEqual(recurrentLmFromTensors(file, 0), w);
    assertClose(recurrentLmForward(w, tokens, T, B, new Float32Array(L * B * H)).logits, ours, `${cell} H=${H} tied: reference vs engine`);
    const session = await ort.InferenceSession.create(exportLmOnnx(w));
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, B]),
      h0: new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]),
    };
    if (cell === 'lstm') feeds['c0'] = new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]);
    const out = await session.run(feeds);
    assertClose(out.logits!.data as Float32Array, ours, `${cell} H=${H} tied: onnx vs engine`);
    await session.release();
  }
});
