// Benchmark orchestrator: runs every participant (ours + peers) as its own child process per workload,
// prints one table per workload, writes docs/bench-results.md (and optionally the raw JSON lines).
//
//   npm run bench                                   # everything (builds first)
//   npm run bench -- --only W3,W5 --libs ours,tfjs-wasm,torch --quick
//   npx tsx bench/run.ts --libs tfjs-wasm,torch --quick   # during development (runs the .ts sources)
//
// Options:
//   --only W1,W2,...     workloads to run (default all)
//   --libs a,b,...       participants: ours, tfjs-wasm, tfjs-cpu, brain.js (or brain), torch, page (default all)
//   --quick              2 short windows per measurement
//   --windows N          override the number of timed windows
//   --md PATH            markdown report (default docs/bench-results.md); --no-md to skip
//   --jsonl PATH         also write all JSON lines (results + info) to PATH
//   --reuse PATH         fill in (lib, workload) results that this run does not measure from a saved .jsonl
//                        (e.g. --libs ours --reuse bench/results/peers.jsonl; ratios across runs are noisier)
//   --timeout S          per child process timeout in seconds (default 900)
//   --verbose            stream the children's stderr
//
// Participant contract: see bench/harness.ts (a script that takes --workload W [--windows N] [--quick]
// and prints JSON lines {lib, workload, case, unit, median, min, max, peakRssMiB, note}).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultLine } from './harness.js';
import { SPEC, WORKLOAD_IDS, type WorkloadId } from './workloads.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fromTs = import.meta.url.endsWith('.ts');
const root = fromTs ? path.resolve(here, '..') : path.resolve(here, '../..');
const PY = '/usr/bin/python3';

interface Participant {
  id: string;
  kind: 'node' | 'python';
  /** module path relative to bench/, without extension (node) or with .py (python) */
  script: string;
  args: string[];
  /** The workloads it takes part in (default: all). */
  only?: WorkloadId[];
}

const PARTICIPANTS: Participant[] = [
  { id: 'ours', kind: 'node', script: 'ours', args: [] },
  { id: 'tfjs-wasm', kind: 'node', script: 'peers/tfjs', args: ['--backend', 'wasm'] },
  { id: 'tfjs-cpu', kind: 'node', script: 'peers/tfjs', args: ['--backend', 'cpu'] },
  { id: 'brain.js', kind: 'node', script: 'peers/brain', args: [] },
  { id: 'torch', kind: 'python', script: 'peers/torch_bench.py', args: [] },
  // The explorer's view 3 in headless Chromium against the same loop in Node (bench/page.ts).
  { id: 'page', kind: 'node', script: 'page', args: [], only: ['W4'] },
];
const LIB_ALIASES: Record<string, string> = { brain: 'brain.js', pytorch: 'torch', wasm: 'tfjs-wasm', cpu: 'tfjs-cpu' };

