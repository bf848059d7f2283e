// The tutorial's network: a hand-derived example (numbers worked out independently here, with plain
// arithmetic, not the engine) that the engine's trace must reproduce to 1e-6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNetwork, parseNetworkSpec, traceStep, traceTraining } from './index.js';
import { DataError } from '../errors.js';
import { activationKinds, activationRow } from '../nn/activations.js';
import { formatTrace } from './format.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('explain reproduces a hand-derived step of the 1-2-2-1 sigmoid network', () => {
  // Network: w1 = [0.5, -0.3], b1 = [0.1, -0.2]; w2 = [[0.4, 0.8], [-0.6, 0.2]], b2 = [0.05, -0.1];
  // w3 = [[0.7], [-0.5]], b3 = [0.3]. Input 1, target 0.5, α = 0.5.
  const y0 = 1;
  const x1 = [0.5 * y0 + 0.1, -0.3 * y0 - 0.2];
  const y1 = x1.map(sig);
  const x2 = [0.4 * y1[0]! - 0.6 * y1[1]! + 0.05, 0.8 * y1[0]! + 0.2 * y1[1]! - 0.1];
  const y2 = x2.map(sig);
  const x3 = 0.7 * y2[0]! - 0.5 * y2[1]! + 0.3;
  const y3 = sig(x3);
  const E = 0.5 * (y3 - 0.5) ** 2;
  // Backward, the tutorial's rules.
  const dy3 = y3 - 0.5;
  const dx3 = y3 * (1 - y3) * dy3;
  const dw3 = [y2[0]! * dx3, y2[1]! * dx3];
  const dy2 = [0.7 * dx3, -0.5 * dx3];
  const dx2 = [y2[0]! * (1 - y2[0]!) * dy2[0]!, y2[1]! * (1 - y2[1]!) * dy2[1]!];
  const dw2 = [[y1[0]! * dx2[0]!, y1[0]! * dx2[1]!], [y1[1]! * dx2[0]!, y1[1]! * dx2[1]!]];
  const dy1 = [0.4 * dx2[0]! + 0.8 * dx2[1]!, -0.6 * dx2[0]! + 0.2 * dx2[1]!];
  const dx1 = [y1[0]! * (1 - y1[0]!) * dy1[0]!, y1[1]! * (1 - y1[1]!) * dy1[1]!];
  const dy0 = 0.5 * dx1[0]! - 0.3 * dx1[1]!;

  const t = traceStep(defaultNetwork, [1], [0.5], 0.5);
  const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-6, `${what}: engine ${a}, hand ${b}`);
  close(t.error, E, 'E');
  const node = (l: number, i: number) => t.nodes.find((n) => n.layer === l && n.index === i)!;
  close(node(0, 0).y, y0, 'y0'); close(node(0, 0).dEdy, dy0, 'dE/dy0');
  assert.equal(node(0, 0).x, null);
  for (let i = 0; i < 2; i++) {
    close(node(1, i).x, x1[i]!, `x1[${i}]`); close(node(1, i).y, y1[i]!, `y1[${i}]`);
    close(node(1, i).dEdx, dx1[i]!, `dx1[${i}]`); close(node(1, i).dEdy, dy1[i]!, `dy1[${i}]`);
    close(node(2, i).x, x2[i]!, `x2[${i}]`); close(node(2, i).y, y2[i]!, `y2[${i}]`);
    close(node(2, i).dEdx, dx2[i]!, `dx2[${i}]`); close(node(2, i).dEdy, dy2[i]!, `dy2[${i}]`);
  }
  close(node(3, 0).x, x3, 'x3'); close(node(3, 0).y, y3, 'y3');
  close(node(3, 0).dEdy, dy3, 'dE/dy_out'); close(node(3, 0).dEdx, dx3, 'dE/dx_out');
  const w = (l: number, i: number, j: number) => t.weights.find((q) => q.layer === l && q.from === i && q.to === j)!;
  for (let i = 0; i < 2; i++) {
    close(w(3, i, 0).dEdw, dw3[i]!, `dw3[${i}]`);
    close(w(3, i, 0).newW, [0.7, -0.5][i]! - 0.5 * dw3[i]!, `new w3[${i}]`);
    for (let j = 0; j < 2; j++) close(w(2, i, j).dEdw, dw2[i]![j]!, `dw2[${i}][${j}]`);
  }
  close(w(1, 0, 0).dEdw, y0 * dx1[0]!, 'dw1[0]'); close(w(1, 0, 1).newW, -0.3 - 0.5 * y0 * dx1[1]!, 'new w1[1]');
  close(t.biases.find((q) => q.layer === 3)!.newB, 0.3 - 0.5 * dx3, 'new b3');
  assert.ok(t.errorAfter < t.error, 'the update lowers the error');
});

