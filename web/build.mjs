// Bundles the explorer page into web/dist/: web/src/main.ts (which imports the engine's own source,
// src/index.ts, so the page runs the same math as the CLI) -> app.js; web/src/style.css with KaTeX's
// CSS -> app.css, KaTeX's fonts copied beside it, so the page works offline once loaded.
//
// Usage: node web/build.mjs            (always builds web/dist, with source maps, for a source checkout)
//        node web/build.mjs --package  (builds build/explorer without maps: the prebuilt page the npm
//                                       package ships, since an install has neither web/ nor esbuild)
//        import { buildExplorer, isStale } from './web/build.mjs'   (the `backprop explorer` command)
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = here;
export const distDir = join(here, 'dist');
/** The prebuilt page of the npm package (`npm pack` builds it; see package.json's prepack). */
export const packagedDir = join(here, '..', 'build', 'explorer');
const sourceDirs = [join(here, 'src'), join(here, '..', 'src')];

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
  if (!existsSync(out) || !existsSync(join(distDir, 'index.html'))) return true;
  const built = statSync(out).mtimeMs;
  const sources = Math.max(statSync(join(here, 'index.html')).mtimeMs, ...sourceDirs.map(newestMtime));
  return sources > built;
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
    entryPoints: { app: join(here, 'src/main.ts'), 'app-style': join(here, 'src/style.css') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap,
    legalComments: 'none',
    // KaTeX's CSS refers to its fonts; copy them next to the CSS instead of inlining.
    loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
    assetNames: 'fonts/[name]',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
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
