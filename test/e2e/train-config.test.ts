// `backprop train --config`: a run's train.jsonl (or config.json) reruns it to the same log; flags
// beside it override its fields; --print-config shows what would run; NT-ASGD, validation checks and
// variable BPTT from the command line; bad files are one-line errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './cli-helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-config-'));
const textFile = path.join(dir, 'tiny.txt');
const lines = ['the cat sat on the mat.', 'a dog sat on a log.', 'the dog saw the cat.', 'a cat saw a dog on the mat.'];
fs.writeFileSync(textFile, Array.from({ length: 120 }, (_, i) => lines[(i * 7) % lines.length]).join('\n') + '\n');
const cli = (args: string[]) => runCli(args, dir);
const rows = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as Record<string, unknown>).map(({ seconds: _s, tokensPerSecond: _t, ...r }) => r);

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a log reruns its run exactly with --config; flags beside it override; --print-config shows the result', () => {
  const first = cli(['train', '--data', 'text', '--text', textFile, '--level', 'char', '--hidden', '16', '--embed', '8', '--layers', '1',
    '--batch-size', '4', '--num-steps', '10', '--optimizer', 'sgd', '--lr', '1', '--lr-decay', '1', '--epochs', '3', '--max-steps-per-epoch', '8',
    '--valid-every', '3', '--nt-asgd', '1', '--variable-bptt', '--bptt-sd', '3', '--log-every', '4', '--test-tokens', '300',
    '--test-batch-size', '2', '--test-num-steps', '5', '--seed', '5', '--sample', '0', '--out', 'a']);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /variable \(p 0\.95, sd 3, min 5\).*NT-ASGD n 1, validating every 3 windows/);
  assert.match(first.stderr, /check at epoch 1 window 3: valid ppl \d/);
  assert.match(first.stdout + first.stderr, /NT-ASGD: validation stopped improving/);
  const again = cli(['train', '--config', path.join('a', 'train.jsonl'), '--sample', '0', '--out', 'b']);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /warning: .* the data loaded now differs/);
  assert.deepEqual(rows(path.join(dir, 'b', 'train.jsonl')), rows(path.join(dir, 'a', 'train.jsonl')));
  assert.doesNotMatch(again.stderr, /note: .* kernels/, 'the same kernels: no note');
  // The header names the kernels; a rerun on others says its numbers agree to rounding only.
  const header = rows(path.join(dir, 'a', 'train.jsonl'))[0] as { kernels?: string };
  assert.match(header.kernels ?? '', /^wasm/);
  const onJs = cli(['train', '--config', path.join('a', 'train.jsonl'), '--backend', 'js', '--epochs', '1', '--max-steps-per-epoch', '2',
    '--test-tokens', '-1', '--sample', '0', '--out', 'c']);
  assert.equal(onJs.status, 0, onJs.stderr);
  assert.match(onJs.stderr, new RegExp(`note: a.train\\.jsonl ran on ${header.kernels!.replace(/[+]/g, '\\+')}( \\(OpenBLAS [^)]*\\))? kernels, this run on js:`));
  // config.json works the same way; flags override, and --num-steps carries k1 and k2 with it.
  const p = cli(['train', '--config', path.join('a', 'config.json'), '--num-steps', '6', '--no-variable-bptt', '--print-config']);
  assert.equal(p.status, 0, p.stderr);
  const cfg = JSON.parse(p.stdout) as Record<string, unknown>;
  assert.deepEqual([cfg.numSteps, cfg.k1, cfg.k2, cfg.bpttVariable, cfg.ntAsgd, cfg.hidden], [6, 6, 6, false, 1, 16]);
  assert.ok(!fs.existsSync(path.join(dir, 'runs')), '--print-config trained');
  // A preset's weight tying is on until --no-tie-weights turns it off (the ablation in docs/results.md).
  const tied = (args: string[]) => (JSON.parse(cli(['train', '--preset', 'awd-small', ...args, '--print-config']).stdout) as { tieWeights: boolean }).tieWeights;
  assert.deepEqual([tied([]), tied(['--no-tie-weights']), tied(['--no-tie-weights', '--tie-weights'])], [true, false, true]);
});

test('--config errors are one line, exit 2', () => {
  fs.writeFileSync(path.join(dir, 'old.jsonl'), '{"epoch":1,"trainPerplexity":5,"validPerplexity":6}\n');
  fs.writeFileSync(path.join(dir, 'typo.json'), '{"hiden": 12}');
  for (const [args, re] of [
    [['--config', 'missing.json'], /--config missing\.json: cannot read \(ENOENT\)/],
    [['--config', 'old.jsonl'], /old\.jsonl: its first line is not a log header/],
    [['--config', 'typo.json'], /unknown configuration field "hiden"/],
    [['--config', 'typo.json', '--resume'], /--resume continues with the checkpoint's configuration; --config starts a new run/],
  ] as const) {
    const r = cli(['train', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
