// The layout README.md documents, enforced: every import in src/**/*.ts (tests aside) points down the
// layer table below or into a folder beside it that may be used from there; Node APIs and npm
// packages are imported only where the README says; the public entry (src/index.ts) reaches no Node
// API, so it bundles for a browser; and the explorer page reaches the engine only through that entry.
// The checker is tested first on synthetic violations, so a checker that lets everything through fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The layers, lowest first. A file may import files of its own unit (folder, or root file) and any
 * unit in a lower layer; never a unit of its own layer or above.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['backend'],            // kernels: the reference (js/) and WASM backends
  ['tensor'],             // Tensor holds backend storage, so tensor sits above backend
  ['autodiff'],           // primitives, tape, grad
  ['nn'],                 // layers, models, the SequenceModel contract
  ['optim'],              // optimizers over a Module's parameter arena
  ['io'],                 // formats (safetensors, checkpoints, ONNX): reads the activation table in nn
  ['eval', 'explain'],    // scoring and the tutorial's trace
  ['train'],              // TBPTT, the LM trainer (measures perplexity through eval)
  ['cli', 'index.ts', 'node.ts'], // the faces: the command, the public entry and its Node-only part (backprop/node)
];
/** Beside the stack: they import nothing but errors.ts, and are used from the `eval` layer up. */
const BESIDE = ['data', 'ngram'];
const BESIDE_FROM_LAYER = LAYERS.findIndex((l) => l.includes('eval'));
/** The only units whose files import Node APIs (node:*) or npm packages directly. */
const NODE_UNITS = ['cli', 'io', 'data'];

const layerOf = (unit: string): number => LAYERS.findIndex((l) => l.includes(unit));
/** src-relative path → its unit: the first folder, or the file itself at the root. */
const unitOf = (file: string): string => file.split('/')[0]!;

interface Import { spec: string; typeOnly: boolean }

/** The import/export-from statements and literal dynamic imports of a source (comments removed). */
function importsOf(source: string): Import[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Import[] = [];
  const stat = /^\s*(?:import|export)\s+(type\s+)?((?:[\w$]+\s*,\s*)?(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\}|[\w$]+))\s+from\s+['"]([^'"]+)['"]/gm;
  for (const m of code.matchAll(stat)) {
    const names = m[2]!.trim();
    const allTypes = names.startsWith('{') && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '));
    out.push({ spec: m[3]!, typeOnly: Boolean(m[1]) || allTypes });
  }
  for (const m of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  // import('x') as an expression; `typeof import('x')` is a type and loads nothing.
  for (const m of code.matchAll(/(?<!typeof\s+)\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** A relative import of `from` resolved to a src-relative path (.js → .ts), or null for a package / node: import. */
function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return posix.normalize(posix.join(posix.dirname(from), spec)).replace(/\.js$/, '.ts');
}

/** Every import against the layer table, as one line per violation. `files`: src-relative path → source. */
function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, source] of files) {
    const from = unitOf(file);
    for (const { spec } of importsOf(source)) {
      const target = resolve(file, spec);
      if (target === null) continue;
      if (target.startsWith('..')) { bad.push(`${file} imports ${spec}, outside src/`); continue; }
      const to = unitOf(target);
      if (to === from || to === 'errors.ts') continue;
      let ok: boolean;
      if (BESIDE.includes(from)) ok = false;                               // beside units import only errors.ts
      else if (BESIDE.includes(to)) ok = layerOf(from) >= BESIDE_FROM_LAYER;
      else ok = layerOf(to) >= 0 && layerOf(from) >= 0 && layerOf(to) < layerOf(from);
      if (!ok) bad.push(`${file} imports ${spec}: ${from} may not depend on ${to}`);
    }
  }
  return bad;
}

/** Node APIs and npm packages outside NODE_UNITS, and any reached from the public entry. */
function nodeViolations(files: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, source] of files) {
    if (NODE_UNITS.includes(unitOf(file))) continue;
    for (const { spec, typeOnly } of importsOf(source)) if (!typeOnly && resolve(file, spec) === null) bad.push(`${file} imports ${spec} (Node APIs and packages only in ${NODE_UNITS.join(', ')})`);
  }
  // What src/index.ts loads, transitively, must load nothing but our own files.
  const seen = new Set<string>(), stack = ['index.ts'];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file) || !files.has(file)) continue;
    seen.add(file);
    for (const { spec, typeOnly } of importsOf(files.get(file)!)) {
      if (typeOnly) continue;
      const target = resolve(file, spec);
      if (target === null) bad.push(`the public entry reaches ${file}, which imports ${spec}`);
      else stack.push(target);
    }
  }
  return bad;
}

