// Participant-side harness: argument parsing, timing windows, JSON-line output.
//
// A participant is a script run as its own child process by bench/run.ts:
//     node --expose-gc dist/bench/<participant>.js --workload W3 [--windows 5] [--quick]
// It prints one JSON line per result on stdout (anything else on stdout is ignored; logs go to stderr):
//     {"lib":"ours","workload":"W3","case":"","unit":"tokens/s","median":171.2,"min":165.0,"max":175.3,
//      "peakRssMiB":212.4,"note":"5 windows × 3 steps"}
// Use runParticipant() below and that contract is met for you.

import { SPEC, WORKLOAD_IDS, timingFor, type Timing, type WorkloadId } from './workloads.js';

export interface ResultLine {
  lib: string;
  workload: WorkloadId;
  case: string; // '' for single-result workloads; e.g. '400x200x10000 Aᵀ·B' for W5
  unit: string;
  median: number | null; // null = not measured (n/a, not installed, error) — note says why
  min: number | null;
  max: number | null;
  peakRssMiB: number;
  note: string;
}

/** What a workload implementation returns; lib/workload/unit/peakRssMiB are filled in by the harness. */
export interface PartialResult {
  case?: string;
  median: number | null;
  min: number | null;
  max: number | null;
  note?: string;
}

export interface WorkloadContext {
  workload: WorkloadId;
  timing: Timing;
  quick: boolean;
  spec: typeof SPEC;
}

export type WorkloadImpl = (ctx: WorkloadContext) => Promise<PartialResult | PartialResult[]>;
/** A workload the participant cannot express: a string explains why (reported as n/a). */
export type ParticipantImpls = Partial<Record<WorkloadId, WorkloadImpl | string>>;

export interface ParticipantArgs {
  workloads: WorkloadId[];
  windows?: number;
  quick: boolean;
  rest: Map<string, string>;
}

export function parseParticipantArgs(argv: string[] = process.argv.slice(2)): ParticipantArgs {
  const rest = new Map<string, string>();
  let workloads: WorkloadId[] = [...WORKLOAD_IDS];
  let windows: number | undefined;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--workload' || a === '--workloads') {
      workloads = (argv[++i] ?? '').split(',').map((s) => s.trim().toUpperCase()) as WorkloadId[];
      for (const w of workloads) if (!WORKLOAD_IDS.includes(w)) throw new Error(`unknown workload ${w}`);
    } else if (a === '--windows') windows = Number(argv[++i]);
    else if (a.startsWith('--')) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) { rest.set(a.slice(2), next); i++; }
      else rest.set(a.slice(2), 'true');
    }
  }
  return { workloads, windows, quick, rest };
}

export function peakRssMiB(): number {
  // resourceUsage().maxRSS is in kilobytes (KiB) on Linux.
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
}

export function emit(line: ResultLine): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Measured {
  median: number;
  min: number;
  max: number;
  windows: number;
  stepsPerWindow: number;
  note: string;
}

/**
 * Warm up, calibrate a fixed number of steps per window (≈ timing.windowSec of work), then time
 * `windows` windows. Throughput per window = stepsPerWindow × unitsPerStep / seconds.
 * `step` may be sync or async (if its first call returns a promise, every call is awaited).
 * `sync`, if given, runs at the end of each window inside the timed region (e.g. to flush a queue).
 */
