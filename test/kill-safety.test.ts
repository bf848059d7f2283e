// Kill safety: a real training process killed with SIGKILL at random moments (during training, during
// evaluation, in the middle of writing a checkpoint) always leaves the last complete checkpoint loadable,
// and --resume continues from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bin } from './cli-helpers.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { Rng } from '../src/tensor/random.js';


test('kill -9 at random moments never corrupts the last checkpoint', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-kill-'));
  const text = path.join(dir, 'text.txt');
  fs.writeFileSync(text, Array.from({ length: 400 }, (_, i) => `line ${i % 17} of the little corpus, said ${i % 5}.`).join('\n') + '\n');
  const out = path.join(dir, 'run');
  const ckpt = path.join(out, 'checkpoint.ckpt');
  // Many short epochs, so checkpoints are written often and a kill often lands mid-write.
  const args = [bin, 'train', '--data', 'text', '--text', text, '--level', 'char', '--hidden', '32', '--embed', '8', '--layers', '1',
    '--batch-size', '4', '--num-steps', '8', '--optimizer', 'adam', '--lr', '0.01', '--seed', '1', '--backend', 'js',
    '--epochs', '1000000', '--max-steps-per-epoch', '2', '--test-tokens', '0', '--valid-tokens', '200', '--sample', '0', '--out', out];
  const rng = new Rng(Number(process.env.KILL_SEED ?? 17));
  const report: string[] = [];
  let loaded = 0;
  for (let k = 0; k < 6; k++) {
    const resume = fs.existsSync(ckpt) ? ['--resume'] : [];
    const child = spawn(process.execPath, [...args, ...resume], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const delay = 1500 + rng.int(3500);
    const early = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), delay))]);
    assert.equal(early, 'running', `training exited by itself (code ${String(early)}) before the kill: ${stderr}`);
    child.kill('SIGKILL');
    await exited;
    if (!fs.existsSync(ckpt)) { report.push(`kill ${k + 1} after ${delay} ms: no checkpoint yet`); continue; }
    const c = loadCheckpoint(ckpt); // throws FormatError on a torn or corrupt file
    const st = c.meta.trainer_state as { epoch?: number } | undefined;
    loaded++;
    report.push(`kill ${k + 1} after ${delay} ms: checkpoint loads (${Object.keys(c.tensors).length} tensors, epoch ${st?.epoch ?? '?'})`);
  }
  console.log(report.map((l) => `# ${l}`).join('\n'));
  assert.ok(loaded >= 4, `checkpoints were checked only ${loaded} times:\n${report.join('\n')}`);
  // The last checkpoint is usable: eval reads it and reports a finite perplexity.
  const ev = spawnSync(process.execPath, [bin, 'eval', '--checkpoint', ckpt, '--split', 'valid', '--backend', 'js', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Number.isFinite(JSON.parse(ev.stdout).perplexity));
});
