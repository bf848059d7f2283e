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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// ---- Issue 13, items 5 and 6: invalid fields, layout, number formatting, view 2's wording, colours,
// the output activation, and the page's state in the URL. Each test starts its own server and browser.

interface Session { page: Page; url: string; errors: string[]; context: BrowserContext; open(hash?: string): Promise<Page> }

/** Serve the page, open Chromium at `viewport`, run `body`; the page console must stay free of errors. */
async function withExplorer(viewport: { width: number; height: number }, body: (s: Session) => Promise<void>): Promise<void> {
  const executablePath = findChromium();
  assert.ok(executablePath && existsSync(executablePath), 'Chromium not found: install it (apt-get install -y chromium) or set CHROMIUM_PATH.');
  const build = spawnSync(process.execPath, [join(root, 'web', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `web/build.mjs failed:\n${build.stdout}${build.stderr}`);
  const profile = mkdtempSync(join(tmpdir(), 'backprop-chromium-'));
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  try {
    const started = await startExplorer([], 20_000);
    server = started.child;
    context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, viewport, args: [...CHROMIUM_ARGS] });
    const errors: string[] = [];
    const watch = (p: Page) => {
      p.on('pageerror', (e) => errors.push(e.message));
      p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    };
    const page = context.pages()[0] ?? await context.newPage();
    watch(page);
    await page.goto(started.url);
    await page.waitForSelector('body[data-ready="true"]');
    const ctx = context;
    const open = async (hash = '') => {
      const p = await ctx.newPage();
      watch(p);
      await p.goto(started.url + hash);
      await p.waitForSelector('body[data-ready="true"]');
      return p;
    };
    await body({ page, url: started.url, errors, context, open });
    assert.deepEqual(errors, [], 'no errors in the page console');
  } finally {
    await context?.close();
    server?.kill();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Every value view 1 shows ([data-field] texts, keyed by node/param/edge and field). */
const shownValues = (page: Page) => page.evaluate(() => {
  const out: Record<string, string> = {};
  for (const el of Array.from(document.querySelectorAll<SVGElement | HTMLElement>('[data-view="net"] [data-field]'))) {
    out[`${el.dataset.node ?? el.dataset.param ?? el.dataset.edge ?? ''}:${el.dataset.field}`] = el.textContent ?? '';
  }
  return out;
});
const lastStep = async (page: Page) => { while (!(await page.locator('[data-action="next"]').isDisabled())) await next(page); };
const errorText = (page: Page, name: string) => page.locator(`.view:not([hidden]) [data-field-error="${name}"]`).textContent();
const windows = (page: Page) => page.locator('[data-update]').evaluateAll((els) => els.map((e) => e.getAttribute('data-window')));

test('view 1: an invalid field says what is wrong beside it and the page keeps computing with the last valid value', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    await lastStep(page);
    const ref = explainJson();
    for (const bad of ['-0.5', '', 'abc', '1e400', '1e7']) {
      await setInput(page, 'lr', bad);
      assert.ok((await errorText(page, 'lr'))!.includes('still using 0.5'), `lr=${JSON.stringify(bad)}: the message names the value still in use`);
      assert.equal(await page.locator('[data-edit="lr"]').getAttribute('aria-invalid'), 'true');
      await compareWithTrace(page, ref, `after lr=${JSON.stringify(bad)}`);
    }
    assert.match((await errorText(page, 'lr'))!, /too large/);
    await setInput(page, 'lr', '-0.5');
    assert.match((await errorText(page, 'lr'))!, /negative/);
    // A later edit still works (a negative rate used to throw on every edit and freeze the diagram).
    await setInput(page, 'input', '0.8');
    await compareWithTrace(page, explainJson(['--input', '0.8']), 'input 0.8 with the invalid lr field (lr 0.5 in use)');
    for (const bad of ['1e400', 'abc', '']) {
      await setInput(page, 'input', bad);
      assert.ok((await errorText(page, 'input'))!.length > 0, `input=${JSON.stringify(bad)} is named`);
      await compareWithTrace(page, explainJson(['--input', '0.8']), `after input=${JSON.stringify(bad)}`);
    }
    await setInput(page, 'w1.1.1', 'abc');
    assert.match((await errorText(page, 'w1.1.1'))!, /not a number; still using 0\.5/);
    await setInput(page, 'lr', '0.25');
    assert.equal(await errorText(page, 'lr'), '', 'a valid value clears the message');
    await compareWithTrace(page, explainJson(['--input', '0.8', '--lr', '0.25']), 'lr 0.25 (w1.1.1 field invalid: 0.5 in use)');
    // The messages are translated.
    await page.locator('[data-action="lang"]').click();
    assert.match((await errorText(page, 'w1.1.1'))!, /不是数字/);
    await page.locator('[data-action="lang"]').click();
  });
});

