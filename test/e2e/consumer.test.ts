// The package as a new user gets it: `npm pack`, the tarball installed into a fresh project, and then
// only what the README shows. The tarball must hold what runs and nothing else; every README TypeScript
// example that imports 'backprop' must type-check (strict, with node16 and with bundler resolution) and
// run; the CommonJS ways in must work; `npx backprop --help`, `explain` and `explorer` must work from the
// install (the explorer serving its prebuilt page); and an esbuild bundle of a page that trains a network
// with `fit`, saves it to bytes and loads it back must run in headless Chromium.
//
// Issue 12's "done when" is accepted here: consumer-app.ts, run from the project, trains a dense network
// with `fit` and an LSTM language model with `fitLanguageModel` (callbacks, an AbortSignal, an exact
// resume), saves and reloads both bit-identically and checks their ONNX exports in onnxruntime-node; the
// page trains with `fit` and TBPTT, resumes from checkpoint bytes and saves/loads to bytes. Every name the
// docs import from 'backprop' or 'backprop/node' must be one of the installed package's exports.
//
// Offline and fast: the tarball is unpacked into the project's node_modules as npm would, and the
// package's runtime dependencies are linked from this repository's node_modules instead of downloaded.
// `npm pack --ignore-scripts` skips prepack's build (npm test has just built dist/); the explorer page is
// built here into build/explorer, as prepack does. Chromium is required (CHROMIUM_PATH to choose one).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { root } from './cli-helpers.js';
import { CHROMIUM_ARGS, findChromium, shakespeareFile } from './chromium.js';

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
  for (const must of ['bin/backprop.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'build/explorer/index.html', 'build/explorer/app.js', 'build/explorer/lm-worker.js', 'build/explorer/worker.js', ...(shakespeareFile() ? ['build/explorer/data/tinyshakespeare.txt'] : []), 'build/explorer/coi-serviceworker.js', 'README.md']) {
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

test('every name the README, docs/ and the doc comments import from backprop or backprop/node is an export of the installed package', async () => {
  const exported = {
    'backprop': new Set(Object.keys(await import(pathToFileURL(join(installed, 'dist', 'src', 'index.js')).href) as object)),
    'backprop/node': new Set(Object.keys(await import(pathToFileURL(join(installed, 'dist', 'src', 'node.js')).href) as object)),
  };
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'api-html') walk(rel); } else if (/\.(ts|md)$/.test(e.name) && !e.name.includes('.test.')) files.push(rel);
    }
  };
  walk('src');
  walk('docs');
  const missing: string[] = [];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(backprop(?:\/node)?)'/g)) {
      if (m[1]) continue;   // a type-only import has no runtime name to check
      for (const spec of m[2]!.split(',').map((x) => x.trim()).filter((x) => x && !x.startsWith('type '))) {
        const name = spec.split(/\s+as\s+/)[0]!;
        checked++;
        if (!exported[m[3] as keyof typeof exported].has(name)) missing.push(`${file}: ${name} from '${m[3]}'`);
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} imported names found`);
  assert.deepEqual(missing, [], 'imported in the docs but not exported');
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
  // --export writes the prebuilt page as a static site, its service worker linked (docs/explorer.md, "Static hosting").
  const site = join(project, 'site');
  assert.match(run(process.execPath, [join(installed, 'bin', 'backprop.js'), 'explorer', '--export', site], project), /exported the page/);
  assert.match(readFileSync(join(site, 'index.html'), 'utf8'), /<script src="coi-serviceworker\.js"><\/script>/);
  assert.ok(existsSync(join(site, 'coi-serviceworker.js')) && existsSync(join(site, 'lm-worker.js')));
});

test('an esbuild bundle of a page that trains a network with fit and a language model with TBPTT, saves and reloads them as bytes, runs in headless Chromium', async () => {
  const entry = `
