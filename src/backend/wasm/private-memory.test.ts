// The WASM backend on an ordinary (non-shared) memory, the mode of a page without cross-origin
// isolation: the same kernels give the reference backend's results, one thread, and a memory that must
// never detach its views. By default it is reserved up front and never grown, so the tests fill it:
// past the reservation, requests are served from the JS heap and the kernels still agree with the
// reference. With `resizableMemory` where the engine has resizable buffers it grows in place instead
// (Node 20 has none, so here that option gives the reserved memory; the browser test runs the resizable
// one in Chromium).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../autodiff/index.js';
import { LanguageModel } from '../../nn/language-model.js';
import { Adam } from '../../optim/optimizers.js';
import { Tensor } from '../../tensor/tensor.js';
import { Rng } from '../../tensor/random.js';
import { TruncatedBPTT } from '../../train/tbptt.js';
import { getBackend, referenceBackend, setBackend, withScope, type Backend } from '../index.js';
import { createWasmBackend, type WasmBackend } from './index.js';

const before = getBackend();
after(() => setBackend(before));

const resizable = typeof (WebAssembly.Memory.prototype as { toResizableBuffer?: unknown }).toResizableBuffer === 'function';

function values(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

/** Products of 40 pairs of 64×96 · 96×80 matrices, all alive in one scope (about 4.5 MB of storage). */
function products(b: Backend): Float32Array[] {
  setBackend(b);
  return withScope(() => {
    const outs: Tensor[] = [];
    for (let i = 0; i < 40; i++) {
      const a = new Tensor(values(64 * 96, 2 * i), [64, 96], 'float32'), w = new Tensor(values(96 * 80, 2 * i + 1), [96, 80], 'float32');
      outs.push(o.tanh(o.matmul(a, w)));
    }
    return outs.map((t) => Float32Array.from(t.data as Float32Array));
  });
}

function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs reference ${want[i]}`);
  }
}

test('private memory: one thread, and kernels match the reference past a 4 MiB reservation', async () => {
  const b = await createWasmBackend({ sharedMemory: false, maximumPages: 64, relaxedSimd: false, threads: 4, resizableMemory: true }) as Backend & WasmBackend;
  assert.equal(b.threads, 1, 'a non-shared memory cannot be shared with worker threads');
  assert.ok(!(b.heap.memory.buffer instanceof SharedArrayBuffer), 'the memory is not shared');
  assert.equal(b.heap.fixed, !resizable);
  const want = products(referenceBackend);
  const size0 = b.heap.memory.buffer.byteLength;
  const got = products(b);
  want.forEach((w, i) => closeTo(got[i]!, w, `product ${i}`));
  if (b.heap.fixed) {
    assert.equal(b.heap.memory.buffer.byteLength, size0, 'a fixed memory never grows');
    assert.ok(b.heap.spilled > 0, 'the products did not outgrow the reservation: the test proves nothing');
  } else {
    assert.ok(b.heap.memory.buffer.byteLength > size0, 'the resizable memory did not grow');
  }
});

test('private memory: an LSTM language model trains as on the reference (TBPTT, Adam, clipping)', async () => {
  const train = (b: Backend): { costs: number[]; params: Float32Array } => {
    setBackend(b);
    const lm = new LanguageModel({ vocabSize: 30, embedSize: 24, hiddenSize: 64, numLayers: 2, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.1 }, new Rng(3));
    const opt = new Adam(lm, { lr: 0.01 });
    const tb = new TruncatedBPTT(lm, opt, { k1: 10, k2: 10, batchSize: 8, maxGradNorm: 1 });
    const r = new Rng(9), costs: number[] = [];
    for (let w = 0; w < 5; w++) {
      const x = Int32Array.from({ length: 80 }, () => Math.floor(r.uniform(0, 30)));
      const y = Int32Array.from(x, (v) => (v * 7 + 1) % 30);
      costs.push(...tb.feed(x, y, 10).costs);
    }
    return { costs, params: Float32Array.from(opt.arena.values) };
  };
  const want = train(referenceBackend);
  // 5 MiB: the kernels' GEMM packing block (2.3 MB) and the parameters, gradients and Adam moments
  // (0.9 MB) fit; the activations of a window's backward pass do not, and spill to the JS heap.
  const b = await createWasmBackend({ sharedMemory: false, maximumPages: 80, relaxedSimd: false }) as Backend & WasmBackend;
  assert.ok(b.heap.fixed, 'by default a non-shared memory is reserved up front');
  const got = train(b);
  closeTo(got.costs, want.costs, 'step costs', 1e-4);
  closeTo(got.params, want.params, 'parameters', 1e-4);
  if (b.heap.fixed) assert.ok(b.heap.spilled > 0, 'training did not outgrow the reservation: the test proves nothing');
});
