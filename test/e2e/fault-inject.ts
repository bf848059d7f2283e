// Loaded with `node --import` into a `backprop` process by the fault-injection tests (faults.test.ts):
// makes one atomic write fail or kills the process at a chosen point of it, or makes a folder read-only.
// It patches the `fs` functions src/io/atomic.ts calls, so the code under test is the shipped code.
//
// BACKPROP_FAULT (JSON):
//   { "file": "checkpoint.ckpt", "nth": 2, "at": "open"|"mid"|"fsync"|"rename"|"after", "do": "kill"|"ENOSPC"|"EIO" }
//       the nth atomic write of a file with that name: kill -9 the process, or fail with that error code,
//       at that point (mid: after writing half of the bytes; after: once renamed, before the folder sync)
//   { "readOnly": "/path/dir" }
//       every create, write, rename, remove or mkdir under that folder fails with EROFS
import fs from 'node:fs';
import path from 'node:path';

interface WriteFault { file: string; nth: number; at: 'open' | 'mid' | 'fsync' | 'rename' | 'after'; do: string }
interface ReadOnly { readOnly: string }
const spec = JSON.parse(process.env.BACKPROP_FAULT ?? 'null') as WriteFault | ReadOnly | null;
const f = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
const original = { ...f } as Record<string, (...a: unknown[]) => unknown>;

const fail = (code: string, syscall: string, p: string): never => {
  throw Object.assign(new Error(`${code}: injected, ${syscall} '${p}'`), { code, syscall, path: p });
};

if (spec && 'readOnly' in spec) {
  const root = path.resolve(spec.readOnly);
  const under = (p: unknown) => typeof p === 'string' && (path.resolve(p) + path.sep).startsWith(root + path.sep);
  for (const name of ['mkdirSync', 'unlinkSync', 'rmSync', 'writeFileSync', 'appendFileSync']) {
    f[name] = (...a: unknown[]) => (under(a[0]) ? fail('EROFS', name.replace('Sync', ''), a[0] as string) : original[name]!(...a));
  }
  f.openSync = (...a: unknown[]) => (under(a[0]) && a[1] !== undefined && a[1] !== 'r' ? fail('EROFS', 'open', a[0] as string) : original.openSync!(...a));
  f.renameSync = (...a: unknown[]) => (under(a[1]) ? fail('EROFS', 'rename', a[1] as string) : original.renameSync!(...a));
} else if (spec) {
  const act = (p: string, syscall: string) => {
    if (spec.do === 'kill') { process.kill(process.pid, 'SIGKILL'); for (;;) { /* the signal lands */ } }
    fail(spec.do, syscall, p);
  };
  let count = 0;
  let target: number | null = null; // the fd of the temporary file of the chosen write
  let targetTemp = '';
  const isTempOf = (p: unknown) => typeof p === 'string' && path.basename(p).startsWith(`.${spec.file}.tmp-`);
  f.openSync = (...a: unknown[]) => {
    if (!isTempOf(a[0]) || ++count !== spec.nth) return original.openSync!(...a);
    if (spec.at === 'open') act(a[0] as string, 'open');
    targetTemp = a[0] as string;
    target = original.openSync!(...a) as number;
    return target;
  };
  f.writeSync = (...a: unknown[]) => {
    if (a[0] !== target || spec.at !== 'mid') return original.writeSync!(...a);
    const length = a[3] as number;
    original.writeSync!(a[0], a[1], a[2], Math.max(1, length >> 1));
    return act(targetTemp, 'write');
  };
  f.fsyncSync = (...a: unknown[]) => (a[0] === target && spec.at === 'fsync' ? act(targetTemp, 'fsync') : original.fsyncSync!(...a));
  f.renameSync = (...a: unknown[]) => {
    if (a[0] !== targetTemp || !targetTemp) return original.renameSync!(...a);
    if (spec.at === 'rename') act(a[1] as string, 'rename');
    original.renameSync!(...a);
    if (spec.at === 'after') act(a[1] as string, 'rename');
    return undefined;
  };
}
