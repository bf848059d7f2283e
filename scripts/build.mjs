// Builds everything the package needs: the WASM kernels (AssemblyScript -> build/, embedded as a module),
// then the TypeScript sources (tsc -> dist/). Incremental: a second run with no changes is fast.
// Outputs whose source was deleted are swept from dist/ afterwards (tsc leaves them behind).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pruneDist } from './prune-dist.mjs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) { console.error(`build failed: ${cmd} ${args.join(' ')}`); process.exit(r.status ?? 1); }
}
if (existsSync('scripts/build-wasm.mjs')) run(process.execPath, ['scripts/build-wasm.mjs']);
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
for (const p of pruneDist()) console.log(`build: removed ${p} (its source is gone)`);
