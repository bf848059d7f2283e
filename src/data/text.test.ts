import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import {
  decodeUtf8, firstInvalidUtf8, loadPtbFiles, loadTextCorpus, ptbCharTokens, ptbCorpusFromBytes, textCorpusFromBytes, wordTokens,
} from './text.js';
import { EOS, UNK } from './vocab.js';

const SHAKESPEARE = '/work/shared/data/tinyshakespeare/input.txt';
const dir = mkdtempSync(join(tmpdir(), 'backprop-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const utf8 = (s: string) => new TextEncoder().encode(s);
const errorMatching = (...parts: string[]) => (e: unknown) =>
  e instanceof DataError && parts.every((p) => e.message.includes(p));

test('Tiny Shakespeare, char level: nanoGPT split 1003854 / 111540, vocab 65 sorted', () => {
  const c = loadTextCorpus(SHAKESPEARE, { level: 'char' });
  assert.equal(c.info.bytes, 1_115_394);
  assert.equal(c.train.length, 1_003_854); // int(n * 0.9)
  assert.equal(c.valid.length, 111_540);
  assert.equal(c.test, c.valid);
  assert.equal(c.vocab.size, 65);
  assert.equal(c.vocab.itos.join(''), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  assert.equal(c.vocab.decode(c.train.subarray(0, 14)).join(''), 'First Citizen:');
});

test('word tokens: whitespace split, one <eos> per newline, none after an unterminated last line', () => {
  assert.deepEqual(wordTokens(' a b \n c\n\nd'), ['a', 'b', EOS, 'c', EOS, EOS, 'd']);
  assert.deepEqual(wordTokens('x\ty\r\n'), ['x', 'y', EOS]);
  // On PTB-style lines (space at both ends) this equals reader.py: read().replace("\n", "<eos>").split()
  const ptb = ' the cat \n a dog \n';
  assert.deepEqual(wordTokens(ptb), ptb.replace(/\n/g, EOS).split(/\s+/).filter(Boolean));
});

test('text word level: vocabulary from training split only; OOV → appended <unk>', () => {
  const c = textCorpusFromBytes(utf8('b a b c a b\nd e\n'), 'w.txt', { level: 'word', validFraction: 0.2 });
  // 10 tokens: b a b c a b <eos> d | e <eos>
  assert.equal(c.train.length, 8);
  assert.deepEqual(c.vocab.itos, ['b', 'a', '<eos>', 'c', 'd', UNK]); // counts 3,2 then ties 1 by code point
  assert.deepEqual(c.vocab.decode(c.valid), [UNK, EOS]);
  assert.equal(c.info.validOov, 1);
});

test('PTB files: TensorFlow _build_vocab order, <eos> per line, existing <unk> reused', () => {
  const d = join(dir, 'ptb');
  mkdirSync(d);
  writeFileSync(join(d, 'ptb.train.txt'), ' the cat <unk> \n the dog \n a cat \n');
  writeFileSync(join(d, 'ptb.valid.txt'), ' the zebra \n');
  writeFileSync(join(d, 'ptb.test.txt'), ' a dog \n');
  const c = loadPtbFiles(d);
  // counts: <eos> 3, the 2, cat 2, then 1: <unk> a dog; ties by code point ('<' < 'a')
  assert.deepEqual(c.vocab.itos, [EOS, 'cat', 'the', '<unk>', 'a', 'dog']);
  assert.deepEqual([...c.train], [2, 1, 3, 0, 2, 5, 0, 4, 1, 0]);
  assert.deepEqual(c.vocab.decode(c.valid), ['the', UNK, EOS]);
  assert.equal(c.info.validOov, 1);
  assert.deepEqual(c.vocab.decode(c.test), ['a', 'dog', EOS]);
  const same = loadPtbFiles({ train: join(d, 'ptb.train.txt'), valid: join(d, 'ptb.valid.txt'), test: join(d, 'ptb.test.txt') });
  assert.deepEqual(same.vocab.itos, c.vocab.itos);
});

test('PTB char level: words joined by one space, <eos> per line', () => {
  assert.deepEqual(ptbCharTokens(' ab  c \n d\n'), ['a', 'b', ' ', 'c', EOS, 'd', EOS]);
  const b = { train: utf8(' ab ba \n'), valid: utf8(' ab \n'), test: utf8(' b \n') };
  const c = ptbCorpusFromBytes(b, { train: 't', valid: 'v', test: 's' }, 'char');
  assert.deepEqual(c.vocab.itos, ['a', 'b', ' ', EOS]);
  assert.equal(c.level, 'char');
});

test('errors name the file: missing, directory, empty, too small, bad fraction', () => {
  const missing = join(dir, 'nope.txt');
  assert.throws(() => loadTextCorpus(missing, { level: 'char' }), errorMatching(missing, 'not found'));
  assert.throws(() => loadTextCorpus(dir, { level: 'char' }), errorMatching(dir, 'directory'));
  const empty = write('empty.txt', '');
  assert.throws(() => loadTextCorpus(empty, { level: 'word' }), errorMatching(empty, 'empty'));
  const blank = write('blank.txt', '   \t ');
  assert.throws(() => loadTextCorpus(blank, { level: 'word' }), errorMatching(blank, 'no tokens'));
  const tiny = write('tiny.txt', 'abcdefghij');
  assert.throws(() => loadTextCorpus(tiny, { level: 'char' }), errorMatching(tiny, 'too small')); // valid would be 1
  assert.equal(loadTextCorpus(tiny, { level: 'char', validFraction: 0.2 }).valid.length, 2);
  assert.throws(() => loadTextCorpus(tiny, { level: 'char', validFraction: 1 }), ConfigError);
  assert.throws(() => loadTextCorpus(tiny, { level: 'char', validFraction: 0 }), ConfigError);
  assert.throws(() => loadPtbFiles(join(dir, 'no-such-dir')), errorMatching('ptb.train.txt', 'not found'));
  const one = write('one.txt', 'x'); // one word, no newline: 1 token
  const two = write('two.txt', 'x\n'); // x <eos>
  assert.throws(() => loadPtbFiles({ train: two, valid: one, test: two }), errorMatching(one, 'too small'));
  assert.equal(loadPtbFiles({ train: two, valid: two, test: two }).vocab.size, 2);
});

test('non-UTF-8 input: DataError with file, byte offset and line of the first invalid byte', () => {
  const bytes = new Uint8Array([...utf8('ok\nstill ok é\nbad '), 0xff, 0x41]);
  const bad = write('bad.txt', bytes);
  // 'ok\n' 3 bytes, 'still ok é\n' 12 bytes (é is 2), 'bad ' 4 → offset 19, line 3, column 5
  assert.throws(() => loadTextCorpus(bad, { level: 'char' }), errorMatching(bad, '0xFF', 'byte offset 19', 'line 3', 'column 5'));
  assert.throws(() => loadPtbFiles({ train: bad, valid: bad, test: bad }), errorMatching(bad, 'offset 19'));
});

test('firstInvalidUtf8 finds overlongs, surrogates, > U+10FFFF and truncation', () => {
  const cases: [number[], number][] = [
    [[0x61, 0xe2, 0x82, 0xac], -1], // a€
    [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
    [[0x61, 0xc0, 0x80], 1], // overlong NUL
    [[0xe0, 0x80, 0x80], 0], // overlong 3-byte
    [[0xed, 0xa0, 0x80], 0], // surrogate D800
    [[0xf4, 0x90, 0x80, 0x80], 0], // U+110000
    [[0x61, 0x62, 0xe2, 0x82], 2], // truncated at end
    [[0x80], 0], // lone continuation
  ];
  for (const [b, want] of cases) {
    const bytes = new Uint8Array(b);
    assert.equal(firstInvalidUtf8(bytes), want, b.map((x) => x.toString(16)).join(' '));
    if (want < 0) assert.equal(decodeUtf8(bytes, 'f'), new TextDecoder().decode(bytes));
    else assert.throws(() => decodeUtf8(bytes, 'f'), errorMatching(`byte offset ${want}`));
  }
});
