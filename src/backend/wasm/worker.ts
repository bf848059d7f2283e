/**
 * A thread-pool worker (see pool.ts), for Node worker_threads and browser Web Workers alike: it receives
 * { module, memory, control, names }, instantiates the kernels on the shared memory, says it is ready
 * (Node: by counting itself in the control block's `started`, which the blocked caller waits on;
 * browser: by a message), then
 * loops forever: wait for a new job in the control block, take and run its chunks until none are left.
 * It never returns to the event loop, so all later communication goes through the shared memory.
 */
import { CTRL, SPIN, drain, nodeBuiltin, type WorkerInit } from './pool.js';

function serve(init: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, {
    env: { memory: init.memory, abort: () => { throw new Error('wasm abort'); } },
  });
  const fns = init.names.map((n) => instance.exports[n] as (...args: number[]) => unknown);
  (instance.exports['set_gemm_scratch'] as (ptr: number) => void)(init.gemmScratch);
  const ctrl = new Int32Array(init.memory.buffer, init.control, 16);
  const table = new Float64Array(init.memory.buffer, init.control + CTRL.argsByte);
  let seen = Atomics.load(ctrl, CTRL.seq);
  ready();
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctrl, CTRL.seq) === seen) {
      if (++spins > SPIN) Atomics.wait(ctrl, CTRL.seq, seen);
    }
    seen = Atomics.load(ctrl, CTRL.seq);
    const fn = ctrl[CTRL.fn]!;
    if (fn < 0) break;
    // If a newer job was posted meanwhile, drain() sees a different seq in `next` and takes nothing.
    drain(ctrl, table, seen, fns[fn]!);
  }
}

const wt = nodeBuiltin<{ workerData: WorkerInit }>('node:worker_threads');

if (wt) {
  const init = wt.workerData;
  serve(init, () => {
    const ctrl = new Int32Array(init.memory.buffer, init.control, 16);
    Atomics.add(ctrl, CTRL.started, 1);
    Atomics.notify(ctrl, CTRL.started);
  });
} else {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (e: MessageEvent) => {
    scope.onmessage = null;
    // Yield once so the message handler returns before the endless loop starts.
    setTimeout(() => serve(e.data as WorkerInit, () => scope.postMessage('ready')), 0);
  };
}
