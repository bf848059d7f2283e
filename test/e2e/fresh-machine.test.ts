// A fresh machine (issue 14, item 9): with Node and nothing else, `npm test` must not fail for want of
// a browser. The test runner skips the browser tests, loudly, when no Chromium is found, except in CI
// (CI=true), where they are required and fail. Here "no Chromium" is a PATH holding only node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './cli-helpers.js';

// A PATH with node alone (node's own folder may hold chromium too, as /usr/bin does).
const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-bare-path-'));
fs.symlinkSync(process.execPath, path.join(bare, 'node'));

function runBrowserTests(ci: boolean) {
  const env: Record<string, string | undefined> = { ...process.env, PATH: bare };
  delete env.CHROMIUM_PATH;
  delete env.NODE_TEST_CONTEXT; // set by the outer test runner; it would make the inner one skip its files
  delete env.CI;
  if (ci) env.CI = 'true';
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'test.mjs'), 'e2e/explorer'], { cwd: root, encoding: 'utf8', env, timeout: 60_000 });
}

test('without Chromium the browser tests are skipped loudly; with CI=true they are required', () => {
  const local = runBrowserTests(false);
  assert.equal(local.status, 0, `${local.stdout}\n${local.stderr}`);
  assert.match(local.stderr, /#### SKIPPED .*explorer\.test\.js: Chromium was not found\. Install it .*apt-get install -y chromium/);
  const ci = runBrowserTests(true);
  assert.notEqual(ci.status, 0, 'CI=true without Chromium must fail');
  assert.match(ci.stdout + ci.stderr, /Chromium not found/);
  assert.doesNotMatch(ci.stderr, /SKIPPED/);
});
