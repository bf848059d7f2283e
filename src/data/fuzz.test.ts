/**
 * Fuzz the readers with random bytes and mutated valid inputs: each either returns a consistent
 * corpus or throws a BackpropError (DataError/ConfigError); anything else escaping is a bug.
 * Seeded and bounded: the same few hundred cases every run, well under a second or two.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackpropError } from '../errors.js';
import { StreamBatcher } from './batcher.js';
import { parseBrownTagged } from './brown.js';
import type { Corpus } from './corpus.js';
import { firstInvalidUtf8, loadPtbFiles, loadTextCorpus, ptbCorpusFromBytes, textCorpusFromBytes } from './text.js';
import { Vocab } from './vocab.js';

/** mulberry32: a tiny seeded generator, so every failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(20030301);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

/** Bytes drawn to hit the interesting cases: text, whitespace, newlines, UTF-8 lead and continuation bytes. */
function randomBytes(maxLength: number): Uint8Array {
  const out = new Uint8Array(int(maxLength + 1));
  const pools = [[0x20, 0x0a, 0x09, 0x0d], [0x61, 0x62, 0x63, 0x3c, 0x2f], [0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff]];
  for (let i = 0; i < out.length; i++) out[i] = random() < 0.25 ? int(256) : pick(pick(pools));
  return out;
}

/** One random edit: flip, insert, delete a range, duplicate a range, or truncate. */
function mutate(bytes: Uint8Array): Uint8Array {
  const b = [...bytes];
  const at = int(b.length + 1);
  switch (int(5)) {
    case 0: if (b.length) b[Math.min(at, b.length - 1)] = int(256); break;
    case 1: b.splice(at, 0, int(256)); break;
    case 2: b.splice(at, 1 + int(8)); break;
    case 3: b.splice(at, 0, ...b.slice(at, at + 1 + int(20))); break;
    case 4: b.length = at; break;
  }
  return new Uint8Array(b);
}

/** Run `fn`; it may return or throw a BackpropError, nothing else. */
function onlyBackpropErrors<T>(label: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof BackpropError, `${label}: threw ${e instanceof Error ? e.stack : String(e)}`);
    return undefined;
  }
}

function checkCorpus(c: Corpus, label: string): void {
  for (const split of [c.train, c.valid, c.test]) {
    assert.ok(split.length >= 2, label);
    for (const id of split) assert.ok(id >= 0 && id < c.vocab.size, `${label}: id ${id} outside vocab ${c.vocab.size}`);
  }
}

const PTB_SAMPLE = new TextEncoder().encode(' the cat sat <unk> \n on the mat \n a dog é ran \n');
const BROWN_SAMPLE = '\n\n\tThe/at 1-1/2/cd cat/nn sat/vbd ./.\n\n\tIt/pps ran/vbd\n';

test('firstInvalidUtf8 agrees with the fatal TextDecoder on random bytes', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let invalid = 0;
  for (let k = 0; k < 400; k++) {
    const bytes = randomBytes(12);
    let ok = true;
    try { decoder.decode(bytes); } catch { ok = false; }
    const at = firstInvalidUtf8(bytes);
    assert.equal(at === -1, ok, `bytes ${[...bytes]}`);
    if (!ok) {
      invalid++;
      assert.doesNotThrow(() => decoder.decode(bytes.subarray(0, at)), `prefix before ${at} of ${[...bytes]}`);
    }
  }
  assert.ok(invalid > 50 && invalid < 400, `both outcomes exercised (${invalid} invalid)`);
});

test('text corpus from random bytes: a corpus or a BackpropError', () => {
  let built = 0;
  for (let k = 0; k < 300; k++) {
    const bytes = k % 2 ? randomBytes(60) : mutate(mutate(PTB_SAMPLE));
    const level = pick(['char', 'word'] as const);
    const validFraction = pick([0.1, 0.5, 0.9, random(), 0, 1, -1, NaN]);
    const label = `case ${k} (${level}, ${validFraction})`;
    const c = onlyBackpropErrors(label, () => textCorpusFromBytes(bytes, 'fuzz.txt', { level, validFraction }));
    if (c) { built++; checkCorpus(c, label); }
  }
  assert.ok(built > 10, `some random inputs are valid corpora (${built})`);
});

