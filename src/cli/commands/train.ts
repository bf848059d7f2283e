/**
 * `backprop train`: train a recurrent language model (the TensorFlow PTB tutorial's loop) from a preset,
 * any field overridden by a flag; checkpoint every epoch and on SIGINT/SIGTERM; `--resume` continues.
 * `--config FILE` starts from a configuration file or a run's train.jsonl (its header line) instead
 * of the preset alone: the file's fields over the preset's, the flags over both.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { getBackend, useBackend as chooseBackend } from '../../backend/index.js';
import { CHECKPOINT_FILE } from '../../io/run-folder.js';
import { fitLanguageModel } from '../../train/fit-lm.js';
import type { LMTrainer } from '../../train/lm-trainer.js';
import { presetNames, resolveConfig, type TrainConfig } from '../../train/presets.js';
import { configFromText, type LogHeader } from '../../train/run-log.js';
import { consoleReporter } from '../progress.js';
import { generate } from '../../train/generate.js';
import { parseInteger, parseNumber } from '../util.js';

/**
 * Select the kernel backend through the library's `useBackend`: 'wasm' (SIMD kernels, `threads` workers;
 * falls back to 'js' with a note when WebAssembly cannot start) or 'js' (the plain reference). Returns a
 * function that releases it.
 */
export async function useBackend(kind: string, threads?: number): Promise<() => Promise<void>> {
  if (kind !== 'wasm' && kind !== 'js') throw new ConfigError(`unknown backend "${kind}" (choose wasm or js)`);
  try {
    const b = await chooseBackend(kind, threads ? { threads } : {});
    return async () => { await (b as { close?: () => Promise<void> }).close?.(); };
  } catch (e) {
    process.stderr.write(`backprop: WASM backend unavailable (${(e as Error).message}); using the JS reference backend\n`);
    await chooseBackend('js');
    return async () => {};
  }
}

const oneOf = (flag: string, allowed: readonly string[]) => (v: string): string => {
  if (!allowed.includes(v)) throw new ConfigError(`${flag} must be one of ${allowed.join(', ')}, got "${v}"`);
  return v;
};
const anyNumber = (flag: string) => parseNumber(flag);
const int = (flag: string, min = 0) => parseInteger(flag, min);

interface TrainFlags {
  preset: string; name?: string; data?: string; text?: string; ptbDir?: string; level?: string;
  epochs?: number; batchSize?: number; numSteps?: number; k1?: number; k2?: number; hidden?: number; embed?: number;
  layers?: number; cell?: string; optimizer?: string; lr?: number; lrDecay?: number; maxEpoch?: number;
  maxGradNorm?: number; keepProb?: number; forgetBias?: number; initScale?: number; seed?: number;
  maxStepsPerEpoch?: number; validTokens?: number; testBatchSize?: number; testNumSteps?: number; testTokens?: number;
  diagnostics?: boolean; testEveryEpoch?: boolean; onDivergence?: string; divergenceFactor?: number; divergencePatience?: number;
  config?: string; printConfig?: boolean; validEvery?: number; ntAsgd?: number; variableBptt?: boolean; bpttP?: number; bpttSd?: number; bpttMin?: number; logEvery?: number;
  out?: string; resume?: boolean; force?: boolean; backend: string; threads?: number;
  sample: number; progressEvery: number; patience?: number;
  tieWeights?: boolean; dropoutEmbed?: number; dropoutInput?: number; dropoutHidden?: number; dropoutOutput?: number;
  weightDrop?: number; ar?: number; tar?: number;
}

