// Runs the compiled tests (dist/**/*.test.js) with Node's built-in test runner, one file at a time.
// Usage: node scripts/test.mjs [--unit] [filter-substring ...]
//   --unit   the fast tier: everything except test/e2e/ (the tests that run the CLI as a process or
//            drive a browser), with child processes forbidden (scripts/unit-guard.mjs)
// Compiled files whose source is gone are deleted first (scripts/prune-dist.mjs), so a deleted test
// never runs from a stale .js. --expose-gc lets the memory tests force collections (they fail without).
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pruneDist } from './prune-dist.mjs';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const args = process.argv.slice(2);
const unit = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
for (const p of pruneDist()) console.log(`# removed ${p} (its source is gone)`);
let files = walk('dist', []).sort();
if (unit) files = files.filter((f) => !f.startsWith(join('dist', 'test', 'e2e') + sep));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (!files.length) { console.error('no test files found'); process.exit(1); }
const guard = unit ? ['--import', new URL('./unit-guard.mjs', import.meta.url).href] : [];
const r = spawnSync(process.execPath, ['--expose-gc', ...guard, '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
