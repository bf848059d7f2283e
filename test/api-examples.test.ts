// The API reference's examples, kept honest: every function, class and constant that 'backprop' or
// 'backprop/node' exports carries an `@example` in its doc comment, each example imports from the
// package as a user would, and every example type-checks (strict TypeScript) against the built
// package's declarations (dist/src/index.d.ts and node.d.ts, what the tarball ships), so an example
// cannot drift from the API it shows. The examples are read from the emitted .d.ts, whose doc comments
// are the sources' own (tsc keeps them), through the compiler API, in process: no TypeDoc run, no child.
// Running them is left to the README examples (test/e2e/consumer.test.ts): many need files or a corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRIES = { 'backprop': join(root, 'dist', 'src', 'index.d.ts'), 'backprop/node': join(root, 'dist', 'src', 'node.d.ts') } as const;

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  baseUrl: root,
  paths: { 'backprop': [ENTRIES['backprop']], 'backprop/node': [ENTRIES['backprop/node']] },
  skipLibCheck: true,
  noEmit: true,
};

/** One example: the export it documents and its code. */
interface Example { entry: string; name: string; code: string }

/** One public export: its entry, name, whether it is a value (function, class, constant) and its examples. */
interface PublicExport { entry: string; name: string; isValue: boolean; examples: string[] }

/** The code of each ```ts fenced block in an @example tag's text (the tag's text when it has no fence). */
function codeBlocks(text: string): string[] {
  const fenced = [...text.matchAll(/```(?:ts|typescript)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return fenced.length ? fenced : [text];
}

/** Every export of both entries, read through the type checker (re-exports resolved to their declarations). */
function publicExports(): PublicExport[] {
  const program = ts.createProgram(Object.values(ENTRIES), OPTIONS);
  const checker = program.getTypeChecker();
  const out: PublicExport[] = [];
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const sf = program.getSourceFile(file);
    assert.ok(sf, `${file} is missing: build first (npm run build)`);
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    assert.ok(moduleSymbol, `${file} is not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const isValue = (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable)) !== 0;
      const examples = new Set<string>();
      for (const decl of symbol.declarations ?? []) {
        for (const tag of ts.getJSDocTags(decl)) {
          if (tag.tagName.text !== 'example') continue;
          for (const code of codeBlocks(ts.getTextOfJSDocComment(tag.comment) ?? '')) examples.add(code);
        }
      }
      out.push({ entry, name: exported.name, isValue, examples: [...examples] });
    }
  }
  return out;
}

const exportsFound = publicExports();
const examples: Example[] = exportsFound.flatMap((e) => e.examples.map((code) => ({ entry: e.entry, name: e.name, code })));

test('the export list is read (both entries, values and types)', () => {
  for (const [entry, name] of [['backprop', 'Tensor'], ['backprop', 'fit'], ['backprop', 'TensorRecord'], ['backprop/node', 'saveFile']] as const) {
    assert.ok(exportsFound.some((e) => e.entry === entry && e.name === name), `${entry} should export ${name}`);
  }
  assert.ok(exportsFound.filter((e) => e.isValue).length > 150, 'fewer value exports than expected');
});

test('every public function, class and constant has an @example', () => {
  const missing = exportsFound.filter((e) => e.isValue && e.examples.length === 0).map((e) => `${e.entry}: ${e.name}`);
  assert.deepEqual(missing, [], `exports without an @example in their doc comment:\n  ${missing.join('\n  ')}`);
});

test('every example imports from the package as a user would', () => {
  const bad = examples.filter((ex) => !/^import .* from 'backprop(\/node)?';$/m.test(ex.code)).map((ex) => `${ex.entry}: ${ex.name}`);
  assert.deepEqual(bad, [], `examples that import nothing from 'backprop' or 'backprop/node':\n  ${bad.join('\n  ')}`);
});

/**
 * Type-checks each of `sources` (path → code) as its own module in one program; the problems of each
 * file, keyed by path. The files are virtual (a compiler host serves them), so nothing is written.
 */
function typeCheck(sources: Map<string, string>): Map<string, string[]> {
  const host = ts.createCompilerHost(OPTIONS);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError) => {
    const text = sources.get(name);
    return text === undefined ? getSourceFile(name, version, onError) : ts.createSourceFile(name, text, version);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  const program = ts.createProgram([...sources.keys()], OPTIONS, host);
  const problems = new Map<string, string[]>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName ?? '(global)';
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : 0;
    problems.set(file, [...(problems.get(file) ?? []), `line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`]);
  }
  return problems;
}

test('every example type-checks against the built package (strict)', () => {
  // Each example is its own module (top-level await allowed) in a virtual folder, all in one program.
  // A canary that misuses the API must be caught, so a set-up that checks nothing (an unresolved
  // 'backprop' typed as any, say) fails here instead of passing every example.
  const dir = join(root, 'dist', '.api-examples');
  const canary = join(dir, 'canary.ts');
  const sources = new Map(examples.map((ex, i) => [join(dir, `${i}-${ex.name.replace(/\W/g, '_')}.ts`), `${ex.code}\nexport {};\n`]));
  sources.set(canary, "import { tensor } from 'backprop';\nconst n: number = tensor([1]);\nexport {};\n");
  assert.ok(sources.size > 150, `only ${sources.size - 1} examples found`);
  const problems = typeCheck(sources);
  assert.ok(!existsSync(dir), 'the examples are virtual files');
  assert.match((problems.get(canary) ?? []).join('\n'), /Type 'Tensor' is not assignable to type 'number'/, 'the canary type error was not reported');
  problems.delete(canary);
  const report = [...problems].map(([file, list]) => `--- ${file.replace(`${dir}/`, 'example ')}\n${list.join('\n')}\n${sources.get(file) ?? ''}`);
  assert.equal(problems.size, 0, `examples that do not type-check:\n${report.join('\n')}`);
});
