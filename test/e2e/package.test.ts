// The package as other projects load it: bundled by esbuild into a classic (iife) script, run in a bare
// realm (a `vm` context: no Node globals, like a page) and in Node; and imported from a CommonJS
// project with a dynamic `import()` (the README's "Using from CommonJS and bundlers"). Each loads the
// built package (dist/), runs an op and a gradient, and reports which backend ran them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import { root } from './cli-helpers.js';

// Uses the engine, then asks for the default backend with ready(), then uses it again.
const entry = `
import { backward, getBackend, matmul, ready, sum, tensor } from ${JSON.stringify(path.join(root, 'dist', 'src', 'index.js'))};
globalThis.result = (async () => {
  const first = getBackend().name;
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = matmul(x, x);
  backward(sum(y));
  await ready();
  return { first, afterReady: getBackend().name, y: Array.from(y.data), dx: Array.from(x.grad.data),
    again: Array.from(matmul(x, x).data) };
})();
`;

interface Result { first: string; afterReady: string; y: number[]; dx: number[]; again: number[] }
const y = [7, 10, 15, 22], dx = [7, 11, 9, 13]; // d sum(X·X)/dX = 1·Xᵀ + Xᵀ·1

async function bundle(): Promise<string> {
  const r = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser',
    target: 'es2022', write: false, logLevel: 'silent',
  });
  return r.outputFiles[0]!.text;
}

test('an esbuild iife bundle loads in a bare realm: the reference backend until ready(), then WASM', async () => {
  const code = await bundle();
  // The globals a browser page has; no process, no Buffer, no require.
  const realm = vm.createContext({ atob, TextEncoder, TextDecoder, performance, console, setTimeout, queueMicrotask });
  vm.runInContext(code, realm);
  const r = JSON.parse(JSON.stringify(await (realm['result'] as Promise<Result>))) as Result;
  assert.equal(r.first, 'js', 'first use without ready() outside Node: the reference backend');
  assert.match(r.afterReady, /^wasm[-a-z]*$/, 'ready() started the WASM backend (single-threaded: no worker script in a classic script)');
  assert.deepEqual([r.y, r.dx, r.again], [y, dx, y]);
});

test('the same bundle in Node: the WASM backend starts on first use (one thread, no worker script)', async () => {
  const code = await bundle();
  const g = globalThis as { result?: Promise<Result> };
  vm.runInThisContext(code);
  const r = await g.result!;
  delete g.result;
  assert.match(r.first, /^wasm[-a-z]*$/);
  assert.equal(r.afterReady, r.first);
  assert.deepEqual([r.y, r.dx, r.again], [y, dx, y]);
});

test('a CommonJS project loads the package with import()', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-cjs-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'backprop'), 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
    fs.writeFileSync(path.join(dir, 'main.cjs'), `
import('backprop').then(async ({ tensor, matmul, getBackend, ready }) => {
  await ready();
  const y = matmul(tensor([[1, 2], [3, 4]]), tensor([[1, 2], [3, 4]]));
  console.log(JSON.stringify({ backend: getBackend().name, y: Array.from(y.data) }));
});
`);
    const env = { ...process.env };
    delete env['BACKPROP_BACKEND'];
    const r = spawnSync(process.execPath, ['main.cjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { backend: string; y: number[] };
    assert.match(out.backend, /^wasm/);
    assert.deepEqual(out.y, y);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an esbuild ESM bundle run by Node (no worker script beside it): WASM on one thread at once, with a warning', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backprop-esm-'));
  try {
    const r = await build({
      stdin: { contents: entry, resolveDir: root, loader: 'js' }, bundle: true, format: 'esm', platform: 'node',
      target: 'es2022', outfile: path.join(dir, 'bundle.mjs'), logLevel: 'silent',
    });
    assert.equal(r.errors.length, 0);
    fs.appendFileSync(path.join(dir, 'bundle.mjs'), '\nconsole.log(JSON.stringify(await globalThis.result));\n');
    const env = { ...process.env };
    delete env['BACKPROP_BACKEND'];
    const t0 = Date.now();
    const run = spawnSync(process.execPath, ['bundle.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Result;
    assert.match(out.first, /^wasm[-a-z]*$/, 'the WASM kernels, not the reference backend');
    assert.doesNotMatch(out.first, /-\dt$/, 'one thread: the worker script is not there');
    assert.match(run.stderr, /one thread \(wasm pool: the worker script .* does not exist/);
    assert.ok(seconds < 10, `the start took ${seconds} s (a missing worker must not wait for a timeout)`);
    assert.deepEqual([out.y, out.dx, out.again], [y, dx, y]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
