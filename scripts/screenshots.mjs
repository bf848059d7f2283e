// Refreshes the explorer screenshots in docs/img/ (the README and docs/explorer.md show them): runs the
// explorer's end-to-end test with EXPLORER_SHOTS pointing at artifacts/explorer/, then copies one
// screenshot per view into docs/img/. The test itself never writes into the repository; this script is
// the only thing that does, on request (`npm run screenshots`, after `npm run build`).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const test = join('dist', 'test', 'e2e', 'explorer.test.js');
if (!existsSync(test)) { console.error(`screenshots: ${test} is missing; run \`npm run build\` first`); process.exit(1); }
const shots = join('artifacts', 'explorer');
mkdirSync(shots, { recursive: true });
const r = spawnSync(process.execPath, ['--test', test], { stdio: 'inherit', env: { ...process.env, EXPLORER_SHOTS: shots } });
if (r.status !== 0) { console.error('screenshots: the explorer test failed; docs/img/ left as it was'); process.exit(r.status ?? 1); }
mkdirSync(join('docs', 'img'), { recursive: true });
for (const [from, to] of [['07-trained.png', 'explorer-view1.png'], ['view2.png', 'explorer-view2.png']]) {
  copyFileSync(join(shots, from), join('docs', 'img', to));
  console.log(`docs/img/${to} <- ${join(shots, from)}`);
}
