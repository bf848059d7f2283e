/**
 * The `backprop` command-line tool. Each command lives in its own module under commands/ and registers
 * itself on the program; this file only wires them together and turns library errors into clear
 * one-line messages (exit code 2 for bad input, 1 for anything unexpected).
 */
import { Command, CommanderError } from 'commander';
import { BackpropError } from '../errors.js';
import { registerExplain } from './commands/explain.js';
import { registerExplorer } from './commands/explorer.js';
import { registerTrain } from './commands/train.js';
import { registerEval } from './commands/eval.js';
import { registerGenerate } from './commands/generate.js';
import { registerPlot } from './commands/plot.js';
import { registerExport } from './commands/export.js';
import { registerNgram } from './commands/ngram.js';

export const program = new Command('backprop')
  .description('Train neural networks by backpropagation, and show the work.')
  .version('0.1.0')
  .showHelpAfterError();

const registrations: ((p: Command) => void)[] = [registerExplain, registerExplorer, registerTrain, registerEval, registerGenerate, registerPlot, registerExport, registerNgram];

export async function main(argv: string[]): Promise<void> {
  for (const r of registrations) r(program);
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    if (e instanceof BackpropError) {
      console.error(`backprop: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}