interface Options {
  only: WorkloadId[];
  libs: string[];
  quick: boolean;
  windows?: number;
  md: string | null;
  jsonl: string | null;
  reuse: string | null;
  timeoutS: number;
  verbose: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    only: [...WORKLOAD_IDS], libs: PARTICIPANTS.map((p) => p.id), quick: false,
    md: path.join(root, 'docs/bench-results.md'), jsonl: null, reuse: null, timeoutS: 900, verbose: false,
  };
  const val = (i: number) => {
    const v = argv[i];
    if (v === undefined) throw new Error(`missing value for ${argv[i - 1]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--only': {
        o.only = val(++i).split(',').map((s) => s.trim().toUpperCase()) as WorkloadId[];
        for (const w of o.only) if (!WORKLOAD_IDS.includes(w)) throw new Error(`unknown workload ${w} (known: ${WORKLOAD_IDS.join(', ')})`);
        break;
      }
      case '--libs': {
        o.libs = val(++i).split(',').map((s) => s.trim()).map((s) => LIB_ALIASES[s] ?? s);
        for (const l of o.libs) if (!PARTICIPANTS.some((p) => p.id === l)) throw new Error(`unknown lib ${l} (known: ${PARTICIPANTS.map((p) => p.id).join(', ')})`);
        break;
      }
      case '--quick': o.quick = true; break;
      case '--windows': o.windows = Number(val(++i)); break;
      case '--md': o.md = path.resolve(val(++i)); break;
      case '--no-md': o.md = null; break;
      case '--jsonl': o.jsonl = path.resolve(val(++i)); break;
      case '--reuse': o.reuse = path.resolve(val(++i)); break;
      case '--timeout': o.timeoutS = Number(val(++i)); break;
      case '--verbose': o.verbose = true; break;
      case '--help': case '-h':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

interface InfoLine { lib: string; info: string }

function resolveCommand(p: Participant, w: WorkloadId, o: Options): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } | { skip: string } {
  const common = ['--workload', w, ...(o.quick ? ['--quick'] : []), ...(o.windows ? ['--windows', String(o.windows)] : []), ...p.args];
  if (p.kind === 'python') {
    const file = path.join(root, 'bench', p.script);
    if (!existsSync(PY)) return { skip: `${PY} not found (torch not installed)` };
    if (!existsSync(file)) return { skip: `bench/${p.script} does not exist` };
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // let OpenBLAS detect the CPU itself, for this child only
    delete env.OPENBLAS_L2_SIZE;
    env.PYTHONUNBUFFERED = '1';
    return { cmd: PY, args: [file, ...common, '--spec', JSON.stringify(SPEC)], env };
  }
  const tsFile = path.join(root, 'bench', `${p.script}.ts`);
  const jsFile = path.join(root, 'dist/bench', `${p.script}.js`);
  if (fromTs) {
    if (!existsSync(tsFile)) return { skip: `bench/${p.script}.ts does not exist yet` };
    return { cmd: process.execPath, args: ['--expose-gc', '--import', 'tsx', tsFile, ...common], env: process.env };
  }
  if (!existsSync(jsFile)) {
    return { skip: existsSync(tsFile) ? `bench/${p.script}.ts exists but dist/bench/${p.script}.js is not built` : `bench/${p.script}.ts does not exist yet` };
  }
  return { cmd: process.execPath, args: ['--expose-gc', jsFile, ...common], env: process.env };
}

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, o: Options, label: string):
  Promise<{ lines: unknown[]; code: number | null; stderrTail: string; seconds: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-20000);
      if (o.verbose) process.stderr.write(d.split('\n').map((l) => (l ? `  [${label}] ${l}` : l)).join('\n'));
    });
    const timer = setTimeout(() => { err += `\n(killed after ${o.timeoutS} s timeout)`; child.kill('SIGKILL'); }, o.timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines: unknown[] = [];
      for (const l of out.split('\n')) {
        const s = l.trim();
        if (!s.startsWith('{')) continue;
        try { lines.push(JSON.parse(s)); } catch { /* not a result line */ }
      }
      resolve({ lines, code, stderrTail: err.split('\n').slice(-15).join('\n'), seconds: (performance.now() - t0) / 1000 });
    });
    child.on('error', (e) => { err += String(e); });
  });
}

// ---------------- formatting ----------------

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}
function fmtRatio(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return '—';
  return r >= 10 ? `${r.toFixed(0)}×` : r >= 1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`;
}
const esc = (s: string) => s.replace(/\|/g, '\\|');

function workloadTable(w: WorkloadId, rows: ResultLine[], libOrder: string[]): string {
  const unit = SPEC[w].unit;
  const cases = [...new Set(rows.map((r) => r.case))];
  const hasCase = cases.some((c) => c !== '');
  const head = [...(hasCase ? ['case'] : []), 'library', `${unit} (median)`, 'min', 'max', 'ours ÷ lib', 'peak RSS MiB', 'note'];
  const out = [`### ${SPEC[w].title}`, '', `| ${head.join(' | ')} |`, `|${head.map((h) => (h === 'note' || h === 'library' || h === 'case' ? '---' : '---:')).join('|')}|`];
  for (const c of cases) {
    const ours = rows.find((r) => r.case === c && r.lib === 'ours');
    for (const lib of libOrder) {
      for (const r of rows.filter((x) => x.case === c && x.lib === lib)) {
        const ratio = ours?.median && r.median ? ours.median / r.median : null;
        out.push(`| ${[...(hasCase ? [c] : []), r.lib, fmt(r.median), fmt(r.min), fmt(r.max), fmtRatio(ratio),
          r.peakRssMiB ? fmt(r.peakRssMiB) : '—', esc(r.note ?? '')].join(' | ')} |`);
      }
    }
  }
  out.push('', '"ours ÷ lib" > 1 means ours has the higher throughput. Medians over timed windows after warm-up.', '');
  return out.join('\n');
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}
function cpuFlags(): string {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    const f = new Set((m?.[1] ?? '').split(/\s+/));
    return ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx512_vnni'].filter((x) => f.has(x)).join(' ');
  } catch { return ''; }
}