test('view 1: the train-steps field rejects 0, negatives, fractions and huge counts with a message', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    for (const bad of ['0', '-5', '2.5', '1e300', '5001']) {
      await setInput(page, 'nsteps', bad);
      await page.locator('[data-action="train"]').click();
      assert.ok((await errorText(page, 'nsteps'))!.length > 0, `steps=${bad} is named`);
      assert.doesNotMatch((await errorText(page, 'nsteps'))!, /still using/, 'no count stays in use: nothing trains');
      assert.equal(await page.locator('[data-field="trainError"]').count(), 0, `steps=${bad} trains nothing`);
    }
    await setInput(page, 'nsteps', '3');
    await page.locator('[data-action="train"]').click();
    assert.equal(await errorText(page, 'nsteps'), '');
    const run = JSON.parse(spawnSync(process.execPath, [cli, 'explain', '--json', '--steps', '3'], { cwd: root, encoding: 'utf8' }).stdout) as { steps: StepTrace[] };
    const shown = parseShown((await page.locator('[data-field="trainError"]').textContent())!.replace('E = ', ''));
    assert.ok(Math.abs(shown - run.steps[2]!.errorAfter) <= 1e-4 * run.steps[2]!.errorAfter, `3 steps trained: E = ${shown}`);
    // A learning rate that overflows stops training before the step that would, and says so.
    await setInput(page, 'lr', '1000'); await setInput(page, 'activation', 'relu'); await setInput(page, 'outActivation', 'linear');
    await setInput(page, 'w1.1.1', '1000000'); await setInput(page, 'w2.1.1', '1000000'); await setInput(page, 'w3.1.1', '1000000');
    await setInput(page, 'nsteps', '50');
    await page.locator('[data-action="train"]').click();
    assert.match((await page.locator('[data-role="train-note"]').textContent())!, /overflow/);
    const values = await shownValues(page);
    assert.ok(Object.values(values).every((v) => !/NaN|∞/.test(v)), 'no NaN or ∞ is shown after a stopped run');
  });
});

