// AWD-LSTM's model-side regularisers (language-model.ts, recurrent.ts): every one gradient-checked in
// float64 against central differences of the same loss with the same masks (the generator is rewound
// before each evaluation, so the finite differences see the mask the backward pass saw); the masks'
// semantics (locked: one mask per window and stream at every step; embedding dropout: whole words;
// weight-drop: only the recurrent rows); the fused LSTM path against the step path under the same draws;
// evaluation mode untouched; and a tied model's files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { ConfigError } from '../errors.js';
import { modelFromBytes, modelToBytes, stateDict } from '../io/model.js';
import { Rng } from '../tensor/random.js';
import { Tensor, tensor } from '../tensor/tensor.js';
import { Dense } from './layers.js';
import { LanguageModel, TiedOutput, type LMConfig } from './language-model.js';
import { RecurrentStack, runStack, type CellKind } from './recurrent.js';

const cfg = (over: Partial<LMConfig> = {}): LMConfig => ({
  vocabSize: 7, embedSize: 4, hiddenSize: 5, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0.5, initScale: 0.5, dtype: 'float64', ...over,
});

/** Token ids of B streams × T steps, time-major, and next-token targets; every word appears. */
function window(B: number, T: number, V: number, seed: number): { x: Int32Array; y: Int32Array } {
  const r = new Rng(seed);
  const x = Int32Array.from({ length: T * B }, (_, i) => (i < V ? i : r.int(V)));
  const y = Int32Array.from({ length: T * B }, () => r.int(V));
  return { x, y };
}

/** The training loss of one window, as TBPTT forms it: Σ_t mean_b CE + T·penalty. */
function loss(lm: LanguageModel, x: Int32Array, y: Int32Array, B: number, T: number): Tensor {
  const r = lm.run(x, B, T, lm.initialState(B));
  const J = o.div(o.sum(o.softmaxCrossEntropy(r.logits, new Tensor(y, [T * B], 'int32'))), B);
  return r.penalty ? o.add(J, o.mul(r.penalty, T)) : J;
}

/**
 * Every parameter's gradient (backward of `f`) against central differences of `f`, the generator
 * rewound to `rng`'s current state before each evaluation (fixed masks). Checks all parameters up to
 * 400 values, else a random 400.
 */
function checkParams(lm: LanguageModel, rng: Rng, f: () => Tensor): void {
  const arena = lm.arena(), s0 = rng.getState();
  arena.zeroGrads();
  rng.setState(s0);
  o.backward(f());
  const analytic = Float64Array.from(arena.grads);
  const value = () => { rng.setState(s0); return o.noGrad(() => f().item()); };
  const pick = new Rng(99);
  const idx = arena.size <= 400 ? Array.from({ length: arena.size }, (_, i) => i) : Array.from({ length: 400 }, () => pick.int(arena.size));
  let nonzero = 0;
  for (const i of idx) {
    const v = arena.values[i]!, eps = 1e-6;
    arena.values[i] = v + eps; const jp = value();
    arena.values[i] = v - eps; const jm = value();
    arena.values[i] = v;
    const fd = (jp - jm) / (2 * eps);
    const name = arena.entries.find((e) => i >= e.offset && i < e.offset + e.size)!.name;
    assert.ok(Math.abs(fd - analytic[i]!) <= 1e-7 + 1e-5 * Math.abs(fd), `${name} (flat ${i}): analytic ${analytic[i]} vs finite differences ${fd}`);
    if (analytic[i] !== 0) nonzero++;
  }
  assert.ok(nonzero > idx.length / 3, `only ${nonzero} of ${idx.length} gradients are non-zero: the check would be vacuous`);
}

const gradCase = (name: string, over: Partial<LMConfig>, B = 2, T = 4) => test(`gradcheck (float64): ${name}`, () => {
  const rng = new Rng(3);
  const lm = new LanguageModel(cfg(over), rng);
  const { x, y } = window(B, T, 7, 5);
  checkParams(lm, rng, () => loss(lm, x, y, B, T));
});