import {
  Adam, Dense, LanguageModel, Rng, Sequential, TruncatedBPTT, checkpointToBytes, exportLmOnnx, fit, getBackend, intTensor, lmWeights,
  loadModel, ready, restoreCheckpoint, saveModel, stateDict, tensor,
} from 'backprop';
const same = (a, b) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
const sameParams = (a, b) => { const sa = stateDict(a), sb = stateDict(b); return Object.keys(sa).join() === Object.keys(sb).join() && Object.keys(sa).every((k) => same(sa[k].data, sb[k].data)); };
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
  const dense = { epochs: h.epoch.length, accuracy: h.history.accuracy.at(-1), loss: h.history.loss.at(-1), batches: batches.length, saved: bytes.length,
    same: same(loaded.forward(x).data, model.forward(x).data) };

  // A small LSTM language model on characters, trained with TBPTT (k1 = k2 = T, each batch from a zero state),
  // checkpointed to bytes halfway: a second model restored from them ends bit-identical to the first.
  const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(20);
  const chars = [...new Set(text)].sort(), ids = Int32Array.from(text, (c) => chars.indexOf(c));
  const [B, T, FEEDS, HALF] = [4, 8, 24, 12];
  const batch = (i, shift) => Int32Array.from({ length: B * T }, (_, r) => ids[(i * T + Math.floor(r / T) * 200 + (r % T) + shift) % ids.length]);
  const config = { vocabSize: chars.length, embedSize: 8, hiddenSize: 16, numLayers: 1, cell: 'lstm', keepProb: 1, forgetBias: 0, initScale: 0.1 };
  const train = (lm, opt, from, to) => {
    const tb = new TruncatedBPTT(lm, opt, { k1: T, k2: T, batchSize: B, maxGradNorm: 5 });
    const losses = [];
    for (let i = from; i < to; i++) { tb.resetState(); losses.push(tb.feed(batch(i, 0), batch(i, 1), T).updates[0].loss / T); }
    return losses;
  };
  const lm = new LanguageModel(config, new Rng(5)), opt = new Adam(lm, { lr: 0.05 });
  const losses = train(lm, opt, 0, HALF);
  const ckpt = checkpointToBytes({ model: lm, optimizer: opt, dataPosition: { feed: HALF } });
  losses.push(...train(lm, opt, HALF, FEEDS));
  const lm2 = new LanguageModel(config, new Rng(99)), opt2 = new Adam(lm2, { lr: 0.05 });
  const { dataPosition } = restoreCheckpoint(ckpt, { model: lm2, optimizer: opt2 });
  const resumedLosses = train(lm2, opt2, dataPosition.feed, FEEDS);
  lm.eval();
  const lmBytes = await saveModel(lm, { save: async () => {} }, { vocab: chars });
  const probe = batch(3, 0), run = (m) => m.run(probe, B, T, m.initialState(B)).logits.data;
  const back = await loadModel(new Blob([lmBytes]));
  const lang = { first: losses[0], last: losses.at(-1), feeds: losses.length, resumed: sameParams(lm2, lm) && same(resumedLosses, losses.slice(HALF)),
    saved: lmBytes.length, same: back.model instanceof LanguageModel && same(run(back.model), run(lm)) && sameParams(back.model, lm),
    vocab: back.vocab.join('') === chars.join(''), onnx: exportLmOnnx(lmWeights(lm)).length };
  return { backend: getBackend().name, dense, lang };
})();`;
  const bundle = await build({ stdin: { contents: entry, resolveDir: project, loader: 'js' }, bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
  const executablePath = findChromium();
  assert.ok(executablePath, 'Chromium is required for this test (apt-get install chromium, or set CHROMIUM_PATH)');
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    type Result = {
      backend: string;
      dense: { epochs: number; accuracy: number; loss: number; batches: number; saved: number; same: boolean };
      lang: { first: number; last: number; feeds: number; resumed: boolean; saved: number; same: boolean; vocab: boolean; onnx: number };
    };
    const r = await page.evaluate(() => (window as unknown as { result: Promise<Result> }).result);
    assert.deepEqual(errors, []);
    assert.match(r.backend, /^wasm/, 'ready() started the WASM kernels in the page');
    assert.equal(r.dense.epochs, 150);
    assert.equal(r.dense.batches, 300);
    assert.equal(r.dense.accuracy, 1, `XOR learned in the page (loss ${r.dense.loss})`);
    assert.ok(r.dense.saved > 0 && r.dense.same, 'saved to bytes and loaded back bit-identically in the page');
    assert.equal(r.lang.feeds, 24);
    assert.ok(r.lang.last < 0.8 * r.lang.first, `the language model learned in the page: loss per step ${r.lang.first} → ${r.lang.last}`);
    assert.ok(r.lang.resumed, 'restored from checkpoint bytes, the second model ends bit-identical (parameters and losses)');
    assert.ok(r.lang.saved > 0 && r.lang.same && r.lang.vocab, 'the language model saved to bytes and loaded from a Blob: same logits, parameters and vocabulary');
    assert.ok(r.lang.onnx > 0, 'exportLmOnnx runs in the page');
  } finally {
    await browser.close();
  }
});
