// The log's header line: written first by every run, holding the resolved configuration, the version
// (the package's) and the data's identity; read back by --config (from a log, a header line or a
// configuration file) to the same configuration; kept first through resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { Vocab, type Corpus } from '../data/index.js';
import { CHECKPOINT_FILE, LOG_FILE } from '../io/run-folder.js';
import { parseTrainLog } from '../cli/plot.js';
import { LMTrainer } from './lm-trainer.js';
import { resolveConfig } from './presets.js';
import { configFromText, dataIdentity, PACKAGE_VERSION, type LogHeader } from './run-log.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const V = 9;
const corpus = (shift = 0): Corpus => {
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 7 + shift) % V);
  return { name: 'synthetic', level: 'word', vocab: new Vocab(Array.from({ length: V }, (_, i) => `w${i}`)), train: ids, valid: ids.subarray(0, 80), test: ids.subarray(0, 80), info: { source: 'test' } };
};
const cfgOf = () => resolveConfig('tiny', {
  name: 'hdr', data: 'text', text: 'synthetic', epochs: 2, batchSize: 2, numSteps: 5, hidden: 6, maxStepsPerEpoch: 3, validTokens: 0,
  testBatchSize: 1, testNumSteps: 2, testTokens: 0, seed: 3, logEvery: 2,
});

test('PACKAGE_VERSION is package.json\'s version', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(PACKAGE_VERSION, pkg.version);
});

test('every log opens with the header: configuration, version, data identity; --config reads it back to the same configuration', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-hdr-'));
  try {
    const cfg = cfgOf();
    const stopped = await LMTrainer.create(cfg, { outDir: dir, corpus: corpus() }).run({ stopAfterWindows: 4, yieldEveryWindow: false });
    assert.equal(stopped.status, 'interrupted');
    await LMTrainer.resume(path.join(dir, CHECKPOINT_FILE), { outDir: dir, corpus: corpus() }).run({ yieldEveryWindow: false });
    const text = fs.readFileSync(path.join(dir, LOG_FILE), 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const h = lines[0] as unknown as LogHeader;
    assert.equal(h.header, true);
    assert.equal(h.version, PACKAGE_VERSION);
    assert.deepEqual(h.config, cfg);
    assert.deepEqual(h.data, dataIdentity(corpus()));
    assert.equal(lines.filter((l) => l.header === true).length, 1, 'one header, kept first through the resume');
    assert.deepEqual(lines.slice(1).map((l) => (l.progress ? `p${l.windowsDone as number}` : l.test ? 'test' : `e${l.epoch as number}`)), ['p2', 'e1', 'p4', 'p6', 'e2', 'test']);
    // The data identity tells corpora apart by their tokens, not their names.
    assert.notEqual(dataIdentity(corpus(1)).sha256, h.data.sha256);
    assert.match(h.data.sha256, /^[0-9a-f]{64}$/);
    // --config: from the log, from its header line alone, from config.json, from a hand-written partial file.
    for (const src of [text, JSON.stringify(h), fs.readFileSync(path.join(dir, 'config.json'), 'utf8')]) {
      assert.deepEqual(resolveConfig('small', {}, configFromText(src, 'f').config), cfg);   // the preset fills nothing: the file is complete
    }
    assert.equal(configFromText(text, 'f').header?.data.sha256, h.data.sha256);
    const partial = resolveConfig('tiny', { epochs: 5 }, configFromText('{"numSteps": 7, "hidden": 12}', 'p.json').config);
    assert.deepEqual([partial.numSteps, partial.k1, partial.k2, partial.embed, partial.epochs, partial.layers], [7, 7, 7, 12, 5, 1]);
    // Flags over the file: --num-steps moves k1 and k2 with it.
    const over = resolveConfig('tiny', { numSteps: 4 }, cfg);
    assert.deepEqual([over.numSteps, over.k1, over.k2, over.hidden], [4, 4, 4, cfg.hidden]);
    // The plot reads the log, header and progress lines included.
    const parsed = parseTrainLog(text, 'train.jsonl');
    assert.deepEqual([parsed.epochs.length, parsed.progress.length, parsed.header?.config.name], [2, 3, 'hdr']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('configFromText: one-line ConfigErrors naming the file', () => {
  assert.throws(() => configFromText('', 'e.json'), (e: Error) => e instanceof ConfigError && /e\.json: empty/.test(e.message));
  assert.throws(() => configFromText('{"epoch":1,"trainPerplexity":2}\n{"epoch":2,"trainPerplexity":2}\n', 'old.jsonl'),
    (e: Error) => e instanceof ConfigError && /old\.jsonl: its first line is not a log header/.test(e.message));
  assert.throws(() => configFromText('not json\n{}\n', 'x.jsonl'), (e: Error) => e instanceof ConfigError && /x\.jsonl:1: not JSON/.test(e.message));
  assert.throws(() => configFromText('[1, 2]', 'a.json'), (e: Error) => e instanceof ConfigError && /a\.json: not a JSON object/.test(e.message));
  assert.throws(() => configFromText('{"header": true}', 'h.json'), (e: Error) => e instanceof ConfigError && /no "config" object/.test(e.message));
});
