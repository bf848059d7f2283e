// The CLI's lazy command table (src/cli/main.ts): `backprop --help` lists every command from the table
// without importing the command modules, so the table must say exactly what the modules register;
// and the word that picks the module to import is found in the usual argument shapes. In-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Help } from 'commander';
import { buildProgram, chosenCommand, commands } from '../src/cli/main.js';

test('the command table lists each module\'s name, help term and summary, in the order the help shows', async () => {
  const full = await buildProgram('all'), listed = await buildProgram(undefined);
  const help = new Help();
  const real = full.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), summary: c.description() }));
  assert.deepEqual(real, commands.map(({ name, term, summary }) => ({ name, term, summary })));
  // The help text from the table alone is the help text with every module loaded.
  assert.equal(listed.helpInformation(), full.helpInformation());
});

test('the chosen command is the first word that is not a flag, or the one `help` names', () => {
  const name = (argv: string[]) => chosenCommand(argv)?.name;
  assert.equal(name(['ngram', '--data', 'wiki']), 'ngram');
  assert.equal(name(['train', '--preset', 'small', '--epochs', '2']), 'train');
  assert.equal(name(['help', 'eval']), 'eval');
  assert.equal(name(['plot', 'runs/x/train.jsonl']), 'plot');
  assert.equal(name(['--help']), undefined);
  assert.equal(name(['--version']), undefined);
  assert.equal(name(['frobnicate']), undefined);
  assert.equal(name([]), undefined);
});

test('a chosen command is fully registered; the others are listed but have no options', async () => {
  const p = await buildProgram(chosenCommand(['ngram', '--data', 'wiki']));
  const by = new Map(p.commands.map((c) => [c.name(), c]));
  assert.ok(by.get('ngram')!.options.some((o) => o.long === '--order'));
  assert.equal(by.get('train')!.options.length, 0);
});
