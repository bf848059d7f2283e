/**
 * Crash-safe file replacement (Node only). A reader of `path` sees either the old file or the
 * complete new one, never a half-written mixture, even if the process or the machine dies midway.
 *
 * The recipe: write a temporary file in the same directory (a rename is only atomic within one
 * file system), fsync it so its bytes are on disk before its name is, rename it over the target,
 * then fsync the directory so the rename itself is durable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Atomically replaces (or creates) `target` with `bytes`. On any failure the temporary file is
 * removed, the previous file is left untouched, and the original error is rethrown.
 *
 * If the process is killed between creating and renaming the temporary file, a stray
 * `.NAME.tmp-PID-RANDOM` file may remain beside the target; it is never read.
 *
 * @example
 *   writeFileAtomic('runs/ptb/model.ckpt', encodeCheckpoint(ckpt));
 */
export function writeFileAtomic(target: string, bytes: Uint8Array): void {
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
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
    throw error;
  }
  syncDirectory(dir);
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
