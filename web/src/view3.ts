/**
 * View 3: train a character-level language model in the page. The training runs in a Web Worker
 * (lm-worker.ts); this view only sends it commands and draws what it reports, in slices small enough
 * that the main thread never blocks (no long task while training: the browser test measures it).
 *
 * Test hooks: `data-lm="<knob>"` inputs, `data-action="lm-start|lm-pause|lm-reset|lm-dl-<format>"`,
 * `data-role="lm-load"` (file input), `data-stat="<name>"` (numbers; `windows` and `digest`, the
 * weights' fingerprint, are refreshed whenever training stops), `data-role="lm-mode"` with `data-mode`,
 * `data-isolation` ('headers' | 'service-worker' | 'none'), `data-state` on the view root ('idle' | 'running' |
 * 'paused'), `data-role="lm-sample"`.
 */
import { h } from './dom.js';
import type { Rejected, UrlPart } from './url-state.js';
import { onLangChange, t, type Key } from './i18n.js';
import type { Corpus, EngineMode, FromWorker, LmSettings, SaveFormat, ToWorker } from './lm-protocol.js';

/** Presets sized for a laptop: seconds (tiny) to a few minutes (medium) for readable samples. */
export const LM_PRESETS: Record<string, LmSettings> = {
  tiny: { cell: 'lstm', hidden: 64, layers: 1, k1: 16, k2: 16, batch: 16, optimizer: 'adam', lr: 0.01, clip: 5, dropout: 0, seed: 1 },
  small: { cell: 'lstm', hidden: 128, layers: 2, k1: 32, k2: 32, batch: 32, optimizer: 'adam', lr: 0.005, clip: 5, dropout: 0, seed: 1 },
  medium: { cell: 'lstm', hidden: 256, layers: 2, k1: 64, k2: 64, batch: 32, optimizer: 'adam', lr: 0.003, clip: 5, dropout: 0.1, seed: 1 },
  gru: { cell: 'gru', hidden: 128, layers: 1, k1: 32, k2: 32, batch: 32, optimizer: 'adam', lr: 0.005, clip: 5, dropout: 0, seed: 1 },
  // A plain tanh RNN through 50 steps: the heatmap shows the gradient vanishing toward the window's start.
  rnn: { cell: 'rnn', hidden: 128, layers: 1, k1: 10, k2: 50, batch: 16, optimizer: 'adam', lr: 0.002, clip: 1, dropout: 0, seed: 1 },
};

type Knob = Exclude<keyof LmSettings, 'seed'>;
const NUMERIC: { key: Knob; label: Key; kind: 'int' | 'pos' | 'nonneg' | 'frac'; min?: number }[] = [
  { key: 'hidden', label: 'lmHidden', kind: 'int', min: 1 },
  { key: 'layers', label: 'lmLayers', kind: 'int', min: 1 },
  { key: 'k1', label: 'lmK1', kind: 'int', min: 1 },
  { key: 'k2', label: 'lmK2', kind: 'int', min: 1 },
  { key: 'batch', label: 'lmBatch', kind: 'int', min: 1 },
  { key: 'lr', label: 'lmLr', kind: 'pos' },
  { key: 'clip', label: 'lmClip', kind: 'nonneg' },
  { key: 'dropout', label: 'lmDropout', kind: 'frac' },
];

/** A field's value, or the message saying why it is not valid (never a silently adjusted number). */
function parseField(raw: string, kind: 'int' | 'pos' | 'nonneg' | 'frac', min = 1): number | string {
  const v = raw.trim() === '' ? NaN : Number(raw);
  const ok = Number.isFinite(v) && (
    kind === 'int' ? Number.isInteger(v) && v >= min : kind === 'pos' ? v > 0 : kind === 'nonneg' ? v >= 0 : v >= 0 && v < 1);
  if (ok) return v;
  return kind === 'int' ? t('lmNeedInt', { min }) : kind === 'pos' ? t('lmNeedPositive') : kind === 'nonneg' ? t('lmNeedNonNeg') : t('lmNeedFraction');
}

