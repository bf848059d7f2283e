import { test, mock, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FormatError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { decodeCheckpoint, encodeCheckpoint, exportWeights, importSafetensors, loadCheckpoint, saveCheckpoint, type Checkpoint } from './checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { seededRandom } from './testing.js';

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-io-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sampleCheckpoint(step = 100): Checkpoint {
  return {
    tensors: {
      'embedding.weight': { shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      'lstm.0.kernel': { shape: [4, 8], data: Float32Array.from({ length: 32 }, (_, k) => k / 7) },
      'optim.m.embedding.weight': { shape: [3, 2], data: new Float32Array(6).fill(0.25) },
      'optim.step': { shape: [], data: new Float64Array([step]) },
      'data.tokens': { dtype: 'I64', shape: [2], data: new Int32Array([4, -1]) },
    },
    meta: {
      config: { hiddenSize: 2, forgetBias: 1, layers: [1, 2] },
      vocab: ['<unk>', 'the', 'cat'],
      trainer_state: { step, epoch: 1.5, lr: 1e-3, rng: 'abc' },
    },
  };
}

/** Asserts a FormatError whose message names `file` and matches `pattern`. */
function assertFormatError(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('save then load returns the same tensors and meta', (t) => {
  const file = path.join(tempDir(t), 'run.ckpt');
  const checkpoint = sampleCheckpoint();
  saveCheckpoint(file, checkpoint);
  const loaded = loadCheckpoint(file);
  assert.deepEqual(loaded.meta, checkpoint.meta);
  for (const [name, tensor] of Object.entries(checkpoint.tensors)) {
    assert.deepEqual(loaded.tensors[name]!.shape, tensor.shape, name);
    assert.deepEqual(loaded.tensors[name]!.data, tensor.data, name);
  }
  assert.equal(loaded.tensors['data.tokens']!.dtype, 'I64');
  // Any safetensors reader sees a plain file with our metadata as JSON strings.
  const plain = decodeSafetensors(fs.readFileSync(file));
  assert.equal(plain.metadata['backprop.format_version'], '1');
  assert.equal(plain.metadata['backprop.vocab'], '["<unk>","the","cat"]');
  assert.match(plain.metadata['backprop.checksum']!, /^sha256:[0-9a-f]{64}$/);
  // Saving again replaces the file.
  saveCheckpoint(file, sampleCheckpoint(200));
  assert.deepEqual(loadCheckpoint(file).meta['trainer_state'], { step: 200, epoch: 1.5, lr: 1e-3, rng: 'abc' });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['run.ckpt'], 'no temporary files left behind');
});

test('a flipped byte anywhere, a truncation, a missing file or a foreign file is a FormatError naming it', (t) => {
  const dir = tempDir(t);
  const bytes = encodeCheckpoint(sampleCheckpoint());
  const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));

  // Flip one bit in every byte position of the data section and many in the header.
  for (let at = 0; at < bytes.length; at += at < headerEnd ? 7 : 1) {
    const copy = bytes.slice();
    copy[at] = copy[at]! ^ 0x10;
    assertFormatError(() => decodeCheckpoint(copy, `flip@${at}`), `flip@${at}`, /./);
  }
  const dataFlip = bytes.slice();
  dataFlip[headerEnd + 5] = dataFlip[headerEnd + 5]! ^ 1;
  assertFormatError(() => decodeCheckpoint(dataFlip, 'x.ckpt'), 'x.ckpt', /checksum mismatch.*corrupted/);

  const truncated = path.join(dir, 'truncated.ckpt');
  fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 3));
  assertFormatError(() => loadCheckpoint(truncated), truncated, /truncated|cover/);
  fs.writeFileSync(truncated, bytes.subarray(0, 100));
  assertFormatError(() => loadCheckpoint(truncated), truncated, /runs past the end of the file/);

  const missing = path.join(dir, 'missing.ckpt');
  assertFormatError(() => loadCheckpoint(missing), missing, /file not found/);
  assertFormatError(() => loadCheckpoint(dir), dir, /is a directory/);

  const foreign = path.join(dir, 'foreign.safetensors');
  fs.writeFileSync(foreign, encodeSafetensors({ w: { shape: [1], data: new Float32Array(1) } }, { format: 'pt' }));
  assertFormatError(() => loadCheckpoint(foreign), foreign, /not a backprop checkpoint/);

  const future = path.join(dir, 'future.ckpt');
  fs.writeFileSync(future, encodeSafetensors({}, { 'backprop.format_version': '99' }));
  assertFormatError(() => loadCheckpoint(future), future, /format version "99" is not supported/);

  const forged = path.join(dir, 'forged.ckpt');
  fs.writeFileSync(forged, encodeSafetensors({}, { 'backprop.format_version': '1', 'backprop.checksum': 'sha256:00' }));
  assertFormatError(() => loadCheckpoint(forged), forged, /checksum mismatch/);

  // Rewriting a tensor's value and re-encoding a consistent safetensors file still fails the checksum.
  const tampered = decodeSafetensors(bytes);
  (tampered.tensors['optim.step']!.data as Float64Array)[0] = 101;
  assertFormatError(() => decodeCheckpoint(encodeSafetensors(tampered.tensors, tampered.metadata), 't.ckpt'), 't.ckpt', /checksum mismatch/);
});

