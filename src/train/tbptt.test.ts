// Truncated BPTT(k1, k2): the three properties the issue names, checked in float64, and a learning test
// on a memory task that needs a window longer than k1 but shorter than k2; and the same loop over a
// model that is not a language model, with a different loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { LanguageModel, type LMConfig } from '../nn/language-model.js';
import { Adam, SGD } from '../optim/optimizers.js';
import { Rng } from '../tensor/random.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { Module, Parameter } from '../nn/module.js';
import { crossEntropyLoss, weightedSquaredErrorLoss, type SeqData, type SequenceModel, type SequenceRunOptions } from '../nn/sequence.js';
import { TruncatedBPTT } from './tbptt.js';
import type { StackState } from '../nn/recurrent.js';

const cfg = (over: Partial<LMConfig> = {}): LMConfig => ({ vocabSize: 5, embedSize: 3, hiddenSize: 4, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0.5, initScale: 0.5, dtype: 'float64', ...over });

/** A random token stream: B streams × N steps, batch-major, and targets = next token. */
function stream(B: number, N: number, V: number, seed: number): { x: Int32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const toks = Array.from({ length: B }, () => Array.from({ length: N + 1 }, () => rng.int(V)));
  const x = new Int32Array(B * N), y = new Int32Array(B * N);
  for (let b = 0; b < B; b++) for (let t = 0; t < N; t++) { x[b * N + t] = toks[b]![t]!; y[b * N + t] = toks[b]![t + 1]!; }
  return { x, y };
}
/** Steps [from, to) of a batch-major stream, time-major. */
function cols(a: Int32Array, B: number, N: number, from: number, to: number): Int32Array {
  const out = new Int32Array(B * (to - from));
  for (let t = from; t < to; t++) for (let b = 0; b < B; b++) out[(t - from) * B + b] = a[b * N + t]!;
  return out;
}

/** J = Σ over the last m steps of the batch-mean CE, running steps [from, to) from state s. */
function objective(model: LanguageModel, s: StackState, x: Int32Array, y: Int32Array, B: number, N: number, from: number, to: number, m: number): Tensor {
  const w = to - from;
  const r = model.run(cols(x, B, N, from, to), B, w, s);
  const ce = o.softmaxCrossEntropy(r.logits, new Tensor(cols(y, B, N, from, to), [w * B], 'int32'));
  return o.div(o.sum(o.slice(ce, [(w - m) * B], [m * B])), B);
}

test('TBPTT with k1 = k2 = T over a whole sequence equals full BPTT exactly', () => {
  const B = 2, T = 7;
  const model = new LanguageModel(cfg(), new Rng(1));
  const { x, y } = stream(B, T, 5, 2);
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1: T, k2: T, batchSize: B });
  const res = tr.feed(x, y, T);
  assert.equal(res.updates.length, 1);
  const tb = Float64Array.from(model.arena().grads);
  model.arena().zeroGrads();
  o.backward(objective(model, model.initialState(B), x, y, B, T, 0, T, T));
  const full = model.arena().grads;
  let maxd = 0;
  for (let i = 0; i < full.length; i++) maxd = Math.max(maxd, Math.abs(full[i]! - tb[i]!));
  assert.equal(maxd, 0, `TBPTT and full BPTT differ by ${maxd}`);
  assert.ok(tb.some((v) => v !== 0));
});