/** The select's values → what the worker trains on (the pasted text only for 'paste'). */
const CORPORA: Record<string, (pasted: string) => { corpus: Corpus; text?: string }> = {
  shakespeare: () => ({ corpus: 'tinyshakespeare' }),
  lunyu: () => ({ corpus: 'lunyu' }),
  paste: (text) => ({ corpus: 'pasted', text }),
};

/**
 * Where the page's cross-origin isolation comes from: the server's COOP/COEP headers, the service worker
 * an exported site ships (coi-serviceworker.js adds the headers to every response it serves, after one
 * reload; see docs/explorer.md), or nowhere.
 */
function isolation(): 'headers' | 'service-worker' | 'none' {
  if (!globalThis.crossOriginIsolated) return 'none';
  return navigator.serviceWorker?.controller ? 'service-worker' : 'headers';
}

/** Steps per window, as the worker cuts them (lm-worker.ts `windowSteps`). */
const windowSteps = (s: LmSettings) => s.k1 * Math.ceil(Math.max(s.k1, s.k2) / s.k1);
const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const big = (v: number) => Math.round(v).toLocaleString('en-US');

interface Point { x: number; y: number }

/** Lines over a shared x axis (tokens) on a canvas; y range from the data; `map` transforms y for display. */
function drawCurves(c: HTMLCanvasElement, series: { pts: Point[]; color: string }[], map: (y: number) => number, legend: string[]): void {
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const W = c.width, H = c.height, padL = 44, padB = 18, padT = 16;
  ctx.clearRect(0, 0, W, H);
  const all = series.flatMap((s) => s.pts);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#6b7280';
  if (all.length === 0) return;
  const ys = all.map((p) => map(p.y)).filter(Number.isFinite);
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const xmax = Math.max(...all.map((p) => p.x), 1);
  const X = (x: number) => padL + (x / xmax) * (W - padL - 6), Y = (y: number) => padT + (1 - (map(y) - lo) / (hi - lo)) * (H - padT - padB);
  ctx.strokeStyle = '#d1d5db';
  ctx.beginPath(); ctx.moveTo(padL, padT); ctx.lineTo(padL, H - padB); ctx.lineTo(W, H - padB); ctx.stroke();
  ctx.fillText(hi.toFixed(2), 2, padT + 4);
  ctx.fillText(lo.toFixed(2), 2, H - padB);
  ctx.fillText(`${big(xmax)}`, W - 60, H - 4);
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.pts.forEach((p, k) => (k ? ctx.lineTo(X(p.x), Y(p.y)) : ctx.moveTo(X(p.x), Y(p.y))));
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillText(legend[i] ?? '', padL + 8 + i * 90, 11);
  });
}

/** The ‖∂E/∂h‖ heatmap: one column per report, rows = window steps per layer; colour = log10 norm. */
function drawHeat(c: HTMLCanvasElement, cols: number[][][]): void {
  const ctx = c.getContext('2d');
  if (!ctx || cols.length === 0) return;
  const rows = cols[cols.length - 1]!.reduce((n, l) => n + l.length + 1, -1);
  const flat = cols.map((col) => col.flatMap((l, i) => (i ? [NaN, ...l] : l)));
  let lo = Infinity, hi = -Infinity;
  for (const col of flat) for (const v of col) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi - lo < 1e-9) hi = lo + 1;
  if (c.width !== cols.length || c.height !== rows) { c.width = Math.max(1, cols.length); c.height = Math.max(1, rows); }
  const img = ctx.createImageData(c.width, c.height);
  flat.forEach((col, x) => col.forEach((v, y) => {
    if (y >= c.height) return;
    const o = (y * c.width + x) * 4;
    if (!Number.isFinite(v)) { img.data[o + 3] = 0; return; }
    const a = (v - lo) / (hi - lo);   // dark blue (vanishing) → yellow (large)
    img.data[o] = Math.round(20 + 235 * a); img.data[o + 1] = Math.round(30 + 190 * a); img.data[o + 2] = Math.round(90 - 60 * a); img.data[o + 3] = 255;
  }));
  ctx.putImageData(img, 0, 0);
}

