// Builds everything the package needs: the WASM kernels (AssemblyScript -> build/, embedded as a module),
// then the TypeScript sources (tsc -> dist/). Incremental: a second run with no changes is fast.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) { console.error(`build failed: ${cmd} ${args.join(' ')}`); process.exit(r.status ?? 1); }
}
if (existsSync('scripts/build-wasm.mjs')) run(process.execPath, ['scripts/build-wasm.mjs']);
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