test('view 1: huge values fit their labels, α prints as typeset, and every formula checks by hand', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    // Arithmetic: each formula `… = expression = result`, evaluated from the factors it shows, rounds to
    // the result it shows (factors at the precision that makes this hold).
    const checkFormulas = async (what: string): Promise<number> => {
      await page.locator('[data-action="restart"]').click();
      let checked = 0;
      for (;;) {
        const lines = await page.locator('[data-role="formulas"] .formula').evaluateAll((els) => els.map((e) => e.getAttribute('data-tex') ?? ''));
        for (const src of lines) {
          const segs = src.split(' = ');
          if (segs.length < 2) continue;
          const expr = segs.at(-2)!.replace(/^.*?: /, '');
          const result = segs.at(-1)!;
          const js = expr.replace(/\\times 10\^\{(-?\d+)\}/g, 'e$1').replace(/\\tfrac12/g, '0.5*').replace(/\\cdot/g, '*').replace(/\\,/g, '*')
            .replace(/\^2/g, '**2').replace(/\[([^\]]+) > 0\]/g, '(($1)>0?1:0)');
          if (!/^[\d\s.e+\-*()?:>]+$/.test(js) || !/[*+-]/.test(js.replace(/^-/, ''))) continue;
          const hand = Function(`return ${js}`)() as number;
          const m = /^\(?(-?\d+(?:\.(\d+))?)(?:\\times 10\^\{(-?\d+)\})?\)?$/.exec(result);
          assert.ok(m, `${what}: result "${result}" of "${src}" is a number`);
          const shown = Number(m[1]) * 10 ** Number(m[3] ?? 0);
          const unit = 10 ** (Number(m[3] ?? 0) - (m[2]?.length ?? 0));
          const literals = (js.match(/\d+(?:\.\d+)?(?:e-?\d+)?/g) ?? []).map(Number);
          const tol = 0.51 * unit + 1e-8 * Math.max(1, ...literals.map((v) => v * v));
          assert.ok(Math.abs(hand - shown) <= tol, `${what}: "${src}": the factors give ${hand}, the result shows ${result}`);
          checked++;
        }
        if (await page.locator('[data-action="next"]').isDisabled()) break;
        await next(page);
      }
      return checked;
    };
    const n = await checkFormulas('default network');
    // 5 forward sums, E, ∂E/∂y_out, 5 ∂E/∂x, 8 ∂E/∂w, 5 ∂E/∂y, 13 updates: every line with arithmetic.
    assert.equal(n, 38, `${n} formulas checked by hand`);
    await setInput(page, 'w2.1.2', '0.123456789'); await setInput(page, 'lr', '0.30000000000000004'); await setInput(page, 'activation', 'tanh');
    assert.equal(await checkFormulas('tanh, edited'), 38);
    // α: typeset, never raw JavaScript (1e-7 → 1\times 10^{-7}; 0.1 + 0.2 → 0.3).
    await page.locator('[data-action="restart"]').click();
    assert.match((await page.locator('[data-role="formulas"] .formula').first().getAttribute('data-tex'))!, /\\alpha = 0\.3$/);
    await setInput(page, 'lr', '1e-7');
    assert.match((await page.locator('[data-role="formulas"] .formula').first().getAttribute('data-tex'))!, /\\alpha = 1\\times 10\^\{-7\}$/);
    // Huge values: every label stays inside its box, at 1280 and at 375 px.
    await setInput(page, 'w1.1.1', '-987654.321'); await setInput(page, 'input', '123456'); await setInput(page, 'b1.2', '999999');
    await lastStep(page);
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
      const overflow = await page.evaluate(() => {
        const out: string[] = [];
        for (const box of Array.from(document.querySelectorAll('[data-node-box], .wlabel'))) {
          const rect = box.querySelector('rect')!.getBoundingClientRect();
          for (const tx of Array.from(box.querySelectorAll('text'))) {
            const r = tx.getBoundingClientRect();
            if (r.left < rect.left - 0.5 || r.right > rect.right + 0.5) out.push(`"${tx.textContent}" spills out of its box`);
          }
        }
        for (const td of Array.from(document.querySelectorAll<HTMLElement>('table.params td'))) if (td.scrollWidth > td.clientWidth + 1) out.push(`table cell "${td.textContent}" overflows`);
        return out;
      });
      assert.deepEqual(overflow, [], `labels at ${width} px`);
      await checkLayout(page, `huge values at ${width} px`);
    }
    const shown = await shownValues(page);
    assert.ok(Object.values(shown).every((v) => v.length <= 13), `no shown number is longer than 13 characters: ${JSON.stringify(shown)}`);
  });
});

test('view 1: at 375 × 812 the step text and Back/Next are on the first screen and stay there while the diagram scrolls', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 375, height: 812 }, async ({ page }) => {
    const onScreen = async (what: string) => {
      for (const sel of ['[data-action="next"]', '[data-action="back"]', '[data-role="step-title"]', '[data-role="step-desc"]']) {
        const r = (await page.locator(sel).boundingBox())!;
        assert.ok(r && r.y >= 0 && r.y + r.height <= 812 && r.height > 0, `${what}: ${sel} is inside the 375 × 812 screen (${JSON.stringify(r)})`);
      }
    };
    await onScreen('first screen');
    for (let k = 0; k < 12; k++) await next(page);
    await onScreen('after 12 steps, no scrolling');
    // Scrolled to the diagram's bottom, the step panel is still on screen (sticky) above part of the diagram.
    await page.evaluate(() => window.scrollTo(0, document.querySelector('[data-role="diagram"]')!.getBoundingClientRect().bottom + window.scrollY - 812));
    await onScreen('scrolled to the bottom of the diagram');
    const diagram = (await page.locator('[data-role="diagram"]').boundingBox())!;
    assert.ok(diagram.y < 812 && diagram.y + diagram.height > 400, 'the diagram is in view under the panel');
    await page.locator('[data-action="next"]').click();
    await onScreen('after Next while scrolled');
    await page.screenshot({ path: join(shots, 'mobile-sticky.png') });
  });
});

