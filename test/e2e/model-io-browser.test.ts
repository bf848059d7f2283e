// Model IO in a real browser: the public entry bundled by esbuild for the browser platform (so it reaches
// no Node API), served from a local origin, driven in headless Chromium. In the page: a GRU language model
// and a dense network go to IndexedDB and to bytes and come back with bit-identical outputs, a training
// checkpoint restores an optimizer, safeOpen reads one tensor of a Blob, and ONNX export runs.
// Chromium is required, as for the explorer test (CHROMIUM_PATH to choose the binary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from './chromium.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// The page's script: everything through the package root, as an application would.
const PAGE = `
import * as bp from './dist/src/index.js';
const sameBits = (a, b) => a.length === b.length && new Uint8Array(Float64Array.from(a).buffer).every((v, i) => v === new Uint8Array(Float64Array.from(b).buffer)[i]);
async function run() {
  const out = {};
  const lm = new bp.LanguageModel({ vocabSize: 12, embedSize: 5, hiddenSize: 7, numLayers: 2, cell: 'gru', keepProb: 1, forgetBias: 0, initScale: 0.3 }, new bp.Rng(4)).eval();
  const ids = Int32Array.from({ length: 12 }, (_, k) => k % 12);
  const logits = (m) => m.run(ids, 3, 4, m.initialState(3)).logits.data;
  await bp.saveModel(lm, 'indexeddb://gru-lm', { vocab: ['a', 'b'] });
  const back = await bp.loadModel('indexeddb://gru-lm');
  out.idbLm = sameBits(logits(back.model), logits(lm));
  out.idbVocab = JSON.stringify(back.vocab);
  const net = new bp.Sequential(new bp.Dense(3, 4, { activation: 'relu', rng: new bp.Rng(1) }), new bp.Dense(4, 2, { activation: 'softmax', rng: new bp.Rng(2) }));
  const x = bp.tensor([[1, -2, 0.5], [0.1, 0.2, 0.3]]);
  out.bytesDense = sameBits(bp.modelFromBytes(bp.modelToBytes(net)).model.forward(x).data, net.forward(x).data);
  const opt = new bp.Adam(net, { lr: 0.1 });
  opt.zeroGrad(); bp.backward(bp.sum(net.forward(x))); opt.step();
  await bp.saveTrainingCheckpoint('indexeddb://run', { model: net, optimizer: opt, dataPosition: { step: 1 } });
  const opt2 = new bp.Adam(bp.buildModelFromSpec(bp.describeModel(net)), { lr: 0.5 });
  const r = await bp.loadTrainingCheckpoint('indexeddb://run', { optimizer: opt2 });
  out.resumed = opt2.stepCount === 1 && opt2.lr === 0.1 && r.dataPosition.step === 1;
  const f = await bp.safeOpen(new Blob([bp.encodeSafetensors(bp.stateDict(lm))]));
  out.lazy = sameBits((await f.getTensor('gru.1.candKernel')).data, bp.stateDict(lm)['gru.1.candKernel'].data);
  out.onnxBytes = bp.exportLmOnnx(bp.lmWeights(lm)).length > 1000;
  await bp.loadModel('indexeddb://missing').catch((e) => { out.missing = e.message; });
  return out;
}
window.result = run().catch((e) => ({ error: String(e && e.stack || e) }));
`;

test('in Chromium: save/load through IndexedDB and bytes is bit-identical, checkpoints restore, safeOpen reads a Blob lazily', async () => {
  const bundle = await build({
    stdin: { contents: PAGE, resolveDir: root, loader: 'js' },
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  const server = http.createServer((req, res) => {
    if (req.url === '/app.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(js); return; }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const executablePath = findChromium();
  assert.ok(executablePath, 'Chromium not found (install chromium or set CHROMIUM_PATH)');
  const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction('window.result !== undefined', undefined, { timeout: 30_000 });
    const result = await page.evaluate('window.result') as Record<string, unknown>;
    assert.deepEqual(errors, []);
    assert.deepEqual(result, {
      idbLm: true, idbVocab: '["a","b"]', bytesDense: true, resumed: true, lazy: true, onnxBytes: true,
      missing: 'indexeddb://missing: no model saved under this key',
    });
  } finally {
    await browser.close();
    server.close();
  }
});
