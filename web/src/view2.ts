/**
 * View 2: backpropagation through time. The RNN of rnn.ts unrolled over T steps: its forward states,
 * the norm of ∂E/∂h_t per step (vanishing or exploding as the recurrent scale changes), and the windows
 * truncated BPTT(k1, k2) backpropagates.
 *
 * Test hooks: `data-t="3" data-field="gradNorm"` (bar labels), `data-update="8"` rows with
 * `data-window="5-8"`, `data-role="dropped"` with `data-steps` (losses never backpropagated).
 */
import { h, s, svgRoot, tex } from './dom.js';
import { numberField, parseRule } from './fields.js';
import { onLangChange, t, type Key } from './i18n.js';
import { H, T, tbptt, unroll, xs, type Unrolled } from './rnn.js';
import type { Rejected, UrlPart } from './url-state.js';

/** Blue for positive, red for negative, paler toward 0 (|v| ≥ 1 is full colour). */
function diverging(v: number): string {
  const a = Math.min(1, Math.abs(v));
  const [r, g, b] = v >= 0 ? [37, 99, 235] : [220, 38, 38];
  const mix = (c: number) => Math.round(255 + (c - 255) * a);
  return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
}

const sci = (v: number) => (v === 0 ? '0' : v.toExponential(1));

/**
 * The gradient's trend from h_T back to h_1, by the mean factor per step back f = ratio^(1/(T−1)):
 * within 5% of 1 it is roughly stable; beyond 10% it vanishes or explodes; between, it shrinks or grows slowly.
 */
export function trend(ratio: number): 'vanishing' | 'shrinking' | 'stable' | 'growing' | 'exploding' {
  const f = ratio ** (1 / (T - 1));
  return f < 0.9 ? 'vanishing' : f < 0.95 ? 'shrinking' : f <= 1.05 ? 'stable' : f <= 1.1 ? 'growing' : 'exploding';
}
/** Share of hidden values where tanh saturates (|h| > 0.9, tanh′ < 0.19) above which the page says so. */
const SATURATED = 0.2;
const DEFAULTS = { scale: 1, lossMode: 'final' as 'final' | 'all', k1: 4, k2: 4 };
const SCALE = { min: 0.2, max: 2.5, step: 0.05 };
const onScaleGrid = (v: number) => v >= SCALE.min - 1e-9 && v <= SCALE.max + 1e-9 && Math.abs(v / SCALE.step - Math.round(v / SCALE.step)) < 1e-6;

