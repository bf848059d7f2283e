// Learning tests through the public entry only, as a user would write them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dense, Sequential, Rng, tensor, intTensor, backward, mean, squaredError, softmaxCrossEntropy, noGrad, Momentum } from '../src/index.js';

test('the 1-2-2-1 sigmoid network fits t = 0.5 + 0.4·sin(3x), mean error down ≥ 10×', () => {
  const rng = new Rng(3);
  const net = new Sequential(
    new Dense(1, 2, { activation: 'sigmoid', rng, init: { kind: 'uniform', scale: 1 } }),
    new Dense(2, 2, { activation: 'sigmoid', rng, init: { kind: 'uniform', scale: 1 } }),
    new Dense(2, 1, { activation: 'sigmoid', rng, init: { kind: 'uniform', scale: 1 } }),
  );
  const N = 64;
  const xs = Array.from({ length: N }, (_, i) => -1 + (2 * i) / (N - 1));
  const x = tensor(xs.map((v) => [v]));
  const t = tensor(xs.map((v) => [0.5 + 0.4 * Math.sin(3 * v)]));
  const lossOf = () => mean(squaredError(net.forward(x), t));
  const before = noGrad(() => lossOf().item());
  const opt = new Momentum(net, { lr: 2, momentum: 0.9 });
  for (let step = 0; step < 6000; step++) {
    opt.zeroGrad();
    backward(lossOf());
    opt.step();
  }
  const after = noGrad(() => lossOf().item());
  console.log(`# 1-2-2-1 on 0.5+0.4·sin(3x): mean error ${before.toExponential(3)} → ${after.toExponential(3)} (${(before / after).toFixed(1)}×)`);
  assert.ok(after < before / 10, `error fell only from ${before} to ${after}`);
});

test('an MLP with ReLU and softmax cross-entropy learns two spirals to ≥ 95% accuracy', () => {
  const rng = new Rng(11);
  const N = 200; // per class
  const pts: number[][] = [], labels: number[] = [];
  for (let c = 0; c < 2; c++) for (let i = 0; i < N; i++) {
    const r = (i / N) * 5, a = 1.75 * (i / N) * 2 * Math.PI + c * Math.PI;
    pts.push([r * Math.cos(a) / 5 + rng.normal(0, 0.02), r * Math.sin(a) / 5 + rng.normal(0, 0.02)]);
    labels.push(c);
  }
  const x = tensor(pts), y = intTensor(labels);
  const net = new Sequential(new Dense(2, 64, { activation: 'relu', rng }), new Dense(64, 64, { activation: 'relu', rng }), new Dense(64, 2, { rng }));
  const momentum = new Momentum(net, { lr: 0.05, momentum: 0.9 });
  for (let step = 0; step < 1500; step++) {
    momentum.zeroGrad();
    backward(mean(softmaxCrossEntropy(net.forward(x), y)));
    momentum.step();
  }
  const logits = noGrad(() => net.forward(x));
  let correct = 0;
  for (let i = 0; i < 2 * N; i++) if ((logits.data[2 * i + 1]! > logits.data[2 * i]! ? 1 : 0) === labels[i]) correct++;
  const acc = correct / (2 * N);
  console.log(`# spirals accuracy ${(acc * 100).toFixed(1)}%`);
  assert.ok(acc >= 0.95, `accuracy ${acc}`);
});