for (const [k1, k2, L] of [[2, 5, 2], [1, 3, 1], [3, 2, 1], [2, 2, 2]] as const) {
  test(`TBPTT(k1=${k1}, k2=${k2}): every update's gradient equals finite differences of the truncated objective`, () => {
    const B = 2, N = 11;
    const model = new LanguageModel(cfg({ numLayers: L }), new Rng(3));
    const { x, y } = stream(B, N, 5, 4);
    const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1, k2, batchSize: B });
    const arena = model.arena();
    const rng = new Rng(9);
    let checked = 0;
    for (let t = 1; t <= N; t++) {
      const one = (a: Int32Array) => Int32Array.from({ length: B }, (_, b) => a[b * N + t - 1]!);
      const res = tr.feed(one(x), one(y), 1);
      if (!res.updates.length) continue;
      const analytic = Float64Array.from(arena.grads);
      // The truncated objective at step t: state entering the window held constant (lr = 0, so it is the
      // plain forward state from zero over steps before the window).
      const from = Math.max(0, t - k2), m = Math.min(k1, k2, t - from);
      const s0 = o.noGrad(() => (from > 0 ? model.run(cols(x, B, N, 0, from), B, from, model.initialState(B)).state : model.initialState(B)));
      const J = () => o.noGrad(() => objective(model, s0, x, y, B, N, from, t, m).item());
      assert.ok(Math.abs(J() - res.updates[0]!.loss) < 1e-12, 'reported loss is J_t');
      for (let k = 0; k < 25; k++) {
        const i = rng.int(arena.size), v = arena.values[i]!, eps = 1e-6;
        arena.values[i] = v + eps; const jp = J();
        arena.values[i] = v - eps; const jm = J();
        arena.values[i] = v;
        const fd = (jp - jm) / (2 * eps);
        assert.ok(Math.abs(fd - analytic[i]!) <= 1e-7 + 1e-5 * Math.abs(fd), `step ${t}, param ${i}: analytic ${analytic[i]} vs fd ${fd}`);
        checked++;
      }
    }
    assert.ok(checked >= 25 * Math.floor(N / k1) - 25, `only ${checked} checks`);
  });
}

test("state is carried across batches exactly as the tutorial's numpy_state loop; resetState zeroes it", () => {
  const B = 3, T = 4;
  const model = new LanguageModel(cfg(), new Rng(5));
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0.5 }), { k1: T, k2: T, batchSize: B });
  let expected = model.initialState(B);
  for (let k = 0; k < 3; k++) {
    const { x, y } = stream(B, T, 5, 10 + k);
    // The state this batch ends in, computed from the previous batch's final state before the update.
    const want = o.noGrad(() => model.run(cols(x, B, T, 0, T), B, T, expected).state);
    tr.feed(x, y, T);
    tr.state.forEach((l, i) => {
      assert.deepEqual(Array.from(l.h.data), Array.from(want[i]!.h.data));
      assert.deepEqual(Array.from(l.c!.data), Array.from(want[i]!.c!.data));
      assert.equal(l.h.requiresGrad, false, 'the gradient stops at the batch boundary');
    });
    expected = want;
  }
  tr.resetStreams([1]);
  assert.ok(Array.from(tr.state[0]!.h.data.subarray(4, 8)).every((v) => v === 0));
  assert.ok(Array.from(tr.state[0]!.h.data.subarray(0, 4)).some((v) => v !== 0));
  tr.resetState();
  assert.ok(tr.state.every((l) => Array.from(l.h.data).every((v) => v === 0)));
});

test('learning: an LSTM with TBPTT(k1=2, k2=8) recalls the token 4 steps back; with k2=3 it cannot', () => {
  const V = 4, d = 4, B = 16, H = 24;
  function run(k2: number): number {
    const rng = new Rng(21);
    const model = new LanguageModel({ vocabSize: V, embedSize: 8, hiddenSize: H, numLayers: 1, cell: 'lstm', keepProb: 1, forgetBias: 1, initScale: 0.2 }, new Rng(7));
    const tr = new TruncatedBPTT(model, new Adam(model, { lr: 0.01 }), { k1: 2, k2, batchSize: B, maxGradNorm: 5 });
    const hist: number[][] = Array.from({ length: B }, () => []);
    const next = () => {
      const x = new Int32Array(B), y = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const tok = rng.int(V);
        hist[b]!.push(tok);
        x[b] = tok;
        y[b] = hist[b]!.length > d ? hist[b]![hist[b]!.length - 1 - d]! : 0;
      }
      return { x, y };
    };
    const steps = 1600;
    for (let s = 0; s < steps; s++) { const { x, y } = next(); tr.feed(x, y, 1); }
    // Accuracy of the recall on fresh steps, state carried, no updates.
    let s: StackState = tr.state, correct = 0, total = 0;
    model.eval();
    o.noGrad(() => {
      for (let k = 0; k < 200; k++) {
        const { x, y } = next();
        const r = model.run(x, B, 1, s);
        s = r.state;
        for (let b = 0; b < B; b++) {
          let best = 0;
          for (let v = 1; v < V; v++) if (r.logits.data[b * V + v]! > r.logits.data[b * V + best]!) best = v;
          if (best === y[b]) correct++;
          total++;
        }
      }
    });
    return correct / total;
  }
  const long = run(8), short = run(3);
  console.log(`# recall of the token ${d} steps back: TBPTT(2, 8) accuracy ${(long * 100).toFixed(1)}%, TBPTT(2, 3) accuracy ${(short * 100).toFixed(1)}% (chance 25%)`);
  assert.ok(long >= 0.9, `k2 = 8 > d should solve the task, got ${long}`);
  assert.ok(short <= 0.5, `k2 = 3 < d should fail, got ${short}`);
});

