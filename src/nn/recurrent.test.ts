// Recurrent stacks: whole-sequence gradients, masking, sequence-to-one use, stream resets. (The fused
// cells themselves are checked with the other primitives, in autodiff/ops.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { Rng } from '../tensor/random.js';
import { Tensor, tensor } from '../tensor/tensor.js';
import { RecurrentStack, detachState, resetStreams } from './recurrent.js';

const rng = new Rng(5);
function r64(shape: number[], s = 0.5): Tensor {
  const t = tensor(new Float64Array(shape.reduce((p, d) => p * d, 1)), shape, { dtype: 'float64' });
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-s, s);
  return t;
}
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));

for (const cell of ['rnn', 'lstm', 'gru'] as const) {
  test(`${cell} stack: whole-sequence gradient (full BPTT over 2 layers, 6 steps) passes gradcheck`, () => {
    const stack = new RecurrentStack(cell, 3, 4, 2, { dtype: 'float64', rng: new Rng(1), init: { kind: 'uniform', scale: 0.5 } });
    const xs = r64([6, 2, 3]);
    // Differentiate w.r.t. the input sequence through every layer and step (parameters: see tbptt tests).
    const rIn = o.gradcheck((x) => o.concat(stack.forward(x!, stack.initialState(2)).outputs, 0), [xs]);
    assert.ok(rIn.ok, JSON.stringify(rIn.worst));
    const names = stack.namedParameters().map(([n]) => n);
    assert.ok(names.includes('layers.0.kernel') && names.includes('layers.1.bias'), names.join(','));
  });
}

test('masking holds the state on padded steps; sequence-to-one takes the last real output', () => {
  const stack = new RecurrentStack('lstm', 2, 3, 1, { dtype: 'float64', rng: new Rng(2) });
  const xs = r64([4, 2, 2]);
  // stream 0 has 4 real steps, stream 1 only 2 (steps 2, 3 padded)
  const mask = tensor([[1, 1], [1, 1], [1, 0], [1, 0]], { dtype: 'float64' });
  const full = stack.forward(xs, stack.initialState(2), { mask });
  const short = stack.forward(o.slice(xs, [0, 0, 0], [2, 2, 2]), stack.initialState(2));
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(full.state[0]!.h.data[3 + k]! - short.state[0]!.h.data[3 + k]!) < 1e-15, 'stream 1 state frozen after its length');
    assert.ok(full.outputs[3]!.data[3 + k] === 0, 'padded output is 0');
  }
  // gradient of a loss on padded outputs does not reach stream 1's inputs at padded steps
  const g = o.grad((x: Tensor) => o.sum(o.concat(stack.forward(x, stack.initialState(2), { mask }).outputs, 0)))(xs)[0]!;
  assert.ok(g.data[3 * 4 + 2] === 0 && g.data[3 * 4 + 3] === 0);
  assert.notEqual(g.data[3 * 4 + 0], 0);
});

test('detachState stops the gradient, resetStreams zeroes only the chosen streams', () => {
  const stack = new RecurrentStack('lstm', 2, 3, 2, { rng: new Rng(3) });
  const s = stack.forward(r64([3, 4, 2]).clone(), stack.initialState(4)).state;
  const d = detachState(s);
  assert.equal(d[0]!.h.requiresGrad, false);
  const z = resetStreams(d, [1, 3]);
  for (const l of z) for (const t of [l.h, l.c!]) {
    assert.ok(Array.from(t.data.subarray(3, 6)).every((v) => v === 0));
    assert.ok(Array.from(t.data.subarray(0, 3)).some((v) => v !== 0));
  }
});