function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ' -- ' + args : ''}`;
  const script = path.relative(root, process.argv[1] ?? '');
  return fromTs ? `npx tsx ${script} ${args}`.trim() : `node ${process.execArgv.join(' ')} ${script} ${args}`.replace(/\s+/g, ' ').trim();
}

// ---------------- the browser participant ----------------

/**
 * The "In the page" table: the page participant's tokens/s against Node's for the same loop, model and
 * threads (measured by bench/page.ts in alternation), page ÷ Node, and `ours` on the same workload for
 * reference (the bench's own loop, without view 3's gradient diagnostics). Null when no page result.
 */
function pageTable(rows: ResultLine[]): string | null {
  const r = rows.find((x) => x.lib === 'page' && x.median !== null) as (ResultLine & { node?: { median: number; min: number; max: number }; ratio?: number; threads?: number }) | undefined;
  if (!r?.node) return null;
  const ours = rows.find((x) => x.lib === 'ours' && x.case === '' && x.median !== null);
  return [
    `### In the page: ${SPEC[r.workload].title.split(' ')[0]} trained by the explorer's view 3 in Chromium, against the same loop in Node`, '',
    `| threads | page ${r.unit} (median) | min | max | Node ${r.unit} (median) | min | max | page ÷ Node | ours (bench loop) |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${r.threads ?? '—'} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | ${fmt(r.node.median)} | ${fmt(r.node.min)} | ${fmt(r.node.max)} | ${r.ratio !== undefined ? `${(r.ratio * 100).toFixed(0)}%` : '—'} | ${fmt(ours?.median)} |`,
    '', 'Page and Node train the same model on the same text with the same TBPTT windows, alternating timed windows in one child ' +
    'process; both count training time only and run view 3\'s loop (with its ‖∂E/∂h‖ diagnostics). "ours" is the bench\'s own W4 loop.', '',
  ].join('\n');
}

// ---------------- main ----------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = new Date();
  const load0 = os.loadavg();
  const participants = PARTICIPANTS.filter((p) => o.libs.includes(p.id));
  const results: ResultLine[] = [];
  const infos = new Map<string, string>();
  const skipped = new Map<string, string>();
  const rawLines: unknown[] = [];
  const tables: string[] = [];
  const wallByLib = new Map<string, number>();

  let reused: ResultLine[] = [];
  if (o.reuse) {
    for (const l of readFileSync(o.reuse, 'utf8').split('\n')) {
      if (!l.trim()) continue;
      const j = JSON.parse(l) as ResultLine & Partial<InfoLine>;
      if (j.info !== undefined) { if (!o.libs.includes(j.lib) && !infos.has(j.lib)) infos.set(j.lib, `${j.info} (reused from ${path.relative(root, o.reuse)})`); continue; }
      if (!o.libs.includes(j.lib)) reused.push({ ...j, note: [j.note, 'reused'].filter(Boolean).join('; ') });
    }
  }
  const libOrder = [...PARTICIPANTS.map((p) => p.id)];

  process.stderr.write(`backprop bench: workloads ${o.only.join(',')}; libs ${participants.map((p) => p.id).join(',')}${o.quick ? ' (quick)' : ''}; ${fromTs ? 'tsx sources' : 'dist build'}\n`);
  for (const w of o.only) {
    for (const p of participants) {
      if (p.only && !p.only.includes(w)) continue;
      const r = resolveCommand(p, w, o);
      if ('skip' in r) {
        skipped.set(p.id, r.skip);
        results.push({ lib: p.id, workload: w, case: '', unit: SPEC[w].unit, median: null, min: null, max: null, peakRssMiB: 0, note: `skipped: ${r.skip}` });
        process.stderr.write(`[${w}] ${p.id}: skipped (${r.skip})\n`);
        continue;
      }
      process.stderr.write(`[${w}] ${p.id}: running…`);
      const res = await runChild(r.cmd, r.args, r.env, o, `${p.id} ${w}`);
      wallByLib.set(p.id, (wallByLib.get(p.id) ?? 0) + res.seconds);
      let got = 0;
      for (const j of res.lines as (ResultLine & Partial<InfoLine>)[]) {
        if (typeof j !== 'object' || j === null || typeof j.lib !== 'string') continue;
        j.lib = p.id; // the orchestrator's name wins (e.g. tfjs --backend cpu → tfjs-cpu)
        rawLines.push(j);
        if (j.info !== undefined) { infos.set(p.id, j.info); continue; }
        if (j.workload !== w) continue;
        results.push(j);
        got++;
      }
      const mine = results.filter((x) => x.lib === p.id && x.workload === w);
      const summary = mine.length === 1 ? `${fmt(mine[0]!.median)} ${SPEC[w].unit}${mine[0]!.median === null ? ` (${mine[0]!.note})` : ''}` : `${got} results`;
      process.stderr.write(` ${summary} [${res.seconds.toFixed(1)} s]\n`);
      if (res.code !== 0 || got === 0) {
        process.stderr.write(`  exit code ${res.code}; stderr tail:\n${res.stderrTail.split('\n').map((l) => '    ' + l).join('\n')}\n`);
        if (got === 0) {
          results.push({ lib: p.id, workload: w, case: '', unit: SPEC[w].unit, median: null, min: null, max: null, peakRssMiB: 0,
            note: `failed (exit ${res.code}): ${res.stderrTail.trim().split('\n').pop()?.slice(0, 160) ?? ''}` });
        }
      }
    }
    const rows = [...results.filter((r) => r.workload === w), ...reused.filter((r) => r.workload === w)];
    const table = workloadTable(w, rows, libOrder);
    tables.push(table);
    process.stdout.write('\n' + table + '\n');
    const inPage = pageTable(rows);
    if (inPage) { tables.push(inPage); process.stdout.write('\n' + inPage + '\n'); }
    if (o.md) writeReport(o, started, load0, tables, infos, skipped, wallByLib, false);
  }
  reused = reused.filter((r) => o.only.includes(r.workload));

  if (o.jsonl) {
    mkdirSync(path.dirname(o.jsonl), { recursive: true });
    writeFileSync(o.jsonl, rawLines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    process.stderr.write(`wrote ${path.relative(process.cwd(), o.jsonl)}\n`);
  }
  if (o.md) {
    writeReport(o, started, load0, tables, infos, skipped, wallByLib, true);
    process.stderr.write(`wrote ${path.relative(process.cwd(), o.md)}\n`);
  }
}

