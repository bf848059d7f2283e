// Kill safety: a real training process killed with SIGKILL at random moments (during training, during
// evaluation, in the middle of writing a checkpoint) always leaves the last complete checkpoint loadable,
// and --resume continues from it. Each kill waits on events, not on a fixed sleep: the process has
// written a checkpoint and then another (which also measures one checkpoint period), and the kill
// lands at a random moment of the next period, so it may hit training, evaluation or a write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bin } from './cli-helpers.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { Rng } from '../../src/tensor/random.js';

/** Identity of the checkpoint file ('' when absent): a new write is renamed into place, so this changes. */
function stamp(file: string): string {
  try { const s = fs.statSync(file); return `${s.ino}:${s.mtimeMs}:${s.size}`; } catch { return ''; }
}

/** Resolves with the checkpoint's new identity once it differs from `from`; rejects if the process exits first. */
async function nextCheckpoint(file: string, from: string, exited: { code?: number | null }, stderr: () => string): Promise<string> {
  for (;;) {
    const now = stamp(file);
    if (now !== '' && now !== from) return now;
    if ('code' in exited) throw new Error(`training exited (code ${String(exited.code)}) before writing a checkpoint: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 2)); // poll the file system: the event is a rename in another process
  }
}

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
  const epochs: number[] = [];
  const kills = Number(process.env.KILL_COUNT ?? 6); // KILL_COUNT=40 reruns issue 14's count
  for (let k = 0; k < kills; k++) {
    const resume = fs.existsSync(ckpt) ? ['--resume'] : [];
    const child = spawn(process.execPath, [...args, ...resume], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const status: { code?: number | null } = {};
    const exited = new Promise<void>((r) => child.once('exit', (code) => { status.code = code; r(); }));
    const first = await nextCheckpoint(ckpt, stamp(ckpt), status, () => stderr);
    const t0 = performance.now();
    await nextCheckpoint(ckpt, first, status, () => stderr);
    const period = performance.now() - t0;
    const delay = Math.round(period * rng.int(1000) / 1000);
    await new Promise((r) => setTimeout(r, delay)); // a random moment of the next checkpoint period
    assert.ok(!('code' in status), `training exited by itself (code ${String(status.code)}) before the kill: ${stderr}`);
    child.kill('SIGKILL');
    await exited;
    const c = loadCheckpoint(ckpt); // throws FormatError on a torn or corrupt file
    const epoch = (c.meta.trainer_state as { epoch?: number } | undefined)?.epoch;
    assert.ok(typeof epoch === 'number', `kill ${k + 1}: the checkpoint has no trainer_state.epoch`);
    epochs.push(epoch);
    // The log never runs ahead of the checkpoint: it holds the checkpoint's records, or one fewer.
    const history = (c.meta.trainer_state as { history: Array<{ epoch: number }> }).history;
    const log = fs.readFileSync(path.join(out, 'train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { epoch?: number; header?: boolean }).filter((r) => !r.header).map((r) => r.epoch);
    assert.ok(log.length === history.length || log.length === history.length - 1, `kill ${k + 1}: log ${log.length} records, checkpoint ${history.length}`);
    assert.deepEqual(log, history.slice(0, log.length).map((h) => h.epoch), `kill ${k + 1}: log and checkpoint disagree`);
    report.push(`kill ${k + 1} ${delay} ms into a ${Math.round(period)} ms checkpoint period: checkpoint loads (${Object.keys(c.tensors).length} tensors, epoch ${epoch})`);
  }
  console.log(report.map((l) => `# ${l}`).join('\n'));
  console.log(`# ${kills} kills, ${epochs.length} loadable checkpoints, log and checkpoint agreeing after each`);
  // --resume continued each time from the checkpoint the kill left: the epochs only move forward.
  for (let k = 1; k < epochs.length; k++) assert.ok(epochs[k]! > epochs[k - 1]!, `epochs went ${epochs.join(', ')}:\n${report.join('\n')}`);
  // The last checkpoint is usable: eval reads it and reports a finite perplexity.
  const ev = spawnSync(process.execPath, [bin, 'eval', '--checkpoint', ckpt, '--split', 'valid', '--backend', 'js', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(ev.status, 0, ev.stderr);
  assert.ok(Number.isFinite(JSON.parse(ev.stdout).perplexity));
});
