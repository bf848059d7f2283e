import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { StreamBatcher } from './batcher.js';

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

test('PTB layout on data 0..24, batch 2, steps 3 (worked by hand)', () => {
  const b = new StreamBatcher(range(25), 2, 3);
  assert.equal(b.batchLen, 12); // streams 0..11 and 12..23; 24 dropped
  assert.equal(b.epochSize, 3); // floor((12 - 1) / 3)
  const windows = [...b].map((w) => [w.index, [...w.x], [...w.y]]);
  assert.deepEqual(windows, [
    [0, [0, 1, 2, 12, 13, 14], [1, 2, 3, 13, 14, 15]],
    [1, [3, 4, 5, 15, 16, 17], [4, 5, 6, 16, 17, 18]],
    [2, [6, 7, 8, 18, 19, 20], [7, 8, 9, 19, 20, 21]],
  ]);
});

test('epochSize equals ((len // B) - 1) // T, and y is x shifted within each stream', () => {
  for (const [n, B, T] of [[100, 4, 5], [101, 3, 7], [10, 1, 9], [40, 20, 1]] as const) {
    const b = new StreamBatcher(range(n), B, T);
    assert.equal(b.epochSize, Math.floor((Math.floor(n / B) - 1) / T));
    for (const { x, y } of b) {
      for (let i = 0; i < B * T; i++) assert.equal(y[i], x[i]! + 1); // data is 0..n-1
    }
  }
});

test('consecutive windows continue each stream', () => {
  const b = new StreamBatcher(range(1000), 4, 10);
  for (let i = 0; i + 1 < b.epochSize; i++) {
    const { x } = b.window(i);
    const next = b.window(i + 1).x;
    for (let r = 0; r < 4; r++) assert.equal(next[r * 10], x[r * 10 + 9]! + 1);
  }
});

test('impossible configurations throw ConfigError naming batch size, steps and length', () => {
  const named = (B: number, T: number, n: number) => (e: unknown) =>
    e instanceof ConfigError && e.message.includes(`batchSize ${B}`) && e.message.includes(`numSteps ${T}`) && e.message.includes(`data length ${n}`);
  assert.throws(() => new StreamBatcher(range(5), 6, 1), named(6, 1, 5)); // B > N
  assert.throws(() => new StreamBatcher(range(7), 2, 3), named(2, 3, 7)); // batchLen 3: epoch (3-1)//3 = 0
  assert.equal(new StreamBatcher(range(8), 2, 3).epochSize, 1); // the smallest that works: N = B·(T+1)
  assert.throws(() => new StreamBatcher(range(8), 0, 3), ConfigError);
  assert.throws(() => new StreamBatcher(range(8), 2, 1.5), ConfigError);
  const b = new StreamBatcher(range(8), 2, 3);
  assert.throws(() => b.window(1), ConfigError);
  assert.throws(() => b.window(-1), ConfigError);
});
