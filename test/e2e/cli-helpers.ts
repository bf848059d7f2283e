// Shared by the tests that run the `backprop` command as a user would: where the binary is, and one
// synchronous run of it with its exit status and output.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/e2e/). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const bin = path.join(root, 'bin', 'backprop.js');

export interface CliResult { status: number | null; stdout: string; stderr: string }

/**
 * Run `backprop ...args` in `cwd` and wait for it (killed after `timeoutMs`). `env` changes the
 * environment: a string sets a variable, undefined removes it.
 */
export function runCli(args: string[], cwd: string, timeoutMs = 120_000, env: Record<string, string | undefined> = {}): CliResult {
  const full: Record<string, string | undefined> = { ...process.env, ...env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete full[k];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: full });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