export function mountLmView(root: HTMLElement, changed: () => void = () => undefined): UrlPart {
  const HEAT_COLS = 240;
  const st = {
    settings: { ...LM_PRESETS.tiny! },
    mode: null as EngineMode | null,
    configured: false, running: false, pending: false,
    train: [] as Point[], valid: [] as Point[], heat: [] as number[][][],
    updates: 0, clipped: 0, tokens: 0, firstWindow: 0,
    status: null as { key: Key; vars: Record<string, string | number> }[] | null,
  };
  root.dataset.state = 'idle';

  const labels: [HTMLElement, Key][] = [];
  const txt = (tag: 'span' | 'h3' | 'p' | 'button' | 'option' | 'figcaption', key: Key, attrs: Record<string, string> = {}) => {
    const el = h(tag, attrs);
    labels.push([el, key]);
    return el;
  };

  // Engine mode and data.
  const mode = h('p', { class: 'muted', 'data-role': 'lm-mode' });
  const corpus = h('select', { 'data-lm': 'corpus' }, txt('option', 'lmShakespeare', { value: 'shakespeare' }), txt('option', 'lmLunyu', { value: 'lunyu' }), txt('option', 'lmPasted', { value: 'paste' }));
  // The Analects' source and licence, shown while they are the chosen text (the note ships with them).
  const lunyuNote = h('p', { class: 'muted', 'data-role': 'lm-lunyu-note', hidden: '' }, txt('span', 'lmLunyuNote'), ' ',
    h('a', { href: 'data/lunyu.LICENSE.txt', target: '_blank', rel: 'noopener' }, txt('span', 'lmLunyuLicence')));
  const paste = h('textarea', { 'data-lm': 'text', rows: '5', hidden: true, class: 'lm-paste' });
  const presetSel = h('select', { 'data-lm': 'preset' }, ...Object.keys(LM_PRESETS).map((k) => h('option', { value: k }, k)));
  const cellSel = h('select', { 'data-lm': 'cell' }, ...['lstm', 'gru', 'rnn'].map((k) => h('option', { value: k }, k.toUpperCase())));
  const optSel = h('select', { 'data-lm': 'optimizer' }, ...['adam', 'momentum', 'sgd'].map((k) => h('option', { value: k }, k)));
  const inputs = new Map<Knob, HTMLInputElement>();
  const errors = new Map<Knob, HTMLElement>();
  const field = (key: Knob, label: Key, control: HTMLElement) => {
    const err = h('span', { class: 'field-error', 'data-error': key, role: 'alert' });
    errors.set(key, err);
    return h('label', {}, txt('span', label), control, err);
  };
  const numFields = NUMERIC.map((f) => {
    const el = h('input', { type: 'text', inputmode: 'decimal', 'data-lm': f.key, 'aria-invalid': 'false' });
    inputs.set(f.key, el);
    return field(f.key, f.label, el);
  });
  const stopAt = h('input', { type: 'text', inputmode: 'numeric', 'data-lm': 'stopAt', value: '0' });
  const stopErr = h('span', { class: 'field-error', 'data-error': 'stopAt', role: 'alert' });
  const pendingNote = txt('p', 'lmPending', { class: 'muted', 'data-role': 'lm-pending', hidden: '' });

  const startBtn = h('button', { type: 'button', class: 'primary', 'data-action': 'lm-start' });
  const pauseBtn = txt('button', 'lmPause', { type: 'button', 'data-action': 'lm-pause' }) as HTMLButtonElement;
  const resetBtn = txt('button', 'lmReset', { type: 'button', 'data-action': 'lm-reset' });
  const status = h('p', { class: 'muted', 'data-role': 'lm-status', 'aria-live': 'polite' });

  const statNames: [string, Key][] = [
    ['windows', 'lmStatWindows'], ['tokens', 'lmStatTokens'], ['speed', 'lmStatSpeed'], ['train', 'lmStatTrain'],
    ['valid', 'lmStatValid'], ['ppl', 'lmStatPpl'], ['clip', 'lmStatClip'], ['params', 'lmStatParams'], ['vocab', 'lmStatVocab'], ['memory', 'lmStatMemory'], ['digest', 'lmStatDigest'],
  ];
  const stat = new Map<string, HTMLElement>();
  const stats = h('dl', { class: 'lm-stats' }, ...statNames.flatMap(([k, key]) => {
    const dd = h('dd', { 'data-stat': k }, '—');
    stat.set(k, dd);
    return [h('div', {}, h('dt', {}, txt('span', key)), dd)];
  }));

  const lossCanvas = h('canvas', { width: '640', height: '180', class: 'lm-chart', 'data-role': 'lm-loss', role: 'img' });
  const pplCanvas = h('canvas', { width: '640', height: '180', class: 'lm-chart', 'data-role': 'lm-ppl', role: 'img' });
  const heatCanvas = h('canvas', { width: '1', height: '1', class: 'lm-heat', 'data-role': 'lm-heat', role: 'img' });

  const temp = h('input', { type: 'range', min: '0', max: '1.5', step: '0.05', value: '0.8', 'data-lm': 'temperature' });
  const tempOut = h('output', {}, '0.80');
  const sample = h('pre', { class: 'lm-sample', 'data-role': 'lm-sample' });
  const sampleWait = txt('p', 'lmSampleWait', { class: 'muted' });

  const dl = (f: SaveFormat, key: Key) => {
    const b = txt('button', key, { type: 'button', 'data-action': `lm-dl-${f}` });
    b.addEventListener('click', () => send({ type: 'save', format: f }));
    return b;
  };
  const loadInput = h('input', { type: 'file', 'data-role': 'lm-load', accept: '.safetensors,.ckpt,.bin' });

  root.append(
    h('div', { class: 'panel' },
      txt('p', 'lmIntro', { class: 'intro' }), mode,
      h('div', { class: 'fields' },
        h('label', {}, txt('span', 'lmData'), corpus), h('label', {}, txt('span', 'lmPreset'), presetSel),
        h('label', {}, txt('span', 'lmCell'), cellSel), h('label', {}, txt('span', 'lmOptimizer'), optSel), ...numFields),
      paste, lunyuNote, pendingNote,
      h('div', { class: 'train-row' }, startBtn, pauseBtn, resetBtn,
        h('label', { class: 'fields' }, txt('span', 'lmStopAt'), stopAt, stopErr)),
      status),
    h('div', { class: 'panel' }, stats),
    h('div', { class: 'below' },
      h('div', { class: 'panel' }, txt('h3', 'lmLossTitle'), lossCanvas, txt('h3', 'lmPplTitle'), pplCanvas),
      h('div', { class: 'panel' }, txt('h3', 'lmHeatTitle'), heatCanvas, txt('p', 'lmHeatNote', { class: 'muted' }))),
    h('div', { class: 'panel' },
      txt('h3', 'lmSampleTitle'),
      h('div', { class: 'fields' }, h('label', {}, txt('span', 'lmTemperature'), temp, tempOut)),
      sampleWait, sample),
    h('div', { class: 'panel' },
      txt('h3', 'lmDownload'),
      h('div', { class: 'train-row' }, dl('safetensors', 'lmDlSafetensors'), dl('onnx', 'lmDlOnnx'), dl('checkpoint', 'lmDlCheckpoint')),
      h('label', { class: 'lm-load' }, txt('span', 'lmLoad'), loadInput)),
  );

  const worker = new Worker(new URL('lm-worker.js', document.baseURI), { type: 'module' });
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

  // --- Settings ---------------------------------------------------------------------------------
  const showSettings = (s: LmSettings) => {
    cellSel.value = s.cell; optSel.value = s.optimizer;
    for (const f of NUMERIC) { const el = inputs.get(f.key)!; el.value = String(s[f.key]); el.classList.remove('invalid'); el.setAttribute('aria-invalid', 'false'); errors.get(f.key)!.textContent = ''; }
  };
  /** The knobs as settings, or null with every invalid field marked and explained. */
  const readSettings = (): LmSettings | null => {
    // A loaded model's embedding size is not a knob: a new run embeds at the hidden size.
    const { embed: _loaded, ...kept } = st.settings;
    const out: LmSettings = { ...kept, cell: cellSel.value as LmSettings['cell'], optimizer: optSel.value as LmSettings['optimizer'] };
    let ok = true;
    for (const f of NUMERIC) {
      const el = inputs.get(f.key)!, r = parseField(el.value, f.kind, f.min);
      const bad = typeof r === 'string';
      el.classList.toggle('invalid', bad);
      el.setAttribute('aria-invalid', String(bad));
      errors.get(f.key)!.textContent = bad ? t('lmInvalid', { what: r }) : '';
      if (bad) ok = false; else (out as unknown as Record<string, number>)[f.key] = r;
    }
    return ok ? out : null;
  };
  const markPending = () => { st.pending = st.configured; pendingNote.hidden = !st.pending; void readSettings(); };
  for (const el of [...inputs.values(), cellSel, optSel]) el.addEventListener('input', markPending);
  presetSel.addEventListener('change', () => { showSettings(LM_PRESETS[presetSel.value]!); markPending(); });
  corpus.addEventListener('change', () => { paste.hidden = corpus.value !== 'paste'; lunyuNote.hidden = corpus.value !== 'lunyu'; markPending(); });
  paste.addEventListener('input', markPending);
  paste.addEventListener('dragover', (e) => e.preventDefault());
  paste.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) void f.text().then((s) => { paste.value = s; markPending(); });
  });
  temp.addEventListener('input', () => { tempOut.textContent = Number(temp.value).toFixed(2); send({ type: 'temperature', value: Number(temp.value) }); });

  // --- Commands ---------------------------------------------------------------------------------
  const clearRun = () => {
    st.train = []; st.valid = []; st.heat = []; st.updates = 0; st.clipped = 0; st.tokens = 0; st.firstWindow = 0;
    for (const k of ['windows', 'tokens', 'speed', 'train', 'valid', 'ppl', 'clip', 'digest']) stat.get(k)!.textContent = '—';
    sample.textContent = '';
    draw();
  };
  /** Configure a fresh run from the knobs; false (with the fields marked) when a knob is invalid. */
  const configure = (): boolean => {
    const s = readSettings();
    if (!s) return false;
    st.settings = s;
    clearRun();
    send({ type: 'configure', settings: s, ...CORPORA[corpus.value]!(paste.value) });
    st.configured = true; st.pending = false; pendingNote.hidden = true;
    return true;
  };
  startBtn.addEventListener('click', () => {
    if (st.running) return;
    if (!st.configured || st.pending) { if (!configure()) return; }
    const stop = parseField(stopAt.value, 'int', 0);
    stopErr.textContent = typeof stop === 'string' ? t('lmInvalid', { what: stop }) : '';
    stopAt.classList.toggle('invalid', typeof stop === 'string');
    if (typeof stop === 'string') return;
    send({ type: 'start', ...(stop > 0 ? { until: stop } : {}) });
    // Running from now on (the worker confirms): Pause is available at once, and goes out after the start.
    st.running = true;
    setButtons();
  });
  pauseBtn.addEventListener('click', () => send({ type: 'pause' }));
  resetBtn.addEventListener('click', () => { send({ type: 'pause' }); configure(); });
  loadInput.addEventListener('change', () => {
    const f = loadInput.files?.[0];
    if (!f) return;
    void f.arrayBuffer().then((buf) => { clearRun(); send({ type: 'load', name: f.name, bytes: buf }, [buf]); loadInput.value = ''; });
  });

  // --- Drawing ----------------------------------------------------------------------------------
  let frame = 0;
  const draw = () => {
    frame = 0;
    const series = [{ pts: st.train, color: '#f59e0b' }, { pts: st.valid, color: '#2563eb' }];
    const legend = [t('lmTrainLegend'), t('lmValidLegend')];
    drawCurves(lossCanvas, series, (y) => y, legend);
    drawCurves(pplCanvas, series, (y) => Math.exp(y), legend);
    drawHeat(heatCanvas, st.heat);
  };
  const schedule = () => { if (!frame) frame = requestAnimationFrame(draw); };

  const renderText = () => {
    for (const [el, key] of labels) el.textContent = t(key);
    startBtn.textContent = t(st.configured && !st.pending && st.train.length ? 'lmResume' : 'lmStart');
    const m = st.mode;
    mode.textContent = !m ? t('lmStarting') : m.backend === 'js' ? t('lmModeJs')
      : m.mode === 'threaded' ? t('lmModeThreaded', { threads: m.threads })
      : t('lmModeSingle', { memory: m.memory === 'fixed' ? t('lmMemFixed', { size: `${m.memoryBytes / 2 ** 20} MiB` }) : t('lmMemResizable') });
    if (m) {
      mode.dataset.mode = m.mode;
      mode.dataset.isolation = isolation();
      if (mode.dataset.isolation === 'service-worker') mode.textContent += ` ${t('lmIsoServiceWorker')}`;
      else if (m.mode === 'single' && m.backend !== 'js') mode.textContent += ` ${t('lmIsoHint')}`;
    }
    status.textContent = st.status ? st.status.map((s) => t(s.key, s.vars)).join(' ') : '';
    schedule();
  };
  const setButtons = () => {
    startBtn.disabled = st.running || !st.mode;
    pauseBtn.disabled = !st.running;
    root.dataset.state = st.running ? 'running' : st.train.length ? 'paused' : 'idle';
    renderText();
  };

  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    switch (m.type) {
      case 'ready': { const { type: _t, ...rest } = m; st.mode = rest; setButtons(); break; }
      case 'configured':
        st.settings = m.settings; showSettings(m.settings);
        changed();   // a loaded model's settings (or a reset's) go into the URL like typed ones
        stat.get('params')!.textContent = big(m.params); stat.get('vocab')!.textContent = String(m.vocabSize);
        st.status = [{ key: 'lmConfigured', vars: { source: m.source === 'tinyshakespeare' ? 'Tiny Shakespeare' : m.source === 'lunyu' ? t('lmLunyu') : m.source === 'pasted' ? t('lmPasted') : m.source, train: big(m.trainTokens), valid: big(m.validTokens), vocab: m.vocabSize } }];
        if (m.dropped) st.status.push({ key: 'lmDropped', vars: { n: big(m.dropped) } });
        st.configured = true;
        renderText();
        break;
      case 'progress':
        st.tokens = m.tokens; st.updates += m.updates; st.clipped += m.clipped;
        st.train.push({ x: m.tokens, y: m.trainLoss });
        if (m.heat) { st.heat.push(m.heat); if (st.heat.length > HEAT_COLS) st.heat.shift(); }
        stat.get('windows')!.textContent = big(m.windows);
        stat.get('tokens')!.textContent = big(m.tokens);
        stat.get('speed')!.textContent = big(m.tokensPerSecond);
        // The run's mean since it started here (the stat shows the latest report's).
        stat.get('speed')!.dataset.mean = String((m.windows - st.firstWindow) * st.settings.batch * windowSteps(st.settings) / Math.max(m.trainSeconds, 1e-9));
        stat.get('train')!.textContent = fmt(m.trainLoss);
        stat.get('memory')!.textContent = m.memoryBytes ? `${(m.memoryBytes / 2 ** 20).toFixed(0)} MiB` : '—';
        stat.get('memory')!.dataset.bytes = String(m.memoryBytes);
        stat.get('clip')!.textContent = st.updates ? `${(100 * st.clipped / st.updates).toFixed(1)}%` : '—';
        root.dataset.state = 'running';
        schedule();
        break;
      case 'valid':
        st.valid.push({ x: st.tokens, y: m.loss });
        stat.get('valid')!.textContent = fmt(m.loss);
        stat.get('ppl')!.textContent = fmt(Math.exp(m.loss), 2);
        schedule();
        break;
      case 'sample': sample.textContent = m.text; sampleWait.hidden = true; break;
      case 'state':
        st.running = m.running;
        stat.get('windows')!.textContent = big(m.windows);
        if (!m.running) send({ type: 'digest' });
        setButtons();
        break;
      case 'digest': stat.get('digest')!.textContent = m.digest; stat.get('digest')!.dataset.windows = String(m.windows); break;
      case 'file': {
        const url = URL.createObjectURL(new Blob([m.bytes], { type: m.mime }));
        const a = h('a', { href: url, download: m.name, hidden: true });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        break;
      }
      case 'loaded':
        st.firstWindow = m.windows;
        st.status = [...(st.status ?? []), { key: 'lmLoaded', vars: { name: m.name, kind: t(m.kind === 'model' ? 'lmKindModel' : m.kind === 'checkpoint' ? 'lmKindCheckpoint' : 'lmKindTrain') } }];
        st.configured = true; st.pending = false; pendingNote.hidden = true;
        renderText();
        break;
      case 'error':
        st.status = [{ key: 'lmError', vars: { message: m.message } }];
        renderText();
        break;
    }
  };
  worker.onerror = (e) => { st.status = [{ key: 'lmError', vars: { message: e.message } }]; renderText(); };

  showSettings(st.settings);
  setButtons();
  onLangChange(renderText);
  // ?memory=resizable: without isolation, a memory that grows in place (see src/backend/wasm/memory.ts).
  send({ type: 'init', resizableMemory: new URLSearchParams(location.search).get('memory') === 'resizable' });

  // ---- The URL state (main.ts, url-state.ts): the knobs as `lm-*` parameters, only where they differ
  // from the chosen preset; the text choice, never pasted text or trained weights. A link's knobs fill
  // the fields as if typed (a running or configured run marks them pending, applied on Reset).
  const URL_KNOBS: [string, Knob | 'preset' | 'data'][] = [['lm-preset', 'preset'], ['lm-data', 'data'], ['lm-cell', 'cell'], ['lm-opt', 'optimizer'],
    ...NUMERIC.map((f): [string, Knob] => [`lm-${f.key}`, f.key])];
  const knobValue = (k: Knob | 'preset' | 'data'): string => k === 'preset' ? presetSel.value : k === 'data' ? corpus.value : k === 'cell' ? cellSel.value : k === 'optimizer' ? optSel.value : inputs.get(k)!.value.trim();
  const knobDefault = (k: Knob | 'preset' | 'data'): string => k === 'preset' ? 'tiny' : k === 'data' ? corpus.options[0]!.value : String(LM_PRESETS[presetSel.value]![k]);
  for (const el of [...inputs.values(), cellSel, optSel, presetSel, corpus]) el.addEventListener('input', () => changed());
  for (const el of [presetSel, corpus]) el.addEventListener('change', () => changed());
  return {
    keys: URL_KNOBS.map(([u]) => u),
    get() {
      const out: Record<string, string> = {};
      for (const [u, k] of URL_KNOBS) {
        const v = knobValue(k);
        // An invalid field is not part of the state: the link keeps the last value that was valid.
        const f = NUMERIC.find((n) => n.key === k);
        if (f && typeof parseField(v, f.kind, f.min) === 'string') { if (String(st.settings[f.key]) !== knobDefault(k)) out[u] = String(st.settings[f.key]); continue; }
        if (v !== knobDefault(k)) out[u] = v;
      }
      return out;
    },
    set(p) {
      const rejected: Rejected[] = [];
      const before = URL_KNOBS.map(([, k]) => knobValue(k)).join('|');
      const choose = (sel: HTMLSelectElement, u: string) => {
        const v = p.get(u);
        const options = Array.from(sel.options, (o) => o.value);
        if (v !== null && !options.includes(v)) rejected.push({ key: u, value: v, why: t('errChoice', { options: options.join(', ') }) });
        sel.value = v !== null && options.includes(v) ? v : sel === presetSel ? 'tiny' : sel === corpus ? options[0]! : sel.value;
      };
      choose(presetSel, 'lm-preset');
      showSettings(LM_PRESETS[presetSel.value]!);
      // The text choice through the select's own change handler (it shows the paste box and any note).
      const corpusBefore = corpus.value;
      choose(corpus, 'lm-data');
      if (corpus.value !== corpusBefore) corpus.dispatchEvent(new Event('change'));
      choose(cellSel, 'lm-cell');
      choose(optSel, 'lm-opt');
      for (const f of NUMERIC) {
        const v = p.get(`lm-${f.key}`);
        if (v === null) continue;
        const r = parseField(v, f.kind, f.min);
        if (typeof r === 'string') rejected.push({ key: `lm-${f.key}`, value: v, why: r });
        else inputs.get(f.key)!.value = String(r);
      }
      if (URL_KNOBS.map(([, k]) => knobValue(k)).join('|') !== before) markPending();
      return rejected;
    },
  };
}
