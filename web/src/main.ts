/**
 * The explorer page: three views over the engine (src/index.ts, bundled in), a language switch, and tabs.
 * The page sets `data-ready` on <body> once both views have rendered (the end-to-end test waits on it).
 */
import { ready } from '../../src/index.js';
import { getLang, setLang, t } from './i18n.js';
import { mountNetworkView } from './view1.js';
import { mountBpttView } from './view2.js';
import { mountLmView } from './view3.js';

function showView(name: string): void {
  for (const v of document.querySelectorAll<HTMLElement>('[data-view]')) v.hidden = v.dataset.view !== name;
  for (const b of document.querySelectorAll<HTMLElement>('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  history.replaceState(null, '', `#${name}`);
}

// Start the engine's WASM kernels before the views compute anything (on a page the backend starts only
// when asked; without cross-origin isolation ready() settles on the reference backend instead).
void ready().catch(() => undefined).then(() => {
  mountNetworkView(document.querySelector<HTMLElement>('[data-view="net"]')!);
  mountBpttView(document.querySelector<HTMLElement>('[data-view="bptt"]')!);
  mountLmView(document.querySelector<HTMLElement>('[data-view="lm"]')!);
  for (const b of document.querySelectorAll<HTMLElement>('[data-tab]')) b.addEventListener('click', () => showView(b.dataset.tab!));
  const langButton = document.querySelector<HTMLButtonElement>('[data-action="lang"]')!;
  const applyLang = (lang: 'en' | 'zh') => {
    setLang(lang);
    langButton.textContent = t('langButton'); // names the other language, in that language
    try { localStorage.setItem('backprop-explorer-lang', lang); } catch { /* storage may be off */ }
  };
  langButton.addEventListener('click', () => applyLang(getLang() === 'en' ? 'zh' : 'en'));
  let saved: string | null = null;
  try { saved = localStorage.getItem('backprop-explorer-lang'); } catch { /* storage may be off */ }
  applyLang(saved === 'zh' ? 'zh' : 'en');
  showView(location.hash === '#bptt' ? 'bptt' : location.hash === '#lm' ? 'lm' : 'net');
  document.body.dataset.ready = 'true';
});