function sources(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.set(relative(join(root, 'src'), p).split(sep).join('/'), readFileSync(p, 'utf8'));
  }
  return out;
}

test('the layout checker catches what it must (synthetic sources)', () => {
  const check = (files: Record<string, string>) => [...layerViolations(new Map(Object.entries(files))), ...nodeViolations(new Map(Object.entries(files)))];
  assert.match(check({ 'autodiff/x.ts': "import { Dense } from '../nn/layers.js';" }).join('\n'), /autodiff\/x\.ts imports \.\.\/nn\/layers\.js: autodiff may not depend on nn/);
  assert.equal(check({ 'autodiff/x.ts': "import type { Dense } from '../nn/layers.js';" }).length, 1, 'a type import is a dependency too');
  assert.equal(check({ 'tensor/x.ts': "export * from '../autodiff/ops.js';" }).length, 1, 're-exports count');
  assert.equal(check({ 'backend/x.ts': "const m = await import('../nn/layers.js');" }).length, 1, 'dynamic imports count');
  assert.equal(check({ 'eval/x.ts': "import { a } from '../explain/y.js';" }).length, 1, 'no imports within a layer');
  assert.equal(check({ 'data/x.ts': "import { Tensor } from '../tensor/tensor.js';" }).length, 1, 'data imports only errors');
  assert.equal(check({ 'nn/x.ts': "import { loadCorpus } from '../data/sources.js';" }).length, 1, 'the layers below eval do not use data');
  assert.equal(check({ 'nn/x.ts': "import fs from 'node:fs';" }).length, 1, 'node:* outside the Node units');
  assert.equal(check({ 'train/x.ts': "import bar from 'cli-progress';" }).length, 1, 'packages outside the Node units');
  assert.match(check({ 'index.ts': "export * from './data/a.js';", 'data/a.ts': "import { readFileSync } from 'node:fs';" }).join('\n'), /public entry reaches data\/a\.ts, which imports node:fs/);
  // Allowed: down the stack, beside from eval up, errors from anywhere, comments, type positions.
  assert.deepEqual(check({
    'train/x.ts': "import * as o from '../autodiff/index.js';\nimport { StreamBatcher, type Corpus } from '../data/index.js';\nimport { scoreStream } from '../eval/score.js';",
    'data/y.ts': "import { DataError } from '../errors.js';\n// import { Tensor } from '../tensor/tensor.js';\n/* import { Dense } from '../nn/layers.js'; */",
    'backend/z.ts': "const wt = await nodeImport('node:worker_threads') as typeof import('node:worker_threads');",
  }), []);
});

test('every import in src/ follows the documented layers; Node APIs only in cli, io and data; the public entry is Node-free', () => {
  const files = sources(join(root, 'src'));
  assert.ok(files.size > 50 && files.has('index.ts') && files.has('train/tbptt.ts'), `read ${files.size} sources`);
  for (const f of files.keys()) {
    const u = unitOf(f);
    assert.ok(layerOf(u) >= 0 || BESIDE.includes(u), `${f}: its unit ${u} is in no layer of the table (add it, and to README's layout)`);
  }
  const seen = [...files.values()].reduce((n, s) => n + importsOf(s).length, 0);
  assert.ok(seen > 250, `the parser found only ${seen} imports in src/: it is missing statements`);
  assert.deepEqual(layerViolations(files), []);
  assert.deepEqual(nodeViolations(files), []);
});

test('the explorer page imports the engine only through its public entry, and no Node API', () => {
  const dir = join(root, 'web', 'src');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    for (const { spec } of importsOf(readFileSync(join(dir, name), 'utf8'))) {
      const ok = spec.startsWith('./') || spec === '../../src/index.js' || spec === 'katex';
      assert.ok(ok, `web/src/${name} imports ${spec}`);
    }
  }
});
