// The browser tests' one way to find and start Debian's Chromium (never a downloaded browser).
import { spawnSync } from 'node:child_process';

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