export async function measure(
  step: () => unknown,
  unitsPerStep: number,
  timing: Timing,
  sync?: () => unknown,
): Promise<Measured> {
  const now = () => performance.now() / 1000;
  // First call: compile / allocate / JIT, never timed.
  const first = step();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  const run = isAsync
    ? async (n: number) => { for (let i = 0; i < n; i++) await step(); if (sync) await sync(); }
    : async (n: number) => { for (let i = 0; i < n; i++) step(); if (sync) await sync(); };
  // Calibrate: keep stepping (doubling) until warmupSec has passed; the last batch gives the step time.
  let perStep = 0;
  let spent = 0;
  for (let n = 1; ; n *= 2) {
    const t0 = now();
    await run(n);
    const dt = now() - t0;
    spent += dt;
    perStep = dt / n;
    if (spent >= timing.warmupSec || dt >= timing.windowSec) break;
  }
  const stepsPerWindow = Math.max(1, Math.round(timing.windowSec / Math.max(perStep, 1e-9)));
  const windowSec = stepsPerWindow * perStep;
  let windows = timing.windows;
  if (windows * windowSec > timing.maxMeasureSec) {
    windows = Math.max(timing.minWindows, Math.min(windows, Math.floor(timing.maxMeasureSec / windowSec)));
  }
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    gc?.();
    const t0 = now();
    await run(stepsPerWindow);
    const dt = now() - t0;
    rates.push((stepsPerWindow * unitsPerStep) / dt);
  }
  return {
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    windows,
    stepsPerWindow,
    note: `${windows} windows × ${stepsPerWindow} steps`,
  };
}

export function fromMeasured(m: Measured, note = '', caseName = ''): PartialResult {
  return { case: caseName, median: m.median, min: m.min, max: m.max, note: [m.note, note].filter(Boolean).join('; ') };
}

/**
 * Entry point for a participant script. `setup` runs once per process (e.g. select a backend) and may
 * return a description printed as one info line {"lib", "info"} (e.g. "wasm SIMD, 1 thread").
 */
export async function runParticipant(
  lib: string,
  impls: ParticipantImpls | ((args: ParticipantArgs) => ParticipantImpls),
  setup?: (args: ParticipantArgs) => Promise<string | void>,
): Promise<void> {
  const args = parseParticipantArgs();
  const table = typeof impls === 'function' ? impls(args) : impls;
  let procNote = '';
  let failed = false;
  try {
    procNote = (await setup?.(args)) ?? '';
  } catch (e) {
    for (const w of args.workloads) {
      emit({ lib, workload: w, case: '', unit: SPEC[w].unit, median: null, min: null, max: null,
        peakRssMiB: peakRssMiB(), note: `setup failed: ${errMsg(e)}` });
    }
    process.exitCode = 1;
    return;
  }
  // One info line per process: {"lib":..., "info":...} (the orchestrator lists it once per library).
  if (procNote) process.stdout.write(JSON.stringify({ lib, info: procNote }) + '\n');
  for (const w of args.workloads) {
    const impl = table[w];
    const base = { lib, workload: w, unit: SPEC[w].unit };
    if (impl === undefined || typeof impl === 'string') {
      emit({ ...base, case: '', median: null, min: null, max: null, peakRssMiB: peakRssMiB(),
        note: `n/a${typeof impl === 'string' ? ': ' + impl : ''}` });
      continue;
    }
    try {
      const ctx: WorkloadContext = { workload: w, timing: timingFor(w, args.quick, args.windows), quick: args.quick, spec: SPEC };
      const res = await impl(ctx);
      for (const r of Array.isArray(res) ? res : [res]) {
        emit({ ...base, case: r.case ?? '', median: r.median, min: r.min, max: r.max, peakRssMiB: peakRssMiB(),
          note: r.note ?? '' });
      }
    } catch (e) {
      failed = true;
      process.stderr.write(`[${lib} ${w}] ${e instanceof Error ? e.stack : String(e)}\n`);
      emit({ ...base, case: '', median: null, min: null, max: null, peakRssMiB: peakRssMiB(), note: `error: ${errMsg(e)}` });
    }
  }
  if (failed) process.exitCode = 1;
}

function errMsg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
}

// ---------- deterministic random data (identical across JS participants) ----------

/** mulberry32 PRNG: returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randUniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export function randInts(n: number, maxExclusive: number, seed: number): Int32Array {
  const r = rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * maxExclusive);
  return out;
}
