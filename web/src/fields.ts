/**
 * Validated number fields for views 1 and 2 (and the URL state): a field's text is either a number its
 * rule accepts or a one-line reason shown next to the field, with the value still in use. Nothing is
 * ever silently adjusted — `1e400` is too large, not 1e40; `2.6` is not a whole number, not 3; `-0.5` is
 * not a learning rate — and the view keeps computing with the last valid value until the field is fixed.
 */
import { h } from './dom.js';
import { t } from './i18n.js';

/** What a field accepts: any finite number up to ±`max`, a number ≥ 0 up to `max`, or whole numbers in [min, max]. */
export type Rule =
  | { kind: 'real'; max: number }
  | { kind: 'nonneg'; max: number }
  | { kind: 'int'; min: number; max: number };

/** The number `raw` stands for under `rule`, or why it is not one (in the current language). */
export function parseRule(raw: string, rule: Rule): { ok: true; value: number } | { ok: false; why: string } {
  const s = raw.trim();
  if (s === '') return { ok: false, why: t('errEmpty') };
  const v = Number(s);
  if (Number.isNaN(v) || /^0x|^0b|^0o/i.test(s)) return { ok: false, why: t('errNotNumber') };
  const range = rule.kind === 'int' ? t('errIntRange', { min: rule.min, max: rule.max })
    : rule.kind === 'nonneg' ? t('errNonNegRange', { max: rule.max }) : t('errRealRange', { max: rule.max });
  if (!Number.isFinite(v)) return { ok: false, why: t('errTooLarge', { range }) };
  // 1e-400 parses as 0: a value the page cannot hold, said rather than rounded away.
  if (v === 0 && /[1-9]/.test(s.replace(/e.*$/i, ''))) return { ok: false, why: t('errTooSmall') };
  if (rule.kind === 'int') {
    if (!Number.isInteger(v)) return { ok: false, why: t('errNotWhole', { range }) };
    if (v < rule.min || v > rule.max) return { ok: false, why: range };
  } else if (rule.kind === 'nonneg') {
    if (v < 0) return { ok: false, why: t('errNegative', { range }) };
    if (v > rule.max) return { ok: false, why: t('errTooLarge', { range }) };
  } else if (Math.abs(v) > rule.max) return { ok: false, why: t('errTooLarge', { range }) };
  return { ok: true, value: v };
}

/** A text input with its rule and the line beside it that says what is wrong. */
export interface NumberField {
  input: HTMLInputElement;
  error: HTMLElement;
  /** Check the text; on success returns the number and clears the message, else shows why (and `inUse`). */
  read(inUse: number): number | null;
  /** Show `v` (formatted by `show`) and clear any message: the state changed from elsewhere. */
  set(v: number): void;
  /** Re-word a shown message in the current language. */
  relabel(): void;
  /** True while the field shows a rejected text. */
  readonly bad: boolean;
}

/**
 * A validated field. `inputmode` is 'decimal' only where the value cannot be negative: phone keypads for
 * 'decimal' have no minus sign, so signed fields keep the full keyboard.
 */
export function numberField(name: string, rule: Rule, value: number, show: (v: number) => string = String, opts: { keeps?: boolean } = {}): NumberField {
  // `keeps: false`: a field read only on demand (the train-steps count), where no value stays in use.
  const keeps = opts.keeps ?? true;
  const signed = rule.kind === 'real';
  const input = h('input', {
    type: 'text', value: show(value), 'data-edit': name, 'aria-invalid': 'false', autocomplete: 'off', spellcheck: 'false',
    inputmode: signed ? undefined : rule.kind === 'int' ? 'numeric' : 'decimal', class: 'num-field',
  });
  const error = h('span', { class: 'field-error', 'data-field-error': name, role: 'alert' });
  const errId = `err-${name.replace(/[^\w-]/g, '_')}`;
  error.id = errId;
  input.setAttribute('aria-describedby', errId);
  let bad = false, kept = value;
  const mark = (why: string | null, inUse?: number) => {
    bad = why !== null;
    if (inUse !== undefined) kept = inUse;
    input.classList.toggle('invalid', bad);
    input.setAttribute('aria-invalid', String(bad));
    error.textContent = why === null ? '' : keeps ? t('errKept', { why, value: show(kept) }) : why;
  };
  return {
    input, error,
    get bad() { return bad; },
    read(inUse) {
      const r = parseRule(input.value, rule);
      if (r.ok) { mark(null); return r.value; }
      mark(r.why, inUse);
      return null;
    },
    set(v) { input.value = show(v); mark(null); },
    relabel() { if (bad) this.read(kept); },
  };
}
