// The AWD-LSTM regulariser flags as a user runs them: `backprop train` with every one of them on a
// tied model with a projection, then eval (the last validation number again: no masks in evaluation),
// generate, export (ONNX in onnxruntime = the checkpoint's logits), and bad values exiting 2 with one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../../src/train/model-file.js';
import { runCli } from './cli-helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-reg-cli-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const textFile = path.join(dir, 'tiny.txt');
const lines = ['the cat sat on the mat.', 'a dog sat on a log.', 'the dog saw the cat.', 'a cat saw a dog on the mat.'];
fs.writeFileSync(textFile, Array.from({ length: 120 }, (_, i) => lines[(i * 5) % lines.length]).join('\n') + '\n');
const cli = (args: string[]) => runCli(args, dir);

const small = ['--data', 'text', '--text', textFile, '--level', 'char', '--hidden', '16', '--embed', '8', '--layers', '2',
  '--batch-size', '4', '--num-steps', '10', '--optimizer', 'adam', '--lr', '0.01', '--seed', '3', '--backend', 'js'];
const regs = ['--tie-weights', '--dropout-embed', '0.1', '--dropout-input', '0.4', '--dropout-hidden', '0.25', '--dropout-output', '0.4',
  '--weight-drop', '0.5', '--ar', '2', '--tar', '1'];

test('train with every regulariser flag → eval → generate → export (ONNX in onnxruntime)', async () => {
  const out = path.join(dir, 'run');
  const t = cli(['train', ...small, ...regs, '--epochs', '2', '--max-steps-per-epoch', '5', '--test-tokens', '200',
    '--test-batch-size', '2', '--test-num-steps', '5', '--sample', '10', '--out', out]);
  assert.equal(t.status, 0, t.stderr);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  const c = cfg.config ?? cfg;
  assert.deepEqual([c.tieWeights, c.dropoutEmbed, c.dropoutInput, c.dropoutHidden, c.dropoutOutput, c.weightDrop, c.ar, c.tar], [true, 0.1, 0.4, 0.25, 0.4, 0.5, 2, 1]);
  // The epoch records (the log also holds its header line and the test record).
  const log = fs.readFileSync(path.join(out, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch?: number; trainPerplexity?: number; validPerplexity?: number })
    .filter((r) => typeof r.epoch === 'number' && r.trainPerplexity !== undefined);
  assert.equal(log.length, 2);
  const ckpt = path.join(out, 'checkpoint.ckpt');

  const e = cli(['eval', '--checkpoint', ckpt, '--split', 'valid', '--backend', 'js', '--json']);
  assert.equal(e.status, 0, e.stderr);
  // The log opens with its header line; the last epoch's validation is the checkpoint's.
  const epochs = log.filter((r) => r.validPerplexity !== undefined);
  assert.equal(epochs.length, 2);
  assert.equal(JSON.parse(e.stdout).perplexity, epochs[1]!.validPerplexity);
  const g = cli(['generate', '--checkpoint', ckpt, '--prompt', 'the ', '--length', '20', '--seed', '2']);
  assert.equal(g.status, 0, g.stderr);
  assert.ok(g.stdout.startsWith('the '));

  const onnx = path.join(dir, 'lm.onnx');
  const x = cli(['export', '--checkpoint', ckpt, '--onnx', onnx, '--safetensors', path.join(dir, 'lm')]);
  assert.equal(x.status, 0, x.stderr);
  const side = JSON.parse(fs.readFileSync(path.join(dir, 'lm.json'), 'utf8'));
  assert.ok(!('proj.weight' in side.tensors) && 'proj.hiddenToEmbed' in side.tensors, Object.keys(side.tensors).join(', '));
  assert.equal(side.config.tieWeights, true);
  const { model } = loadModel(ckpt);
  const [T, B, L, H] = [6, 2, 2, 16];
  const tokens = Int32Array.from({ length: T * B }, (_, i) => (i * 3) % model.config.vocabSize);
  const ours = model.run(tokens, B, T, model.initialState(B)).logits.data;
  const session = await ort.InferenceSession.create(fs.readFileSync(onnx));
  const zeros = () => new ort.Tensor('float32', new Float32Array(L * B * H), [L, B, H]);
  const res = await session.run({ tokens: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [T, B]), h0: zeros(), c0: zeros() });
  const got = res.logits!.data as Float32Array;
  const worst = Math.max(...Array.from(ours, (v, i) => Math.abs(v - got[i]!)));
  assert.ok(worst < 1e-4, `onnx vs engine: ${worst}`);
  await session.release();
});

test('bad regulariser values exit 2 with one line naming the field and the value, writing nothing', () => {
  for (const [flag, v, msg] of [['--dropout-embed', '-0.1', /dropoutEmbed must be a probability in \[0, 1\), got -0\.1/],
    ['--weight-drop', '1', /weightDrop must be a probability in \[0, 1\), got 1/], ['--dropout-output', 'NaN', /--dropout-output must be a number, got "NaN"/],
    ['--tar', '-1', /tar must be a finite number ≥ 0, got -1/]] as const) {
    const out = path.join(dir, `bad${flag}`);
    const r = cli(['train', ...small, flag, v, '--out', out]);
    assert.equal(r.status, 2, `${flag} ${v}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(fs.existsSync(out), false);
  }
});
