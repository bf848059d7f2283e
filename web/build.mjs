// Bundles the explorer page into web/dist/: web/src/main.ts (which imports the engine's own source,
// src/index.ts, so the page runs the same math as the CLI) -> app.js; web/src/style.css with KaTeX's
// CSS -> app.css, KaTeX's fonts copied beside it, so the page works offline once loaded. View 3's
// training worker -> lm-worker.js, and the WASM thread pool's worker -> worker.js beside it (the pool
// finds it as ./worker.js next to the bundle that starts it). Tiny Shakespeare, from the shared data
// folder beside the repository (../shared/data/tinyshakespeare/input.txt, or $TINYSHAKESPEARE), is
// copied to data/tinyshakespeare.txt; without it the page trains on pasted text only (a warning says so).
// The Analects (论语, public domain; ../shared/data/chinese/lunyu.txt, or $ANALECTS) go to data/lunyu.txt
// with the note naming their source and its licence (data/lunyu.LICENSE.txt); without them the page
// offers the other texts (a warning says so). coi-serviceworker.js (the npm package, MIT) is copied beside
// the page: `backprop explorer --export` links it from the exported index.html, so that a static host
// without COOP/COEP headers still gets cross-origin isolation (docs/explorer.md, "Static hosting").
//
// Usage: node web/build.mjs            (always builds web/dist, with source maps, for a source checkout)
//        node web/build.mjs --package  (builds build/explorer without maps: the prebuilt page the npm
//                                       package ships, since an install has neither web/ nor esbuild)
//        import { buildExplorer, isStale } from './web/build.mjs'   (the `backprop explorer` command)
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = here;
export const distDir = join(here, 'dist');
/** The prebuilt page of the npm package (`npm pack` builds it; see package.json's prepack). */
export const packagedDir = join(here, '..', 'build', 'explorer');
/** The Analects (论语), view 3's Chinese text, and the licence of the package they were extracted from (beside them). */
export const analectsSource = process.env.ANALECTS ?? join(here, '..', '..', 'shared', 'data', 'chinese', 'lunyu.txt');
const analectsLicence = join(dirname(analectsSource), 'LICENSE-chinese-poetry');
const sourceDirs = [join(here, 'src'), join(here, '..', 'src')];
/** Tiny Shakespeare, shipped with the page (view 3's default text). */
export const shakespeareSource = process.env.TINYSHAKESPEARE ?? join(here, '..', '..', 'shared', 'data', 'tinyshakespeare', 'input.txt');

function newestMtime(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return t;
}

/** True when web/dist is missing or older than any page or engine source. */
export function isStale() {
  const out = join(distDir, 'app.js');
  if (!existsSync(out) || !existsSync(join(distDir, 'index.html')) || !existsSync(join(distDir, 'lm-worker.js'))) return true;
  const built = statSync(out).mtimeMs;
  const sources = Math.max(statSync(join(here, 'index.html')).mtimeMs, ...sourceDirs.map(newestMtime));
  return sources > built;
}

const analectsNote = `论语 (the Analects of Confucius), data/lunyu.txt: a public-domain classical text (simplified script),
extracted as plain UTF-8 from the npm package chinese-poetry 2.0.1 (https://www.npmjs.com/package/chinese-poetry),
whose licence follows.

`;

/** coi-serviceworker.js from the installed package, or null when it is not installed. */
function coiServiceWorker() {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('coi-serviceworker/package.json')), 'coi-serviceworker.js');
  } catch {
    return null;
  }
}

/** Copy `src` to `outDir/rel` as a fresh, writable file (a source may be read-only, and copies keep its mode). */
function copyInto(src, outDir, rel) {
  const dest = join(outDir, rel);
  mkdirSync(dirname(dest), { recursive: true });
  rmSync(dest, { force: true });
  copyFileSync(src, dest);
  chmodSync(dest, 0o644);
}

/** Bundle the page with esbuild (the installed dev dependency) into `outDir`; returns `outDir`. */
export async function buildExplorer({ minify = true, outDir = distDir, sourcemap = true } = {}) {
  let esbuild;
  try { esbuild = await import('esbuild'); } catch {
    throw new Error('esbuild is not installed: run `npm install` (it is a dev dependency) to build the explorer page');
  }
  // A fresh folder for the package, so no file of an earlier build (a stale map) is shipped.
  if (outDir === packagedDir) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: {
      app: join(here, 'src/main.ts'), 'app-style': join(here, 'src/style.css'),
      'lm-worker': join(here, 'src/lm-worker.ts'), worker: join(here, '..', 'src/backend/wasm/worker.ts'),
    },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    // The engine names optimizers by class name in checkpoints (Optimizer.state().kind): keep names.
    keepNames: true,
    sourcemap,
    legalComments: 'none',
    // KaTeX's CSS refers to its fonts; copy them next to the CSS instead of inlining.
    loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
    assetNames: 'fonts/[name]',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  if (existsSync(shakespeareSource)) {
    copyInto(shakespeareSource, outDir, 'data/tinyshakespeare.txt');
  } else {
    console.warn(`explorer: ${shakespeareSource} not found; view 3 will offer pasted text only (set TINYSHAKESPEARE to its path)`);
  }
  if (existsSync(analectsSource) && existsSync(analectsLicence)) {
    copyInto(analectsSource, outDir, 'data/lunyu.txt');
    writeFileSync(join(outDir, 'data', 'lunyu.LICENSE.txt'), analectsNote + readFileSync(analectsLicence, 'utf8'));
  } else {
    console.warn(`explorer: ${existsSync(analectsSource) ? analectsLicence : analectsSource} not found; view 3 will offer no Chinese text (set ANALECTS to lunyu.txt, with LICENSE-chinese-poetry beside it)`);
  }
  const coi = coiServiceWorker();
  if (coi) {
    copyInto(coi, outDir, 'coi-serviceworker.js');
    copyInto(join(dirname(coi), 'LICENSE'), outDir, 'coi-serviceworker.LICENSE.txt');
  }
  else console.warn('explorer: coi-serviceworker is not installed (a dev dependency: run `npm install`); an exported site will be cross-origin isolated only where its server sends COOP/COEP');
  // The package keeps only WOFF2 fonts: KaTeX's CSS lists woff2 first, and every browser that runs the
  // page's WebAssembly reads woff2, so the .woff and .ttf fallbacks would never be fetched.
  if (outDir === packagedDir) {
    for (const f of readdirSync(join(outDir, 'fonts'))) if (!f.endsWith('.woff2')) rmSync(join(outDir, 'fonts', f));
  }
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = Date.now();
  const pkg = process.argv.includes('--package');
  const out = await buildExplorer(pkg ? { outDir: packagedDir, sourcemap: false } : {});
  console.log(`explorer built into ${out} in ${Date.now() - t0} ms`);
}
