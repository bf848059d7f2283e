/** Tiny DOM helpers: build HTML and SVG elements from attribute objects. No framework. */
import katex from 'katex';

type Attrs = Record<string, string | number | boolean | undefined>;

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** An HTML element with attributes and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  el.append(...children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element appended to `parent`; `text` becomes its text content. */
export function s(tag: string, attrs: Attrs, parent: Element, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag) as SVGElement;
  setAttrs(el, attrs);
  if (text !== undefined) el.textContent = text;
  parent.append(el);
  return el;
}

export function svgRoot(width: number, height: number, attrs: Attrs = {}): SVGSVGElement {
  const el = document.createElementNS(SVG, 'svg');
  setAttrs(el, { viewBox: `0 0 ${width} ${height}`, width, height, ...attrs });
  return el;
}

/** Typeset one line of TeX into `el` (inline mode, so long lines wrap at relations and operators). */
export function tex(el: HTMLElement, source: string): void {
  katex.render(`\\displaystyle ${source}`, el, { throwOnError: false, displayMode: false, output: 'html' });
}

const minus = (s: string) => (s.startsWith('-') ? `−${s.slice(1)}` : s);

/**
 * A number for display in a node label or the table: fixed `digits` decimals (a true minus sign, no
 * “-0”) while it fits in 12 characters (|v| < 1e5), else 6 significant digits in e-notation, so a huge
 * value never overflows its box; ∞ and NaN as such.
 */
export function num(v: number, digits = 6): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Math.abs(v) >= 1e5) return minus(v.toExponential(5).replace('e+', 'e'));
  return minus((Object.is(v, -0) || Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits));
}

/** A weight on an edge label: 3 decimals below 1000, else 3 significant digits in e-notation. */
export function shortNum(v: number): string {
  if (!Number.isFinite(v)) return num(v);
  return Math.abs(v) < 1000 ? num(v, 3) : minus(v.toExponential(2).replace('e+', 'e'));
}

/** TeX of a JS number string in e-notation: 1.5e-7 → 1.5\times 10^{-7}. */
function texExp(s: string): string {
  const [m, e] = s.split('e');
  return e === undefined ? s : `${m}\\times 10^{${Number(e)}}`;
}

function texSpecial(v: number): string | null {
  if (Number.isNaN(v)) return '\\text{NaN}';
  if (!Number.isFinite(v)) return v > 0 ? '\\infty' : '-\\infty';
  return null;
}

const wrap = (out: string, paren: boolean) => (paren && out.startsWith('-') ? `(${out})` : out);

/**
 * A factor in a formula (a number the formula's arithmetic starts from): `sig` significant digits,
 * trailing zeros dropped (0.5 stays 0.5, a learning rate of 0.1 + 0.2 prints 0.3), ×10^k outside
 * [1e-4, 1e6). Factors carry more digits than the results they produce (see `texResult`), so the
 * arithmetic written out checks by hand to the result's last digit.
 */
export function texFactor(v: number, sig = 9, paren = false): string {
  const sp = texSpecial(v);
  if (sp !== null) return sp;
  if (v === 0) return '0';
  const r = Number(v.toPrecision(sig));
  const a = Math.abs(r);
  const out = a >= 1e-4 && a < 1e6 ? r.toFixed(Math.max(0, sig - 1 - Math.floor(Math.log10(a)))).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : texExp(r.toExponential(sig - 1).replace(/\.?0+e/, 'e'));
  return wrap(out, paren);
}

/**
 * A formula's result: rounded to 6 significant digits of `scale`, the largest magnitude among the
 * formula's terms and its result (so a sum that cancels shows the digits its terms can vouch for);
 * fixed decimals when 1e-4 ≤ scale < 1e6, else ×10^k.
 */
export function texResult(v: number, scale = Math.abs(v), paren = false): string {
  const sp = texSpecial(v);
  if (sp !== null) return sp;
  const m = Math.max(Math.abs(v), scale);
  if (m === 0) return '0';
  const top = Math.floor(Math.log10(m));
  let out: string;
  if (m >= 1e-4 && m < 1e6) {
    out = (Object.is(v, -0) ? 0 : v).toFixed(Math.min(20, Math.max(0, 5 - top)));
    if (/^-0\.?0*$/.test(out)) out = out.slice(1);
  } else {
    const own = v === 0 ? top : Math.floor(Math.log10(Math.abs(v)));
    out = v === 0 ? '0' : texExp(v.toExponential(Math.max(0, 5 - (top - own))).replace('e+', 'e'));
  }
  return wrap(out, paren);
}

/** texFactor in the activation table's number-format signature (its digit hint is ignored). */
export const factorFormat = (v: number, _digits?: number, paren = false): string => texFactor(v, 9, paren);
