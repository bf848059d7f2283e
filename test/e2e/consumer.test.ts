// The package as a new user gets it: `npm pack`, the tarball installed into a fresh project, and then
// only what the README shows. The tarball must hold what runs and nothing else; every README TypeScript
// example that imports 'backprop' must type-check (strict, with node16 and with bundler resolution) and
// run; the CommonJS ways in must work; `npx backprop --help`, `explain` and `explorer` must work from the
// install (the explorer serving its prebuilt page); and an esbuild bundle of a page that trains a network
// with `fit`, saves it to bytes and loads it back must run in headless Chromium.
//
// Offline and fast: the tarball is unpacked into the project's node_modules as npm would, and the
// package's runtime dependencies are linked from this repository's node_modules instead of downloaded.
// `npm pack --ignore-scripts` skips prepack's build (npm test has just built dist/); the explorer page is
// built here into build/explorer, as prepack does. Chromium is required (CHROMIUM_PATH to choose one).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { root } from './cli-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'backprop-consumer-'));
const project = join(work, 'project');
const installed = join(project, 'node_modules', 'backprop');
let packedFiles: string[] = [];

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): string {
  const env = { ...process.env };
  delete env['BACKPROP_BACKEND'];
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  run(process.execPath, [join(root, 'web', 'build.mjs'), '--package'], root);
  const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root)) as [{ filename: string; files: { path: string }[] }];
  packedFiles = packed.files.map((f) => f.path);
  mkdirSync(installed, { recursive: true });
  run('tar', ['xzf', join(work, packed.filename), '--strip-components=1', '-C', installed], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // What `npm install` does besides unpacking: the runtime dependencies (their own dependencies resolve
  // from their real location, this repository's node_modules) and the executable bin link.
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bin: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies)) symlinkSync(join(root, 'node_modules', dep), join(project, 'node_modules', dep), 'dir');
  // The acceptance program's own dependency (checks our ONNX files), as the consumer would install it.
  symlinkSync(join(root, 'node_modules', 'onnxruntime-node'), join(project, 'node_modules', 'onnxruntime-node'), 'dir');
  mkdirSync(join(project, 'node_modules', '.bin'));
  for (const [name, file] of Object.entries(manifest.bin)) {
    chmodSync(join(installed, file), 0o755);
    symlinkSync(join('..', 'backprop', file), join(project, 'node_modules', '.bin', name));
  }
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds what runs: the compiled library, the CLI, the prebuilt explorer, docs; no tests, maps, bench, examples or wasm files', () => {
  for (const must of ['bin/backprop.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'build/explorer/index.html', 'build/explorer/app.js', 'README.md']) {
    assert.ok(packedFiles.includes(must), `the package lacks ${must}`);
  }
  const unwanted = packedFiles.filter((f) => /\.test\.|\.map$|tsbuildinfo|^dist\/(test|bench|examples)\/|^build\/wasm\/|\.wasm$|testing\.js$/.test(f));
  assert.deepEqual(unwanted, []);
  assert.ok(packedFiles.every((f) => /^(bin|dist\/src|build\/explorer|docs)\/|^(README\.md|package\.json|LICENSE)$/.test(f)), 'only the listed folders');
});

/** The README's TypeScript blocks that import from 'backprop' (or 'backprop/node'): each is a whole program. */
function readmeExamples(): string[] {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => /^import .* from 'backprop(\/node)?';/m.test(code));
}

test('the README examples type-check in a strict project (node16 and bundler resolution) and run', () => {
  const examples = readmeExamples();
  assert.ok(examples.length >= 4, `found ${examples.length} examples in the README`);
  mkdirSync(join(project, 'src'), { recursive: true });
  examples.forEach((code, i) => writeFileSync(join(project, 'src', `example${i}.ts`), `${code}\nexport {};\n`));
  const base = { strict: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], skipLibCheck: false };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16', outDir: 'out' }, include: ['src'] }));
  writeFileSync(join(project, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, include: ['src'] }));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
  run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], project);
  examples.forEach((_, i) => run(process.execPath, [join('out', `example${i}.js`)], project, 120_000));
  // The fit example prints how it stopped, the epochs it ran and its accuracy.
  const fitOut = run(process.execPath, [join('out', `example${examples.findIndex((c) => c.includes('await fit('))}.js`)], project);
  assert.match(fitOut, /^(aborted|completed) \d+ 1$/m);
  const lmOut = run(process.execPath, [join('out', `example${examples.findIndex((c) => c.includes('fitLanguageModel('))}.js`)], project);
  assert.match(lmOut, /^completed 2 runs\/cats\/checkpoint\.ckpt$/m);
});

