// The CLI as a user runs it: a very small `train` on a text file, then eval, generate, plot and export;
// configuration errors; and a real SIGINT in the middle of training, resumed to the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bin, runCli } from './cli-helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-cli-'));
const textFile = path.join(dir, 'tiny.txt');
const lines = ['the cat sat on the mat.', 'a dog sat on a log.', 'the dog saw the cat.', 'a cat saw a dog on the mat.'];
fs.writeFileSync(textFile, Array.from({ length: 120 }, (_, i) => lines[(i * 7) % lines.length]).join('\n') + '\n');

const cli = (args: string[]) => runCli(args, dir);

const small = ['--data', 'text', '--text', textFile, '--level', 'char', '--hidden', '16', '--embed', '8', '--layers', '1',
  '--batch-size', '4', '--num-steps', '10', '--optimizer', 'adam', '--lr', '0.01', '--seed', '3', '--backend', 'js'];

/** A log's records after its header line (which must open it), timings dropped. */
const records = (file: string) => {
  const all = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(all[0]!.header, true, `${file} does not open with its header`);
  return all.slice(1).map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);
};

test('train → eval → generate → plot → export', () => {
  const out = path.join(dir, 'run');
  const t = cli(['train', ...small, '--epochs', '2', '--max-steps-per-epoch', '5', '--test-tokens', '200',
    '--test-batch-size', '2', '--test-num-steps', '5', '--sample', '20', '--out', out]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /Epoch 1: .*valid ppl/);
  assert.match(t.stdout, /Epoch 2: .*valid ppl/);
  assert.match(t.stdout, /Test perplexity/);
  assert.match(t.stdout, /sample \(/);
  const log = records(path.join(out, 'train.jsonl'));
  assert.equal(log.length, 3);
  assert.deepEqual(Object.keys(log[0]!).slice(0, 4), ['epoch', 'lr', 'trainPerplexity', 'validPerplexity']);
  const ckpt = path.join(out, 'checkpoint.ckpt');

  // eval on the validation split with the training B, T gives the last epoch's validation perplexity.
  const e = cli(['eval', '--checkpoint', ckpt, '--split', 'valid', '--backend', 'js', '--json']);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).perplexity, log[1]!.validPerplexity);
  const et = cli(['eval', '--checkpoint', ckpt, '--text', textFile, '--tokens', '400', '--backend', 'js']);
  assert.equal(et.status, 0, et.stderr);
  assert.match(et.stdout, /perplexity \d/);
  // Dynamic evaluation adapts while scoring; --ngram mixes in a Kneser-Ney model (weight fitted on validation).
  const ed = cli(['eval', '--checkpoint', ckpt, '--split', 'valid', '--backend', 'js', '--json', '--dynamic-lr', '0.05', '--ngram', '3']);
  assert.equal(ed.status, 0, ed.stderr);
  const dj = JSON.parse(ed.stdout);
  assert.notEqual(dj.perplexity, log[1]!.validPerplexity);
  assert.deepEqual(dj.dynamic, { lr: 0.05, decay: 0 });
  assert.ok(dj.mixture.weight > 0 && dj.mixture.weight < 1);
  assert.ok(dj.mixture.perplexity <= Math.min(dj.perplexity, dj.ngram.perplexity) * 1.0001, JSON.stringify(dj));
  const bad = cli(['eval', '--checkpoint', ckpt, '--mix-weight', '0.5']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--mix-weight needs --ngram/);
  const bad2 = cli(['eval', '--checkpoint', ckpt, '--fit-tokens', '100']);
  assert.equal(bad2.status, 2);
  assert.match(bad2.stderr, /--fit-tokens needs --ngram/);

  const gen = (seed: string) => cli(['generate', '--checkpoint', ckpt, '--prompt', 'the ', '--length', '40', '--temperature', '0.8', '--top-k', '5', '--seed', seed]);
  const g1 = gen('5'), g2 = gen('5'), g3 = gen('6');
  assert.equal(g1.status, 0, g1.stderr);
  assert.equal(g2.stdout, g1.stdout);
  assert.notEqual(g3.stdout, g1.stdout);
  assert.ok(g1.stdout.startsWith('the '));

  const svg = path.join(dir, 'curve.svg');
  const p = cli(['plot', path.join(out, 'train.jsonl'), '-o', svg]);
  assert.equal(p.status, 0, p.stderr);
  const s = fs.readFileSync(svg, 'utf8');
  assert.ok(s.startsWith('<svg') && s.includes('validation') && s.includes('epoch'));

  const x = cli(['export', '--checkpoint', ckpt, '--onnx', path.join(dir, 'lm.onnx'), '--safetensors', path.join(dir, 'lm')]);
  assert.equal(x.status, 0, x.stderr);
  assert.ok(fs.statSync(path.join(dir, 'lm.onnx')).size > 1000);
  const side = JSON.parse(fs.readFileSync(path.join(dir, 'lm.json'), 'utf8'));
  assert.deepEqual(Object.keys(side.tensors).sort(), ['embedding.weight', 'lstm.0.bias', 'lstm.0.kernel', 'proj.bias', 'proj.weight']);
});

