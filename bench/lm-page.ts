// Tokens per second of the explorer's view-3 training in headless Chromium and of the same training in Node:
// the shared machinery of the bench's browser participant (bench/page.ts) and of
// scripts/lm-page-speed.mjs. The page side is the real page (the explorer's build, served by the explorer's
// own server, with or without COOP/COEP) and its real training worker (lm-worker.js, the bundle view 3
// starts), driven through the worker's message protocol (web/src/lm-protocol.ts): so the model, thread
// count and windows are set exactly, and only training time counts (the worker's `trainSeconds`:
// validation and samples excluded). The Node side runs the worker's loop (web/src/lm-worker.ts: the
// same LanguageModel, TruncatedBPTT with ‖∂E/∂h‖ diagnostics, the same streams and windows) on the same
// text with the same thread count.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LanguageModel, Rng, TruncatedBPTT, backendInfo, createOptimizer, useBackend, type StackState } from '../src/index.js';
import { ensureExplorerBuilt, serveStatic } from '../src/cli/commands/explorer.js';
import type { LmSettings } from '../web/src/lm-protocol.js';

/** View 3's settings, the worker's own type (web/src/lm-protocol.ts): `embed` included (default: `hidden`). */
export type LmBenchSettings = LmSettings;

/** Steps per window, as the worker cuts them (a multiple of k1, at least k2). */
export const windowSteps = (s: LmBenchSettings): number => s.k1 * Math.ceil(Math.max(s.k1, s.k2) / s.k1);

/** CHROMIUM_PATH, else the first of chromium, chromium-browser, google-chrome on PATH, else ''. */
export function findChromium(): string {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : '';
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return '';
}

/** Headless Chromium as the browser tests start it (no sandbox, no GPU, no background networking). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The worker's 'ready' report: how the kernels run in the page. */
export interface PageMode { mode: 'threaded' | 'single'; threads: number; backend: string; crossOriginIsolated: boolean }

/**
 * The explorer page (built if stale) served on 127.0.0.1, `isolated` with COOP/COEP or not, opened in
 * `browser`, with one training worker started (`threads`: the pool's size when isolated) and configured
 * with `settings` on `text` (its 90 % training part cut into the worker's streams).
 */
export async function openPageRun(browser: Browser, settings: LmBenchSettings, text: string, isolated: boolean, threads: number): Promise<PageRun> {
  const { server, url } = await serveStatic(await ensureExplorerBuilt(), 0, isolated);
  const page = await browser.newPage();
  try {
    await page.goto(url);
    const mode = await page.evaluate(async ({ settings, text, threads }) => {
      const w = new Worker(new URL('lm-worker.js', document.baseURI), { type: 'module' });
      type Msg = { type: string; [k: string]: unknown };
      /** The next message that `pred` accepts (an 'error' message rejects). */
      const next = (pred: (m: Msg) => boolean) => new Promise<Msg>((resolve, reject) => {
        const f = (e: MessageEvent<Msg>) => {
          if (e.data.type === 'error') { w.removeEventListener('message', f); reject(new Error(String(e.data['message']))); }
          else if (pred(e.data)) { w.removeEventListener('message', f); resolve(e.data); }
        };
        w.addEventListener('message', f);
      });
      (window as unknown as { __lmBench: unknown }).__lmBench = { w, next };
      const ready = next((m) => m.type === 'ready');
      w.postMessage({ type: 'init', threads });
      const r = await ready;
      const configured = next((m) => m.type === 'valid');   // the untrained validation loss ends the configure
      w.postMessage({ type: 'configure', settings, corpus: 'pasted', text });
      await configured;
      return { mode: r['mode'], threads: r['threads'], backend: r['backend'], crossOriginIsolated: r['crossOriginIsolated'] } as PageMode;
    }, { settings, text, threads });
    return new PageRun(page, server, mode, settings);
  } catch (e) {
    await page.close();
    server.close();
    throw e;
  }
}

/** One configured training run in the page; `train(n)` trains n more windows. */
export class PageRun {
  private windows = 0;
  private seconds = 0;
  constructor(private readonly page: Page, private readonly server: Server, readonly mode: PageMode, readonly settings: LmBenchSettings) {}

