// Runs the compiled tests (dist/**/*.test.js) with Node's built-in test runner, one file at a time.
// Usage: node scripts/test.mjs [--unit] [filter-substring ...]
//   --unit   the fast tier: everything except test/e2e/ (the tests that run the CLI as a process or
//            drive a browser), with child processes forbidden (scripts/unit-guard.mjs)
// Compiled files whose source is gone are deleted first (scripts/prune-dist.mjs), so a deleted test
// never runs from a stale .js. --expose-gc lets the memory tests force collections (they fail without).
// The browser tests need Chromium: on a machine without it they are SKIPPED, loudly (before and after
// the run), unless CI=true, where they run and fail (CI installs Chromium; .ci/run).
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

/** The Chromium binary the browser tests would use ('' if none): $CHROMIUM_PATH, else the first on PATH. */
function findChromium() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return '';
}
const browserTests = files.filter((f) => f.endsWith(`${sep}explorer.test.js`));
let skipped = [];
if (browserTests.length && !findChromium() && process.env.CI !== 'true') {
  skipped = browserTests;
  files = files.filter((f) => !browserTests.includes(f));
}
const skipNote = () => {
  for (const f of skipped) {
    console.error(`\n#### SKIPPED ${f}: Chromium was not found. Install it (Debian/Ubuntu: apt-get install -y chromium) ` +
      'or set CHROMIUM_PATH to its binary; with CI=true this is a failure.');
  }
};
skipNote();
if (!files.length) process.exit(0);
const guard = unit ? ['--import', new URL('./unit-guard.mjs', import.meta.url).href] : [];
const r = spawnSync(process.execPath, ['--expose-gc', ...guard, '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
skipNote(); // again at the end, where it is seen
process.exit(r.status ?? 1);