test('view 1: edges are drawn blue (positive) and red (negative) as step 1 says, highlighted or not; a linear output for ReLU and tanh', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    const colours = () => page.locator('line[data-edge]').evaluateAll((els) => els.map((e) => ({ sign: e.getAttribute('data-sign'), stroke: getComputedStyle(e).stroke, w: e.closest('svg')!.querySelector(`text[data-edge="${e.getAttribute('data-edge')}"]`)!.textContent! })));
    for (let k = 0; k < 3; k++) {
      const cs = await colours();
      assert.equal(cs.length, 8);
      for (const c of cs) {
        const neg = c.w.startsWith('−');
        assert.equal(c.stroke, neg ? 'rgb(220, 38, 38)' : 'rgb(37, 99, 235)', `step ${k + 1}: the edge with w = ${c.w} is drawn ${c.stroke}`);
      }
      await next(page);
    }
    // Linear output: the numbers are the CLI's on the same network (ReLU or tanh hidden, identity output).
    for (const act of ['relu', 'tanh'] as const) {
      await setInput(page, 'activation', act);
      await setInput(page, 'outActivation', 'linear');
      await page.locator('[data-action="restart"]').click(); await next(page);
      assert.ok((await page.locator('[data-role="formulas"] .formula').evaluateAll((els) => els.map((e) => e.getAttribute('data-tex')))).some((x) => x!.startsWith('f_{\\text{out}}(x) = x')), 'step 2 names the output activation');
      await lastStep(page);
      const spec: NetworkSpec = structuredClone(explainJson().network);
      spec.layers.forEach((l, k) => { l.activation = k === spec.layers.length - 1 ? 'linear' : act; });
      const f = join(mkdtempSync(join(tmpdir(), 'backprop-net-')), 'net.json');
      writeFileSync(f, JSON.stringify(spec));
      await compareWithTrace(page, explainJson(['--network', f]), `${act} hidden, linear output`);
      await setInput(page, 'outActivation', 'same');
    }
  });
});

test('view 2: bars visible at the default scale, trends named by their size, saturation said, the loss sentence consistent, k1/k2 validated', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    await page.locator('[data-tab="bptt"]').click();
    const heights = await page.locator('rect[data-bar]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
    assert.equal(heights.length, 12);
    assert.ok(Math.min(...heights) >= 22, `every bar is at least a fifth of the chart at scale 1: ${heights.map((x) => x.toFixed(0)).join(', ')}`);
    assert.equal(await page.locator('[data-role="ratio"]').getAttribute('data-kind'), 'stable', 'scale 1: ratio ≈ 1');
    const kindAt = async (scale: string) => { await setInput(page, 'scale', scale); return page.locator('[data-role="ratio"]').getAttribute('data-kind'); };
    assert.equal(await kindAt('0.8'), 'vanishing', 'a ratio of 0.085 is vanishing, not roughly stable');
    assert.equal(await kindAt('1.2'), 'exploding', 'a ratio of 6.6 is exploding, not roughly stable');
    assert.equal(await page.locator('[data-role="saturation"]').isVisible(), false, 'no saturation at 1.2');
    assert.notEqual(await kindAt('2.5'), 'stable');
    assert.equal(await page.locator('[data-role="saturation"]').getAttribute('data-saturated'), 'true');
    assert.match((await page.locator('[data-role="saturation"]').textContent())!, /tanh saturates: \d+%/);
    await setInput(page, 'scale', '1');
    // k1 = k2 = 5: updates at 5 and 10; steps 11, 12 come after them — "every step" would be false.
    await setInput(page, 'k1', '5'); await setInput(page, 'k2', '5');
    const text = (await page.locator('[data-role="dropped"]').textContent())!;
    assert.doesNotMatch(text, /Every step’s loss/);
    assert.match(text, /up to step 10/);
    assert.match(text, /Steps 11, 12 come after the last update/);
    await setInput(page, 'k1', '4'); await setInput(page, 'k2', '4');
    assert.match((await page.locator('[data-role="dropped"]').textContent())!, /^Every step’s loss is backpropagated at least once\.$/);
    // k1, k2: 13, 0, abc, 2.6 are named, and the chart keeps the last valid windows.
    await setInput(page, 'k1', '5'); await setInput(page, 'k2', '3');
    const before = await windows(page);
    assert.deepEqual(before, ['3-5', '8-10']);
    for (const bad of ['13', '0', 'abc', '2.6', '']) {
      for (const k of ['k1', 'k2']) {
        await setInput(page, k, bad);
        assert.ok((await errorText(page, k))!.includes(`still using ${k === 'k1' ? 5 : 3}`), `${k}=${JSON.stringify(bad)} is named`);
        assert.deepEqual(await windows(page), before, `${k}=${JSON.stringify(bad)} leaves the chart as it was`);
        await setInput(page, k, k === 'k1' ? '5' : '3');
      }
    }
    assert.equal(await errorText(page, 'k1'), '');
    // The model and the ratio are typeset like view 1's formulas; in Chinese no English word is left.
    assert.ok(await page.locator('[data-role="rnn-formula"] .katex').count() > 0);
    assert.ok(await page.locator('[data-role="ratio"] .katex').count() > 0);
    await page.locator('[data-action="lang"]').click();
    const words = await page.evaluate(() => {
      const view = document.querySelector('[data-view="bptt"]')!;
      const walker = document.createTreeWalker(view, NodeFilter.SHOW_TEXT);
      const out: string[] = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (n.parentElement!.closest('.katex, svg, option')) continue;
        out.push(...(n.textContent!.match(/[A-Za-z]{4,}/g) ?? []));
      }
      return out.filter((w) => !['tanh', 'BPTT'].includes(w));
    });
    assert.deepEqual(words, [], 'view 2 in Chinese has no English word');
    assert.match(await page.title(), /[\u4e00-\u9fff]/, 'the page title is Chinese too');
    await page.locator('[data-action="lang"]').click();
  });
});

