// The browser tests' one way to find and start Debian's Chromium (never a downloaded browser), and the
// explorer server they load pages from.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './cli-helpers.js';

const cli = join(root, 'bin', 'backprop.js');

/** CHROMIUM_PATH, else the first of chromium, chromium-browser, google-chrome on PATH, else ''. */
export function findChromium(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('which', [name], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return '';
}

/**
 * Flags for a headless run on these machines: no sandbox (root), no GPU, and no background networking,
 * whose connections the closed network would refuse at every start.
 */
export const CHROMIUM_ARGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Starts `backprop explorer` on a free port (extra flags in `args`) and resolves with the process and the
 * URL it prints; rejects naming its output if it exits first or prints no URL within `timeoutMs`.
 */
export function startExplorer(args: string[] = [], timeoutMs = 30_000): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'explorer', '--port', '0', '--no-open', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`explorer did not print a URL within ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, url: m[0] }); }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`explorer exited with ${code}:\n${out}`)); });
  });
}

/**
 * The Tiny Shakespeare text the explorer's build ships with view 3 ($TINYSHAKESPEARE, else the shared data
 * folder beside the repository), or null where this machine has neither: then the tests that train on it
 * are skipped, loudly, except under CI=true, where they must run.
 */
export function shakespeareFile(): string | null {
  const f = process.env.TINYSHAKESPEARE ?? join(root, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt');
  if (existsSync(f)) return f;
  if (process.env.CI === 'true') throw new Error(`Tiny Shakespeare not found at ${f} (CI must have ../shared or $TINYSHAKESPEARE)`);
  console.error(`# SKIPPED: the tests that train view 3 on Tiny Shakespeare need ${f} (or $TINYSHAKESPEARE); with CI=true this is a failure`);
  return null;
}
