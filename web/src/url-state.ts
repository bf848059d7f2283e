/**
 * The page's state in the URL's hash, so a link reproduces what its sender saw (the way TensorFlow
 * Playground keeps its whole state in the hash): `#view=net&step=7&lr=0.3&w=…&k1=5&lm-preset=small`.
 * Every view owns a set of keys and writes only what differs from its defaults; a key missing from a
 * link means that default. The hash (not the query) keeps it a static page: no server sees the state.
 *
 * History: switching views pushes an entry (Back and Forward move between views); every other edit
 * replaces the current entry, so the address bar is always a link to what is shown without filling the
 * history with slider positions. An invalid parameter in a link falls back to its default, and the page
 * says which (main.ts shows the note).
 */

/** A parameter of a link that was not used, and why (in the current language). */
export interface Rejected { key: string; value: string; why: string }

/** A view's part of the URL state. */
export interface UrlPart {
  /** The keys this view reads and writes. */
  readonly keys: readonly string[];
  /** This view's state, only the keys whose values differ from the defaults. */
  get(): Record<string, string>;
  /** Set this view's state from `params` (missing keys: defaults); returns the parameters it rejected. */
  set(params: URLSearchParams): Rejected[];
}

export const VIEWS = ['net', 'bptt', 'lm'] as const;
export type ViewName = (typeof VIEWS)[number];

/** The hash's parameters; an old-style bare `#bptt` reads as `view=bptt`. */
export function parseHash(hash: string): URLSearchParams {
  const raw = hash.replace(/^#/, '');
  if ((VIEWS as readonly string[]).includes(raw)) return new URLSearchParams({ view: raw });
  return new URLSearchParams(raw);
}

/** The hash for a view and the parts' states (view first, then the parts' keys in their order). */
export function formatHash(view: ViewName, parts: readonly UrlPart[]): string {
  const p = new URLSearchParams({ view });
  for (const part of parts) for (const [k, v] of Object.entries(part.get())) p.set(k, v);
  // URLSearchParams encodes ',' as %2C; a weight list stays readable with plain commas.
  return `#${p.toString().replace(/%2C/g, ',')}`;
}