test('URL: a link reproduces the state of every view; Back and Forward move between views; a bad parameter is named', { timeout: 90_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page, open }) => {
    const hash = () => page.evaluate(() => location.hash);
    const settle = (p: Page) => p.waitForFunction(() => true).then(() => p.waitForTimeout(300)); // the 150 ms replaceState debounce
    // View 1, edited by hand.
    await setInput(page, 'input', '0.8'); await setInput(page, 'target', '0.2'); await setInput(page, 'lr', '0.3');
    await setInput(page, 'activation', 'tanh'); await setInput(page, 'outActivation', 'linear');
    await setInput(page, 'w1.1.1', '0.9'); await setInput(page, 'w3.2.1', '-0.25');
    await page.locator('[data-action="apply"]').click(); // one update: weights with many digits
    for (let k = 0; k < 14; k++) await next(page);
    // View 2.
    await page.locator('[data-tab="bptt"]').click();
    await setInput(page, 'scale', '0.6'); await setInput(page, 'lossMode', 'all'); await setInput(page, 'k1', '5'); await setInput(page, 'k2', '3');
    // View 3's settings.
    await page.locator('[data-tab="lm"]').click();
    await page.locator('[data-lm="preset"]').selectOption('small');
    await setLm(page, 'lr', '0.002'); await setLm(page, 'clip', '1');
    await page.locator('[data-lm="cell"]').selectOption('gru');
    await page.locator('[data-lm="corpus"]').selectOption('paste');
    await settle(page);
    const link = await hash();
    assert.match(link, /^#view=lm&/);
    for (const k of ['step=15', 'input=0.8', 'target=0.2', 'lr=0.3', 'act=tanh', 'out=linear', 'w=', 'scale=0.6', 'loss=all', 'k1=5', 'k2=3', 'lm-preset=small', 'lm-lr=0.002', 'lm-clip=1', 'lm-cell=gru', 'lm-data=paste']) assert.ok(link.includes(k), `the URL holds ${k}: ${link}`);

    // The error curve is the history of a training run, not state: the link carries the trained weights.
    const state = async (p: Page) => ({
      net: Object.fromEntries(Object.entries(await shownValues(p)).filter(([k]) => k !== ':trainError')),
      step: await p.locator('[data-role="step-counter"]').getAttribute('data-step'),
      formulas: await p.locator('[data-view="net"] [data-role="formulas"] .formula').evaluateAll((els) => els.map((e) => e.getAttribute('data-tex'))),
      fields: await p.locator('[data-view="net"] input[data-edit], [data-view="net"] select[data-edit]').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)),
      ratio: await p.locator('[data-role="ratio"]').getAttribute('data-ratio'),
      windows: await windows(p),
      dropped: await p.locator('[data-role="dropped"]').getAttribute('data-steps'),
      lm: await p.locator('[data-lm]').evaluateAll((els) => els.filter((e) => e.getAttribute('data-lm') !== 'text').map((e) => `${e.getAttribute('data-lm')}=${(e as HTMLInputElement).value}`)),
      view: await p.evaluate(() => document.querySelector<HTMLElement>('[data-view]:not([hidden])')!.dataset.view),
    });
    const byHand = await state(page);
    const copy = await open(link);
    assert.deepEqual(await state(copy), byHand, 'the link shows the same numbers, step, fields and view');
    assert.equal(await copy.locator('[data-lm="text"]').isVisible(), true, 'the paste box is shown for lm-data=paste (the text itself is not in the link)');
    assert.equal(await copy.evaluate(() => location.hash), link, 'and the same URL');
    assert.equal(await copy.locator('[data-role="url-note"]').isVisible(), false);
    await copy.close();

    // Back and Forward move between views; edits do not add history entries.
    const viewOf = async () => page.evaluate(() => document.querySelector<HTMLElement>('[data-view]:not([hidden])')!.dataset.view);
    const length = await page.evaluate(() => history.length);
    await page.goBack(); assert.equal(await viewOf(), 'bptt'); assert.match(await hash(), /^#view=bptt&/);
    assert.equal(await page.locator('[data-role="ratio"]').getAttribute('data-ratio'), byHand.ratio, 'view 2 as it was');
    await page.goBack(); assert.equal(await viewOf(), 'net');
    assert.deepEqual((await state(page)).net, byHand.net, 'view 1 as it was');
    await page.goForward(); assert.equal(await viewOf(), 'bptt');
    await page.goForward(); assert.equal(await viewOf(), 'lm');
    assert.equal(await page.evaluate(() => history.length), length);
    // An edit made after going back is kept when going forward and back again.
    await page.goBack(); await page.goBack();
    await setInput(page, 'lr', '0.1'); await settle(page);
    await page.goForward(); await page.goBack();
    assert.equal(await page.locator('[data-edit="lr"]').inputValue(), '0.1');
    assert.match(await hash(), /lr=0\.1(&|$)/);

    // Invalid parameters: defaults, and a note naming each one; the rest of the link still applies.
    const bad = await open('#view=bptt&lr=-1&k1=99&k2=2&w=1,2&scale=0.63&act=cubic&lm-hidden=abc&bogus=1');
    assert.equal(await bad.evaluate(() => document.querySelector<HTMLElement>('[data-view]:not([hidden])')!.dataset.view), 'bptt');
    const keys = await bad.locator('[data-role="url-note"] p').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
    assert.deepEqual([...keys].sort(), ['act', 'bogus', 'k1', 'lm-hidden', 'lr', 'scale', 'w'].sort());
    assert.match((await bad.locator('[data-role="url-note"]').textContent())!, /lr=-1 was not used \(negative: a number from 0 to 1000\)/);
    assert.equal(await bad.locator('[data-edit="k1"]').inputValue(), '4');
    assert.equal(await bad.locator('[data-edit="k2"]').inputValue(), '2');
    assert.equal(await bad.locator('[data-edit="lr"]').inputValue(), '0.5');
    assert.equal(await bad.evaluate(() => location.hash), '#view=bptt&k2=2', 'the address bar shows the state in use');
    await bad.locator('[data-action="lang"]').click();
    assert.match((await bad.locator('[data-role="url-note"]').textContent())!, /未被采用/);
    await bad.locator('[data-action="dismiss-url-note"]').click();
    assert.equal(await bad.locator('[data-role="url-note"]').isVisible(), false);
    await bad.locator('[data-action="lang"]').click();
    // The example link of docs/explorer.md applies as written.
    const doc = readFileSync(join(root, 'docs', 'explorer.md'), 'utf8');
    const example = /^(#view=net&step=15&\S+)$/m.exec(doc)![1]!;
    const docPage = await open(example);
    assert.equal(await docPage.locator('[data-role="url-note"]').isVisible(), false, 'the documented link is valid');
    assert.equal(await docPage.evaluate(() => location.hash), example, 'and canonical');
    // A link's text reaches the page as text only (no HTML from a URL), and 1e-400 is not rounded to 0.
    const inject = await open('#view=net&lr=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&input=1e-400');
    assert.equal(await inject.locator('main img').count(), 0);
    assert.match((await inject.locator('[data-role="url-note"]').textContent())!, /lr=<img src=x onerror=alert\(1\)> was not used \(not a number\)/);
    assert.match((await inject.locator('[data-role="url-note"]').textContent())!, /input=1e-400 was not used \(too small/);
    // A hash typed into the address bar of an open page applies in full (not only the view's part).
    await inject.evaluate(() => { location.hash = '#view=bptt&k1=6&lr=0.2'; });
    await inject.waitForFunction(() => document.querySelector<HTMLInputElement>('[data-edit="k1"]')!.value === '6');
    assert.equal(await inject.locator('[data-edit="lr"]').inputValue(), '0.2');
    assert.equal(await inject.locator('[data-role="url-note"]').isVisible(), false);
    // An old-style link (#bptt) still opens its view.
    const old = await open('#bptt');
    assert.equal(await old.evaluate(() => location.hash), '#view=bptt');
  });
});