test('train on the default backend (WASM, no flag) with --diagnostics: gradient health each epoch, the reference backend\'s numbers', () => {
  const args = [...small.slice(0, -2), '--epochs', '2', '--max-steps-per-epoch', '5', '--valid-tokens', '300', '--test-tokens', '-1', '--sample', '0', '--diagnostics'];
  assert.deepEqual(small.slice(-2), ['--backend', 'js']);
  const wasm = runCli(['train', ...args, '--out', path.join(dir, 'default')], dir, 120_000, { BACKPROP_BACKEND: undefined });
  assert.equal(wasm.status, 0, wasm.stderr);
  assert.match(wasm.stderr, /, wasm\S* kernels → /, 'the default backend is WASM');
  for (const epoch of [1, 2]) assert.match(wasm.stdout, new RegExp(`gradient health, epoch ${epoch}: clip rate [0-9.]+% \\(\\d+/5\\)`));
  assert.match(wasm.stdout, /‖∂E\/∂h_t‖, mean over updates \(t = 1 oldest … 10 newest\)/);
  const rows = wasm.stdout.split('\n').filter((l) => /^ {2,}\d+ +\d\.\d{3}e[-+]\d+$/.test(l));
  assert.equal(rows.length, 20, `one ‖∂E/∂h_t‖ row per window step and epoch:\n${wasm.stdout}`);
  assert.match(wasm.stdout, /oldest\/newest ratio per layer: \d\.\d\de[-+]\d+ /);
  // The reference backend gives the same training, to float32 rounding.
  const js = runCli(['train', ...args, '--backend', 'js', '--out', path.join(dir, 'js')], dir);
  assert.equal(js.status, 0, js.stderr);
  assert.match(js.stderr, /, js kernels → /);
  const a = records(path.join(dir, 'default', 'train.jsonl')), b = records(path.join(dir, 'js', 'train.jsonl'));
  assert.equal(a.length, 2);
  for (let i = 0; i < 2; i++) {
    for (const k of ['trainPerplexity', 'validPerplexity'] as const) {
      const x = a[i]![k] as number, y = b[i]![k] as number;
      assert.ok(Math.abs(x - y) <= 1e-4 * y, `epoch ${i + 1} ${k}: WASM ${x}, reference ${y}`);
    }
  }
});

test('--help lists every command; an unknown command exits 1 naming it', () => {
  const h = cli(['--help']);
  assert.equal(h.status, 0, h.stderr);
  for (const c of ['explain', 'explorer', 'train', 'eval', 'generate', 'plot [options] <log>', 'export', 'ngram']) assert.match(h.stdout, new RegExp(`\\n  ${c.replace(/[[\]]/g, '\\$&')} `));
  const t = cli(['train', '--help']);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /--diagnostics/);
  const u = cli(['frobnicate']);
  assert.equal(u.status, 1);
  assert.match(u.stderr, /unknown command 'frobnicate'/);
});

