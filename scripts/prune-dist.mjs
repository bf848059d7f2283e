// Deletes compiled files in dist/ whose TypeScript source is gone (a deleted or moved test would
// otherwise keep running from its stale .js). tsc never removes outputs, so the build stays
// incremental and this only sweeps the orphans: dist/X.js, .js.map, .d.ts, .d.ts.map without X.ts.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const OUTPUTS = ['.d.ts.map', '.d.ts', '.js.map', '.js'];

/** Removes orphan outputs under `dist` (sources under `root`); returns the paths removed. */
export function pruneDist(dist = 'dist', root = '.') {
  const removed = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) { walk(p); continue; }
      const ext = OUTPUTS.find((e) => name.endsWith(e));
      if (!ext) continue;
      const source = join(root, relative(dist, p).slice(0, -ext.length) + '.ts');
      if (!existsSync(source)) { rmSync(p); removed.push(p); }
    }
  };
  if (existsSync(dist)) walk(dist);
  return removed;
}
