// Preloaded (--import) into every test process of the unit tier (`npm run test:unit`): starting a
// child process there is an error naming the function, so a test that runs the CLI or a browser
// cannot slip into the fast tier. Those tests live in test/e2e/ and run with the full `npm test`.
// Worker threads stay allowed (the WASM backend's pool). The test runner's own process, which has
// to spawn the test files, is left alone: only processes started by it (NODE_TEST_CONTEXT) are guarded.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

if (process.env.NODE_TEST_CONTEXT) {
  for (const fn of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    childProcess[fn] = () => {
      throw new Error(`unit tier: ${fn}() starts a child process; a test that needs one belongs in test/e2e/ (run by npm test)`);
    };
  }
  syncBuiltinESMExports();
}