gradCase('weight tying, H = E (logits = h·Eᵀ + b)', { tieWeights: true, hiddenSize: 4, numLayers: 1 });
gradCase('weight tying with the projection H → E (logits = h·P·Eᵀ + b)', { tieWeights: true });
gradCase('embedding dropout (fixed mask)', { dropoutEmbed: 0.4 });
for (const cell of ['lstm', 'gru', 'rnn'] as const) {
  gradCase(`${cell}: locked dropout on the inputs, between layers and on the outputs (fixed masks)`, { cell, dropoutInput: 0.3, dropoutHidden: 0.4, dropoutOutput: 0.3 });
  gradCase(`${cell}: weight-drop on the hidden-to-hidden weights (fixed mask)`, { cell, weightDrop: 0.5 });
}
gradCase('AR (α = 2) on the dropped outputs', { ar: 2, dropoutOutput: 0.3 });
gradCase('TAR (β = 1) on the raw outputs', { tar: 1, dropoutOutput: 0.3 });
gradCase('all of them at once, with the per-step dropout too', {
  tieWeights: true, dropoutEmbed: 0.2, dropoutInput: 0.3, dropoutHidden: 0.2, dropoutOutput: 0.3, weightDrop: 0.4, ar: 2, tar: 1, keepProb: 0.8,
});

test('AR and TAR are the paper\'s formulas: α·mean((m⊙h)²) and β·mean((h_{t+1} − h_t)²)', () => {
  const B = 2, T = 3, H = 5;
  const rng = new Rng(4);
  const lm = new LanguageModel(cfg({ ar: 2, tar: 0.5, dropoutOutput: 0.5 }), rng);
  const { x } = window(B, T, 7, 1);
  const s0 = rng.getState();
  const pen = lm.run(x, B, T, lm.initialState(B)).penalty!.item();
  // The same draws, by hand: the raw top-layer outputs from the step path, then the output mask.
  rng.setState(s0);
  const emb = lm.embed(x);
  const draw = lm.rnn.drawWindow(B);
  const r = runStack(lm.rnn, emb, T, lm.initialState(B), { draw, retainStates: true });
  const raw = r.rawOutput.data, m = draw.locked[2]!.data;
  let ar = 0, tar = 0;
  for (let i = 0; i < T * B * H; i++) ar += (raw[i]! * m[i % (B * H)]!) ** 2;
  for (let i = 0; i < (T - 1) * B * H; i++) tar += (raw[i + B * H]! - raw[i]!) ** 2;
  const want = 2 * ar / (T * B * H) + 0.5 * tar / ((T - 1) * B * H);
  assert.ok(Math.abs(pen - want) < 1e-12, `penalty ${pen} vs ${want}`);
  assert.ok(ar > 0 && tar > 0);
});

for (const cell of ['lstm', 'gru', 'rnn'] as CellKind[]) {
  test(`${cell}: a locked mask is one [B, I] mask for every step of a window, different across windows and streams`, () => {
    const B = 3, T = 5, I = 16, H = 6;
    const rng = new Rng(8);
    const stack = new RecurrentStack(cell, I, H, 2, { dtype: 'float64', rng, lockedDropout: { input: 0.5, hidden: 0.5, output: 0.5 } });
    const x = tensor(Float64Array.from({ length: T * B * I }, (_, i) => Math.sin(i)), [T * B, I], { dtype: 'float64' });
    const s0 = rng.getState();
    const d1 = stack.drawWindow(B), d2 = stack.drawWindow(B);
    const m = d1.locked[0]!;
    assert.deepEqual(m.shape, [B, I]);
    assert.ok(Array.from(m.data).every((v) => v === 0 || v === 2), 'entries 0 or 1/(1−p)');
    assert.notDeepEqual(Array.from(m.data.subarray(0, I)), Array.from(m.data.subarray(I, 2 * I)), 'streams have their own masks');
    assert.notDeepEqual(Array.from(m.data), Array.from(d2.locked[0]!.data), 'each window draws afresh');
    assert.deepEqual(d1.locked.map((t) => t?.shape), [[B, I], [B, H], [B, H]]);
    // The run applies exactly this mask at every step: the stack run on x ⊙ tile(m) with no locked
    // dropout on the input gives the same outputs (fused and step paths alike).
    rng.setState(s0);
    const got = runStack(stack, x, T, stack.initialState(B)).output;
    const xm = x.clone();
    for (let t = 0; t < T; t++) for (let k = 0; k < B * I; k++) xm.data[t * B * I + k]! *= m.data[k]!;
    const noInput = { ...d1, locked: [null, d1.locked[1]!, d1.locked[2]!] };
    const want = runStack(stack, xm, T, stack.initialState(B), { draw: noInput }).output;
    assert.deepEqual(Array.from(got.data), Array.from(want.data));
    // In evaluation mode there are no masks and the generator is not touched.
    stack.eval();
    const before = JSON.stringify(rng.getState());
    const e = stack.drawWindow(B);
    assert.ok(e.locked.every((t) => t === null) && e.kernels[0]!.kernel === stack.layers[0]!.kernel);
    assert.equal(JSON.stringify(rng.getState()), before);
  });
}

