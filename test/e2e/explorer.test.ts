// End-to-end test of the explorer page: build it, serve it with `backprop explorer`, drive real headless
// Chromium (playwright-core), walk the tutorial step by step, and check every number the page shows
// against `backprop explain --json`. Also: editing a weight, the language switch, the BPTT view, and a
// 375 px layout with no overlapping labels and no horizontal overflow. Screenshots go to a temporary
// folder (kept, and its path printed, when the test fails), or to $EXPLORER_SHOTS when set: the test never
// writes into the repository. `npm run screenshots` (scripts/screenshots.mjs) runs it with
// EXPLORER_SHOTS set and copies one screenshot per view to docs/img/ for the README.
//
// Chromium is required: without it this test fails (CI installs it with `apt-get install chromium`;
// set CHROMIUM_PATH to use another binary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { NetworkSpec, StepTrace } from '../../src/index.js';
import { CHROMIUM_ARGS, findChromium, startExplorer } from './chromium.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const shots = process.env.EXPLORER_SHOTS ?? mkdtempSync(join(tmpdir(), 'backprop-explorer-shots-'));
const cli = join(root, 'bin', 'backprop.js');

function explainJson(args: string[] = []): StepTrace {
  const r = spawnSync(process.execPath, [cli, 'explain', '--json', ...args], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `backprop explain failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as StepTrace;
}

/** Start `backprop explorer --port 0 --no-open` and read the URL it prints. */

const parseShown = (s: string): number => Number(s.trim().replace('−', '-'));

/** Every number of a trace, as the page shows it, must match the CLI's to 1e-6. */
async function compareWithTrace(page: Page, ref: StepTrace, what: string): Promise<void> {
  const shown = await page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const el of Array.from(document.querySelectorAll<SVGElement | HTMLElement>('[data-view="net"] [data-field]'))) {
      const key = el.dataset.node ?? el.dataset.param ?? el.dataset.edge ?? '';
      out[`${key}:${el.dataset.field}`] = el.textContent ?? '';
    }
    return out;
  });
  const check = (key: string, want: number | null, tol = 1e-6) => {
    const got = shown[key];
    assert.ok(got !== undefined, `${what}: the page shows no element for ${key}`);
    if (want === null) { assert.equal(got, '—', `${what}: ${key} should be blank`); return; }
    const v = parseShown(got);
    assert.ok(Number.isFinite(v) && Math.abs(v - want) <= tol, `${what}: ${key} shows ${got}, explain --json has ${want}`);
  };
  for (const n of ref.nodes) for (const f of ['x', 'y', 'dEdx', 'dEdy'] as const) check(`${n.label}:${f}`, n[f]);
  for (const q of ref.weights) {
    const id = `w${q.layer}.${q.from + 1}.${q.to + 1}`;
    check(`${id}:dEdw`, q.dEdw); check(`${id}:newW`, q.newW);
  }
  for (const q of ref.biases) {
    const id = `b${q.layer}.${q.node + 1}`;
    check(`${id}:dEdw`, q.dEdb); check(`${id}:newW`, q.newB);
  }
  check(':E', ref.error, 1e-8);
}

/** At the current viewport: no two visible SVG labels intersect, and nothing sticks out horizontally. */
async function checkLayout(page: Page, where: string): Promise<void> {
  const problems = await page.evaluate(() => {
    const out: string[] = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) out.push(`page scrolls horizontally: ${document.documentElement.scrollWidth} > ${vw}`);
    const visible = (el: Element) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    for (const el of Array.from(document.querySelectorAll('main *'))) {
      if (!visible(el) || el.closest('svg text')) continue;
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 || r.left < -1) out.push(`${el.tagName.toLowerCase()}.${(el as HTMLElement).className?.toString() ?? ''} spans ${r.left.toFixed(0)}…${r.right.toFixed(0)} outside 0…${vw}`);
    }
    for (const svg of Array.from(document.querySelectorAll('main svg'))) {
      if (!visible(svg)) continue;
      const boxes = Array.from(svg.querySelectorAll('text')).filter((t) => visible(t) && (t.textContent ?? '').trim() !== '').map((t) => ({ t: t.textContent!, r: t.getBoundingClientRect() }));
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!.r, b = boxes[j]!.r;
        const ox = Math.min(a.right, b.right) - Math.max(a.left, b.left), oy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (ox > 0.5 && oy > 0.5) out.push(`labels overlap: "${boxes[i]!.t}" and "${boxes[j]!.t}"`);
      }
    }
    return out.slice(0, 10);
  });
  assert.deepEqual(problems, [], `${where}: layout problems at ${page.viewportSize()?.width} px`);
}

const stepKind = (page: Page) => page.locator('[data-role="step-title"]').getAttribute('data-kind');
const next = (page: Page) => page.locator('[data-action="next"]').click();
async function setInput(page: Page, name: string, value: string): Promise<void> {
  await page.locator(`[data-edit="${name}"]`).evaluate((el, v) => {
    (el as HTMLInputElement).value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

test('explorer page: walks the tutorial with the engine\'s numbers, edits, languages, BPTT, 375 px layout', { timeout: 60_000 }, async () => {
  const executablePath = findChromium();
  assert.ok(executablePath && existsSync(executablePath),
    'Chromium not found: this test drives a real headless Chromium. Install it (Debian/Ubuntu: `apt-get install -y chromium`) or set CHROMIUM_PATH to its binary.');

  const build = spawnSync(process.execPath, [join(root, 'web', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `web/build.mjs failed:\n${build.stdout}${build.stderr}`);
  mkdirSync(shots, { recursive: true });
  const ref = explainJson();

  const profile = mkdtempSync(join(tmpdir(), 'backprop-chromium-'));
  let passed = false;
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  try {
    const started = await startExplorer([], 20_000);
    server = started.child;
    context = await chromium.launchPersistentContext(profile, {
      executablePath, headless: true, viewport: { width: 1280, height: 900 },
      args: [...CHROMIUM_ARGS],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    const res = await page.goto(started.url);
    assert.equal(res?.headers()['cross-origin-opener-policy'], 'same-origin');
    assert.equal(res?.headers()['cross-origin-embedder-policy'], 'require-corp');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, 'the page is cross-origin isolated');

    // Walk the whole tutorial sequence, one step at a time.
    const count = Number(await page.locator('[data-role="step-counter"]').getAttribute('data-count'));
    assert.ok(count > 20, `the walk has ${count} steps`);
    assert.equal(await stepKind(page), 's_network');
    assert.equal(await page.locator('[data-node="n3.1"][data-field="y"]').textContent(), '?', 'values appear only when the walk computes them');
    await page.screenshot({ path: join(shots, '01-network.png'), fullPage: true });
    const kinds: string[] = [(await stepKind(page))!];
    const shotAt: Record<string, string> = { s_fwd: '02-forward', s_errorValue: '03-error', s_dEdyOut: '04-backward-output', s_dEdw: '05-dEdw', s_update: '06-update' };
    for (let k = 1; k < count; k++) {
      await next(page);
      const kind = (await stepKind(page))!;
      kinds.push(kind);
      assert.ok(await page.locator('[data-role="formulas"] .katex').count() > 0, `step ${k + 1} (${kind}) shows a typeset formula`);
      if (shotAt[kind]) { await page.screenshot({ path: join(shots, `${shotAt[kind]}.png`), fullPage: true }); delete shotAt[kind]; }
    }
    // The tutorial's order: definitions, forward, error, rules, then backward from the output.
    const order = ['s_network', 's_activation', 's_errorFn', 's_input', 's_fwd', 's_errorValue', 's_rules', 's_dEdyOut', 's_dEdx', 's_dEdw', 's_dEdy', 's_update'];
    assert.deepEqual([...new Set(kinds)], order);
    assert.equal(kinds.filter((k) => k === 's_fwd').length, 5, 'one forward step per non-input node');
    assert.ok(await page.locator('[data-action="next"]').isDisabled(), 'the last step is the update');
    await compareWithTrace(page, ref, 'default network');

    // Edit a weight: the numbers change, and match the CLI run on the edited network.
    const before = await page.locator('[data-node="n1.1"][data-field="x"]').textContent();
    await setInput(page, 'w1.1.1', '0.9');
    assert.notEqual(await page.locator('[data-node="n1.1"][data-field="x"]').textContent(), before, 'editing w1.1.1 changes x at n1.1');
    const edited: NetworkSpec = structuredClone(ref.network);
    edited.layers[0]!.weights[0]![0] = 0.9;
    const netFile = join(profile, 'edited-network.json');
    writeFileSync(netFile, JSON.stringify(edited));
    await compareWithTrace(page, explainJson(['--network', netFile]), 'after editing w1.1.1 = 0.9');

    // Train: the error curve falls.
    await page.locator('[data-action="train"]').click();
    const trained = parseShown((await page.locator('[data-field="trainError"]').textContent())!.replace('E = ', ''));
    assert.ok(trained < ref.error, `training lowers E (${trained} vs ${ref.error})`);
    await page.locator('[data-action="restart"]').click();
    while (await stepKind(page) !== 's_dEdy') await next(page);
    await page.screenshot({ path: join(shots, '07-trained.png'), fullPage: true });

    // Language: Chinese and back.
    await page.locator('[data-action="lang"]').click();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    assert.match((await page.locator('[data-role="step-title"]').textContent())!, /[\u4e00-\u9fff]/, 'the step title is in Chinese');
    assert.match((await page.locator('[data-tab="bptt"]').textContent())!, /[\u4e00-\u9fff]/);
    await page.screenshot({ path: join(shots, '08-chinese.png'), fullPage: true });
    await page.locator('[data-action="lang"]').click();
    assert.equal(await page.locator('[data-tab="net"]').textContent(), "The tutorial's network");

    // View 2: BPTT.
    await page.locator('[data-tab="bptt"]').click();
    assert.equal(await page.locator('[data-field="gradNorm"]').count(), 12, 'one ‖∂E/∂h_t‖ per time step');
    await setInput(page, 'scale', '0.3');
    assert.equal(await page.locator('[data-role="ratio"]').getAttribute('data-kind'), 'vanishing');
    await setInput(page, 'scale', '2.2');
    assert.equal(await page.locator('[data-role="ratio"]').getAttribute('data-kind'), 'exploding');
    await setInput(page, 'k1', '5'); await setInput(page, 'k2', '3');
    assert.deepEqual(await page.locator('[data-update]').evaluateAll((els) => els.map((e) => e.getAttribute('data-window'))), ['3-5', '8-10']);
    assert.equal(await page.locator('[data-role="dropped"]').getAttribute('data-steps'), '1,2,6,7', 'k1 > k2: those losses are never backpropagated');
    await setInput(page, 'k2', '5');
    assert.equal(await page.locator('[data-role="dropped"]').getAttribute('data-steps'), '');
    await setInput(page, 'scale', '0.6'); await setInput(page, 'k1', '4'); await setInput(page, 'k2', '3');
    await page.screenshot({ path: join(shots, 'view2.png'), fullPage: true });

    // 375 px: every step of view 1, and view 2, without overlaps or horizontal overflow.
    await page.setViewportSize({ width: 375, height: 800 });
    // The views re-render from ResizeObserver callbacks, which run in the next rendering step: wait
    // two animation frames (an event), not a fixed time.
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    await checkLayout(page, 'BPTT view');
    await page.screenshot({ path: join(shots, 'mobile-view2.png'), fullPage: true });
    await page.locator('[data-tab="net"]').click();
    await page.locator('[data-action="restart"]').click();
    for (let k = 0; k < count; k++) {
      await checkLayout(page, `view 1, step ${k + 1} (${kinds[k]})`);
      if (kinds[k] === 's_dEdx') await page.screenshot({ path: join(shots, 'mobile-view1.png'), fullPage: true });
      if (k < count - 1) await next(page);
    }
    await page.locator('[data-action="lang"]').click();
    await checkLayout(page, 'view 1 in Chinese');
    await page.locator('[data-tab="bptt"]').click();
    await checkLayout(page, 'view 2 in Chinese');
    assert.deepEqual(errors, [], 'no errors in the page console');
    passed = true;
  } finally {
    if (!process.env.EXPLORER_SHOTS) {
      if (passed) rmSync(shots, { recursive: true, force: true });
      else console.log(`# screenshots of the failed run: ${shots}`);
    }
    await context?.close();
    server?.kill();
    rmSync(profile, { recursive: true, force: true });
  }
});
