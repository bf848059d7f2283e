import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../autodiff/index.js';
import { activationKinds, activationRow, Dense, Sequential } from '../nn/layers.js';
import { SGD } from '../optim/optimizers.js';
import { Rng } from '../tensor/random.js';
import { tensor } from '../tensor/tensor.js';
import { FusedDenseTrainer } from './fused-dense.js';

// Every elementwise activation of the table (softmax is not elementwise, so not on the fused path).
for (const act of activationKinds.filter((k) => activationRow(k).scalar !== null)) {
  test(`fused dense path equals the autodiff path step by step (${act}, 2-3-3-2)`, () => {
    const make = () => new Sequential(new Dense(2, 3, { activation: act, rng: new Rng(1), dtype: 'float64' }),
      new Dense(3, 3, { activation: act, rng: new Rng(2), dtype: 'float64', biasInit: { kind: 'constant', value: 0.1 } }),
      new Dense(3, 2, { activation: 'sigmoid', rng: new Rng(3), dtype: 'float64' }));
    const a = make(), b = make();
    const fused = new FusedDenseTrainer(a, 0.3);
    const opt = new SGD(b, { lr: 0.3 });
    const rng = new Rng(4);
    for (let s = 0; s < 20; s++) {
      const x = [rng.uniform(-1, 1), rng.uniform(-1, 1)], t = [rng.uniform(), rng.uniform()];
      const Ef = fused.step(x, t);
      opt.zeroGrad();
      const E = o.sum(o.squaredError(b.forward(tensor([x], { dtype: 'float64' })), tensor([t], { dtype: 'float64' })));
      o.backward(E);
      opt.step();
      assert.ok(Math.abs(Ef - E.item()) < 1e-12, `step ${s}: E ${Ef} vs ${E.item()}`);
    }
    const va = a.arena().values, vb = b.arena().values;
    for (let i = 0; i < va.length; i++) assert.ok(Math.abs(va[i]! - vb[i]!) < 1e-12, `param ${i}`);
  });
}
