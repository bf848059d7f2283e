/**
 * The explorer page: three views over the engine (src/index.ts, bundled in), a language switch, tabs,
 * and the page's state in the URL (url-state.ts: a link reproduces what is shown; Back and Forward move
 * between views). The page sets `data-ready` on <body> once the views have rendered and a link's state
 * is applied (the end-to-end tests wait on it).
 */
import { ready } from '../../src/index.js';
import { h } from './dom.js';
import { getLang, onLangChange, setLang, t } from './i18n.js';
import { formatHash, parseHash, VIEWS, type Rejected, type UrlPart, type ViewName } from './url-state.js';
import { mountNetworkView } from './view1.js';
import { mountBpttView } from './view2.js';
import { mountLmView } from './view3.js';

let current: ViewName = 'net';
const tabs = () => Array.from(document.querySelectorAll<HTMLElement>('[data-tab]'));

function showView(name: ViewName): void {
  current = name;
  for (const v of document.querySelectorAll<HTMLElement>('[data-view]')) v.hidden = v.dataset.view !== name;
  for (const b of tabs()) {
    const on = b.dataset.tab === name;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
}

/** The note listing a link's parameters that were not used (none: hidden), re-worded on a language switch. */
function urlNote(note: HTMLElement): (rejected: Rejected[]) => void {
  let shown: Rejected[] = [];
  const render = () => {
    note.replaceChildren(...shown.map((r) => h('p', { 'data-key': r.key }, t('urlRejected', { key: r.key, value: r.value, why: r.why }))));
    if (shown.length) {
      const close = h('button', { type: 'button', 'data-action': 'dismiss-url-note' }, t('urlDismiss'));
      close.addEventListener('click', () => { shown = []; render(); });
      note.append(close);
    }
    note.hidden = shown.length === 0;
  };
  onLangChange(render);
  return (rejected) => { shown = rejected; render(); };
}

// Start the engine's WASM kernels before the views compute anything (on a page the backend starts only
// when asked; without cross-origin isolation ready() settles on the reference backend instead).
void ready().catch(() => undefined).then(() => {
  // Edits replace the current history entry, at most every 150 ms (browsers throttle history calls
  // made at a slider's event rate); a view change flushes that first, then pushes a new entry.
  let applying = false, timer = 0;
  const url = () => formatHash(current, parts);
  // Our entries carry this state object; an entry without it is a navigation the page did not make
  // (a link or hash typed into the address bar), whose whole state is applied.
  const OURS = { explorer: 1 };
  const replaceNow = () => { clearTimeout(timer); timer = 0; if (location.hash !== url() || history.state === null) history.replaceState(OURS, '', url()); };
  const changed = () => { if (!applying && !timer) timer = window.setTimeout(replaceNow, 150); };

  const parts: UrlPart[] = [
    mountNetworkView(document.querySelector<HTMLElement>('[data-view="net"]')!, changed),
    mountBpttView(document.querySelector<HTMLElement>('[data-view="bptt"]')!, changed),
    mountLmView(document.querySelector<HTMLElement>('[data-view="lm"]')!, changed),
  ];
  const owner = (view: ViewName) => parts[VIEWS.indexOf(view)]!;

  const note = h('div', { class: 'url-note', 'data-role': 'url-note', role: 'status', hidden: true });
  document.querySelector('main')!.prepend(note);
  const showRejected = urlNote(note);

  /** Apply a hash: the view, and the state of `which` parts (the others keep theirs). */
  const apply = (hash: string, which: readonly UrlPart[]): Rejected[] => {
    const p = parseHash(hash);
    const rejected: Rejected[] = [];
    const view = p.get('view');
    if (view !== null && !(VIEWS as readonly string[]).includes(view)) rejected.push({ key: 'view', value: view, why: t('errChoice', { options: VIEWS.join(', ') }) });
    const known = new Set(['view', ...parts.flatMap((x) => x.keys)]);
    for (const k of new Set(p.keys())) if (!known.has(k)) rejected.push({ key: k, value: p.get(k)!, why: t('urlUnknown') });
    applying = true;
    try { for (const part of which) rejected.push(...part.set(p)); } finally { applying = false; }
    showView((VIEWS as readonly string[]).includes(view ?? '') ? view as ViewName : 'net');
    return rejected;
  };

  const select = (name: ViewName) => {
    if (name === current) return;
    replaceNow();
    showView(name);
    history.pushState(OURS, '', url());
  };
  for (const b of tabs()) b.addEventListener('click', () => select(b.dataset.tab as ViewName));
  // Tabs: ArrowLeft/ArrowRight, Home and End move between them (the WAI-ARIA tabs pattern).
  document.querySelector('[role="tablist"]')!.addEventListener('keydown', (e) => {
    const k = (e as KeyboardEvent).key;
    const i = VIEWS.indexOf(current);
    const to = k === 'ArrowRight' ? (i + 1) % VIEWS.length : k === 'ArrowLeft' ? (i + VIEWS.length - 1) % VIEWS.length : k === 'Home' ? 0 : k === 'End' ? VIEWS.length - 1 : -1;
    if (to < 0) return;
    e.preventDefault();
    select(VIEWS[to]!);
    tabs().find((b) => b.dataset.tab === VIEWS[to])?.focus();
  });
  // Back and Forward: the entry's view, with that view's state as the entry recorded it (the other views
  // keep what they show now, edits made since included); then the address bar is brought up to date with
  // the whole page. A hash typed or pasted into the address bar (an entry not ours) applies in full.
  window.addEventListener('popstate', (e) => {
    clearTimeout(timer); timer = 0;
    if (e.state === null) { showRejected(apply(location.hash, parts)); history.replaceState(OURS, '', url()); return; }
    const view = parseHash(location.hash).get('view');
    const target = (VIEWS as readonly string[]).includes(view ?? '') ? owner(view as ViewName) : parts[0]!;
    const before = JSON.stringify(target.get());
    const p = parseHash(location.hash);
    const entry = JSON.stringify(Object.fromEntries(target.keys.filter((k) => p.has(k)).map((k) => [k, p.get(k)!])));
    showRejected(apply(location.hash, entry === before ? [] : [target]));
    history.replaceState(OURS, '', url());
  });

  const langButton = document.querySelector<HTMLButtonElement>('[data-action="lang"]')!;
  const applyLang = (lang: 'en' | 'zh') => {
    setLang(lang);
    langButton.textContent = t('langButton'); // names the other language, in that language
    document.title = t('title');
    try { localStorage.setItem('backprop-explorer-lang', lang); } catch { /* storage may be off */ }
  };
  langButton.addEventListener('click', () => applyLang(getLang() === 'en' ? 'zh' : 'en'));
  let saved: string | null = null;
  try { saved = localStorage.getItem('backprop-explorer-lang'); } catch { /* storage may be off */ }
  applyLang(saved === 'zh' ? 'zh' : 'en');

  showRejected(apply(location.hash, parts));
  history.replaceState(OURS, '', url());
  document.body.dataset.ready = 'true';
});
