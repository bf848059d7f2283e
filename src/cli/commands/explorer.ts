/**
 * `backprop explorer`: in a source checkout, build the explorer page if its bundle is missing or stale
 * (web/build.mjs, with the installed esbuild) and serve web/dist; from an installed package (no web/,
 * no esbuild), serve the page prebuilt at `npm pack` (build/explorer). Plain node:http on 127.0.0.1.
 * Responses carry cross-origin-isolation headers (COOP/COEP), so the page may use SharedArrayBuffer
 * (view 3 then trains on several threads); `--no-isolation` leaves them out, to see the page as a
 * plain static server shows it (one thread, ordinary memory). `--export <dir>` writes the page as a site for
 * any static file server instead of serving it (`exportSite`).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { parseInteger } from '../util.js';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.txt': 'text/plain; charset=utf-8',
};

const PREBUILT = join('build', 'explorer');

/**
 * The package root: the nearest folder above this file that holds web/build.mjs (a source checkout) or
 * the prebuilt page build/explorer/index.html (an installed package). Works from src/ and dist/src/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'web', 'build.mjs')) || existsSync(join(dir, PREBUILT, 'index.html'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new ConfigError('explorer: neither web/build.mjs nor a prebuilt build/explorer/index.html is above this package');
    dir = up;
  }
}

interface WebBuild { isStale(): boolean; buildExplorer(o?: { minify?: boolean }): Promise<string>; distDir: string }

/** Build web/dist unless it is up to date (or `force`); returns the folder to serve (the prebuilt one when installed). */
export async function ensureExplorerBuilt(force = false): Promise<string> {
  const root = packageRoot(), script = join(root, 'web', 'build.mjs');
  if (!existsSync(script)) {
    if (force) throw new ConfigError('explorer: --rebuild needs a source checkout (web/); an installed package serves its prebuilt page');
    return join(root, PREBUILT);
  }
  const build = (await import(pathToFileURL(script).href)) as WebBuild;
  if (force || build.isStale()) {
    console.log('Building the explorer page …');
    await build.buildExplorer();
  }
  return build.distDir;
}

/**
 * Serve `dir` on 127.0.0.1:`port` (0: any free port), with cross-origin-isolation headers unless
 * `isolate` is false. Resolves once listening.
 */
export function serveStatic(dir: string, port: number, isolate = true): Promise<{ server: Server; url: string }> {
  const isolation = isolate ? {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
  } : {};
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    const headers = { ...isolation, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    // Only files inside dir: a normalized path that escapes it is refused.
    if ((file !== dir && !file.startsWith(dir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': contentTypes[extname(file)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new ConfigError(`explorer: port ${port} is in use; pick another with --port, or omit it for a free one`) : e));
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      resolve({ server, url: `http://127.0.0.1:${p}/` });
    });
  });
}

/** The service worker that isolates an exported site on a host without COOP/COEP headers (web/build.mjs copies it). */
export const COI_SERVICE_WORKER = 'coi-serviceworker.js';

/**
 * Write the built page in `from` (web/dist, or an installed package's build/explorer) to `to` as a site
 * for any static file server: every file but source maps, `.nojekyll` (GitHub Pages then serves the files
 * as they are), and index.html with coi-serviceworker.js loaded first. That script does nothing where
 * the page is already cross-origin isolated (the server sends COOP/COEP); otherwise, where service
 * workers are allowed (HTTPS or localhost), it registers itself as the site's service worker, which adds
 * the COOP/COEP headers to every response, and reloads the page once; where they are not, the page
 * runs view 3 on one thread. `to` must be missing, empty or an earlier export (it is then replaced);
 * anything else is refused with a ConfigError. Returns the number of files written and whether the
 * service worker is in (a build without the coi-serviceworker package has none: one line says so).
 */