test('impossible configurations exit 2 with a message naming the value, and write nothing', () => {
  const cases: [string[], RegExp][] = [
    [['--preset', 'gigantic'], /unknown preset "gigantic"/],
    [[...small, '--k1', '0'], /--k1 must be an integer ≥ 1, got "0"/],
    [[...small, '--lr', '-1'], /lr must be a finite number ≥ 0 \(0 = measure without training\), got -1/],
    [[...small, '--batch-size', '100000'], /batchSize exceeds the data length.*batchSize 100000/],
    [['--data', 'text'], /needs a file \(--text FILE\)/],
  ];
  for (const [args, re] of cases) {
    const out = path.join(dir, 'bad');
    const r = cli(['train', ...args, '--out', out]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(fs.existsSync(out), false);
  }
});

test('SIGINT mid-training saves a checkpoint and exits cleanly; --resume gives the uninterrupted numbers', async () => {
  const args = [...small, '--epochs', '2', '--max-steps-per-epoch', '0', '--valid-tokens', '300', '--test-tokens', '-1', '--sample', '0', '--progress-every', '0'];
  const full = path.join(dir, 'full'), cut = path.join(dir, 'cut');
  const a = cli(['train', ...args, '--out', full]);
  assert.equal(a.status, 0, a.stderr);

  const child = spawn(process.execPath, [bin, 'train', ...args, '--out', cut], { cwd: dir });
  let err = '', out = '', sent = false;
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!sent && /epoch 1 window 20\//.test(err)) { sent = true; child.kill('SIGINT'); }
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.ok(sent, `never saw window 20: ${err.slice(-500)}`);
  assert.equal(code, 0, err.slice(-500));
  assert.match(out, /interrupted by SIGINT/);
  assert.ok(fs.existsSync(path.join(cut, 'checkpoint.ckpt')));
  assert.equal(records(path.join(cut, 'train.jsonl')).length, 0);   // stopped inside epoch 1: the header alone

  const r = cli(['train', '--resume', '--backend', 'js', '--out', cut, '--sample', '0']);
  assert.equal(r.status, 0, r.stderr);
  // The trainer stops after the window in progress when the signal is handled; on a loaded machine a
  // few more windows may pass between the progress line and the signal, so any mid-epoch window will do.
  const at = /resuming .*epoch 1, window (\d+)/.exec(r.stderr);
  assert.ok(at && Number(at[1]) >= 20 && Number(at[1]) < 62, `resumed at ${at?.[1]}: ${r.stderr.slice(0, 300)}`);
  assert.deepEqual(records(path.join(cut, 'train.jsonl')), records(path.join(full, 'train.jsonl')));
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('export --network: the tutorial network as ONNX runs in onnxruntime and matches explain', async () => {
  const ort = await import('onnxruntime-node');
  const net = path.join(dir, 'net.json');
  fs.writeFileSync(net, JSON.stringify({ inputSize: 1, layers: [
    { activation: 'sigmoid', weights: [[0.5, -0.3]], biases: [0.1, -0.2] },
    { activation: 'sigmoid', weights: [[0.4, 0.8], [-0.6, 0.2]], biases: [0.05, -0.1] },
    { activation: 'sigmoid', weights: [[0.7], [-0.5]], biases: [0.3] },
  ] }));
  const onnx = path.join(dir, 'net.onnx');
  const x = cli(['export', '--network', net, '--onnx', onnx, '--safetensors', path.join(dir, 'net-weights')]);
  assert.equal(x.status, 0, x.stderr);
  const session = await ort.InferenceSession.create(fs.readFileSync(onnx));
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1), [1, 1]) });
  const e = cli(['explain', '--network', net, '--input', '1', '--target', '0.5', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const yOut = (JSON.parse(e.stdout).nodes as { layer: number; y: number }[]).filter((n) => n.layer === 3)[0]!.y;
  assert.ok(Math.abs((out.y!.data as Float32Array)[0]! - yOut) < 1e-6, `onnx ${(out.y!.data as Float32Array)[0]} vs explain ${yOut}`);
  const bad = cli(['export', '--network', net]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--onnx FILE and\/or --safetensors PATH/);
});

test('a checkpoint whose corpus changed gives a clear error naming the file, on eval and on resume', () => {
  const text = path.join(dir, 'changing.txt');
  fs.writeFileSync(text, 'abc abc abd abd\n'.repeat(200));
  const out = path.join(dir, 'changing-run');
  const args = small.map((a) => (a === textFile ? text : a));
  const t = cli(['train', ...args, '--epochs', '1', '--max-steps-per-epoch', '2', '--test-tokens', '0', '--valid-tokens', '100', '--test-batch-size', '2', '--test-num-steps', '5', '--sample', '0', '--out', out]);
  assert.equal(t.status, 0, t.stderr);
  fs.writeFileSync(text, 'xyz xyz wxy wxy!\n'.repeat(200)); // other characters: another vocabulary
  const ckpt = path.join(out, 'checkpoint.ckpt');
  const before = fs.readFileSync(ckpt);
  const e = cli(['eval', '--checkpoint', ckpt, '--split', 'valid']);
  assert.equal(e.status, 2, e.stderr);
  assert.match(e.stderr, /checkpoint\.ckpt.*no longer gives the checkpoint's vocabulary/);
  const r = cli(['train', '--resume', '--out', out]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /vocabulary/);
  assert.deepEqual(fs.readFileSync(ckpt), before, 'the checkpoint is untouched');
});

test('train --patience: early stopping at an epoch boundary, best.ckpt kept, the log matching the checkpoint', () => {
  const out = path.join(dir, 'patience');
  // --lr 0 never improves after epoch 1, so patience 2 stops after epoch 3 of 6.
  const t = cli(['train', ...small, '--lr', '0', '--epochs', '6', '--max-steps-per-epoch', '3', '--test-tokens', '200', '--test-batch-size', '2', '--test-num-steps', '5', '--sample', '0',
    '--patience', '2', '--out', out]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /early stopping: no lower validation perplexity for 2 epochs; best\.ckpt holds epoch 1/);
  assert.equal(records(path.join(out, 'train.jsonl')).length, 3);
  assert.ok(fs.existsSync(path.join(out, 'best.ckpt')));
  const bad = cli(['train', ...small, '--patience', '0', '--out', path.join(dir, 'patience0')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--patience must be an integer ≥ 1, got "0"/);
});
