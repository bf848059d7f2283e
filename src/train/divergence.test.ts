// The divergence guard (issue 14, item 3): what users call divergence — a non-finite perplexity, a
// non-finite gradient, or a loss far above ln|V| for many updates — stops the run (or, in skip mode,
// lowers the learning rate for good), and a diverged epoch is never saved as checkpoint.ckpt or best.ckpt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DivergenceError } from '../errors.js';
import { Vocab, type Corpus } from '../data/index.js';
import { Rng } from '../tensor/random.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { BEST_FILE, CHECKPOINT_FILE, LOG_FILE } from '../io/run-folder.js';
import { LMTrainer } from './lm-trainer.js';
import { resolveConfig, type TrainConfig } from './presets.js';

const V = 12;
function corpus(): Corpus {
  const rng = new Rng(3);
  const stream = (n: number) => { const o = new Int32Array(n); for (let i = 1; i < n; i++) o[i] = rng.uniform() < 0.6 ? (o[i - 1]! + 1) % V : rng.int(V); return o; };
  const valid = stream(120);
  return { name: 'synthetic', level: 'word', vocab: new Vocab(Array.from({ length: V }, (_, i) => `w${i}`)), train: stream(400), valid, test: valid, info: {} };
}
const cfgOf = (o: Partial<TrainConfig> = {}): TrainConfig => resolveConfig('tiny', {
  name: 'div', data: 'text', text: 'synthetic', epochs: 3, batchSize: 2, numSteps: 5, hidden: 8, layers: 1, optimizer: 'adam',
  lr: 0.05, maxEpoch: 2, lrDecay: 0.5, keepProb: 1, maxStepsPerEpoch: 4, testBatchSize: 1, testNumSteps: 3, testTokens: -1, seed: 7, ...o,
});
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-div-'));
/** Logits dominated by one token: every other target costs about `x` nats (finite; exp of it is not, for x ≳ 710). */
const poison = (t: LMTrainer, x: number) => { t.model.proj.bias!.data.fill(0); t.model.proj.bias!.data[0] = x; };

test('a non-finite perplexity stops the run and never overwrites checkpoint.ckpt or becomes best.ckpt', async () => {
  const dir = tmp();
  const cfg = cfgOf({ divergencePatience: 0 });   // the loss guard off: the perplexity check alone
  const t = LMTrainer.create(cfg, { outDir: dir, corpus: corpus() });
  const first = await t.run({ stopAfterWindows: t.windowsPerEpoch, yieldEveryWindow: false });
  assert.equal(first.status, 'interrupted');
  const saved = { ck: fs.readFileSync(path.join(dir, CHECKPOINT_FILE)), best: fs.readFileSync(path.join(dir, BEST_FILE)), log: fs.readFileSync(path.join(dir, LOG_FILE), 'utf8') };
  poison(t, 1e30);
  await assert.rejects(t.run({ yieldEveryWindow: false }), (e: Error) => e instanceof DivergenceError &&
    /diverged in epoch 2 \(step \d+\), tensor "loss": training perplexity is Infinity .*the last good checkpoint is kept/.test(e.message));
  assert.deepEqual(fs.readFileSync(path.join(dir, CHECKPOINT_FILE)), saved.ck, 'checkpoint.ckpt was overwritten');
  assert.deepEqual(fs.readFileSync(path.join(dir, BEST_FILE)), saved.best, 'best.ckpt was overwritten');
  assert.equal(fs.readFileSync(path.join(dir, LOG_FILE), 'utf8'), saved.log, 'the diverged epoch was logged');

  // Diverged from the first epoch: nothing is saved at all.
  const dir2 = tmp();
  const t2 = LMTrainer.create(cfg, { outDir: dir2, corpus: corpus() });
  poison(t2, 1e30);
  await assert.rejects(t2.run({ yieldEveryWindow: false }), DivergenceError);
  assert.ok(!fs.existsSync(path.join(dir2, CHECKPOINT_FILE)) && !fs.existsSync(path.join(dir2, BEST_FILE)));
  const lines = fs.readFileSync(path.join(dir2, LOG_FILE), 'utf8').trim().split('\n');   // the header alone
  assert.deepEqual([lines.length, (JSON.parse(lines[0]!) as { header?: boolean }).header], [1, true]);
});

test('the loss guard: `divergencePatience` updates above divergenceFactor·ln|V| stop the run, naming the step and the loss', async () => {
  const t = LMTrainer.create(cfgOf({ divergencePatience: 3, divergenceFactor: 3 }), { outDir: null, corpus: corpus() });
  poison(t, 50);   // ≈ 50 nats a token, finite perplexity per window would still be exp(50): not infinite
  await assert.rejects(t.run({ yieldEveryWindow: false }), (e: Error) => e instanceof DivergenceError &&
    /diverged at step 15 \(epoch 1, window 3\), tensor "loss": the loss has stayed above 3·ln\|V\| = 7\.455 nats for 3 updates/.test(e.message));
  // Off (patience 0), the same run trains on: the losses are finite and the perplexities too.
  const off = LMTrainer.create(cfgOf({ divergencePatience: 0, epochs: 1 }), { outDir: null, corpus: corpus() });
  poison(off, 50);
  assert.equal((await off.run({ yieldEveryWindow: false })).status, 'done');
});

test('skip mode: the halved learning rate survives the next epoch\'s schedule (and a resume)', async () => {
  const starts: number[] = [];
  const cfg = cfgOf({ onDivergence: 'skip', divergencePatience: 1, divergenceFactor: 3 });
  const dir = tmp();
  const t = LMTrainer.create(cfg, { outDir: dir, corpus: corpus(), events: { epochStart: (e) => { starts.push(e.lr); } } });
  poison(t, 50);
  const r = await t.run({ yieldEveryWindow: false });
  assert.equal(r.status, 'done');
  const [e1, e2, e3] = r.history;
  assert.ok(e1!.lr < cfg.lr / 4, `epoch 1 halved its lr on each high-loss update: ${e1!.lr}`);
  // Epoch 2 is at the schedule's full rate (max_epoch 2) times the guard's factor: it starts where epoch 1 ended.
  assert.equal(starts[1], e1!.lr);
  // Epoch 3 decays (×0.5) from where epoch 2 ended; before the fix it was reset to lr·0.5.
  assert.ok(Math.abs(starts[2]! - e2!.lr * 0.5) <= 1e-12 * starts[2]!, `epoch 3 starts at ${starts[2]}, epoch 2 ended at ${e2!.lr}`);
  assert.ok(e3!.lr <= starts[2]!);
  // The factor is in the checkpoint: a resumed run would start its next epoch at the same rate.
  const st = loadCheckpoint(path.join(dir, CHECKPOINT_FILE)).meta.trainer_state as { lrScale: number };
  assert.ok(Math.abs(st.lrScale - e3!.lr / (cfg.lr * 0.5)) <= 1e-9 * st.lrScale);
});
