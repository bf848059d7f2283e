/** Small helpers shared by commands: number parsing with errors that name the flag. */
import { readFileSync } from 'node:fs';
import { ConfigError, DataError } from '../errors.js';

export function parseNumber(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new ConfigError(`${flag} must be a number, got "${v}"`);
    return x;
  };
}

export function parseInteger(flag: string, min = 0) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new ConfigError(`${flag} must be an integer ≥ ${min}, got "${v}"`);
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
