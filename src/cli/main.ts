/**
 * The `backprop` command-line tool. Each command lives in its own module under commands/ and registers
 * itself on the program; this file only wires them together and turns library errors into clear
 * one-line messages (exit code 2 for bad input, 1 for anything unexpected).
 *
 * Only the chosen command's module is imported, so `backprop --help` or a flag error returns at once:
 * the other commands appear in the help as their name and summary from the table below (a test checks
 * the table against the modules).
 */
import { Command, CommanderError, Help } from 'commander';
import { BackpropError } from '../errors.js';

/** One command: its help-list term and summary, and how to load its registration. */
export interface CommandEntry {
  name: string;
  /** As commander lists it: the name, ` [options]`, then the arguments. */
  term: string;
  summary: string;
  load: () => Promise<(p: Command) => void>;
}

export const commands: readonly CommandEntry[] = [
  { name: 'explain', term: 'explain [options]', summary: "walk one training step of a dense network the tutorial's way: forward, error, backward, update",
    load: async () => (await import('./commands/explain.js')).registerExplain },
  { name: 'explorer', term: 'explorer [options]', summary: 'serve the interactive backprop explorer (the tutorial network step by step, and BPTT) on 127.0.0.1',
    load: async () => (await import('./commands/explorer.js')).registerExplorer },
  { name: 'train', term: 'train [options]', summary: 'train a recurrent language model (presets: tiny, small, medium, large from the TensorFlow PTB tutorial; awd-small, awd-char from AWD-LSTM)',
    load: async () => (await import('./commands/train.js')).registerTrain },
  { name: 'eval', term: 'eval [options]', summary: "perplexity of a trained model: exp(total cost / total steps), the TF tutorial's measure, state carried",
    load: async () => (await import('./commands/eval.js')).registerEval },
  { name: 'generate', term: 'generate [options]', summary: 'sample text from a trained language model',
    load: async () => (await import('./commands/generate.js')).registerGenerate },
  { name: 'plot', term: 'plot [options] <log>', summary: 'draw learning curves from a training log (train.jsonl) as an SVG',
    load: async () => (await import('./commands/plot.js')).registerPlot },
  { name: 'export', term: 'export [options]', summary: 'export weights: a checkpoint (LSTM language model) or a dense network (--network FILE) as --onnx FILE and/or --safetensors PATH',
    load: async () => (await import('./commands/export.js')).registerExport },
  { name: 'ngram', term: 'ngram [options]', summary: 'interpolated modified Kneser-Ney n-gram baseline: fit on the training split, print validation and test perplexity',
    load: async () => (await import('./commands/ngram.js')).registerNgram },
];

/** The command `argv` runs (or asks help for), if it names one: the first word that is not a flag. */
export function chosenCommand(argv: readonly string[]): CommandEntry | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return commands.find((c) => c.name === name);
}

/** The program with every command: `chosen` fully registered, the others as help-list entries only. */
export async function buildProgram(chosen: CommandEntry | 'all' | undefined): Promise<Command> {
  const program = new Command('backprop')
    .description('Train neural networks by backpropagation, and show the work.')
    .version('0.1.0')
    .showHelpAfterError();
  const terms = new Map(commands.map((c) => [c.name, c.term]));
  const help = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd) });
  for (const c of commands) {
    if (chosen === 'all' || c === chosen) (await c.load())(program);
    else program.command(c.name).description(c.summary); // listed only: never run, since it was not chosen
  }
  return program;
}

/**
 * A file-system error that escaped a command (every write goes through src/io, which names its files,
 * so this is the safety net) as a one-line FileError naming the path; null for anything else, a bug.
 */
async function asFileError(e: unknown): Promise<Error | null> {
  const err = e as NodeJS.ErrnoException | null;
  if (typeof err?.code !== 'string' || typeof err.path !== 'string') return null;
  const { fileError } = await import('../io/atomic.js');
  const r = fileError(e, err.path, err.syscall ?? 'use');
  return r instanceof BackpropError ? r : null;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(chosenCommand(argv));
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    const clear = e instanceof BackpropError ? e : await asFileError(e);
    if (clear) {
      console.error(`backprop: ${clear.message}`);
      process.exit(2);
    }
    throw e;
  }
}
