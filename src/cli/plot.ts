/**
 * Learning curves as a self-contained SVG, drawn by hand: train and validation perplexity per epoch
 * from a train.jsonl log, with axes, ticks, labels and a legend. The y axis is logarithmic when the
 * values span more than a factor of 3 (perplexity falls fast early on, then slowly). Validation
 * checks inside epochs (`--valid-every`) are drawn as points between the epochs, and NT-ASGD's switch
 * as a vertical line; the header line (configuration) and progress lines are read and not drawn.
 *
 * @example
 *   const svg = learningCurveSvg(parseTrainLog(fs.readFileSync('runs/tiny/train.jsonl', 'utf8'), 'train.jsonl'));
 */
import { DataError } from '../errors.js';
import type { CheckRecord, EpochRecord, ProgressRecord, TestRecord } from '../train/lm-trainer.js';
import type { LogHeader } from '../train/run-log.js';

/** A train.jsonl read back: its header (null in logs written before headers), epoch records, checks, progress lines and test. */
export interface TrainLog { header: LogHeader | null; epochs: EpochRecord[]; checks: CheckRecord[]; progress: ProgressRecord[]; test: TestRecord | null }

/** Parses a train.jsonl (one JSON object per line, the first possibly a header); DataError names the file and line. */
export function parseTrainLog(text: string, file: string): TrainLog {
  const epochs: EpochRecord[] = [], checks: CheckRecord[] = [], progress: ProgressRecord[] = [];
  let test: TestRecord | null = null, header: LogHeader | null = null;
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try { v = JSON.parse(line); } catch { throw new DataError(`${file}:${i + 1}: not JSON`); }
    if (typeof v !== 'object' || v === null) throw new DataError(`${file}:${i + 1}: not a JSON object`);
    const r = v as Record<string, unknown>;
    if (r.header === true) {
      if (i !== 0) throw new DataError(`${file}:${i + 1}: a header line after the first line`);
      header = r as unknown as LogHeader; return;
    }
    if (r.progress === true) { progress.push(r as unknown as ProgressRecord); return; }
    if (r.check === true) {
      if (typeof r.epoch !== 'number' || typeof r.window !== 'number' || typeof r.validPerplexity !== 'number') {
        throw new DataError(`${file}:${i + 1}: a check record needs numeric epoch, window and validPerplexity`);
      }
      checks.push(r as unknown as CheckRecord); return;
    }
    if (r.test === true) { test = r as unknown as TestRecord; return; }
    if (typeof r.epoch !== 'number' || typeof r.trainPerplexity !== 'number' || typeof r.validPerplexity !== 'number') {
      throw new DataError(`${file}:${i + 1}: an epoch record needs numeric epoch, trainPerplexity and validPerplexity`);
    }
    epochs.push(r as unknown as EpochRecord);
  });
  if (epochs.length === 0) throw new DataError(`${file}: no epoch records`);
  return { header, epochs, checks, progress, test };
}

export interface PlotOptions { title?: string; width?: number; height?: number }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Log-axis ticks: 1-2-5 per decade, or every integer multiple when that gives fewer than 4. */
function logTicks(lo: number, hi: number): number[] {
  for (const mults of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of mults) { const v = Number((m * 10 ** e).toPrecision(12)); if (v >= lo && v <= hi) out.push(v); }
    }
    if (out.length >= 4) return out;
  }
  return niceTicks(lo, hi);
}

function fmtTick(v: number): string {
  return Math.abs(v) >= 1000 ? v.toExponential(0).replace('e+', 'e') : Number(v.toPrecision(3)).toString();
}

