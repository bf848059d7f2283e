// The package's install step: builds the optional native kernels (binding.gyp, native/*.c) with
// node-gyp. It never fails the install: without a compiler, make or OpenBLAS the WASM backend runs
// alone, and this prints one line saying why the native kernels are absent and how to get them, then
// exits 0. BACKPROP_NATIVE=0 skips the build. node-gyp is the copy npm runs scripts with
// ($npm_config_node_gyp), else the one bundled with npm; its full output goes to build/native-build.log.
// `configure` + `build`, not `rebuild`: rebuild starts by deleting build/, which also holds the
// prebuilt explorer page of an installed package.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOW = 'apt-get install libopenblas-dev g++ make python3 (Debian/Ubuntu), then npm rebuild backprop';

function absent(why) {
  console.log(`backprop: native GEMM kernels not built (${why}); the WASM backend is used. To get them: ${HOW}`);
  process.exit(0);
}

if (/^(0|false|off|no)$/i.test(process.env.BACKPROP_NATIVE ?? '')) absent('BACKPROP_NATIVE=0');
if (process.platform === 'win32') absent('native kernels are built on Linux and macOS only');

/** node-gyp's entry script: npm's own, or the copy bundled with the npm beside this node. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  return candidates.find((p) => p && existsSync(p));
}

const gyp = nodeGyp();
if (!gyp) absent('node-gyp not found (npm bundles it)');
// Node's own headers where they are installed beside it (Debian's nodejs, the official tarballs), so that
// node-gyp does not try to download them; npm passes its nodedir setting as npm_config_nodedir.
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
// Without local headers node-gyp would download them (and, offline, wait on the network): use its cache
// if an earlier build filled it, else say so and stop, never fetch.
const gypCache = join(process.env.npm_config_devdir || join(homedir(), '.cache', 'node-gyp'), process.versions.node);
if (!nodedir && !existsSync(join(gypCache, 'include', 'node', 'node_api.h'))) {
  absent("Node's headers are not installed beside node (Debian: libnode-dev), and node-gyp would download them");
}
try {
  build();
} catch (e) {
  // Whatever goes wrong (a read-only package folder for the log, say), the install itself must not fail.
  absent(e instanceof Error ? e.message : String(e));
}

/** node-gyp configure + build; on failure, one line naming the likely cause (absent() exits 0). */
function build() {
  const log = [];
  for (const step of ['configure', 'build']) {
    const args = [gyp, step, '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 180_000 });
    log.push(`$ node-gyp ${step}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
    if (r.status !== 0) {
      const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
      mkdirSync(join(root, 'build'), { recursive: true });
      writeFileSync(join(root, 'build', 'native-build.log'), log.join('\n'));
      const why = /cblas\.h|lopenblas|openblas/i.test(text) ? 'OpenBLAS (cblas.h, libopenblas) not found'
        : /python/i.test(text) && /find|not found|ENOENT/i.test(text) ? 'no Python 3 for node-gyp'
        : /gcc|g\+\+|cc: not found|make: not found|not found: make|compiler|ENOENT/i.test(text) ? 'no C compiler or make'
        : /node_api\.h|common\.gypi|headers|network/i.test(text) ? "Node's headers not found (install nodejs's headers, or set npm's nodedir)"
        : r.error ? r.error.message : `node-gyp ${step} failed, see build/native-build.log`;
      absent(why);
    }
  }
}
