/**
 * Crash-safe file replacement and output folders (Node only). A reader of `path` sees either the old
 * file or the complete new one, never a half-written mixture, even if the process or the machine dies
 * midway; and every failure of the file system ends as a one-line `FileError` naming the path, the
 * system's reason and what to do, with the previous file untouched.
 *
 * The recipe: write a temporary file in the same directory (a rename is only atomic within one
 * file system), fsync it so its bytes are on disk before its name is, rename it over the target,
 * then fsync the directory so the rename itself is durable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';

/** What to say about a file-system error code: the reason in words and what the user can do. */
const advice: Record<string, string> = {
  ENOENT: 'no such file or folder (a parent folder is missing, or the file system cannot hold new files there, like /proc)',
  ENOTDIR: 'a parent of it is a file, not a folder; choose another path',
  EEXIST: 'a file is in the way where a folder is needed; choose another path',
  EISDIR: 'it is a folder, not a file; give a file name',
  EACCES: 'permission denied; choose a path you can write to',
  EPERM: 'operation not permitted (a system folder?); choose a path you can write to',
  EROFS: 'the file system is read-only; choose a writable folder',
  ENOSPC: 'no space left on the device; free some space and run again',
  EDQUOT: 'disk quota exceeded; free some space and run again',
  EMFILE: 'too many open files; close some programs and run again',
  ENAMETOOLONG: 'the name is too long; choose a shorter path',
  EIO: 'input/output error from the device; check the disk',
};

/**
 * A file-system error as a `FileError`: "cannot ACTION PATH: REASON (CODE)". Errors that are
 * already a `FileError`, or are not file-system errors at all, are returned unchanged.
 */
export function fileError(error: unknown, file: string, action: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (error instanceof FileError || typeof code !== 'string') return error;
  const reason = advice[code] ?? (error as Error).message;
  const e = new FileError(`cannot ${action} ${file}: ${reason} (${code})`);
  (e as { cause?: unknown }).cause = error;
  return e;
}

/**
 * Creates `dir` and its missing parents one level at a time, in bounded time: Node's recursive
 * mkdir loops forever on some pseudo file systems (`/proc/foo` on Node 20), so each missing level is
 * made with a plain mkdir whose failure ends the walk. Throws `FileError` naming the path when a
 * parent is a file, or the file system refuses (ENOENT under /proc, EPERM under /sys, EROFS, …).
 */
export function ensureDirectory(dir: string, what = 'create folder'): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let st: fs.Stats | undefined;
    try { st = fs.statSync(p); } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fileError(e, p, what);
    }
    if (st) {
      if (!st.isDirectory()) throw new FileError(`cannot ${what} ${dir}: ${p} is a file, not a folder; choose another path`);
      break;
    }
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try { fs.mkdirSync(p); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(p).isDirectory()) continue; // made meanwhile
      throw fileError(e, p === path.resolve(dir) ? dir : p, what);
    }
  }
}

/** The temporary name's prefix for `target`; the full name adds `PID-RANDOM`. */
const tempPrefix = (target: string) => `.${path.basename(target)}.tmp-`;

/**
 * Removes the temporary files a killed writer left beside `target` (`.NAME.tmp-PID-RANDOM` whose
 * process no longer runs, or is this one: writes here are synchronous, so none of ours is in flight).
 * Returns the names removed.
 */
export function removeStaleTemps(target: string): string[] {
  const dir = path.dirname(path.resolve(target)), prefix = tempPrefix(target);
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && processRuns(pid)) continue;
    try { fs.unlinkSync(path.join(dir, name)); removed.push(name); } catch { /* gone already, or not ours to remove */ }
  }
  return removed;
}

function processRuns(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Atomically replaces (or creates) `target` with `bytes`. On any failure the temporary file is
 * removed, the previous file is left untouched, and a `FileError` naming `target` is thrown.
 *
 * If the process is killed between creating and renaming the temporary file, a stray
 * `.NAME.tmp-PID-RANDOM` file may remain beside the target; it is never read, and the next write
 * of the same target removes it.
 *
 * @example
 * ```ts
 * import { encodeCheckpoint } from 'backprop';
 * import { writeFileAtomic } from 'backprop/node';
 * writeFileAtomic('model.ckpt', encodeCheckpoint({ tensors: {}, meta: { note: 'empty' } }));
 * ```
 */
export function writeFileAtomic(target: string, bytes: Uint8Array): void {
  const dir = path.dirname(path.resolve(target));
  removeStaleTemps(target);
  const temp = path.join(dir, `${tempPrefix(target)}${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, 'wx', 0o644); // wx: fail rather than reuse an existing file
    let written = 0;
    while (written < bytes.byteLength) {
      written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, target);
  } catch (error) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing; keep the first error */ }
    }
    try { fs.unlinkSync(temp); } catch { /* never created, or already gone */ }
    throw fileError(error, target, 'write');
  }
  try { syncDirectory(dir); } catch (error) { throw fileError(error, dir, 'sync folder'); }
}

/** Makes a rename in `dir` durable. Some platforms (Windows) cannot open directories; skip there. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
