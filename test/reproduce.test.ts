// A documented run reruns from what is committed: docs/runs/tiny.jsonl is the log of the command in
// docs/results.md (`backprop train --log-every 25`, the tiny preset). Its header must be what that
// command resolves to; `--config docs/runs/tiny.jsonl` must resolve to the same configuration; the data
// loaded now must be the data the log names (SHA-256 of the token ids); and the first 50 windows,
// trained again from that configuration, must give the log's progress lines (training nats so far).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from '../src/data/sources.js';
import { LMTrainer, type ProgressRecord } from '../src/train/lm-trainer.js';
import { resolveConfig } from '../src/train/presets.js';
import { configFromText, dataIdentity } from '../src/train/run-log.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOG = path.join(root, 'docs', 'runs', 'tiny.jsonl');
const WINDOWS = 50;

test(`docs/runs/tiny.jsonl: its documented command, its configuration, its data, and its first ${WINDOWS} windows again`, async () => {
  const text = fs.readFileSync(LOG, 'utf8');
  const { config, header } = configFromText(text, LOG);
  assert.ok(header, 'the committed log has no header line');
  // The documented command resolves to the logged configuration, and so does --config on the log. Fields
  // added after the log was written are absent from its header; they take their defaults, which leave the
  // recipe as it was (a new regulariser is off by default), so only the logged fields are compared.
  const fromCommand = resolveConfig('tiny', { logEvery: 25 });
  const cfg = resolveConfig('tiny', {}, config);
  assert.deepEqual(cfg, fromCommand);
  const logged0 = header.config as unknown as Record<string, unknown>;
  const resolved = cfg as unknown as Record<string, unknown>;
  for (const k of Object.keys(logged0)) assert.deepEqual(resolved[k], logged0[k], `configuration field ${k}`);
  const defaults = resolveConfig('tiny') as unknown as Record<string, unknown>;
  for (const k of Object.keys(resolved).filter((k) => !(k in logged0))) {
    assert.deepEqual(resolved[k], defaults[k], `${k} is newer than the log and must keep its default`);
  }
  const corpus = loadCorpus(cfg);
  assert.equal(dataIdentity(corpus).sha256, header.data.sha256, 'the corpus loaded now is not the one the log was trained on');
  const logged = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r): r is ProgressRecord & Record<string, unknown> => r.progress === true && (r.windowsDone as number) <= WINDOWS);
  assert.deepEqual(logged.map((r) => r.windowsDone), [25, 50]);
  const t = LMTrainer.create(cfg, { outDir: null, corpus });
  const r = await t.run({ stopAfterWindows: WINDOWS, yieldEveryWindow: false });
  assert.equal(r.status, 'interrupted');
  const again = t.st.rows.filter((x): x is ProgressRecord => 'progress' in x);
  assert.deepEqual(again.map((x) => [x.epoch, x.window, x.tokens, x.lr]), logged.map((x) => [x.epoch, x.window, x.tokens, x.lr]));
  // The same kernels give the same bits; another thread count or SIMD flavour may move the last digits,
  // so the comparison is to 1e-6 of the loss (perplexity to 6 digits), far below any change of recipe.
  again.forEach((x, i) => {
    const want = logged[i]!.trainNats;
    assert.ok(Math.abs(x.trainNats - want) <= 1e-6 * want, `window ${x.windowsDone}: ${x.trainNats} nats, the log has ${want}`);
  });
});