export function registerTrain(program: Command): void {
  program.command('train')
    .description('train a recurrent language model (presets: tiny, small, medium, large from the TensorFlow PTB tutorial; awd-small, awd-char from AWD-LSTM)')
    .option('--preset <name>', `configuration to start from (${presetNames.join(', ')})`, 'tiny')
    .option('--config <file>', 'start from a JSON configuration or a run\'s train.jsonl (its header line): its fields over the preset\'s, flags over both')
    .option('--name <name>', 'run name (default: the preset name)')
    .option('--data <source>', 'brown-bengio | brown-ptb | shakespeare ($TINYSHAKESPEARE or ../shared/data/tinyshakespeare/input.txt; characters) | text | ptb')
    .option('--text <file>', 'text file for --data text (split 90/10 train/valid)')
    .option('--ptb-dir <dir>', 'folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt for --data ptb')
    .option('--level <level>', 'word | char (for text and ptb)', oneOf('--level', ['word', 'char']))
    .option('--epochs <n>', 'epochs (TF max_max_epoch)', int('--epochs', 1))
    .option('--batch-size <n>', 'parallel streams B', int('--batch-size', 1))
    .option('--num-steps <n>', 'steps per window T (sets k1 = k2 unless given)', int('--num-steps', 1))
    .option('--k1 <n>', 'TBPTT: update every k1 steps', int('--k1', 1))
    .option('--k2 <n>', 'TBPTT: backpropagate through k2 steps', int('--k2', 1))
    .option('--hidden <n>', 'hidden size H (sets --embed unless given)', int('--hidden', 1))
    .option('--embed <n>', 'embedding size E', int('--embed', 1))
    .option('--layers <n>', 'recurrent layers', int('--layers', 1))
    .option('--cell <kind>', 'lstm | gru | rnn')
    .option('--optimizer <kind>', 'sgd | momentum | adam')
    .option('--lr <rate>', 'learning rate (0 = run and measure without training)', anyNumber('--lr'))
    .option('--lr-decay <f>', 'lr decay per epoch after --max-epoch', anyNumber('--lr-decay'))
    .option('--max-epoch <n>', 'epochs at the initial learning rate', int('--max-epoch', 1))
    .option('--max-grad-norm <x>', 'clip the global gradient norm (0 = off)', anyNumber('--max-grad-norm'))
    .option('--keep-prob <p>', 'dropout keep probability', anyNumber('--keep-prob'))
    .option('--forget-bias <b>', 'LSTM forget-gate bias', anyNumber('--forget-bias'))
    .option('--init-scale <s>', 'uniform init scale', anyNumber('--init-scale'))
    // AWD-LSTM's regularisers (Merity et al. 2017; docs/training.md, "Regularisers"): all off by default.
    .option('--tie-weights', 'tie the softmax weights to the embedding (a learned H→E projection first when --hidden ≠ --embed)')
    .option('--no-tie-weights', 'separate softmax weights (the small/medium/large default; overrides a preset or --config file)')
    .option('--dropout-embed <p>', 'embedding dropout: drop whole words per window (AWD 0.1)', anyNumber('--dropout-embed'))
    .option('--dropout-input <p>', 'locked dropout on the first layer\'s inputs, one mask per window (AWD 0.4 on PTB)', anyNumber('--dropout-input'))
    .option('--dropout-hidden <p>', 'locked dropout between recurrent layers (AWD 0.3)', anyNumber('--dropout-hidden'))
    .option('--dropout-output <p>', 'locked dropout on the last layer\'s outputs (AWD 0.4)', anyNumber('--dropout-output'))
    .option('--weight-drop <p>', 'DropConnect on the hidden-to-hidden weights, one mask per window (AWD 0.5)', anyNumber('--weight-drop'))
    .option('--ar <alpha>', 'activation regularisation α·mean(dropped h²) (AWD 2)', anyNumber('--ar'))
    .option('--tar <beta>', 'temporal activation regularisation β·mean((h_t − h_t+1)²) (AWD 1)', anyNumber('--tar'))
    .option('--seed <n>', 'random seed', int('--seed'))
    .option('--max-steps-per-epoch <n>', 'training windows per epoch (0 = all)', int('--max-steps-per-epoch'))
    .option('--valid-tokens <n>', 'validate on the first N tokens (0 = all)', int('--valid-tokens'))
    .option('--test-batch-size <n>', 'test batch size (tutorial: 1)', int('--test-batch-size', 1))
    .option('--test-num-steps <n>', 'test steps per window (tutorial: 1)', int('--test-num-steps', 1))
    .option('--test-tokens <n>', 'test on the first N tokens (0 = all, -1 = no test)', int('--test-tokens', -1))
    .option('--test-every-epoch', 'also report test perplexity after every epoch (the TF tutorial tests once, at the end)')
    .option('--diagnostics', 'report per-step ‖∂E/∂h_t‖ and clip rate each epoch')
    .option('--on-divergence <what>', 'on a NaN/Inf or a run of huge losses: stop, or skip the update and halve lr', oneOf('--on-divergence', ['stop', 'skip']))
    .option('--divergence-factor <f>', 'a loss above f·ln|V| counts toward divergence (default 3)', anyNumber('--divergence-factor'))
    .option('--divergence-patience <n>', 'that many such updates in a row are divergence (default 20; 0 = off)', int('--divergence-patience'))
    .option('--valid-every <n>', 'also validate after every n windows of an epoch (a check: log line, best.ckpt, checkpoint; 0 = at epoch ends only)', int('--valid-every'))
    .option('--nt-asgd <n>', 'NT-ASGD: average the weights once validation is worse than the best check before the last n (Merity et al.: 5; 0 = off)', int('--nt-asgd'))
    .option('--variable-bptt', 'draw each window\'s length around --num-steps (AWD-LSTM); each window\'s gradient is normalised to --num-steps steps and its learning rate scaled by length/num-steps, the paper\'s rule')
    .option('--no-variable-bptt', 'fixed windows of --num-steps (the default; overrides a --config file)')
    .option('--bptt-p <p>', 'variable BPTT: probability of a window centred on num-steps, else num-steps/2 (default 0.95)', anyNumber('--bptt-p'))
    .option('--bptt-sd <s>', 'variable BPTT: standard deviation of the length (default 5)', anyNumber('--bptt-sd'))
    .option('--bptt-min <n>', 'variable BPTT: shortest window (default 5)', int('--bptt-min', 1))
    .option('--log-every <n>', 'write a progress line (training loss so far) to the log every n windows (0 = none)', int('--log-every'))
    .option('--print-config', 'print the resolved configuration as JSON (a file for --config) and exit without training')
    .option('--out <dir>', 'output folder (default runs/<name>)')
    .option('--patience <n>', 'early stopping: stop after n epochs without a lower validation perplexity (best.ckpt holds the best)', int('--patience', 1))
    .option('--resume', 'continue from <out>/checkpoint.ckpt (its configuration; --epochs may extend it)')
    .option('--force', 'start afresh even if <out> already holds a run (its files are replaced)')
    .option('--backend <kind>', 'kernels: wasm (SIMD, threaded) or js (reference)', oneOf('--backend', ['wasm', 'js']), 'wasm')
    .option('--threads <n>', 'threads for the wasm backend (default: all cores)', int('--threads', 1))
    .option('--sample <n>', 'tokens to generate at the end (0 = none)', int('--sample'), 60)
    .option('--progress-every <s>', 'seconds between progress lines when stderr is not a TTY', anyNumber('--progress-every'), 10)
    .action(async (f: TrainFlags) => {
      const overrides: Partial<TrainConfig> = {
        tieWeights: f.tieWeights, dropoutEmbed: f.dropoutEmbed, dropoutInput: f.dropoutInput, dropoutHidden: f.dropoutHidden,
        dropoutOutput: f.dropoutOutput, weightDrop: f.weightDrop, ar: f.ar, tar: f.tar,
        name: f.name, data: f.data as TrainConfig['data'], text: f.text, ptbDir: f.ptbDir, level: f.level as TrainConfig['level'],
        epochs: f.epochs, batchSize: f.batchSize, numSteps: f.numSteps, k1: f.k1, k2: f.k2, hidden: f.hidden, embed: f.embed,
        layers: f.layers, cell: f.cell as TrainConfig['cell'], optimizer: f.optimizer as TrainConfig['optimizer'], lr: f.lr,
        lrDecay: f.lrDecay, maxEpoch: f.maxEpoch, maxGradNorm: f.maxGradNorm, keepProb: f.keepProb, forgetBias: f.forgetBias,
        initScale: f.initScale, seed: f.seed, maxStepsPerEpoch: f.maxStepsPerEpoch, validTokens: f.validTokens,
        testBatchSize: f.testBatchSize, testNumSteps: f.testNumSteps, testTokens: f.testTokens,
        testEveryEpoch: f.testEveryEpoch, diagnostics: f.diagnostics, onDivergence: f.onDivergence as TrainConfig['onDivergence'],
        divergenceFactor: f.divergenceFactor, divergencePatience: f.divergencePatience,
        validEvery: f.validEvery, ntAsgd: f.ntAsgd, bpttVariable: f.variableBptt, bpttP: f.bpttP, bpttSd: f.bpttSd, bpttMin: f.bpttMin,
        logEvery: f.logEvery,
      };
      if (f.resume && f.force) throw new ConfigError('--resume continues a run and --force replaces it: give one of them');
      if (f.resume && f.config) throw new ConfigError('--resume continues with the checkpoint\'s configuration; --config starts a new run: give one of them');
      const fromFile = f.config ? readConfigFile(f.config) : null;
      const cfg = f.resume ? null : resolveConfig(f.preset, overrides, fromFile?.config ?? {});
      if (f.printConfig) {
        if (!cfg) throw new ConfigError('--print-config prints a new run\'s configuration; a resumed run\'s is in its log\'s first line');
        process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
        return;
      }
      const out = f.out ?? path.join('runs', cfg?.name ?? overrides.name ?? f.preset);
      const release = await useBackend(f.backend, f.threads);
      const callbacks = consoleReporter({ every: f.progressEvery });
      callbacks.check = (r) => {
        process.stderr.write(`  check at epoch ${r.epoch} window ${r.window}: valid ppl ${r.validPerplexity.toFixed(2)}${r.averaged ? ' (averaged weights)' : ''}` +
          `${r.ntAsgdSwitch ? '; NT-ASGD: validation stopped improving, averaging the weights from here' : ''}\n`);
      };
      const userCheckpoint = callbacks.checkpoint;
      callbacks.checkpoint = (file, reason) => { if (reason !== 'check') userCheckpoint?.(file, reason); };   // the check's own line says enough
      const userEpochEnd = callbacks.epochEnd;
      callbacks.epochEnd = (r) => {
        userEpochEnd?.(r);
        if (r.ntAsgdSwitch) process.stdout.write(`NT-ASGD: validation stopped improving at epoch ${r.epoch}; averaging the weights from here\n`);
      };
      let resume: string | undefined;
      if (f.resume) {
        resume = path.join(out, CHECKPOINT_FILE);
        if (!fs.existsSync(resume)) throw new ConfigError(`--resume: no checkpoint at ${resume} (the run stopped before its first epoch ended?); start it over with --force`);
        const ignored = Object.entries(overrides).filter(([k, v]) => v !== undefined && k !== 'epochs').map(([k]) => k);
        if (ignored.length) process.stderr.write(`--resume uses the checkpoint's configuration; ignoring ${ignored.join(', ')}\n`);
      }
      // The command is a thin layer over the library's fitLanguageModel: flags → options, console
      // progress as its callbacks, SIGINT/SIGTERM as its AbortSignal.
      const stop = new AbortController();
      let stopSignal: string | null = null;
      const onSignal = (sig: string) => () => {
        if (stopSignal) { process.stderr.write('\nsecond signal: exiting without a checkpoint\n'); process.exit(130); }
        stopSignal = sig;
        process.stderr.write(`\n${sig}: stopping after this window and saving a checkpoint…\n`);
        stop.abort();
      };
      const onInt = onSignal('SIGINT'), onTerm = onSignal('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      const onStart = (trainer: LMTrainer): void => {
        if (resume) {
          const s = trainer.st;
          process.stderr.write(`resuming ${resume}: epoch ${s.epoch + 1}, window ${s.window} (${s.windowsDone} windows done)\n`);
        }
        const logged = fromFile?.header?.data;
        if (logged && logged.sha256 !== trainer.header.data.sha256) {
          process.stderr.write(`warning: ${f.config} was a run on ${logged.name} (${logged.train} training tokens, |V| ${logged.vocabSize}, sha256 ${logged.sha256.slice(0, 12)}…); ` +
            `the data loaded now differs (${trainer.corpus.name}, ${trainer.header.data.train} tokens, |V| ${trainer.corpus.vocab.size}, sha256 ${trainer.header.data.sha256.slice(0, 12)}…)\n`);
        }
        const was = fromFile?.header, now = trainer.header;
        if (was?.kernels && (was.kernels !== now.kernels || was.blas !== now.blas)) {
          const on = (h: LogHeader) => `${h.kernels}${h.blas ? ` (${h.blas})` : ''}`;
          process.stderr.write(`note: ${f.config} ran on ${on(was)} kernels, this run on ${on(now)}: its numbers will agree to rounding, not digit for digit\n`);
        }
        const c = trainer.cfg, corpus = trainer.corpus;
        process.stderr.write(`${c.name}: ${corpus.name} (|V| ${corpus.vocab.size}, train ${corpus.train.length} tokens), ` +
          `${c.layers}×${c.cell.toUpperCase()} ${c.hidden} (${trainer.model.numParameters()} parameters), B ${c.batchSize} T ${c.numSteps} ` +
          `TBPTT(${c.k1}, ${c.k2})${c.bpttVariable ? ` variable (p ${c.bpttP}, sd ${c.bpttSd}, min ${c.bpttMin})` : ''}, ${c.optimizer} lr ${c.lr}` +
          `${c.ntAsgd ? `, NT-ASGD n ${c.ntAsgd}` : ''}${c.validEvery ? `, validating every ${c.validEvery} windows` : ''}, ` +
          `${c.epochs} epochs of ${c.bpttVariable ? '≈' : ''}${trainer.windowsPerEpoch} windows, ${getBackend().name} kernels → ${out}\n`);
      };
      const t0 = performance.now();
      try {
        const r = await fitLanguageModel({
          ...(resume ? { resume, ...(f.epochs !== undefined ? { epochs: f.epochs } : {}) } : { config: cfg!, force: f.force ?? false }),
          outDir: out, callbacks, signal: stop.signal, onStart,
          ...(f.patience !== undefined ? { earlyStopping: { patience: f.patience } } : {}),
        });
        if (r.stopReason === 'early-stopping') {
          const best = r.history.reduce((a, h) => (h.validPerplexity < a.validPerplexity ? h : a));
          process.stdout.write(`early stopping: no lower validation perplexity for ${f.patience} epochs; best.ckpt holds epoch ${best.epoch} (valid ppl ${best.validPerplexity.toFixed(2)}); checkpoint ${r.checkpoint}\n`);
          return;
        }
        if (r.stopReason === 'aborted') {
          process.stdout.write(`interrupted by ${stopSignal}; checkpoint ${r.checkpoint}. Continue with: backprop train --resume --out ${out}\n`);
          return;
        }
        process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s; checkpoint ${r.checkpoint}, log ${path.join(out, 'train.jsonl')}\n`);
        if (f.sample > 0) {
          const { model, corpus, cfg: c } = r.trainer;
          const g = r.trainer.withEvalWeights(() => generate(model, corpus.vocab, corpus.level, { length: f.sample, temperature: 0.9, topK: 40, seed: c.seed }));
          process.stdout.write(`sample (temperature 0.9, top-k 40, seed ${c.seed}):\n${g.text}\n`);
        }
      } finally {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        await release();
      }
    });
}

/** The configuration fields of a --config file (a JSON configuration or a train.jsonl), and its log header if any. */
function readConfigFile(file: string): { config: Partial<TrainConfig>; header: LogHeader | null } {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError(`--config ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  return configFromText(text, file);
}