test('PTB reader on mutated valid files: a corpus or a BackpropError', () => {
  let built = 0;
  for (let k = 0; k < 300; k++) {
    let train: Uint8Array = PTB_SAMPLE;
    for (let m = int(4); m > 0; m--) train = mutate(train);
    const valid = random() < 0.5 ? mutate(PTB_SAMPLE) : PTB_SAMPLE;
    const level = pick(['char', 'word'] as const);
    const label = `case ${k} (${level})`;
    const c = onlyBackpropErrors(label, () => ptbCorpusFromBytes({ train, valid, test: random() < 0.2 ? randomBytes(20) : mutate(PTB_SAMPLE) }, { train: 't', valid: 'v', test: 's' }, level));
    if (c) { built++; checkCorpus(c, label); }
  }
  assert.ok(built > 10, `some mutated inputs still load (${built})`);
});

test('Brown parser on mutated tagged text: sentences or a DataError', () => {
  const sample = new TextEncoder().encode(BROWN_SAMPLE);
  for (let k = 0; k < 300; k++) {
    let bytes: Uint8Array = sample;
    for (let m = 1 + int(3); m > 0; m--) bytes = mutate(bytes);
    const text = new TextDecoder().decode(bytes);
    const sentences = onlyBackpropErrors(`case ${k}`, () => parseBrownTagged(text, 'fuzz'));
    for (const s of sentences ?? []) for (const w of s) assert.ok(w.length > 0);
  }
});

test('Vocab.fromJSON on random values and mutated JSON: a Vocab or a DataError', () => {
  const randomValue = (depth: number): unknown => {
    switch (int(depth > 2 ? 5 : 8)) {
      case 0: return null;
      case 1: return random() < 0.5;
      case 2: return pick([0, -1, 1.5, 1e308]);
      case 3: return pick(['', 'a', '<unk>', '__proto__', 'itos']);
      case 4: return undefined;
      case 5: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      case 6: return { itos: randomValue(depth + 1) };
      default: return Object.fromEntries([[pick(['itos', 'x', '__proto__']), randomValue(depth + 1)]]);
    }
  };
  const validText = JSON.stringify(new Vocab(['<unk>', 'the', 'a', 'é']).toJSON());
  let built = 0;
  for (let k = 0; k < 400; k++) {
    let value: unknown;
    if (k % 2 === 0) {
      value = randomValue(0);
    } else {
      let text: string;
      do {
        const b = mutate(new TextEncoder().encode(validText));
        text = new TextDecoder().decode(b);
      } while (!isJSON(text));
      value = JSON.parse(text);
    }
    const v = onlyBackpropErrors(`case ${k}: ${JSON.stringify(value)}`, () => Vocab.fromJSON(value));
    if (v) {
      built++;
      assert.deepEqual(Vocab.fromJSON(v.toJSON()).itos, v.itos);
    }
  }
  assert.ok(built > 10, `some values are valid vocabularies (${built})`);
});

function isJSON(text: string): boolean {
  try { JSON.parse(text); return true; } catch { return false; }
}

test('file readers on random files: a corpus or a BackpropError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'backprop-fuzz-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (let k = 0; k < 30; k++) {
    const path = join(dir, `f${k}.txt`);
    writeFileSync(path, k % 2 ? randomBytes(40) : mutate(PTB_SAMPLE));
    const c = onlyBackpropErrors(`file ${k}`, () => loadTextCorpus(path, { level: pick(['char', 'word'] as const) }));
    if (c) checkCorpus(c, `file ${k}`);
    onlyBackpropErrors(`ptb ${k}`, () => loadPtbFiles({ train: path, valid: path, test: join(dir, 'missing') }));
  }
});

test('StreamBatcher on random shapes: windows of B·T ids or a ConfigError', () => {
  for (let k = 0; k < 200; k++) {
    const data = Int32Array.from({ length: int(50) }, (_, i) => i);
    const B = pick([0, 1, 2, 3, 7, 60, 1.5, -1]);
    const T = pick([0, 1, 2, 5, 49, 2.5]);
    const b = onlyBackpropErrors(`N ${data.length}, B ${B}, T ${T}`, () => new StreamBatcher(data, B, T));
    for (const w of b ?? []) {
      assert.equal(w.x.length, B * T);
      for (let i = 0; i < B * T; i++) assert.equal(w.y[i], w.x[i]! + 1);
    }
  }
});
