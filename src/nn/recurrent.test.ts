// Recurrent cells: fused forward/backward against the composed autodiff version, gradient checks,
// masking, sequence-to-one use, stream resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { Rng } from '../tensor/random.js';
import { Tensor, tensor } from '../tensor/tensor.js';
import { gruStep, gruStepComposed, lstmStep, lstmStepComposed, rnnStep, rnnStepComposed } from './cells.js';
import { RecurrentStack, detachState, resetStreams } from './recurrent.js';

const rng = new Rng(5);
function r64(shape: number[], s = 0.5): Tensor {
  const t = tensor(new Float64Array(shape.reduce((p, d) => p * d, 1)), shape, { dtype: 'float64' });
  for (let i = 0; i < t.size; i++) t.data[i] = rng.uniform(-s, s);
  return t;
}
const maxDiff = (a: Tensor, b: Tensor) => Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));

function compareFusedComposed(name: string, fused: (...x: Tensor[]) => Tensor, composed: (...x: Tensor[]) => Tensor, inputs: Tensor[]) {
  const proj = r64(fused(...inputs).shape as number[]);
  const vf = o.valueAndGrad((...x: Tensor[]) => o.sum(o.mul(fused(...x), proj)))(...inputs);
  const vc = o.valueAndGrad((...x: Tensor[]) => o.sum(o.mul(composed(...x), proj)))(...inputs);
  assert.ok(Math.abs(vf.value.item() - vc.value.item()) < 1e-12, `${name}: forward differs`);
  vf.grads.forEach((g, i) => assert.ok(maxDiff(g, vc.grads[i]!) < 1e-12, `${name}: gradient of input ${i} differs by ${maxDiff(g, vc.grads[i]!)}`));
  const r = o.gradcheck(fused, inputs);
  assert.ok(r.ok, `${name}: fused gradcheck ${JSON.stringify(r.worst)}`);
}

test('LSTM: fused step equals the composed version (values and gradients), gradcheck', () => {
  const [B, I, H] = [3, 4, 5];
  compareFusedComposed('lstm', (x, h, c, W, b) => lstmStep(x!, h!, c!, W!, b!, 1.0), (x, h, c, W, b) => lstmStepComposed(x!, h!, c!, W!, b!, 1.0),
    [r64([B, I]), r64([B, H]), r64([B, H]), r64([I + H, 4 * H]), r64([4 * H])]);
});

test('RNN: fused step equals the composed version, gradcheck', () => {
  const [B, I, H] = [2, 3, 4];
  compareFusedComposed('rnn', (x, h, W, b) => rnnStep(x!, h!, W!, b!), (x, h, W, b) => rnnStepComposed(x!, h!, W!, b!),
    [r64([B, I]), r64([B, H]), r64([I + H, H]), r64([H])]);
});

test('GRU: fused step equals the composed version, gradcheck', () => {
  const [B, I, H] = [2, 3, 4];
  compareFusedComposed('gru', (x, h, a, b, c, d) => gruStep(x!, h!, a!, b!, c!, d!), (x, h, a, b, c, d) => gruStepComposed(x!, h!, a!, b!, c!, d!),
    [r64([B, I]), r64([B, H]), r64([I + H, 2 * H]), r64([2 * H]), r64([I + H, H]), r64([H])]);
});

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

test('LSTM over a whole sequence (fused, batched GEMMs) equals T fused steps, values and gradients; gradcheck', async () => {
  const { lstmSequence } = await import('./cells.js');
  const [T, B, I, H] = [4, 3, 2, 5];
  const inputs = [r64([T * B, I]), r64([B, H]), r64([B, H]), r64([I + H, 4 * H]), r64([4 * H])];
  const stepwise = (x: Tensor, h0: Tensor, c0: Tensor, W: Tensor, b: Tensor) => {
    let h = h0, c = c0;
    const hs: Tensor[] = [], cs: Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const hc = lstmStep(o.slice(x, [t * B, 0], [B, I]), h, c, W, b, 0.7);
      h = o.reshape(o.slice(hc, [0, 0, 0], [1, B, H]), [1, B, H]); c = o.reshape(o.slice(hc, [1, 0, 0], [1, B, H]), [1, B, H]);
      hs.push(h); cs.push(c);
      h = o.reshape(h, [B, H]); c = o.reshape(c, [B, H]);
    }
    return o.concat([o.concat(hs, 0), o.concat(cs, 0)], 0);
  };
  compareFusedComposed('lstmSequence', (x, h0, c0, W, b) => o.reshape(lstmSequence(x!, h0!, c0!, W!, b!, T, 0.7), [2 * T, B, H]),
    (x, h0, c0, W, b) => stepwise(x!, h0!, c0!, W!, b!), inputs);
});
