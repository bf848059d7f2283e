// Scale limits (issue 14, item 8): files over 2 GiB are read in pieces (tested here with small pieces:
// a real 2 GiB file would cost this machine 2 GiB of memory), and a safetensors header with very many
// tensors is parsed in one linear pass with memory for the entries only (tested in a child process with a
// small heap, which the old JSON.parse-plus-duplicate-scan exhausted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './cli-helpers.js';
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, readBytes } from '../../src/io/checkpoint.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-scale-'));

test('files are read in pieces (fs.readFileSync stops at 2 GiB): any piece size gives the same bytes', () => {
  const file = path.join(dir, 'a.ckpt');
  const data = new Float32Array(1000).map((_, i) => Math.sin(i));
  fs.writeFileSync(file, encodeCheckpoint({ tensors: { w: { shape: [10, 100], data } }, meta: { note: 'x' } }));
  const whole = new Uint8Array(fs.readFileSync(file));
  for (const chunk of [1, 7, 4096, 1 << 30]) assert.deepEqual(readBytes(file, chunk), whole, `pieces of ${chunk} bytes`);
  assert.deepEqual(decodeCheckpoint(readBytes(file, 3), file).tensors.w!.data, data);
  assert.deepEqual(loadCheckpoint(file).meta.note, 'x');
  assert.throws(() => readBytes(path.join(dir, 'missing')), /missing: cannot read: file not found/);
  assert.throws(() => readBytes(dir), /is a directory/);
});

test('a safetensors header with 300k tensors parses linearly in a 160 MB heap', () => {
  const N = 300_000;
  const script = `
    import { readSafetensorsLayout } from ${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'src', 'io', 'safetensors.js')).href)};
    const N = ${N};
    const parts = ['{'];
    for (let i = 0; i < N; i++) parts.push((i ? ',' : '') + '"model.layer.' + i + '.weight":{"dtype":"F32","shape":[1],"data_offsets":[' + 4 * i + ',' + (4 * i + 4) + ']}');
    parts.push('}');
    let json = Buffer.from(parts.join(''));
    json = Buffer.concat([json, Buffer.alloc((8 - json.length % 8) % 8, 0x20)]);
    const bytes = new Uint8Array(8 + json.length + 4 * N);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    json = null; parts.length = 0;
    const t0 = performance.now();
    const layout = readSafetensorsLayout(bytes, 'big');
    console.log(JSON.stringify({ entries: layout.entries.length, seconds: (performance.now() - t0) / 1000, bytes: bytes.length }));
  `;
  const r = spawnSync(process.execPath, ['--max-old-space-size=160', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `the header did not parse in a 160 MB heap:\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as { entries: number; seconds: number; bytes: number };
  assert.equal(out.entries, N);
  console.log(`# ${N} tensors (${(out.bytes / 1e6).toFixed(1)} MB file): header parsed in ${out.seconds.toFixed(2)} s within a 160 MB heap`);
});
