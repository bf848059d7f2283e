// Corpus choice: an incomplete source is a ConfigError naming what is missing, before any file is read;
// a complete one loads exactly what the named loader gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import { loadCorpus, shakespeareFile } from './sources.js';
import { loadTextCorpus } from './text.js';

test('loadCorpus: incomplete sources are ConfigErrors naming the problem', () => {
  assert.throws(() => loadCorpus({ data: 'text', level: 'word' }), (e) => e instanceof ConfigError && /needs a file \(--text FILE\)/.test(e.message));
  assert.throws(() => loadCorpus({ data: 'ptb', level: 'word' }), (e) => e instanceof ConfigError && /needs a folder \(--ptb-dir DIR\)/.test(e.message));
  assert.throws(() => loadCorpus({ data: 'wiki' as never, level: 'word' }), (e) => e instanceof ConfigError && /unknown data source "wiki"/.test(e.message));
  assert.throws(() => loadCorpus({ data: 'text', text: 'x.txt', level: 'byte' as never }), (e) => e instanceof ConfigError && /level must be word or char/.test(e.message));
});

test('loadCorpus: a text source gives what loadTextCorpus gives', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-sources-'));
  try {
    const file = path.join(dir, 'in.txt');
    fs.writeFileSync(file, 'the cat sat on the mat\n'.repeat(40));
    const a = loadCorpus({ data: 'text', text: file, level: 'char' }), b = loadTextCorpus(file, { level: 'char' });
    assert.deepEqual(a.vocab.itos, b.vocab.itos);
    assert.deepEqual([a.train, a.valid, a.test], [b.train, b.valid, b.test]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('shakespeareFile: $TINYSHAKESPEARE when set, else ../shared beside the repository, else the copy an installed package ships; absent, one line naming every place', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-ts-'));
  try {
    const file = path.join(dir, 'input.txt');
    fs.writeFileSync(file, 'First Citizen:\n');
    assert.equal(shakespeareFile({ TINYSHAKESPEARE: file }), file);
    const missing = path.join(dir, 'nope.txt');
    assert.throws(() => shakespeareFile({ TINYSHAKESPEARE: missing }), (e: Error) => e instanceof DataError && e.message.includes(`TINYSHAKESPEARE=${missing} does not exist`) &&
      /shared[/\\]data[/\\]tinyshakespeare[/\\]input\.txt/.test(e.message) && !e.message.includes('\n'));
    // A package root in a folder of its own: nothing beside it, nothing shipped; then the shipped copy
    // (an installed package: node_modules/backprop/build/explorer/data); then ../shared, which wins.
    const root = path.join(dir, 'node_modules', 'backprop');
    const beside = path.join(dir, 'node_modules', 'shared', 'data', 'tinyshakespeare', 'input.txt');
    const shipped = path.join(root, 'build', 'explorer', 'data', 'tinyshakespeare.txt');
    fs.mkdirSync(root, { recursive: true });
    assert.throws(() => shakespeareFile({}, root), (e: Error) => e instanceof DataError && /TINYSHAKESPEARE is not set/.test(e.message) &&
      e.message.includes(beside) && e.message.includes(shipped) && !e.message.includes('\n'));
    fs.mkdirSync(path.dirname(shipped), { recursive: true });
    fs.writeFileSync(shipped, 'shipped\n');
    assert.equal(shakespeareFile({}, root), shipped);
    fs.mkdirSync(path.dirname(beside), { recursive: true });
    fs.writeFileSync(beside, 'beside\n');
    assert.equal(shakespeareFile({}, root), beside);
    assert.equal(shakespeareFile({ TINYSHAKESPEARE: file }, root), file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