test('fuzz: randomly damaged checkpoints are rejected with FormatError', () => {
  const random = seededRandom(99);
  const bytes = encodeCheckpoint(sampleCheckpoint());
  for (let trial = 0; trial < 300; trial++) {
    let copy = bytes.slice();
    if (trial % 3 === 0) copy = copy.subarray(0, Math.floor(random() * copy.length));
    else for (let m = 1 + Math.floor(random() * 4); m > 0; m--) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
    try {
      decodeCheckpoint(copy, `fuzz#${trial}`);
      // Only a change the checksum does not cover (header whitespace, or no change at all) may load.
      const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, k) => v === b[k] || (v <= 0x20 && b[k]! <= 0x20));
      assert.ok(same(copy, bytes), `fuzz#${trial} loaded a damaged file`);
    } catch (e) {
      if (!(e instanceof FormatError)) throw new Error(`fuzz#${trial} raised ${String(e)}`);
    }
  }
});

test('a failing write leaves the previous file intact and no temporary file behind', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'run.ckpt');
  saveCheckpoint(file, sampleCheckpoint(1));
  const before = fs.readFileSync(file);

  // Inject a failure at each step of the write: mid-write (disk full), at fsync, at rename.
  const failures: Array<['writeSync' | 'fsyncSync' | 'renameSync', string]> = [['writeSync', 'ENOSPC'], ['fsyncSync', 'EIO'], ['renameSync', 'EXDEV']];
  for (const [method, code] of failures) {
    let calls = 0;
    const fsMethods = fs as unknown as Record<typeof method, (...args: unknown[]) => unknown>;
    const original = fsMethods[method];
    const injected = mock.method(fsMethods, method, (...args: unknown[]) => {
      // Let the first partial write through so the temporary file really holds bytes.
      if (method === 'writeSync' && calls++ === 0) return original(args[0], args[1], args[2], Math.min(10, args[3] as number));
      throw Object.assign(new Error(`injected ${code}`), { code });
    });
    try {
      // One line naming the file and the system's code (FileError; main prints it and exits 2).
      assert.throws(() => saveCheckpoint(file, sampleCheckpoint(2)), (e: Error) => e.name === 'FileError' && new RegExp(`^cannot write .*run\\.ckpt: .*\\(${code}\\)$`).test(e.message));
    } finally {
      injected.mock.restore();
    }
    assert.deepEqual(fs.readFileSync(file), before, `previous checkpoint intact after a failing ${method}`);
    assert.deepEqual(fs.readdirSync(dir), ['run.ckpt'], `temporary file removed after a failing ${method}`);
    assert.equal(loadCheckpoint(file).meta['trainer_state'] !== undefined, true);
  }

  // A real failure: the target is a directory, so the rename fails; the directory is untouched.
  const blocker = path.join(dir, 'blocker');
  fs.mkdirSync(path.join(blocker, 'inside'), { recursive: true });
  assert.throws(() => writeFileAtomic(blocker, new Uint8Array([1, 2, 3])));
  assert.deepEqual(fs.readdirSync(blocker), ['inside']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['blocker', 'run.ckpt']);

  // Where permissions are enforced (not as root), a read-only directory fails the write cleanly too.
  if (process.getuid?.() !== 0 && process.platform !== 'win32') {
    fs.chmodSync(dir, 0o500);
    try {
      assert.throws(() => saveCheckpoint(file, sampleCheckpoint(3)), /EACCES|EPERM/);
    } finally {
      fs.chmodSync(dir, 0o700);
    }
    assert.deepEqual(fs.readFileSync(file), before);
  }
});

test('exportWeights writes NAME.safetensors and a NAME.json sidecar that other tools can read', (t) => {
  const dir = tempDir(t);
  const { tensors } = sampleCheckpoint();
  const config = { vocabSize: 3, hiddenSize: 2 };
  const prefix = exportWeights(path.join(dir, 'ptb'), { tensors, config, vocab: ['a', 'b', 'c'] });
  assert.deepEqual(prefix, { weightsPath: path.join(dir, 'ptb.safetensors'), sidecarPath: path.join(dir, 'ptb.json') });
  const imported = importSafetensors(prefix.weightsPath);
  assert.deepEqual(imported.metadata, {});
  assert.deepEqual(imported.tensors['lstm.0.kernel']!.data, tensors['lstm.0.kernel']!.data);
  const sidecar = JSON.parse(fs.readFileSync(prefix.sidecarPath, 'utf8'));
  assert.equal(sidecar.weights, 'ptb.safetensors');
  assert.deepEqual(sidecar.config, config);
  assert.deepEqual(sidecar.vocab, ['a', 'b', 'c']);
  assert.deepEqual(sidecar.tensors['data.tokens'], { dtype: 'I64', shape: [2] });

  const inDir = exportWeights(`${dir}${path.sep}`, { tensors });
  assert.equal(inDir.weightsPath, path.join(dir, 'model.safetensors'));
  assertFormatError(() => importSafetensors(path.join(dir, 'nope.safetensors')), 'nope.safetensors', /file not found/);
});

test('meta values must be JSON-serializable and must not use reserved keys', () => {
  assert.throws(() => encodeCheckpoint({ tensors: {}, meta: { config: undefined } }), /not JSON-serializable/);
  assert.throws(() => encodeCheckpoint({ tensors: {}, meta: { checksum: 'x' } }), /reserved/);
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint({ tensors: {}, meta: {} })), { tensors: {}, meta: {} });
});
