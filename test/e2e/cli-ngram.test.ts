// `backprop ngram` as a user runs it, on a small text file: the JSON result agrees with the library,
// the text output names the numbers, and impossible flags exit 2 with a message naming the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from './cli-helpers.js';
import { loadTextCorpus } from '../../src/data/text.js';
import { KneserNey } from '../../src/ngram/kneser-ney.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-ngram-'));
const textFile = path.join(dir, 'tiny.txt');
const lines = ['the cat sat on the mat .', 'a dog sat on a log .', 'the dog saw the cat .', 'a cat saw a dog on the mat .'];
fs.writeFileSync(textFile, Array.from({ length: 120 }, (_, i) => lines[(i * 7) % lines.length]).join('\n') + '\n');

const cli = (args: string[]) => runCli(args, dir, 60_000);

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('ngram --json: perplexities, |V|, n-gram counts and discounts, equal to the library on the same split', () => {
  const r = cli(['ngram', '--data', 'text', '--text', textFile, '--level', 'word', '--order', '3', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  const corpus = loadTextCorpus(textFile, { level: 'word' });
  const lm = KneserNey.fit(corpus.train, corpus.vocab.size, { order: 3 });
  const lp = lm.logProbs(corpus.valid);
  const ppl = Math.exp(-lp.reduce((a, b) => a + b, 0) / lp.length);
  assert.equal(res.order, 3);
  assert.equal(res.vocabSize, corpus.vocab.size);
  assert.equal(res.trainTokens, corpus.train.length);
  assert.equal(res.validTokens, corpus.valid.length);
  assert.equal(res.validPerplexity, ppl);
  assert.equal(res.testPerplexity, ppl);   // a single text file: test = valid
  assert.deepEqual(res.ngrams, lm.ngramCounts);
  assert.equal(res.discounts.length, 3);
  // The text is made of four sentences repeated: a 3-gram model predicts it far better than uniform.
  assert.ok(res.validPerplexity > 1 && res.validPerplexity < 4, `perplexity ${res.validPerplexity}`);
  for (const k of ['fitSeconds', 'scoreSeconds']) assert.ok(typeof res[k] === 'number' && res[k] >= 0);
});

test('ngram text output; char level', () => {
  const r = cli(['ngram', '--data', 'text', '--text', textFile, '--level', 'char', '--order', '4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /4-gram interpolated modified Kneser-Ney, \|V\| \d+/);
  assert.match(r.stdout, /n-grams: +1: \d+ +2: [\d,]+ +3: [\d,]+ +4: [\d,]+/);
  assert.match(r.stdout, /discounts 4: D1 \d\.\d{4} +D2 \d\.\d{4} +D3\+ \d\.\d{4}/);
  assert.match(r.stdout, /validation perplexity \d+\.\d\d/);
  assert.match(r.stdout, /test perplexity \d+\.\d\d/);
  assert.match(r.stdout, /fit \d+\.\d\d s, scoring \d+\.\d\d s/);
});

test('ngram: impossible flags exit 2 with a message naming the value', () => {
  const cases: [string[], RegExp][] = [
    [['--data', 'text', '--text', textFile, '--order', '0'], /--order must be an integer ≥ 1, got "0"/],
    [['--data', 'text', '--text', textFile, '--order', 'x'], /--order must be an integer ≥ 1, got "x"/],
    [['--data', 'wiki'], /--data must be one of .*got "wiki"/],
    [['--data', 'text'], /needs a file \(--text FILE\)/],
    [['--data', 'text', '--text', textFile, '--level', 'byte'], /level must be word or char, got "byte"/],
    [['--data', 'text', '--text', path.join(dir, 'missing.txt')], /missing\.txt/],
  ];
  for (const [args, re] of cases) {
    const r = cli(['ngram', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