async function setLm(page: Page, name: string, value: string): Promise<void> {
  await page.locator(`[data-lm="${name}"]`).evaluate((el, v) => {
    (el as HTMLInputElement).value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

test('keyboard: arrows step the walk unless a control has the focus; the focus survives a disabled button; tabs take arrow keys', { timeout: 60_000 }, async () => {
  await withExplorer({ width: 1280, height: 900 }, async ({ page }) => {
    const step = () => page.locator('[data-role="step-counter"]').getAttribute('data-step');
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');
    assert.equal(await step(), '1', 'ArrowRight with nothing focused steps');
    await page.locator('[data-edit="activation"]').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await step(), '1', 'ArrowRight on the activation select does not also step');
    await page.locator('[data-action="next"]').focus();
    while (!(await page.locator('[data-action="next"]').isDisabled())) await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'back', 'the focus moves to Back when Next disables');
    // Tabs: the WAI-ARIA pattern.
    await page.locator('[data-tab="net"]').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-tab')), 'bptt');
    assert.equal(await page.locator('[role="tabpanel"][data-view="bptt"]').isVisible(), true);
    await page.keyboard.press('End');
    assert.equal(await page.locator('[data-tab="lm"]').getAttribute('aria-selected'), 'true');
    await page.keyboard.press('Home');
    // The focus ring shows on the dark header's buttons (keyboard focus: Tab from the page's start).
    await page.locator('h1').click();
    for (const want of ['net', 'lang']) {
      await page.keyboard.press('Tab');
      const ring = await page.evaluate(() => { const e = document.activeElement as HTMLElement; const cs = getComputedStyle(e); return { who: e.dataset.tab ?? e.dataset.action, style: cs.outlineStyle, width: cs.outlineWidth, color: cs.outlineColor }; });
      assert.equal(ring.who, want);
      assert.deepEqual([ring.style, ring.width, ring.color], ['solid', '3px', 'rgb(245, 158, 11)'], `a visible ring on ${want}`);
    }
    // Accessible names: every parameter input and every chart.
    const unnamed = await page.evaluate(() => [
      ...Array.from(document.querySelectorAll('[data-view="net"] table input')).filter((e) => !e.getAttribute('aria-label')).map((e) => e.outerHTML),
      ...Array.from(document.querySelectorAll('[data-view="net"] svg, [data-view="bptt"] svg')).filter((e) => !e.closest('.katex') && !e.getAttribute('aria-label')).map((e) => e.getAttribute('class')),
    ]);
    assert.deepEqual(unnamed, []);
    assert.equal(await page.locator('[data-edit="w2.1.2"]').getAttribute('aria-label'), 'weight w2.1.2');
  });
});
