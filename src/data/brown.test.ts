import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { bengioCorpus, brownDir, brownFileNames, parseBrownTagged, ptbCorpus, readBrown } from './brown.js';
import { EOS, UNK } from './vocab.js';

// Read once (about 0.4 s); each test prepares from these parsed files.
const files = readBrown();

test('tag stripping: the tag follows the LAST slash; lines are sentences', () => {
  const text = '\n\n\tThe/at 1-1/2/cd 4-1/2%/nn ./.\n\n\t``/`` Jr./np-tl\n';
  assert.deepEqual(parseBrownTagged(text, 'x'), [['The', '1-1/2', '4-1/2%', '.'], ['``', 'Jr.']]);
});

test('malformed tokens give DataError naming file and line', () => {
  for (const bad of ['a/b\nword', 'a/b\n/tag', 'a/b\nword/']) {
    assert.throws(() => parseBrownTagged(bad, 'cz99'), (e: unknown) => e instanceof DataError && e.message.startsWith('cz99:2:'));
  }
});

test('file list: 500 files ca01 … cr09, same order as the package cats.txt', () => {
  const names = brownFileNames();
  assert.equal(names.length, 500);
  assert.equal(names[0], 'ca01');
  assert.equal(names[499], 'cr09');
  const cats = readFileSync(join(brownDir(), 'cats.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
  assert.deepEqual(names, cats);
  assert.deepEqual(files.map((f) => f.name), names);
});

test('ca01: 98 sentences, 2242 tokens (counted with grep/tr), first sentence as in the file', () => {
  const ca01 = files[0]!;
  assert.equal(ca01.sentences.length, 98);
  assert.equal(ca01.sentences.flat().length, 2242);
  assert.deepEqual(ca01.sentences[0]!.slice(0, 11), ['The', 'Fulton', 'County', 'Grand', 'Jury', 'said', 'Friday', 'an', 'investigation', 'of', "Atlanta's"]);
  assert.equal(ca01.sentences[0]!.length, 25);
});

test('whole corpus: 1,161,192 tokens in 57,340 sentences (as NLTK brown.words() / sents())', () => {
  assert.equal(files.reduce((n, f) => n + f.sentences.reduce((m, s) => m + s.length, 0), 0), 1_161_192);
  assert.equal(files.reduce((n, f) => n + f.sentences.length, 0), 57_340);
});

test('bengio: 800000/200000/161192 split, |V| = 17905, case and punctuation kept', () => {
  const c = bengioCorpus(files);
  assert.equal(c.train.length, 800_000);
  assert.equal(c.valid.length, 200_000);
  assert.equal(c.test.length, 161_192);
  assert.equal(c.vocab.size, 17_905); // 17,904 words seen ≥ 4 times + <unk>
  assert.equal(c.info.vocabSize, 17_905);
  assert.equal(c.vocab.unkId, 0);
  assert.equal(c.info.unkTokens, 55_182); // tokens of words seen ≤ 3 times
  assert.deepEqual(c.vocab.itos.slice(0, 5), [UNK, 'the', ',', '.', 'of']);
  assert.ok(c.vocab.stoi.has('The') && c.vocab.stoi.has('the') && c.vocab.stoi.has("''"));
  // The stream decodes back to the corpus, with rare words replaced.
  assert.deepEqual(c.vocab.decode(c.train.subarray(0, 6)), ['The', 'Fulton', 'County', 'Grand', 'Jury', 'said']);
  const all = files.flatMap((f) => f.sentences.flat());
  assert.equal(c.vocab.decode(c.test.subarray(-1))[0], all.at(-1));
});

test('ptb: lower case, <eos> per sentence, |V| = 10000 in TensorFlow order', () => {
  const c = ptbCorpus(files);
  assert.equal(c.info.tokens, 1_161_192 + 57_340);
  assert.equal(c.train.length, 800_000);
  assert.equal(c.valid.length, 200_000);
  assert.equal(c.test.length, 218_532);
  assert.equal(c.vocab.size, 10_000);
  assert.equal(c.info.unkTokens, 82_741);
  // <unk> (82,741) outnumbers "the" (69,971); <eos> (57,340) comes after "," (58,334).
  assert.deepEqual(c.vocab.itos.slice(0, 5), [UNK, 'the', ',', EOS, '.']);
  assert.ok(c.vocab.itos.every((w) => w === w.toLowerCase()));
  assert.deepEqual(c.vocab.decode(c.train.subarray(0, 6)), ['the', 'fulton', 'county', 'grand', 'jury', 'said']);
  const eos = c.vocab.stoi.get(EOS)!;
  let n = 0;
  for (const split of [c.train, c.valid, c.test]) for (const id of split) n += id === eos ? 1 : 0;
  assert.equal(n, 57_340);
  assert.equal(c.test.at(-1), eos);
});

test('a stream too short for the split gives DataError', () => {
  assert.throws(() => bengioCorpus(files.slice(0, 10)), DataError);
  const small = ptbCorpus(files.slice(0, 3), { trainTokens: 4000, validTokens: 1000, vocabSize: 50 });
  assert.equal(small.vocab.size, 50);
  assert.equal(small.train.length, 4000);
});
