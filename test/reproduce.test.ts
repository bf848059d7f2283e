// Documented runs rerun from what is committed: docs/runs/tiny.jsonl is the log of `npm start`'s command
// with progress lines (`backprop train --log-every 25`, the tiny preset), docs/runs/awd-char.jsonl the log
// of `backprop train --preset awd-char` (issue 15: locked dropout, weight-drop and variable BPTT, whose
// masks and window lengths come from the seeded generator). For each: its header must be what the
// documented command resolves to; `--config LOG` must resolve to the same configuration; the data loaded
// now must be the data the log names (SHA-256 of the token ids); and the first windows, trained again
// from that configuration, must give the log's progress lines (training nats so far).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../src/backend/index.js';
import { loadCorpus } from '../src/data/sources.js';
import { LMTrainer, type ProgressRecord } from '../src/train/lm-trainer.js';
import { resolveConfig, type TrainConfig } from '../src/train/presets.js';
import { configFromText, dataIdentity, runKernels } from '../src/train/run-log.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// tolerance: the relative difference of the training loss allowed on kernels other than the log's
// (another thread count or GEMM rounds differently, and training amplifies it); on the log's own kernels
// (name and BLAS configuration) the numbers must be the same bits. null: no comparison on other kernels —
// awd-char's 100 Adam windows with dropout move a last-bit difference to 1.4e-5 of the loss (2 threads
// against the log's 1) and 8.5e-5 (the WASM GEMM against OpenBLAS), as far as the variable-BPTT fix of
// 2 December moved it (1.4e-4), so only the log's own kernels can tell a change of recipe from rounding.
const runs: { log: string; preset: string; flags: Partial<TrainConfig>; lines: number[]; tolerance: number | null }[] = [
  { log: 'tiny.jsonl', preset: 'tiny', flags: { logEvery: 25 }, lines: [25, 50], tolerance: 1e-6 },
  { log: 'awd-char.jsonl', preset: 'awd-char', flags: {}, lines: [100], tolerance: null },
];

for (const run of runs) {
  const WINDOWS = run.lines.at(-1)!;
  test(`docs/runs/${run.log}: its documented command, its configuration, its data, and its first ${WINDOWS} windows again`, async (tc) => {
    const LOG = path.join(root, 'docs', 'runs', run.log);
    const text = fs.readFileSync(LOG, 'utf8');
    const { config, header } = configFromText(text, LOG);
    assert.ok(header, 'the committed log has no header line');
    // The documented command resolves to the logged configuration, and so does --config on the log. Fields
    // added after the log was written are absent from its header; they take their defaults, which leave the
    // recipe as it was (a new regulariser is off by default), so only the logged fields are compared.
    const fromCommand = resolveConfig(run.preset, run.flags);
    const cfg = resolveConfig('tiny', {}, config);
    assert.deepEqual(cfg, fromCommand);
    const logged0 = header.config as unknown as Record<string, unknown>;
    const resolved = cfg as unknown as Record<string, unknown>;
    for (const k of Object.keys(logged0)) assert.deepEqual(resolved[k], logged0[k], `configuration field ${k}`);
    const defaults = resolveConfig(run.preset) as unknown as Record<string, unknown>;
    for (const k of Object.keys(resolved).filter((k) => !(k in logged0))) {
      assert.deepEqual(resolved[k], defaults[k], `${k} is newer than the log and must keep its default`);
    }
    const corpus = loadCorpus(cfg);
    assert.equal(dataIdentity(corpus).sha256, header.data.sha256, 'the corpus loaded now is not the one the log was trained on');
    const logged = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r): r is ProgressRecord & Record<string, unknown> => r.progress === true && (r.windowsDone as number) <= WINDOWS);
    assert.deepEqual(logged.map((r) => r.windowsDone), [...run.lines]);
    // The log's kernels where this machine has them: its thread count on the WASM backend (the native GEMM
    // joins by itself where it is built), so that the run below can give the log's bits.
    if (header.kernels?.startsWith('wasm')) await useBackend('wasm', { threads: Number(/-(\d+)t/.exec(header.kernels)?.[1] ?? 1) });
    const now = runKernels();
    const same = header.kernels !== undefined && header.kernels === now.kernels && header.blas === now.blas;
    if (!same && run.tolerance === null) {
      tc.skip(`the windows: the log ran on ${header.kernels} (${header.blas ?? 'no BLAS'}), this machine has ${now.kernels} (${now.blas ?? 'no BLAS'})`);
      return;
    }
    const t = LMTrainer.create(cfg, { outDir: null, corpus });
    const r = await t.run({ stopAfterWindows: WINDOWS, yieldEveryWindow: false });
    assert.equal(r.status, 'interrupted');
    const again = t.st.rows.filter((x): x is ProgressRecord => 'progress' in x);
    assert.deepEqual(again.map((x) => [x.epoch, x.window, x.tokens, x.lr]), logged.map((x) => [x.epoch, x.window, x.tokens, x.lr]));
    // The same kernels give the same bits; others (a log without the kernels, the WASM-only test tier)
    // are compared to the run's tolerance, far below any change of recipe.
    again.forEach((x, i) => {
      const want = logged[i]!.trainNats;
      if (same) assert.equal(x.trainNats, want, `window ${x.windowsDone} on the log's kernels (${header.kernels})`);
      else assert.ok(Math.abs(x.trainNats - want) <= run.tolerance! * want, `window ${x.windowsDone}: ${x.trainNats} nats, the log has ${want} (kernels ${now.kernels}, the log's ${header.kernels ?? 'not recorded'})`);
    });
  });
}