test('explain works for any layer sizes (2-3-2 tanh/linear) and matches finite differences', () => {
  const spec = parseNetworkSpec({ inputSize: 2, layers: [
    { activation: 'tanh', weights: [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]], biases: [0, 0.1, -0.1] },
    { activation: 'linear', weights: [[1, 0], [0.5, -1], [0.2, 0.3]], biases: [0.1, 0.2] },
  ] });
  const t = traceStep(spec, [0.3, -0.7], [1, -1], 0.1);
  // ∂E/∂w by central differences on the error function.
  const err = (s: typeof spec) => traceStep(s, [0.3, -0.7], [1, -1], 0).error;
  for (const q of t.weights) {
    const plus = structuredClone(spec), minus = structuredClone(spec);
    plus.layers[q.layer - 1]!.weights[q.from]![q.to]! += 1e-6;
    minus.layers[q.layer - 1]!.weights[q.from]![q.to]! -= 1e-6;
    const fd = (err(plus) - err(minus)) / 2e-6;
    assert.ok(Math.abs(fd - q.dEdw) < 1e-7, `w ${q.layer}:${q.from}→${q.to}: fd ${fd} vs ${q.dEdw}`);
  }
});

test('training steps lower the error', () => {
  const steps = traceTraining(defaultNetwork, [1], [0.2], 2, 50);
  assert.ok(steps.at(-1)!.errorAfter < steps[0]!.error / 10);
});

test('bad network JSON names the field', () => {
  assert.throws(() => parseNetworkSpec({ inputSize: 1, layers: [{ weights: [[1, 2]], biases: [1] }] }, 'net.json'), (e: Error) => e instanceof DataError && /net\.json/.test(e.message) && /biases/.test(e.message));
  assert.throws(() => parseNetworkSpec({ inputSize: 2, layers: [{ weights: [[1]] }] }, 'x.json'), /2 rows/);
  assert.throws(() => parseNetworkSpec({ inputSize: 1, layers: [{ activation: 'cubic', weights: [[1]] }] }), /activation/);
  assert.throws(() => traceStep(defaultNetwork, [1, 2], [0.5], 0.1), /input has 2 values/);
});

test('every elementwise activation of the table: its f and f′ agree with the engine, and explain prints them', () => {
  for (const kind of activationKinds) {
    const row = activationRow(kind);
    if (row.scalar === null) continue; // softmax: not elementwise, no per-node f′
    const spec = { inputSize: 1, layers: [
      { activation: kind, weights: [[0.9, -1.3, 0.4]], biases: [0.2, 0.1, -0.7] },
      { activation: kind, weights: [[0.5], [-0.8], [1.1]], biases: [0.3] },
    ] };
    const t = traceStep(spec, [0.7], [0.25], 0.1);
    for (const n of t.nodes.filter((q) => q.layer > 0)) {
      assert.ok(Math.abs(row.scalar.f(n.x!) - n.y) < 1e-12, `${kind} ${n.label}: f(x) ${row.scalar.f(n.x!)} vs engine y ${n.y}`);
      const dEdx = row.scalar.df(n.x!, n.y) * n.dEdy;
      assert.ok(Math.abs(dEdx - n.dEdx!) < 1e-12, `${kind} ${n.label}: f′·∂E/∂y ${dEdx} vs engine ∂E/∂x ${n.dEdx}`);
    }
    const text = formatTrace(t);
    assert.ok(text.includes(`= ${row.text.name}(x) =`) && !text.includes('undefined'), `${kind}: explain text`);
  }
});