function writeReport(o: Options, started: Date, load0: number[], tables: string[], infos: Map<string, string>,
  skipped: Map<string, string>, wallByLib: Map<string, number>, done: boolean): void {
  const md: string[] = [];
  md.push('# Benchmark results', '');
  md.push(done ? '' : '_(partial: run in progress or interrupted)_\n');
  md.push('Generated by `bench/run.ts`. Every library trains the same shapes on random data in its own child process; ' +
    'each number is the median of timed windows (a fixed number of steps each) after warm-up, with min and max. ' +
    'Peak RSS is the child process\'s maximum resident set (one process per library and workload). ' +
    'The machine is shared and noisy: compare ratios within one run rather than absolute numbers across runs.', '');
  md.push('## Machine and command', '');
  md.push(`- CPU: ${cpuModel()} (${cpuFlags()}); ${os.cpus().length} logical cores; ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  md.push(`- OS: ${os.type()} ${os.release()} ${os.arch()}; Node ${process.version}`);
  md.push(`- Date: ${started.toISOString()}; load average at start ${load0.map((x) => x.toFixed(2)).join(' / ')}, at ${done ? 'end' : 'last update'} ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
  md.push(`- Command: \`${commandLine()}\`${o.quick ? ' (quick mode: 2 short windows — indicative only)' : ''}`);
  md.push('');
  md.push('## Participants', '');
  for (const p of PARTICIPANTS) {
    const wall = wallByLib.get(p.id);
    const line = infos.get(p.id) ?? (skipped.get(p.id) ? `skipped: ${skipped.get(p.id)}` : o.libs.includes(p.id) ? '' : 'not run');
    md.push(`- **${p.id}**: ${line}${wall ? ` — child wall time ${wall.toFixed(0)} s` : ''}`);
  }
  md.push('');
  md.push('## Results', '');
  md.push(...tables);
  md.push('## Notes', '',
    '- W3/W4 on tfjs: the wasm backend has no `UnsortedSegmentSum` kernel (used by `tf.gather`\'s gradient) and the cpu backend\'s ' +
    'loops over one full-size mask per vocabulary id, so both use `tf.gather` forward with a custom gradient `scatterND(ids, dy)` ' +
    '(ScatterNd sums duplicate ids) for the embedding.',
    '- tfjs-wasm runs single-threaded SIMD in Node (no multithread support there); tfjs-cpu is pure JS.',
    '- brain.js expresses W1 exactly; W2/W3/W4 only approximately (batch 1, its own losses/optimizer; see the notes column). W5 is n/a.',
    '- PyTorch runs under /usr/bin/python3 with `torch.set_num_threads(2)` and with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment.',
    '');
  mkdirSync(path.dirname(o.md!), { recursive: true });
  writeFileSync(o.md!, md.join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
