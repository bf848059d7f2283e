// The benchmark's browser participant (bench/page.ts), at its smallest setting: through the orchestrator it
// measures W4 in headless Chromium and in Node and the report gets the "In the page" table with both and
// their ratio; without Chromium it says so in one line and the run goes on. Not a measurement: one timed
// window of one TBPTT window on each side (the real numbers come from `npm run bench` on a quiet machine).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium } from './chromium.js';
import { root } from './cli-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'backprop-bench-page-'));
after(() => rmSync(work, { recursive: true, force: true }));

const bench = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, ['--expose-gc', join(root, 'dist', 'bench', 'run.js'), '--only', 'W4', '--libs', 'page', '--quick', '--windows', '1', ...args],
    { cwd: root, encoding: 'utf8', env, timeout: 240_000 });

test('bench page participant without Chromium: one line says it is skipped and why, the run goes on', () => {
  const md = join(work, 'none.md');
  const r = bench(['--md', md], { ...process.env, CHROMIUM_PATH: join(work, 'no-chromium') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[W4\] page: running… — tokens\/s \(skipped: Chromium not found \(apt-get install -y chromium, or set CHROMIUM_PATH\)\)/);
  const report = readFileSync(md, 'utf8');
  assert.match(report, /- \*\*page\*\*: skipped: Chromium not found/);
  assert.doesNotMatch(report, /### In the page/);
});

test('bench page participant: W4 in the page and in Node, the same threads, both in the report with page ÷ Node', { timeout: 300_000 }, () => {
  const chromium = findChromium();
  assert.ok(chromium && existsSync(chromium), 'Chromium is required for this test (apt-get install chromium, or set CHROMIUM_PATH)');
  const md = join(work, 'page.md'), jsonl = join(work, 'page.jsonl');
  const r = bench(['--md', md, '--jsonl', jsonl]);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const info = lines.find((l) => l['info'] !== undefined);
  assert.match(String(info?.['info']), /headless Chromium \d+.*cross-origin isolated; Node side: the same loop on wasm/);
  const w4 = lines.find((l) => l['workload'] === 'W4') as { median: number; node: { median: number }; ratio: number; threads: number; note: string };
  assert.ok(w4.median > 0 && w4.node.median > 0, `tokens/s measured on both sides: ${JSON.stringify(w4)}`);
  assert.ok(Math.abs(w4.ratio - w4.median / w4.node.median) < 1e-9);
  const threads = Number(/(\d+) threads, cross-origin isolated/.exec(String(info?.['info']))?.[1]);
  assert.equal(threads, w4.threads, 'the page ran the thread count Node ran');
  assert.match(String(info?.['info']), new RegExp(`wasm[^,]*, ${w4.threads} threads?$`));
  const report = readFileSync(md, 'utf8');
  const row = report.split('\n').find((l) => l.startsWith(`| ${w4.threads} | `));
  assert.ok(report.includes('### In the page: W4') && row, 'the report has the In the page table');
  assert.ok(row.includes(`| ${(w4.ratio * 100).toFixed(0)}% |`), `the ratio in the table: ${row}`);
});