test('weight-drop masks only the hidden-to-hidden rows, once per window, for every cell (and both GRU kernels)', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as CellKind[]) {
    const I = 3, H = 8;
    const stack = new RecurrentStack(cell, I, H, 1, { dtype: 'float64', rng: new Rng(2), weightDrop: 0.5 });
    const layer = stack.layers[0]!;
    const [a, b] = [stack.drawWindow(2), stack.drawWindow(2)];
    const kernels: [Tensor, Tensor][] = [[layer.kernel, a.kernels[0]!.kernel]];
    if (cell === 'gru') kernels.push([layer.candKernel!, a.kernels[0]!.candKernel!]);
    for (const [W, Wd] of kernels) {
      const N = W.shape[1]!;
      for (let i = 0; i < I * N; i++) assert.equal(Wd.data[i], W.data[i], `${cell}: input row value ${i} untouched`);
      let dropped = 0;
      for (let i = I * N; i < W.size; i++) {
        assert.ok(Wd.data[i] === 0 || Wd.data[i] === 2 * W.data[i]!, `${cell}: recurrent weight ${i} is 0 or ×1/(1−p)`);
        if (Wd.data[i] === 0) dropped++;
      }
      const frac = dropped / (W.size - I * N);
      assert.ok(frac > 0.3 && frac < 0.7, `${cell}: dropped fraction ${frac}`);
    }
    assert.notDeepEqual(Array.from(a.kernels[0]!.kernel.data), Array.from(b.kernels[0]!.kernel.data), `${cell}: a new mask per window`);
  }
});

test('the fused LSTM sequence path and the step path give the same outputs and gradients under the same draws', () => {
  const B = 2, T = 4, I = 3, H = 5;
  const rng = new Rng(6);
  const stack = new RecurrentStack('lstm', I, H, 2, { dtype: 'float64', rng, weightDrop: 0.5, lockedDropout: { input: 0.3, hidden: 0.3, output: 0.3 } });
  const x = tensor(Float64Array.from({ length: T * B * I }, (_, i) => Math.cos(i)), [T * B, I], { dtype: 'float64' });
  const s0 = rng.getState();
  const run = (retainStates: boolean) => {
    rng.setState(s0);
    const params = stack.parameters();
    o.zeroGrad(params);
    const r = runStack(stack, x, T, stack.initialState(B), { retainStates });
    o.backward(o.sum(o.square(r.output)));
    return { out: Array.from(r.output.data), raw: Array.from(r.rawOutput.data), g: params.flatMap((p) => Array.from(p.grad!.data)) };
  };
  const fusedRun = run(false), stepRun = run(true);
  for (const k of ['out', 'raw', 'g'] as const) {
    const d = Math.max(...fusedRun[k].map((v, i) => Math.abs(v - stepRun[k][i]!)));
    assert.ok(d < 1e-12, `${k}: fused vs step differ by ${d}`);
  }
});

test('embedding dropout drops whole words: every occurrence of a word reads the same row, zero or scaled; eval reads the table', () => {
  const V = 40, E = 3;
  const lm = new LanguageModel(cfg({ vocabSize: V, embedSize: E, dropoutEmbed: 0.5 }), new Rng(1));
  const ids = Int32Array.from({ length: 400 }, (_, i) => (i * 7) % V);
  const got = lm.embed(ids), W = lm.embedding.weight.data;
  const seen = new Map<number, boolean>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!, row = Array.from(got.data.subarray(i * E, (i + 1) * E));
    const dropped = row.every((v) => v === 0);
    if (!dropped) row.forEach((v, k) => assert.equal(v, 2 * W[id * E + k]!));
    if (seen.has(id)) assert.equal(dropped, seen.get(id), `word ${id}: the same draw at every occurrence`);
    seen.set(id, dropped);
  }
  const nDropped = [...seen.values()].filter(Boolean).length;
  assert.ok(nDropped > 8 && nDropped < 32, `${nDropped} of ${V} words dropped`);
  lm.eval();
  assert.deepEqual(Array.from(lm.embed(ids).data), Array.from(o.gather(lm.embedding.weight, new Tensor(ids, [ids.length], 'int32')).data));
});