/** Mount view 2 into `root`; `changed` is called after every edit. Returns the view's part of the URL state. */
export function mountBpttView(root: HTMLElement, changed: () => void = () => undefined): UrlPart {
  const st = { ...DEFAULTS };

  const intro = h('p', { class: 'intro' });
  // The RNN's equations, typeset like view 1's formulas.
  const model = h('div', { class: 'formula', 'data-role': 'rnn-formula' });
  tex(model, 'h_t = \\tanh(x_t W_{xh} + h_{t-1} W_{hh} + b),\\quad y_t = h_t W_{hy}');
  const scaleEl = h('input', { type: 'range', min: SCALE.min, max: SCALE.max, step: SCALE.step, value: st.scale, 'data-edit': 'scale' });
  const scaleOut = h('output', { 'data-role': 'scale' });
  const lossEl = h('select', { 'data-edit': 'lossMode' }, h('option', { value: 'final' }), h('option', { value: 'all' }));
  const kRule = { kind: 'int', min: 1, max: T } as const;
  const k1F = numberField('k1', kRule, st.k1), k2F = numberField('k2', kRule, st.k2);
  const labels: [HTMLElement, Key][] = [];
  const label = (key: Key | null, control: HTMLElement, extra?: HTMLElement) => {
    const span = h('span', {}, key ? '' : control.dataset.edit!);
    if (key) labels.push([span, key]);
    return h('label', {}, span, control, ...(extra ? [extra] : []));
  };
  const statesTitle = h('h3'), gradsTitle = h('h3'), tbTitle = h('h3');
  const states = h('div', { class: 'diagram', 'data-role': 'states' });
  const grads = h('div', { class: 'diagram', 'data-role': 'grads' });
  const ratio = h('p', { class: 'ratio', 'data-role': 'ratio', 'aria-live': 'polite' });
  const ratioTex = h('span'), ratioWords = h('span');
  ratio.append(ratioTex, ' ', ratioWords);
  const saturation = h('p', { class: 'saturation', 'data-role': 'saturation' });
  const tbDesc = h('p', { class: 'muted' });
  const tbChart = h('div', { class: 'diagram', 'data-role': 'tbptt' });
  const legend = h('div', { class: 'legend' });
  const dropped = h('p', { class: 'dropped', 'data-role': 'dropped' });
  root.append(
    intro, model,
    h('div', { class: 'panel' },
      h('div', { class: 'fields' }, label('scale', scaleEl, scaleOut), label('lossMode', lossEl)),
      statesTitle, states, gradsTitle, grads, ratio, saturation),
    h('div', { class: 'panel' },
      tbTitle, tbDesc,
      h('div', { class: 'fields' }, label(null, k1F.input, k1F.error), label(null, k2F.input, k2F.error)),
      tbChart, legend, dropped),
  );

  /** Columns for T steps inside `width`, leaving `left` for row labels. */
  const columns = (width: number, left: number) => {
    const col = (width - left - 8) / T;
    return { col, cx: (t: number) => left + (t - 0.5) * col };
  };

  function renderStates(full: Unrolled): void {
    const width = Math.max(300, Math.min(states.clientWidth || 800, 1000));
    const left = 44;
    const { col, cx } = columns(width, left);
    const cell = Math.min(16, col - 8), r = Math.min(9, col / 2 - 3);
    // Forward: t, x_t, h_t (colours scaled to the largest |h| so small states stay visible).
    const yT = 14, yX = 38, yH = 62, hH = H * (cell + 2);
    const svg = svgRoot(width, yH + hH + 8, { class: 'rnn', role: 'img', 'aria-label': t('statesLabel') });
    const defs = s('defs', {}, svg);
    const marker = s('marker', { id: 'arrow', viewBox: '0 0 6 6', refX: 5, refY: 3, markerWidth: 6, markerHeight: 6, orient: 'auto' }, defs);
    s('path', { d: 'M0,0 L6,3 L0,6 z', class: 'arrowhead' }, marker);
    s('text', { x: 4, y: yX + 4, class: 'lbl rowname' }, svg, 'xₜ');
    s('text', { x: 4, y: yH + hH / 2 + 4, class: 'lbl rowname' }, svg, 'hₜ');
    const hMax = Math.max(1e-12, ...full.h.flat().map(Math.abs));
    const xMax = Math.max(1e-12, ...xs.slice(1).map(Math.abs));
    for (let t = 1; t <= T; t++) {
      const x = cx(t);
      s('text', { x, y: yT, 'text-anchor': 'middle', class: 'lbl tick' }, svg, String(t));
      s('circle', { cx: x, cy: yX, r, fill: diverging(xs[t]! / xMax), class: 'cellbox' }, svg);
      full.h[t - 1]!.forEach((v, u) => s('rect', { x: x - cell / 2, y: yH + u * (cell + 2), width: cell, height: cell, fill: diverging(v / hMax), class: 'cellbox' }, svg));
      if (t < T) s('line', { x1: x + cell / 2 + 1, y1: yH + hH / 2, x2: cx(t + 1) - cell / 2 - 3, y2: yH + hH / 2, class: 'flow', 'marker-end': 'url(#arrow)' }, svg);
    }
    states.replaceChildren(svg);

    // Backward: ‖∂E/∂h_t‖ on a log scale, the value written above each bar. The axis starts at least
    // half a decade (or a quarter of the data's range) below the smallest bar, so every bar has a visible
    // height even when the norms are nearly equal (scale 1: all about 0.1).
    const labelBand = 58, barH = 110, yBars = labelBand + 4;
    const gsvg = svgRoot(width, yBars + barH + 22, { class: 'rnn', role: 'img', 'aria-label': t('gradsLabel', { T }) });
    const logs = full.norms.map((n) => (n > 0 ? Math.log10(n) : null));
    const shownLogs = logs.filter((v): v is number => v !== null);
    const minLog = Math.min(...shownLogs, 0), maxLog = Math.max(...shownLogs, minLog);
    const lo = Math.floor(minLog - Math.max(0.5, 0.25 * (maxLog - minLog))), hi = Math.max(lo + 1, Math.ceil(maxLog));
    const barY = (lg: number) => yBars + barH - ((lg - lo) / (hi - lo)) * barH;
    // A grid line per decade; labels as far apart as 14 px allow.
    const every = Math.max(1, Math.ceil((14 * (hi - lo)) / barH));
    for (let d = lo; d <= hi; d++) {
      s('line', { x1: left - 4, y1: barY(d), x2: width - 8, y2: barY(d), class: d === lo ? 'axis' : 'grid' }, gsvg);
      if ((hi - d) % every === 0) s('text', { x: left - 6, y: barY(d) + 4, 'text-anchor': 'end', class: 'lbl tick' }, gsvg, `1e${d}`.replace('-', '−'));
    }
    for (let t = 1; t <= T; t++) {
      const x = cx(t);
      const n = full.norms[t - 1]!;
      const lg = logs[t - 1]!;
      const top = lg === null ? yBars + barH : barY(lg);
      s('rect', { x: x - r, y: top, width: 2 * r, height: Math.max(lg === null ? 0 : 1, yBars + barH - top), class: 'bar', 'data-bar': t }, gsvg);
      s('text', { x, y: labelBand - 2, transform: `rotate(-90 ${x} ${labelBand - 2})`, class: 'lbl tick', 'dominant-baseline': 'middle', 'data-t': t, 'data-field': 'gradNorm', 'data-value': n }, gsvg, sci(n));
      s('text', { x, y: yBars + barH + 16, 'text-anchor': 'middle', class: 'lbl tick' }, gsvg, `h${t}`);
    }
    grads.replaceChildren(gsvg);

    const ratioValue = full.norms[0]! / Math.max(full.norms[T - 1]!, 1e-300);
    const kind = trend(ratioValue);
    const [mant, exp] = sci(ratioValue).split('e');
    tex(ratioTex, `\\frac{\\lVert \\partial E/\\partial h_1 \\rVert}{\\lVert \\partial E/\\partial h_{${T}} \\rVert} = ${exp === undefined ? mant : `${mant}\\times 10^{${Number(exp)}}`}`);
    ratioWords.textContent = `(${t(kind)}; ${t('perStep', { f: (ratioValue ** (1 / (T - 1))).toFixed(2) })})`;
    ratio.dataset.kind = kind;
    ratio.dataset.ratio = String(ratioValue);
    // Saturation: where |h| is near 1, tanh′ = 1 − h² is near 0 and damps what passes back through.
    const hs = full.h.flat();
    const sat = hs.filter((v) => Math.abs(v) > 0.9).length / hs.length;
    saturation.dataset.saturated = String(sat >= SATURATED);
    saturation.dataset.fraction = String(sat);
    saturation.textContent = sat >= SATURATED ? t('saturated', { pct: Math.round(100 * sat) }) : '';
    saturation.hidden = sat < SATURATED;
  }

  function renderTbptt(): void {
    const { updates, tail } = tbptt(st.scale, st.k1, st.k2);
    const width = Math.max(300, Math.min(tbChart.clientWidth || 800, 1000));
    const left = 44;
    const { col, cx } = columns(width, left);
    const rowH = 30, top = 20;
    const height = top + Math.max(1, updates.length) * rowH + 8;
    const svg = svgRoot(width, height, { class: 'tb', role: 'img', 'aria-label': t('tbpttLabel') });
    for (let t = 1; t <= T; t++) s('text', { x: cx(t), y: 12, 'text-anchor': 'middle', class: 'lbl tick' }, svg, String(t));
    const allLogs = updates.flatMap((u) => u.norms.filter((n) => n > 0).map((n) => Math.log10(n)));
    const lo = Math.min(...allLogs, 0), hi = Math.max(...allLogs, lo + 1);
    updates.forEach((u, k) => {
      const y = top + k * rowH;
      const g = s('g', { 'data-update': u.t, 'data-window': `${u.start}-${u.t}`, 'data-used': u.used.join(','), 'data-dropped-steps': u.dropped.join(',') }, svg);
      s('text', { x: 4, y: y + rowH / 2 + 4, class: 'lbl rowname' }, g, `t=${u.t}`);
      for (let t = 1; t <= T; t++) {
        const x = cx(t) - col / 2 + 1;
        const inWin = t >= u.start && t <= u.t;
        const n = inWin ? u.norms[t - u.start]! : 0;
        const shade = inWin ? (n > 0 ? 0.25 + 0.75 * (Math.log10(n) - lo) / (hi - lo) : 0.12) : 0;
        s('rect', { x, y: y + 2, width: col - 2, height: rowH - 6, rx: 3, class: inWin ? 'win' : 'nowin', 'fill-opacity': inWin ? shade.toFixed(3) : undefined }, g);
        if (u.used.includes(t)) s('circle', { cx: cx(t), cy: y + rowH - 9, r: 3.5, class: 'loss-used' }, g);
        if (u.dropped.includes(t)) s('text', { x: cx(t), y: y + rowH / 2 + 4, 'text-anchor': 'middle', class: 'loss-dropped' }, g, '×');
      }
    });
    tbChart.replaceChildren(svg);

    legend.replaceChildren(
      h('span', {}, h('i', { class: 'sw win' }), t('legendWindow')),
      h('span', {}, h('i', { class: 'sw used' }), t('legendLoss')),
      h('span', {}, h('i', { class: 'sw dropped' }, '×'), t('legendDropped')),
    );
    const drop = updates.flatMap((u) => u.dropped);
    dropped.dataset.steps = drop.join(',');
    // With steps after the last update, "every step" would be false: say up to which step it holds.
    const last = updates.at(-1)?.t ?? 0;
    const parts = [drop.length ? t('droppedSome', { steps: drop.join(', ') }) : tail.length ? t('droppedNoneUpTo', { last }) : t('droppedNone')];
    if (tail.length) parts.push(t('droppedTail', { steps: tail.join(', ') }));
    dropped.textContent = parts.join(' ');
    dropped.classList.toggle('warn', drop.length > 0);
  }

  function render(): void {
    intro.textContent = t('bpttIntro', { H, T });
    for (const [el, key] of labels) el.textContent = t(key);
    (lossEl.options[0]!).textContent = t('lossFinal');
    (lossEl.options[1]!).textContent = t('lossAll');
    statesTitle.textContent = t('statesTitle');
    gradsTitle.textContent = t('gradsTitle');
    tbTitle.textContent = t('tbpttTitle');
    tbDesc.textContent = t('tbpttDesc');
    scaleOut.textContent = st.scale.toFixed(2);
    k1F.relabel(); k2F.relabel();
    renderStates(unroll(st.scale, (u) => st.lossMode === 'all' || u === T));
    // The truncated windows start from the same forward run's states (TBPTT carries them; no update changes the weights).
    renderTbptt();
  }

  scaleEl.addEventListener('input', () => { st.scale = Number(scaleEl.value); render(); changed(); });
  lossEl.addEventListener('change', () => { st.lossMode = lossEl.value as 'final' | 'all'; render(); changed(); });
  // k1, k2: a whole number from 1 to T, or a message beside the field and the chart kept as it was.
  k1F.input.addEventListener('input', () => { const v = k1F.read(st.k1); if (v !== null) { st.k1 = v; render(); changed(); } });
  k2F.input.addEventListener('input', () => { const v = k2F.read(st.k2); if (v !== null) { st.k2 = v; render(); changed(); } });

  onLangChange(render);
  let lastWidth = 0;
  new ResizeObserver(() => {
    const w = states.clientWidth;
    if (w !== lastWidth) { lastWidth = w; render(); }
  }).observe(states);
  render();

  // ---- the URL: scale, loss, k1, k2 ----
  return {
    keys: ['scale', 'loss', 'k1', 'k2'],
    get() {
      const out: Record<string, string> = {};
      if (st.scale !== DEFAULTS.scale) out.scale = String(st.scale);
      if (st.lossMode !== DEFAULTS.lossMode) out.loss = st.lossMode;
      if (st.k1 !== DEFAULTS.k1) out.k1 = String(st.k1);
      if (st.k2 !== DEFAULTS.k2) out.k2 = String(st.k2);
      return out;
    },
    set(p) {
      const rejected: Rejected[] = [];
      const raw = { scale: p.get('scale'), loss: p.get('loss'), k1: p.get('k1'), k2: p.get('k2') };
      const scale = raw.scale === null ? DEFAULTS.scale : Number(raw.scale);
      // The slider holds only its own grid (a value between would be moved to the nearest step): say so.
      if (raw.scale !== null && (raw.scale.trim() === '' || !onScaleGrid(scale))) {
        rejected.push({ key: 'scale', value: raw.scale, why: t('errScale', SCALE) });
        st.scale = DEFAULTS.scale;
      } else st.scale = scale;
      if (raw.loss !== null && raw.loss !== 'final' && raw.loss !== 'all') rejected.push({ key: 'loss', value: raw.loss, why: t('errChoice', { options: 'final, all' }) });
      st.lossMode = raw.loss === 'all' ? 'all' : 'final';
      for (const k of ['k1', 'k2'] as const) {
        const v = raw[k];
        const r = v === null ? null : parseRule(v, kRule);
        if (r && !r.ok) rejected.push({ key: k, value: v!, why: r.why });
        st[k] = r && r.ok ? r.value : DEFAULTS[k];
      }
      scaleEl.value = String(st.scale);
      lossEl.value = st.lossMode;
      k1F.set(st.k1); k2F.set(st.k2);
      render();
      return rejected;
    },
  };
}
