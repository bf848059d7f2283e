// Bundles the explorer page into web/dist/: web/src/main.ts (which imports the engine's own source,
// src/index.ts, so the page runs the same math as the CLI) -> app.js; web/src/style.css with KaTeX's
// CSS -> app.css, KaTeX's fonts copied beside it, so the page works offline once loaded.
//
// Usage: node web/build.mjs            (always builds)
//        import { buildExplorer, isStale } from './web/build.mjs'   (the `backprop explorer` command)
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const webDir = here;
export const distDir = join(here, 'dist');
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

/** Bundle the page with esbuild (the installed dev dependency). */
export async function buildExplorer({ minify = true } = {}) {
  let esbuild;
  try { esbuild = await import('esbuild'); } catch {
    throw new Error('esbuild is not installed: run `npm install` (it is a dev dependency) to build the explorer page');
  }
  mkdirSync(distDir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: join(here, 'src/main.ts'), 'app-style': join(here, 'src/style.css') },
    outdir: distDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    legalComments: 'none',
    // KaTeX's CSS refers to its fonts; copy them next to the CSS instead of inlining.
    loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
    assetNames: 'fonts/[name]',
    logLevel: 'warning',
  });
  copyFileSync(join(here, 'index.html'), join(distDir, 'index.html'));
  return distDir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = Date.now();
  await buildExplorer();
  console.log(`explorer built into ${distDir} in ${Date.now() - t0} ms`);
}
