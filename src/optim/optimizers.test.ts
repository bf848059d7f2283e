// The optimizers are flat passes over the parameter arena, written once: SGD and momentum as axpby
// calls, Adam as a loop a backend may run fused. Each is checked here against the textbook update,
// written out element by element, on the reference backend and on the WASM backend (whose arena lives
// in its memory, so the axpby and fused Adam kernels run), in float32 and float64. Where the arithmetic
// is float64 (the reference backend; float64 on any backend) the results are exact: p·1 + g·(−α) is the
// same IEEE number as p − α·g. WASM float32 kernels compute in float32, so there they agree to rounding.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, referenceBackend, setBackend, type Backend, type FloatArray } from '../backend/index.js';
import { createWasmBackend, type WasmBackend } from '../backend/wasm/index.js';
import { Tensor } from '../tensor/tensor.js';
import { ParamArena } from '../nn/arena.js';
import { Adam, adamStep, clipGradNorm, Momentum, SGD } from './optimizers.js';

const previous = getBackend();
const opened: WasmBackend[] = [];
after(async () => { setBackend(previous); for (const b of opened) await b.close(); });

/** An arena of two parameters (sizes 37 and 1000) with deterministic values and gradients. */
function arena(dtype: 'float32' | 'float64'): ParamArena {
  const make = (n: number, seed: number): Tensor => {
    const t = new Tensor(dtype === 'float32' ? new Float32Array(n) : new Float64Array(n), [n], dtype);
    for (let i = 0; i < n; i++) t.data[i] = Math.sin(seed * 7.1 + i * 0.37);
    return t;
  };
  const a = ParamArena.pack([['a', make(37, 1)], ['b', make(1000, 2)]]);
  for (let i = 0; i < a.size; i++) a.grads[i] = Math.cos(i * 0.91) * 0.5;
  return a;
}

/** The arrays the textbook loops run on: fresh copies in the arena's dtype (so rounding matches). */
const copy = (x: FloatArray): FloatArray => (x instanceof Float64Array ? Float64Array.from(x) : Float32Array.from(x));

const configs: { name: string; make: () => Promise<Backend> }[] = [
  { name: 'js', make: async () => referenceBackend },
  { name: 'wasm 2 threads', make: async () => { const b = await createWasmBackend({ threads: 2 }); opened.push(b); return b; } },
];

for (const cfg of configs) {
  for (const dtype of ['float32', 'float64'] as const) {
    test(`${cfg.name} ${dtype}: SGD and momentum are exactly the textbook updates; Adam matches its loop`, async () => {
      setBackend(await cfg.make());
      const exact = cfg.name === 'js' || dtype === 'float64';
      const same = (got: FloatArray, want: FloatArray, what: string): void => {
        for (let i = 0; i < want.length; i++) {
          const ok = exact ? Object.is(got[i], want[i]) : Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!));
          assert.ok(ok, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
        }
      };
      // SGD: p ← p − α·g.
      let ar = arena(dtype);
      let p = copy(ar.values);
      const g = copy(ar.grads);
      new SGD(ar, { lr: 0.3 }).step();
      for (let i = 0; i < p.length; i++) p[i] = p[i]! - 0.3 * g[i]!;
      same(ar.values, p, 'SGD');

      // Momentum: v ← μ·v + g; p ← p − α·v, over three steps.
      ar = arena(dtype);
      p = copy(ar.values);
      const v = copy(ar.grads).fill(0);
      const mom = new Momentum(ar, { lr: 0.1, momentum: 0.9 });
      for (let s = 0; s < 3; s++) {
        mom.step();
        for (let i = 0; i < p.length; i++) { v[i] = 0.9 * v[i]! + g[i]!; p[i] = p[i]! - 0.1 * v[i]!; }
      }
      same(ar.values, p, 'momentum p');
      same(mom.buffers().v!, v, 'momentum v');

      // Adam: the flat loop is the definition; a fused kernel (WASM, float32) agrees to float32 rounding.
      ar = arena(dtype);
      p = copy(ar.values);
      const m = copy(ar.grads).fill(0), v2 = copy(ar.grads).fill(0);
      const adam = new Adam(ar, { lr: 0.01 });
      for (let t = 1; t <= 3; t++) {
        adam.step();
        adamStep(p, g, m, v2, 0.01, 0.9, 0.999, 1e-8, t);
      }
      const fusedRun = dtype === 'float32' && getBackend().adamUpdate !== undefined;
      for (let i = 0; i < p.length; i++) {
        const tol = fusedRun ? 1e-6 : 0;
        assert.ok(Math.abs(ar.values[i]! - p[i]!) <= tol, `Adam p[${i}]: ${ar.values[i]} vs ${p[i]}`);
      }

      // Clipping by global norm scales every gradient by maxNorm/‖g‖.
      ar = arena(dtype);
      const before = copy(ar.grads);
      const norm = Math.sqrt(Array.from(before).reduce((s, x) => s + x * x, 0));
      const r = clipGradNorm(ar, norm / 2);
      assert.ok(r.clipped && Math.abs(r.norm - norm) <= 1e-6 * norm);
      for (let i = 0; i < before.length; i++) assert.ok(Math.abs(ar.grads[i]! - before[i]! * 0.5) <= 1e-7, `clip ${i}`);
    });
  }
}
