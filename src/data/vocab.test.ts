import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DataError } from '../errors.js';
import { compareCodePoints, UNK, Vocab } from './vocab.js';

test('encode/decode round trip; unknown → <unk> when present', () => {
  const v = new Vocab([UNK, 'a', 'b']);
  assert.equal(v.size, 3);
  assert.equal(v.unkId, 0);
  assert.deepEqual([...v.encode(['b', 'a', 'zzz'])], [2, 1, 0]);
  assert.deepEqual(v.decode([1, 2, 0]), ['a', 'b', UNK]);
  assert.equal(v.stoi.get('b'), 2);
});

test('unknown token without <unk> throws DataError naming the token and position', () => {
  const v = new Vocab(['a', 'b']);
  assert.equal(v.unkId, undefined);
  assert.throws(() => v.encode(['a', 'zebra']), (e: unknown) =>
    e instanceof DataError && e.message.includes('"zebra"') && e.message.includes('position 1'));
  assert.throws(() => v.decode([0, 2]), DataError);
  assert.throws(() => v.decode([-1]), DataError);
});

test('build: descending count, ties by first appearance, specials first', () => {
  const v = Vocab.build('c b a b c d'.split(' '), { specials: [UNK] });
  // counts: c 2, b 2, a 1, d 1; c seen before b, a before d
  assert.deepEqual(v.itos, [UNK, 'c', 'b', 'a', 'd']);
});

test('build: lexicographic ties (TensorFlow _build_vocab order)', () => {
  const v = Vocab.build('c b a b c d'.split(' '), { ties: 'lexicographic' });
  assert.deepEqual(v.itos, ['b', 'c', 'a', 'd']);
});

test('build: minCount and maxSize (maxSize counts specials)', () => {
  const tokens = 'x x x y y z'.split(' ');
  assert.deepEqual(Vocab.build(tokens, { minCount: 2 }).itos, ['x', 'y']);
  assert.deepEqual(Vocab.build(tokens, { maxSize: 2, specials: [UNK] }).itos, [UNK, 'x']);
  // a special that also occurs in the stream keeps its place and is not duplicated
  assert.deepEqual(Vocab.build(['y', UNK, UNK, UNK], { specials: [UNK] }).itos, [UNK, 'y']);
  assert.throws(() => Vocab.build(tokens, { maxSize: 0, specials: [UNK] }), ConfigError);
  assert.throws(() => Vocab.build(tokens, { minCount: 0 }), ConfigError);
});

test('compareCodePoints orders by code point, not UTF-16 unit', () => {
  const astral = '\u{1F600}'; // surrogates D83D DE00
  const bmpHigh = '\uFF21'; // U+FF21 < U+1F600 as code points, but > 0xD83D as a UTF-16 unit
  assert.ok(astral < bmpHigh); // JavaScript's unit order
  assert.ok(compareCodePoints(bmpHigh, astral) < 0);
  assert.deepEqual(['b', 'ab', 'a', ''].sort(compareCodePoints), ['', 'a', 'ab', 'b']);
});

test('toJSON/fromJSON round trip and validation', () => {
  const v = new Vocab([UNK, 'the', 'cat']);
  const back = Vocab.fromJSON(JSON.parse(JSON.stringify(v)));
  assert.deepEqual(back.itos, v.itos);
  assert.equal(back.unkId, 0);
  for (const bad of [null, 3, 'x', [], {}, { itos: 'a' }, { itos: [] }, { itos: ['a', 'a'] }, { itos: ['a', 1] }, { itos: [''] }]) {
    assert.throws(() => Vocab.fromJSON(bad), DataError, JSON.stringify(bad));
  }
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => Vocab.fromJSON({ itos: [, 'a'] }), DataError); // a hole is not a token
});
