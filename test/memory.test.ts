// Memory the engine owns: plain synchronous user loops on the WASM backend, with no scope or dispose
// calls anywhere, keep their memory flat. (Finalizers never run inside a synchronous loop, so before the
// engine owned lifetimes these loops grew the WASM heap by every output they made.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backward, Dense, matmul, mean, randUniform, Rng, Sequential, SGD, squaredError, tensor } from '../src/index.js';
import { getBackend, setBackend } from '../src/backend/index.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Bytes the process holds in JS objects and array buffers, after full collections. */
function jsBytes(): number {
  assert.ok(gc, 'these tests measure memory and need --expose-gc (scripts/test.mjs passes it)');
  gc(); gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function onWasm(fn: (be: Awaited<ReturnType<typeof createWasmBackend>>) => void, opts: Parameters<typeof createWasmBackend>[0] = {}): Promise<void> {
  const prev = getBackend();
  const be = await createWasmBackend({ threads: 1, ...opts });
  setBackend(be);
  try { fn(be); } finally { setBackend(prev); await be.close(); }
}

test('10,000 raw matmuls in a synchronous loop: flat memory, no scope calls', async () => {
  await onWasm((be) => {
    const rng = new Rng(1);
    for (const n of [128, 32]) {   // 64 kB outputs live in WASM memory; 4 kB ones in the JS heap
      const a = randUniform([n, n], -1, 1, { rng }), b = randUniform([n, n], -1, 1, { rng });
      let c = matmul(a, b);
      const want = Array.from(c.data.subarray(0, 4));
      const run = (k: number) => { for (let i = 0; i < k; i++) c = matmul(a, b); };
      run(5_000);
      const wasm0 = be.heap.memory.buffer.byteLength, js0 = jsBytes();
      run(5_000);
      const wasm1 = be.heap.memory.buffer.byteLength, js1 = jsBytes();
      console.log(`# ${n}×${n}: WASM memory ${wasm0 >> 20} → ${wasm1 >> 20} MiB, JS ${(js0 / 2 ** 20).toFixed(1)} → ${(js1 / 2 ** 20).toFixed(1)} MiB, spilled ${be.heap.spilled}`);
      assert.equal(wasm1, wasm0, `WASM memory grew from ${wasm0} to ${wasm1} bytes over 5,000 matmuls of ${n}×${n}`);
      assert.ok(js1 - js0 < 16 * 2 ** 20, `JS memory grew by ${((js1 - js0) / 2 ** 20).toFixed(1)} MiB`);
      assert.deepEqual(Array.from(c.data.subarray(0, 4)), want, 'the last product is still right');
    }
  });
});

test("the README's first example, 10,000 steps with backward and SGD: flat memory, and it learns", async () => {
  await onWasm((be) => {
    const net = new Sequential(new Dense(1, 2, { activation: 'sigmoid' }), new Dense(2, 2, { activation: 'sigmoid' }),
      new Dense(2, 1, { activation: 'sigmoid' }));
    const x = tensor([[-1], [0], [1]]), t = tensor([[0.1], [0.5], [0.9]]);
    const opt = new SGD(net, { lr: 0.5 });
    let E = 0;
    const run = (k: number) => {
      for (let step = 0; step < k; step++) {
        opt.zeroGrad();
        const loss = mean(squaredError(net.forward(x), t));
        backward(loss);
        opt.step();
        E = loss.item();
      }
    };
    run(1);
    const first = E;
    run(2_000);
    const live0 = be.heap.liveBytes, js0 = jsBytes();
    run(8_000);
    const live1 = be.heap.liveBytes, js1 = jsBytes();
    console.log(`# WASM live ${live0} → ${live1} B, JS ${(js0 / 2 ** 20).toFixed(1)} → ${(js1 / 2 ** 20).toFixed(1)} MiB; E ${first.toFixed(4)} → ${E.toFixed(5)}`);
    assert.ok(live1 <= live0, `live WASM memory grew from ${live0} to ${live1} bytes`);
    assert.ok(js1 - js0 < 8 * 2 ** 20, `JS memory grew by ${((js1 - js0) / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(E < first / 10, `E ${first} → ${E}`);
  });
});

test('from a fresh backend, WASM memory grows at most to the kept budget, then stays flat', async () => {
  const budget = 8 * 2 ** 20;
  await onWasm((be) => {
    const rng = new Rng(2);
    const a = randUniform([128, 128], -1, 1, { rng }), b = randUniform([128, 128], -1, 1, { rng });
    const start = be.heap.memory.buffer.byteLength;
    let peak = start;
    for (let i = 0; i < 3_000; i++) {   // 3,000 × 64 kB outputs = 188 MiB, never yielding
      matmul(a, b);
      peak = Math.max(peak, be.heap.memory.buffer.byteLength);
    }
    console.log(`# WASM memory ${start >> 20} → peak ${peak >> 20} MiB with an 8 MiB budget; spilled ${be.heap.spilled}`);
    assert.ok(peak - start <= 2 * budget, `WASM memory grew by ${(peak - start) >> 20} MiB`);
    assert.ok(be.heap.spilled > 2_000);
  }, { keptBudgetBytes: budget });
});

test('a memory at its maximum spills collected storage to the JS heap instead of failing', async () => {
  await onWasm((be) => {
    const rng = new Rng(3);
    const x = randUniform([512, 512], -1, 1, { rng });   // 1 MiB
    const spilled0 = be.heap.spilled;
    for (let i = 0; i < 100; i++) x.clone();            // 100 MiB of kept clones in a 32 MiB memory
    assert.ok(be.heap.spilled - spilled0 > 50, `only ${be.heap.spilled - spilled0} spilled`);
    assert.ok(be.heap.memory.buffer.byteLength <= 32 * 2 ** 20);
  }, { maximumPages: 512, keptBudgetBytes: 2 ** 30 });
});