test('evaluation mode: every regulariser is off, the logits are those of the plain model, no penalty, no draws', () => {
  const B = 2, T = 3;
  const rng = new Rng(2);
  const over = { dropoutEmbed: 0.3, dropoutInput: 0.3, dropoutHidden: 0.3, dropoutOutput: 0.3, weightDrop: 0.5, ar: 2, tar: 1, keepProb: 0.5 };
  const reg = new LanguageModel(cfg(over), rng), plain = new LanguageModel(cfg(), new Rng(0));
  plain.arena().values.set(reg.arena().values);
  const { x } = window(B, T, 7, 3);
  reg.eval();
  const before = JSON.stringify(rng.getState());
  const r = reg.run(x, B, T, reg.initialState(B));
  assert.equal(r.penalty, undefined);
  assert.deepEqual(Array.from(r.logits.data), Array.from(plain.run(x, B, T, plain.initialState(B)).logits.data));
  assert.equal(JSON.stringify(rng.getState()), before);
  // In training mode the same call does draw and does differ.
  reg.train();
  const t = reg.run(x, B, T, reg.initialState(B));
  assert.ok(t.penalty && t.penalty.item() > 0);
  assert.notDeepEqual(Array.from(t.logits.data), Array.from(r.logits.data));
});

test('a tied model stores the embedding once (no proj.weight), and save → load gives the same logits', () => {
  for (const hiddenSize of [4, 6]) {
    const lm = new LanguageModel(cfg({ tieWeights: true, hiddenSize, dtype: 'float32' }), new Rng(1));
    assert.ok(lm.proj instanceof TiedOutput);
    const names = Object.keys(stateDict(lm));
    assert.ok(!names.includes('proj.weight') && names.includes('embedding.weight') && names.includes('proj.bias'), names.join(', '));
    assert.equal(names.includes('proj.hiddenToEmbed'), hiddenSize !== 4, names.join(', '));
    assert.equal(lm.numParameters(), names.reduce((n, k) => n + stateDict(lm)[k]!.data.length, 0));
    const back = modelFromBytes(modelToBytes(lm)).model as LanguageModel;
    assert.equal(back.config.tieWeights, true);
    lm.eval();
    const { x } = window(2, 3, 7, 4);
    assert.deepEqual(Array.from(back.run(x, 2, 3, back.initialState(2)).logits.data), Array.from(lm.run(x, 2, 3, lm.initialState(2)).logits.data));
    // The output really reads the embedding: changing a row of it changes that word's logit.
    const e = back.embedding.weight.data;
    const before = back.run(x, 2, 3, back.initialState(2)).logits.data[3]!;
    e[3 * 4] = e[3 * 4]! + 1;
    assert.notEqual(back.run(x, 2, 3, back.initialState(2)).logits.data[3], before);
  }
  assert.ok(new LanguageModel(cfg({ dtype: 'float32' }), new Rng(1)).proj instanceof Dense);
});

test('bad regulariser values are refused with one line naming the field and the value', () => {
  for (const [k, v] of [['dropoutEmbed', -0.1], ['dropoutInput', 1], ['dropoutHidden', NaN], ['dropoutOutput', 1.5], ['weightDrop', 1], ['ar', -1], ['tar', NaN], ['tar', Infinity]] as const) {
    assert.throws(() => new LanguageModel(cfg({ [k]: v }), new Rng(1)), (e: Error) => e instanceof ConfigError && e.message.includes(k) && e.message.includes(String(v)) && !e.message.includes('\n'), `${k} = ${v}`);
  }
  assert.throws(() => new RecurrentStack('lstm', 2, 2, 1, { weightDrop: -0.1 }), /weightDrop must be a probability in \[0, 1\), got -0\.1/);
});