/** A float64 tanh RNN over 2-value inputs with a 1-value output per step: a sequence model that is not a language model. */
class TanhRnn extends Module implements SequenceModel<{ h: Tensor }> {
  readonly wx = new Parameter([2, 3], 'float64');
  readonly wh = new Parameter([3, 3], 'float64');
  readonly wy = new Parameter([3, 1], 'float64');
  constructor(rng: Rng) {
    super();
    for (const p of [this.wx, this.wh, this.wy]) for (let i = 0; i < p.size; i++) p.data[i] = rng.uniform(-0.8, 0.8);
  }
  initialState(B: number) { return { h: zeros([B, 3], { dtype: 'float64' }) }; }
  run(x: SeqData, B: number, T: number, state: { h: Tensor }, opts: SequenceRunOptions = {}) {
    let h = state.h;
    const ys: Tensor[] = [], states: { h: Tensor }[] = [];
    for (let t = 0; t < T; t++) {
      h = o.tanh(o.add(o.matmul(new Tensor(Float64Array.from(x.subarray(t * B * 2, (t + 1) * B * 2)), [B, 2], 'float64'), this.wx), o.matmul(h, this.wh)));
      if (opts.retainStates) h.retainGrad();
      states.push({ h });
      ys.push(o.matmul(h, this.wy));
    }
    return { outputs: o.concat(ys, 0), states, state: { h } };
  }
  mapState(s: { h: Tensor }, f: (t: Tensor) => Tensor) { return { h: f(s.h) }; }
  hidden(s: { h: Tensor }) { return [s.h]; }
}

for (const [k1, k2] of [[2, 4], [3, 2], [5, 5]] as const) {
  test(`TBPTT(k1=${k1}, k2=${k2}) over any sequence model and loss: a tanh RNN with weighted squared error matches finite differences`, () => {
    const B = 2, N = 10, rng = new Rng(31);
    const model = new TanhRnn(new Rng(8));
    // Batch-major: x [B, N, 2], y [B, N, (target, weight)] with some steps weighted 0.
    const x = Float64Array.from({ length: B * N * 2 }, () => rng.uniform(-1, 1));
    const y = Float64Array.from({ length: B * N * 2 }, (_, i) => (i % 2 === 0 ? rng.uniform(-0.5, 0.5) : i % 6 === 3 ? 0 : 1));
    const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1, k2, batchSize: B, loss: weightedSquaredErrorLoss, diagnostics: true });
    const arena = model.arena();
    /** Steps [from, to) time-major, W values per row. */
    const rows = (a: Float64Array, W: number, from: number, to: number) => {
      const out = new Float64Array(B * (to - from) * W);
      for (let t = from; t < to; t++) for (let b = 0; b < B; b++) for (let k = 0; k < W; k++) out[((t - from) * B + b) * W + k] = a[(b * N + t) * W + k]!;
      return out;
    };
    let updates = 0;
    for (let t = 1; t <= N; t++) {
      const res = tr.feed(rows(x, 2, t - 1, t), rows(y, 2, t - 1, t), 1);
      if (!res.updates.length) continue;
      updates++;
      const u = res.updates[0]!;
      assert.equal(u.hGradNorms![0]!.length, Math.min(k2, t), 'one ‖∂E/∂h‖ per window step');
      const analytic = Float64Array.from(arena.grads);
      const from = Math.max(0, t - k2), m = Math.min(k1, k2, t - from), w = t - from;
      const s0 = o.noGrad(() => (from > 0 ? model.run(rows(x, 2, 0, from), B, from, model.initialState(B)).state : model.initialState(B)));
      const J = () => o.noGrad(() => {
        const e = weightedSquaredErrorLoss.perRow(model.run(rows(x, 2, from, t), B, w, s0).outputs, rows(y, 2, from, t));
        return o.div(o.sum(o.slice(e, [(w - m) * B], [m * B])), B).item();
      });
      assert.ok(Math.abs(J() - u.loss) < 1e-12, `reported loss ${u.loss} is J_t = ${J()}`);
      for (let i = 0; i < arena.size; i++) {
        const v = arena.values[i]!, eps = 1e-6;
        arena.values[i] = v + eps; const jp = J();
        arena.values[i] = v - eps; const jm = J();
        arena.values[i] = v;
        const fd = (jp - jm) / (2 * eps);
        assert.ok(Math.abs(fd - analytic[i]!) <= 1e-8 + 1e-6 * Math.abs(fd), `step ${t}, param ${i}: analytic ${analytic[i]} vs fd ${fd}`);
      }
    }
    assert.equal(updates, Math.floor(N / k1));
  });
}

