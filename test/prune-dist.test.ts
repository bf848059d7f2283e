// scripts/prune-dist.mjs, which every build and test run calls: compiled outputs whose TypeScript
// source is gone are deleted (so a deleted test never runs from a stale .js); everything else stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Prune = (dist: string, root: string) => string[];
// A computed specifier: the script is plain JavaScript, outside the compiled sources.
const script = new URL('../../scripts/prune-dist.mjs', import.meta.url).href;

test('pruneDist deletes the outputs of deleted sources and keeps the rest', async () => {
  const { pruneDist } = await import(script) as { pruneDist: Prune };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-prune-'));
  try {
    const put = (p: string) => { fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true }); fs.writeFileSync(path.join(root, p), ''); };
    put('src/a.ts'); put('test/kept.test.ts');
    const kept = ['dist/src/a.js', 'dist/src/a.js.map', 'dist/src/a.d.ts', 'dist/src/a.d.ts.map', 'dist/test/kept.test.js', 'dist/.tsbuildinfo', 'dist/src/data.json'];
    const gone = ['dist/src/old.js', 'dist/src/old.js.map', 'dist/src/old.d.ts', 'dist/src/old.d.ts.map', 'dist/test/deleted.test.js'];
    for (const p of [...kept, ...gone]) put(p);
    const removed = pruneDist(path.join(root, 'dist'), root).map((p) => path.relative(root, p)).sort();
    assert.deepEqual(removed, [...gone].sort());
    for (const p of kept) assert.ok(fs.existsSync(path.join(root, p)), `${p} kept`);
    for (const p of gone) assert.ok(!fs.existsSync(path.join(root, p)), `${p} removed`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