test('issue 12 accepted in Node: fit, fitLanguageModel stopped by an AbortSignal and resumed exactly, save/load bit-identical, ONNX = our logits', () => {
  // consumer-app.ts, compiled by this repository's build, run from the project against the installed package.
  copyFileSync(join(root, 'dist', 'test', 'e2e', 'consumer-app.js'), join(project, 'accept.js'));
  const out = run(process.execPath, ['accept.js'], project, 120_000).trim().split('\n').at(-1)!;
  const r = JSON.parse(out) as { dense: { epochs: number; accuracy: number; bytes: number }; lm: { stopped: string; resumed: string; epochs: number; windows: number; bytes: number }; onnx: { lm: number; dense: number } };
  assert.deepEqual([r.dense.epochs, r.dense.accuracy], [100, 1]);
  assert.deepEqual([r.lm.stopped, r.lm.resumed, r.lm.epochs, r.lm.windows], ['aborted', 'completed', 3, 9]);
  assert.ok(r.dense.bytes > 0 && r.lm.bytes > 0);
  assert.ok(r.onnx.lm <= 1e-3 && r.onnx.dense <= 1e-3, `onnxruntime's worst differences: ${JSON.stringify(r.onnx)}`);
  assert.ok(existsSync(join(project, 'out', 'dense.ckpt')) && existsSync(join(project, 'out', 'lm.ckpt')), 'saved to files in the project');
});

test('CommonJS: import() from a .cjs file (the README\'s) and require() where Node has require(esm)', () => {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  const cjs = /```js\n\/\/ main\.cjs\n([\s\S]*?)```/.exec(md);
  assert.ok(cjs, 'the README shows main.cjs');
  writeFileSync(join(project, 'main.cjs'), cjs[1]!);
  assert.equal(run(process.execPath, ['main.cjs'], project).trim(), '[ 11 ]');
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19)) {
    writeFileSync(join(project, 'require.cjs'), "const { tensor, matmul } = require('backprop');\nconsole.log(Array.from(matmul(tensor([[1, 2]]), tensor([[3], [4]])).data).join());\n");
    assert.equal(run(process.execPath, ['--no-warnings', 'require.cjs'], project).trim(), '11');
  }
});

test('npx backprop --help, explain and explorer work from the install (the explorer serves its prebuilt page)', async () => {
  assert.match(run('npx', ['--no-install', 'backprop', '--help'], project), /Usage: backprop/);
  assert.match(run('npx', ['--no-install', 'backprop', 'explain', '--input', '1', '--target', '0.5', '--lr', '0.5'], project), /Forward pass/);
  assert.match(run('npx', ['--no-install', 'backprop', 'explorer', '--help'], project), /--port/);
  assert.ok(!existsSync(join(installed, 'web')), 'an install has no web/ sources');
  const child = spawn(process.execPath, [join(installed, 'bin', 'backprop.js'), 'explorer', '--port', '0', '--no-open'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no URL within 15 s:\n${out}`)), 15_000);
      const onData = (d: Buffer) => { out += d.toString(); const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out); if (m) { clearTimeout(timer); resolve(m[0]); } };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`explorer exited with ${code}:\n${out}`)); });
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script[^>]+app\.js/);
    const app = await fetch(new URL('app.js', url));
    assert.equal(app.status, 200);
    assert.ok((await app.text()).length > 10_000);
  } finally {
    child.kill();
  }
});

function findChromium(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return '';
}

test('an esbuild bundle of a page that trains a network with fit, saves and reloads it, runs in headless Chromium', async () => {
  const entry = `
import { Adam, Dense, Rng, Sequential, fit, getBackend, intTensor, loadModel, ready, saveModel, tensor } from 'backprop';
window.result = (async () => {
  await ready();
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]].flatMap((r) => [r, r]));
  const y = intTensor([0, 1, 1, 0].flatMap((c) => [c, c]));
  const rng = new Rng(3);
  const model = new Sequential(new Dense(2, 8, { activation: 'tanh', rng }), new Dense(8, 2, { rng }));
  const batches = [];
  const h = await fit(model, x, y, { loss: 'softmaxCrossEntropy', optimizer: new Adam(model, { lr: 0.05 }), epochs: 150, batchSize: 4, rng,
    callbacks: { onBatchEnd: (b, logs) => { batches.push(logs.loss); } } });
  // Saved as bytes and loaded back: the same outputs, bit for bit.
  const bytes = await saveModel(model, { save: async () => {} });
  const { model: loaded } = await loadModel(bytes);
  const same = Array.from(loaded.forward(x).data).every((v, i) => Object.is(v, model.forward(x).data[i]));
  return { backend: getBackend().name, epochs: h.epoch.length, accuracy: h.history.accuracy.at(-1), loss: h.history.loss.at(-1), batches: batches.length, saved: bytes.length, same };
})();`;
  const bundle = await build({ stdin: { contents: entry, resolveDir: project, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  const executablePath = findChromium();
  assert.ok(executablePath, 'Chromium is required for this test (apt-get install chromium, or set CHROMIUM_PATH)');
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    const r = await page.evaluate(() => (window as unknown as { result: Promise<{ backend: string; epochs: number; accuracy: number; loss: number; batches: number; saved: number; same: boolean }> }).result);
    assert.deepEqual(errors, []);
    assert.match(r.backend, /^wasm/, 'ready() started the WASM kernels in the page');
    assert.equal(r.epochs, 150);
    assert.equal(r.batches, 300);
    assert.equal(r.accuracy, 1, `XOR learned in the page (loss ${r.loss})`);
    assert.ok(r.saved > 0 && r.same, 'saved to bytes and loaded back bit-identically in the page');
  } finally {
    await browser.close();
  }
});
