// Nothing at import: importing the package compiles no WebAssembly and starts no thread; the first use
// starts the default backend (in Node, the WASM backend, synchronously, workers included); `ready()`,
// `useBackend` and BACKPROP_BACKEND choose as documented in src/backend/index.ts. In-process (unit
// tier): this file imports the package only after it has wrapped the constructors it counts, so it
// must not import anything from src/ statically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import workerThreads from 'node:worker_threads';
import os from 'node:os';

const counts = { compile: 0, instantiate: 0, workers: 0 };
const W = WebAssembly as unknown as Record<string, unknown>;
const OrigModule = WebAssembly.Module, OrigInstance = WebAssembly.Instance;
const origCompile = WebAssembly.compile, origInstantiate = WebAssembly.instantiate;
W['Module'] = class extends OrigModule { constructor(b: BufferSource) { super(b); counts.compile++; } };
W['Instance'] = class extends OrigInstance {
  constructor(m: WebAssembly.Module, i?: WebAssembly.Imports) { super(m, i); counts.instantiate++; }
};
W['compile'] = (b: BufferSource) => { counts.compile++; return origCompile(b); };
W['instantiate'] = ((...a: Parameters<typeof origInstantiate>) => { counts.instantiate++; return origInstantiate(...a); }) as typeof origInstantiate;
const OrigWorker = workerThreads.Worker;
(workerThreads as { Worker: unknown }).Worker = class extends OrigWorker {
  constructor(...a: ConstructorParameters<typeof OrigWorker>) { super(...a); counts.workers++; }
};

const threadsDefault = os.availableParallelism();

test('importing the package compiles nothing and starts no thread; the first op starts the WASM backend synchronously', async () => {
  delete process.env['BACKPROP_BACKEND'];
  const bp = await import('../src/index.js');
  assert.deepEqual(counts, { compile: 0, instantiate: 0, workers: 0 }, 'work done at import');
  // First use, no await anywhere: a matmul runs on the WASM kernels with its worker pool up.
  const x = bp.tensor([[1, 2], [3, 4]]);
  assert.deepEqual(Array.from(bp.matmul(x, x).data), [7, 10, 15, 22]);
  const b = bp.getBackend() as { name: string; threads?: number };
  assert.match(b.name, /^wasm/);
  assert.equal(b.threads, threadsDefault);
  assert.equal(counts.compile, 1, 'one compile');
  assert.equal(counts.workers, threadsDefault - 1, 'one worker per thread besides this one');
  assert.equal(counts.instantiate, 1, 'the workers instantiate in their own threads');
  // A job spread over every thread runs (the workers are serving, not just started).
  const big = bp.tensor(Array.from({ length: 256 }, (_, i) => Array.from({ length: 256 }, (_, j) => ((i * 7 + j) % 13) / 13)));
  const viaWasm = bp.matmul(big, big).data;
  bp.setBackend(bp.referenceBackend);
  const viaRef = bp.matmul(big, big).data;
  for (let i = 0; i < viaRef.length; i += 97) assert.ok(Math.abs(viaWasm[i]! - viaRef[i]!) <= 1e-4 * Math.abs(viaRef[i]!), `element ${i}`);
  bp.setBackend(b as never);
  // ready() resolves with the backend already started; it starts nothing more.
  assert.equal(await bp.ready(), b);
  assert.equal(counts.compile, 1);
});

test('useBackend starts the named backend and makes it active; a bad name is a one-line error', async () => {
  const bp = await import('../src/index.js');
  assert.equal(await bp.useBackend('js'), bp.referenceBackend);
  assert.equal(bp.getBackend(), bp.referenceBackend);
  const w = await bp.useBackend('wasm', { threads: 1 }) as unknown as { name: string; threads: number; close(): Promise<void> };
  assert.equal(bp.getBackend(), w);
  assert.equal(w.threads, 1);
  assert.match(w.name, /^wasm[-a-z]*(\+blas)?$/, 'no thread count in the name: no pool');
  const x = bp.tensor([[1, 2]]);
  assert.deepEqual(Array.from(bp.matmul(x, bp.tensor([[3], [4]])).data), [11]);
  await assert.rejects(bp.useBackend('gpu' as never), (e: Error) => e instanceof bp.ConfigError && /unknown backend "gpu" \(choose wasm or js\)/.test(e.message));
  assert.equal(bp.getBackend(), w, 'a failed choice leaves the active backend');
  await w.close();
});

test('useBackend stops the worker threads of the backend it replaces; the replaced one still computes', async () => {
  const bp = await import('../src/index.js');
  const w = await bp.useBackend('wasm', { threads: 2 }) as unknown as { threads: number };
  assert.equal(w.threads, 2);
  const x = bp.tensor([[1, 2]]);
  await bp.useBackend('js');
  assert.equal(w.threads, 1, 'its pool was closed');
  assert.deepEqual(Array.from(bp.matmul(x, bp.tensor([[3], [4]])).data), [11], 'an array of the replaced backend still works');
});

test('BACKPROP_BACKEND=js makes the reference backend the default, without compiling', async () => {
  process.env['BACKPROP_BACKEND'] = 'js';
  try {
    // A fresh instance of the backend module (the query makes it a new module), its state unset.
    const fresh = await import('../src/backend/index.js?env-js' as string) as typeof import('../src/backend/index.js');
    const before = counts.compile;
    assert.equal(fresh.getBackend(), fresh.referenceBackend);
    assert.equal(await fresh.ready(), fresh.referenceBackend);
    assert.equal(counts.compile, before);
  } finally {
    delete process.env['BACKPROP_BACKEND'];
  }
});