test('the sequence losses: weighted squared error is w·½(y − t)² per row; cross-entropy wants int32 ids', () => {
  const y = new Tensor(Float64Array.of(1, 2, 3, 4), [2, 2], 'float64');
  const e = weightedSquaredErrorLoss.perRow(y, Float64Array.of(0, 0, 2, 2, 2, 0.5));
  assert.deepEqual(Array.from(e.data), [2 * 0.5 * (1 + 4), 0.5 * 0.5 * (1 + 4)]);
  assert.throws(() => weightedSquaredErrorLoss.perRow(y, Float64Array.of(0, 0, 2)), /targets must be \[2, 2 \+ 1\]/);
  assert.throws(() => crossEntropyLoss.perRow(y, Float64Array.of(0, 1)), /int32/);
});

test('TBPTT(k1 > k2): the steps before the window run forward in one run (a regularised model draws its per-window masks once for them), and every step reports its loss', () => {
  const B = 2, N = 10, k1 = 5, k2 = 2, rng = new Rng(5);
  let runs = 0;
  class Counted extends TanhRnn {
    override run(x: SeqData, b: number, T: number, s: { h: Tensor }, opts: SequenceRunOptions = {}) { runs++; return super.run(x, b, T, s, opts); }
  }
  const model = new Counted(new Rng(8));
  const x = Float64Array.from({ length: B * N * 2 }, () => rng.uniform(-1, 1));
  const y = Float64Array.from({ length: B * N * 2 }, (_, i) => (i % 2 === 0 ? rng.uniform(-0.5, 0.5) : 1));
  const tr = new TruncatedBPTT(model, new SGD(model, { lr: 0 }), { k1, k2, batchSize: B, loss: weightedSquaredErrorLoss });
  // The whole stream fed at once (batch-major, as feed takes it); lr 0, so one plain run over the
  // time-major rows gives every step's loss.
  const rows = (a: Float64Array) => {
    const out = new Float64Array(a.length);
    for (let t = 0; t < N; t++) for (let b = 0; b < B; b++) for (let k = 0; k < 2; k++) out[(t * B + b) * 2 + k] = a[(b * N + t) * 2 + k]!;
    return out;
  };
  const res = tr.feed(x, y, N);
  assert.equal(res.updates.length, N / k1);
  assert.equal(runs, 2 * (N / k1), 'one forward run for the k1 − k2 steps before each window, one for the window');
  const e = o.noGrad(() => weightedSquaredErrorLoss.perRow(model.run(rows(x), B, N, model.initialState(B)).outputs, rows(y)).data);
  assert.equal(res.costs.length, N);
  res.costs.forEach((c, t) => assert.ok(Math.abs(c - (e[t * B]! + e[t * B + 1]!) / B) < 1e-12, `step ${t}: reported ${c}`));
});