export function learningCurveSvg(log: TrainLog, opts: PlotOptions = {}): string {
  const W = opts.width ?? 640, H = opts.height ?? 400;
  const m = { l: 64, r: 20, t: 40, b: 52 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const ep = log.epochs;
  const series = [
    { name: 'train', color: '#1f77b4', dash: '', ys: ep.map((r) => r.trainPerplexity) },
    { name: 'validation', color: '#d62728', dash: '6 4', ys: ep.map((r) => r.validPerplexity) },
  ];
  const withTest = ep.some((r) => typeof r.testPerplexity === 'number');
  if (withTest) series.push({ name: 'test', color: '#2ca02c', dash: '2 3', ys: ep.map((r) => r.testPerplexity ?? NaN) });
  // A check at window w of epoch e sits at e − 1 + w / (that epoch's windows): between epochs e − 1 and e.
  const perEpoch = (e: number) => (ep.find((r) => r.epoch === e) ?? ep[ep.length - 1]!).windows || 1;
  const checks = (log.checks ?? []).map((c) => ({ x: c.epoch - 1 + c.window / perEpoch(c.epoch), y: c.validPerplexity, c }));
  const all = [...series.flatMap((s) => s.ys), ...checks.map((c) => c.y)].filter((v) => Number.isFinite(v) && v > 0);
  if (all.length === 0) throw new DataError('no finite perplexities to plot');
  let lo = Math.min(...all), hi = Math.max(...all);
  const logY = hi / lo > 3;
  if (logY) { lo /= 1.1; hi *= 1.1; } else { const pad = (hi - lo) * 0.08 || hi * 0.05; lo = Math.max(0, lo - pad); hi += pad; }
  const ty = (v: number) => m.t + ph - (logY ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo)) * ph;
  const x0 = Math.min(ep[0]!.epoch, ...checks.map((c) => c.x)), x1 = Math.max(ep[ep.length - 1]!.epoch, ...checks.map((c) => c.x));
  const tx = (e: number) => m.l + (x1 === x0 ? pw / 2 : ((e - x0) / (x1 - x0)) * pw);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title ?? 'Learning curves')}</text>`);
  // Grid and y ticks.
  for (const v of logY ? logTicks(lo, hi) : niceTicks(lo, hi)) {
    const y = ty(v).toFixed(1);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${m.l + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmtTick(v)}</text>`);
  }
  // x ticks: every epoch when few, else nice steps.
  const xt = x1 - x0 <= 12 ? ep.map((r) => r.epoch) : niceTicks(x0, x1, 8).filter((v) => Number.isInteger(v));
  for (const e of xt) {
    const x = tx(e).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.t + ph}" x2="${x}" y2="${m.t + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${x}" y="${m.t + ph + 18}" text-anchor="middle">${e}</text>`);
  }
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">epoch</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">perplexity${logY ? ' (log scale)' : ''}</text>`);
  // Curves.
  for (const s of series) {
    const pts = ep.map((r, i) => [tx(r.epoch), ty(s.ys[i]!)] as const).filter(([, y]) => Number.isFinite(y));
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  // Checks inside epochs: hollow validation points; NT-ASGD's switch (at a check or an epoch's end): a vertical line.
  for (const { x, y } of checks) {
    if (Number.isFinite(ty(y))) parts.push(`<circle cx="${tx(x).toFixed(1)}" cy="${ty(y).toFixed(1)}" r="2.5" fill="white" stroke="#d62728"/>`);
  }
  const sw = checks.find((c) => c.c.ntAsgdSwitch)?.x ?? ep.find((r) => r.ntAsgdSwitch)?.epoch;
  if (sw !== undefined) {
    const x = tx(sw).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" stroke="#555" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${x}" y="${m.t + ph - 6}" text-anchor="middle" font-size="11" fill="#555">NT-ASGD</text>`);
  }
  // Legend (top right), with the last values and the test result when there is one.
  const last = ep[ep.length - 1]!;
  const entries = [
    { ...series[0]!, label: `train (${last.trainPerplexity.toFixed(2)})` },
    { ...series[1]!, label: `validation (${last.validPerplexity.toFixed(2)})` },
  ];
  if (withTest) entries.push({ ...series[2]!, label: `test (${last.testPerplexity?.toFixed(2) ?? '–'})` });
  const lx = m.l + pw - 190, ly = m.t + 8;
  parts.push(`<rect x="${lx}" y="${ly}" width="184" height="${8 + entries.length * 18 + (log.test ? 18 : 0)}" fill="white" stroke="#999"/>`);
  entries.forEach((e, i) => {
    const y = ly + 15 + i * 18;
    parts.push(`<line x1="${lx + 8}" y1="${y}" x2="${lx + 36}" y2="${y}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    parts.push(`<text x="${lx + 42}" y="${y}" dominant-baseline="middle">${esc(e.label)}</text>`);
  });
  if (log.test) parts.push(`<text x="${lx + 8}" y="${ly + 15 + entries.length * 18}" dominant-baseline="middle">test perplexity ${log.test.perplexity.toFixed(2)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
