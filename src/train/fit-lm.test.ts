// fitLanguageModel: the trainer as one call from code — callbacks, AbortSignal with an exact resume,
// early stopping, one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { Vocab, type Corpus } from '../data/index.js';
import { Rng } from '../tensor/random.js';
import { CHECKPOINT_FILE } from '../io/run-folder.js';
import { fitLanguageModel } from './fit-lm.js';
import { resolveConfig, type TrainConfig } from './presets.js';

function corpus(): Corpus {
  const V = 12, rng = new Rng(3);
  const stream = (n: number) => {
    const out = new Int32Array(n);
    for (let i = 1; i < n; i++) out[i] = rng.uniform() < 0.7 ? (out[i - 1]! + 1) % V : rng.int(V);
    return out;
  };
  const valid = stream(200);
  return { name: 'synthetic', level: 'word', vocab: new Vocab(Array.from({ length: V }, (_, i) => `w${i}`)), train: stream(2_000), valid, test: valid, info: {} };
}

const config = (o: Partial<TrainConfig> = {}): TrainConfig => resolveConfig('tiny', {
  name: 'fit', data: 'text', text: 'synthetic', epochs: 4, batchSize: 4, numSteps: 5, hidden: 8, layers: 1,
  optimizer: 'adam', lr: 0.05, maxStepsPerEpoch: 6, validTokens: 0, testBatchSize: 1, testNumSteps: 5, testTokens: 0, seed: 11, ...o,
});
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-fit-lm-'));

test('fitLanguageModel trains with callbacks and returns the history', async () => {
  let windows = 0, started = 0;
  const epochs: number[] = [];
  const r = await fitLanguageModel({
    config: config(), corpus: corpus(),
    callbacks: { window: () => { windows++; }, epochEnd: (e) => { epochs.push(e.validPerplexity); } },
    onStart: (t) => { started++; assert.equal(t.cfg.hidden, 8); },
  });
  assert.equal(r.stopReason, 'completed');
  assert.equal(started, 1);
  assert.equal(windows, 4 * 6);
  assert.equal(r.history.length, 4);
  assert.deepEqual(epochs, r.history.map((h) => h.validPerplexity));
  assert.ok(r.history[3]!.validPerplexity < r.history[0]!.validPerplexity, `validation ${epochs.join(' → ')}`);
  assert.equal(r.checkpoint, null, 'no folder: nothing written');
});

test('an AbortSignal stops after the current window with a checkpoint; resume ends bit-identical to an uninterrupted run', async () => {
  const dirA = tmp(), dirB = tmp();
  try {
    const whole = await fitLanguageModel({ config: config(), corpus: corpus(), outDir: dirA });
    const ac = new AbortController();
    let seen = 0;
    const first = await fitLanguageModel({
      config: config(), corpus: corpus(), outDir: dirB, signal: ac.signal,
      callbacks: { window: () => { if (++seen === 9) ac.abort(); } },   // in the middle of epoch 2
    });
    assert.equal(first.stopReason, 'aborted');
    assert.equal(first.checkpoint, path.join(dirB, CHECKPOINT_FILE));
    assert.equal(first.history.length, 1);
    const rest = await fitLanguageModel({ resume: path.join(dirB, CHECKPOINT_FILE), corpus: corpus(), outDir: dirB });
    assert.equal(rest.stopReason, 'completed');
    assert.deepEqual(rest.history.map((h) => h.validPerplexity), whole.history.map((h) => h.validPerplexity));
    assert.deepEqual(Array.from(rest.trainer.model.arena().values), Array.from(whole.trainer.model.arena().values));
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test('early stopping: patience epochs without improvement end the run at an epoch boundary', async () => {
  // lr 0: the model never changes, so validation never improves after the first epoch.
  const r = await fitLanguageModel({ config: config({ lr: 0, epochs: 6 }), corpus: corpus(), earlyStopping: { patience: 2 } });
  assert.equal(r.stopReason, 'early-stopping');
  assert.equal(r.history.length, 3, 'epoch 1 sets the best; epochs 2 and 3 do not improve');
  const full = await fitLanguageModel({ config: config({ epochs: 3 }), corpus: corpus(), earlyStopping: { patience: 2 } });
  assert.equal(full.stopReason, 'completed', 'an improving run is not stopped');
});

test('bad options are one-line ConfigErrors', async () => {
  await assert.rejects(fitLanguageModel({}), (e: Error) => e instanceof ConfigError && /either a configuration/.test(e.message));
  await assert.rejects(fitLanguageModel({ config: config(), resume: 'x.ckpt' }), ConfigError);
  await assert.rejects(fitLanguageModel({ config: config(), corpus: corpus(), earlyStopping: { patience: 0 } }), /patience must be an integer ≥ 1, got 0/);
});