export function exportSite(from: string, to: string): { files: number; serviceWorker: boolean } {
  const src = resolve(from), dest = resolve(to);
  if (dest === src || dest.startsWith(src + sep) || src.startsWith(dest + sep)) throw new ConfigError(`explorer: --export ${to} must be outside the built page (${src}) and not contain it`);
  if (existsSync(dest)) {
    if (!statSync(dest).isDirectory()) throw new ConfigError(`explorer: --export ${to} is a file, not a folder`);
    const names = readdirSync(dest);
    if (names.length > 0 && !(names.includes('index.html') && names.includes('lm-worker.js'))) {
      throw new ConfigError(`explorer: --export ${to} is a folder with other files in it; give a new or empty folder (or an earlier export, which is replaced)`);
    }
    rmSync(dest, { recursive: true, force: true });
  }
  const serviceWorker = existsSync(join(src, COI_SERVICE_WORKER));
  let files = 0;
  const copy = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name), out = join(dest, relative(src, p));
      if (statSync(p).isDirectory()) { copy(p); continue; }
      if (name.endsWith('.map') || (dir === src && name === 'index.html')) continue;
      mkdirSync(dirname(out), { recursive: true });
      copyFileSync(p, out);
      files++;
    }
  };
  copy(src);
  let html = readFileSync(join(src, 'index.html'), 'utf8');
  if (serviceWorker) {
    // A classic script, before the page's module: it must run (and possibly reload) before the app starts
    // its workers, and it finds its own URL through document.currentScript.
    if (!html.includes('</head>')) throw new ConfigError(`explorer: ${join(src, 'index.html')} has no </head> to put the service worker's script before`);
    html = html.replace('</head>', `  <script src="${COI_SERVICE_WORKER}"></script>
</head>`);
  }
  writeFileSync(join(dest, 'index.html'), html);
  writeFileSync(join(dest, '.nojekyll'), '');
  return { files: files + 2, serviceWorker };
}

/** Open `url` in the desktop's browser, if there is one; failures are ignored (the URL is printed). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch { /* no browser: the URL is printed */ }
}

export function registerExplorer(program: Command): void {
  program.command('explorer')
    .description('serve the interactive backprop explorer (the tutorial network step by step, and BPTT) on 127.0.0.1')
    .option('--port <n>', 'port to listen on (default: a free port)', parseInteger('--port', 0), 0)
    .option('--no-open', 'do not open a browser')
    .option('--rebuild', 'rebuild the page even if the bundle is up to date')
    .option('--no-isolation', 'serve without the COOP/COEP headers (the page then trains on one thread, as on a plain static server)')
    .option('--export <dir>', 'write the page to <dir> as a site for any static file server (GitHub Pages, …) instead of serving it')
    .action(async (opts: { port: number; open: boolean; rebuild?: boolean; isolation: boolean; export?: string }) => {
      if (opts.port > 65535) throw new ConfigError(`--port must be at most 65535, got ${opts.port}`);
      const dir = await ensureExplorerBuilt(opts.rebuild ?? false);
      if (opts.export !== undefined) {
        if (opts.export.trim() === '') throw new ConfigError('--export needs a folder, got an empty string');
        const r = exportSite(dir, opts.export);
        console.log(`backprop explorer: exported the page to ${resolve(opts.export)} (${r.files} files); serve that folder from any static file server.`);
        console.log(r.serviceWorker
          ? 'Threads: from the server\'s COOP/COEP headers where it sends them, else from the included service worker (coi-serviceworker.js, HTTPS or localhost), else one thread. See docs/explorer.md, "Static hosting".'
          : `No ${COI_SERVICE_WORKER} in the build (install the dev dependency coi-serviceworker and rebuild): the site trains on several threads only where its server sends COOP/COEP headers.`);
        return;
      }
      const { url } = await serveStatic(dir, opts.port, opts.isolation);
      console.log(`backprop explorer: ${url}`);
      console.log('Press Ctrl+C to stop.');
      if (opts.open) openBrowser(url);
    });
}