  /** Trains `n` more windows; returns their tokens per second of training time (the worker's own clock). */
  async train(n: number): Promise<number> {
    const until = this.windows + n;
    const r = await this.page.evaluate(async (until) => {
      type Msg = { type: string; [k: string]: unknown };
      const lm = (window as unknown as { __lmBench: { w: Worker; next: (p: (m: Msg) => boolean) => Promise<Msg> } }).__lmBench;
      let last: Msg | null = null;
      const f = (e: MessageEvent<Msg>) => { if (e.data.type === 'progress') last = e.data; };
      lm.w.addEventListener('message', f);
      const stopped = lm.next((m) => m.type === 'state' && m['running'] === false);
      lm.w.postMessage({ type: 'start', until });
      await stopped;
      lm.w.removeEventListener('message', f);
      return { last } as { last: Msg | null };
    }, until);
    if (!r.last || r.last['windows'] !== until) throw new Error(`the page's worker stopped at window ${String(r.last?.['windows'])}, not ${until}`);
    // trainSeconds: the run's training time so far (validation and samples excluded).
    const secs = (r.last['trainSeconds'] as number) - this.seconds;
    this.seconds = r.last['trainSeconds'] as number;
    this.windows = until;
    return (n * this.settings.batch * windowSteps(this.settings)) / secs;
  }

  async close(): Promise<void> {
    await this.page.close();
    this.server.close();
  }
}

/**
 * The worker's loop in Node (web/src/lm-worker.ts `makeRun` and `trainWindow`, without the worker): the
 * same model, optimizer, TBPTT options and streams, on the WASM backend with `threads` threads.
 */
export class NodeRun {
  private readonly tb: TruncatedBPTT<StackState>;
  private readonly ids: Int32Array;
  private readonly T: number;
  private readonly len: number;
  private readonly epoch: number;
  private windows = 0;
  private constructor(readonly settings: LmBenchSettings, text: string) {
    const chars = Array.from(text), itos = [...new Set(chars)].sort(), stoi = new Map(itos.map((c, i) => [c, i]));
    this.ids = Int32Array.from(chars, (c) => stoi.get(c)!).subarray(0, Math.floor(chars.length * 0.9));
    const s = settings;
    this.T = windowSteps(s);
    this.len = Math.floor(this.ids.length / s.batch);
    this.epoch = Math.floor((this.len - 1) / this.T);
    const model = new LanguageModel({ vocabSize: itos.length, embedSize: s.embed ?? s.hidden, hiddenSize: s.hidden, numLayers: s.layers, cell: s.cell, keepProb: 1 - s.dropout, forgetBias: 0, initScale: 0.1 }, new Rng(s.seed));
    model.train();
    this.tb = new TruncatedBPTT(model, createOptimizer(s.optimizer, model, s.lr), { k1: s.k1, k2: s.k2, batchSize: s.batch, maxGradNorm: s.clip > 0 ? s.clip : undefined, diagnostics: true, onDivergence: 'skip' });
  }

  /** A run on the WASM backend with `threads` threads (it becomes the process's backend). */
  static async start(settings: LmBenchSettings, text: string, threads: number): Promise<NodeRun> {
    // WebAssembly alone, as in the page (no native GEMM there), so that page ÷ Node compares like with like.
    await useBackend('wasm', { threads, native: false });
    return new NodeRun(settings, text);
  }

  /** The backend it runs on, as `backendInfo()` names it. */
  backend(): string { const b = backendInfo(); return `${b.name}, ${b.threads} thread${b.threads === 1 ? '' : 's'}`; }

  /** Trains `n` more windows; returns their tokens per second. */
  train(n: number): number {
    const { batch: B } = this.settings, T = this.T;
    let secs = 0;
    for (let k = 0; k < n; k++) {
      const i = this.windows % this.epoch;
      if (i === 0 && this.windows > 0) this.tb.resetState();
      const x = new Int32Array(B * T), y = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const start = b * this.len + i * T;
        x.set(this.ids.subarray(start, start + T), b * T);
        y.set(this.ids.subarray(start + 1, start + T + 1), b * T);
      }
      const t0 = performance.now();
      this.tb.feed(x, y, T);
      secs += (performance.now() - t0) / 1000;
      this.windows++;
    }
    return (n * B * T) / secs;
  }
}
