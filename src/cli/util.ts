/** Small helpers shared by commands: number parsing with errors that name the flag, and reading input files. */
import fs from 'node:fs';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ConfigError, DataError } from '../errors.js';

/** A finite decimal number (`1e-3`, `0.5`, `-2`); hex, empty and non-finite values are refused. */
export function parseNumber(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(v) || !Number.isFinite(x)) throw new ConfigError(`${flag} must be a number, got "${v}"`);
    return x;
  };
}

/** A decimal integer ≥ min, written in digits (`0x4`, `4.0`, `1e3` and "" are refused with the same message). */
export function parseInteger(flag: string, min = 0) {
  return (v: string): number => {
    const x = Number(v);
    if (!/^\s*[-+]?\d+\s*$/.test(v) || !Number.isSafeInteger(x) || x < min) throw new ConfigError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
    return x;
  };
}

export function parseNumberList(flag: string) {
  return (v: string): number[] => v.split(',').map((s) => parseNumber(flag)(s));
}

export function readJsonFile(path: string): unknown {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new DataError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  try { return JSON.parse(text); } catch (e) { throw new DataError(`${path}: invalid JSON (${(e as Error).message})`); }
}

/**
 * Checks that a command may write `outputs`: none of them is one of its `inputs` (compared by resolved
 * path and by file identity, so a link or `./x` is caught), and none exists unless `force`.
 * Throws ConfigError naming the file and what to do.
 */
export function checkOutputs(outputs: readonly string[], inputs: readonly string[], force: boolean): void {
  const id = (f: string): string | null => { try { const s = fs.statSync(f); return `${s.dev}:${s.ino}`; } catch { return null; } };
  const inIds = new Map<string, string>();
  for (const f of inputs) { inIds.set(path.resolve(f), f); const i = id(f); if (i) inIds.set(i, f); }
  for (const out of outputs) {
    const same = inIds.get(path.resolve(out)) ?? (id(out) ? inIds.get(id(out)!) : undefined);
    if (same !== undefined) throw new ConfigError(`${out} is also an input (${same}); it would be overwritten: choose another output name`);
    if (!force && fs.existsSync(out)) throw new ConfigError(`${out} already exists: choose another name, or pass --force to replace it`);
  }
}
