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

/** A number for display: fixed decimals, a true minus sign, no “-0”. */
export function num(v: number, digits = 6): string {
  const s = (Object.is(v, -0) || Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v).toFixed(digits);
  return s.startsWith('-') ? `−${s.slice(1)}` : s;
}

/**
 * A number for TeX: fixed decimals, or 4 significant digits in scientific form when it is so small
 * that fixed decimals would show 0; negatives in parentheses when they follow an operator.
 */
export function texNum(v: number, digits = 4, paren = false): string {
  let out: string;
  if (v !== 0 && Math.abs(v) < 10 ** -(digits - 1)) {
    const [m, e] = v.toExponential(3).split('e');
    out = `${m}\\times 10^{${Number(e)}}`;
  } else {
    out = (Object.is(v, -0) ? 0 : v).toFixed(digits);
  }
  return paren && out.startsWith('-') ? `(${out})` : out;
}
