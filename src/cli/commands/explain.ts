/** `backprop explain`: the tutorial's walk through one training step, or N steps with the error falling. */
import type { Command } from 'commander';
import { defaultNetwork, formatTrace, parseNetworkSpec, traceStep, traceTraining, type NetworkSpec } from '../../explain/index.js';
import { parseInteger, parseNumber, parseNumberList, readJsonFile } from '../util.js';

export function registerExplain(program: Command): void {
  program.command('explain')
    .description("walk one training step of a dense network the tutorial's way: forward, error, backward, update")
    .option('--network <file>', 'network weights and biases as JSON (default: the 1-2-2-1 sigmoid network)')
    .option('--input <values>', 'input values, comma-separated', parseNumberList('--input'), [1])
    .option('--target <values>', 'target values, comma-separated', parseNumberList('--target'), [0.5])
    .option('--lr <rate>', 'learning rate α', parseNumber('--lr'), 0.5)
    .option('--steps <n>', 'train N steps and show the error falling', parseInteger('--steps', 1), 1)
    .option('--json', 'print the trace as JSON')
    .action((opts: { network?: string; input: number[]; target: number[]; lr: number; steps: number; json?: boolean }) => {
      const spec: NetworkSpec = opts.network ? parseNetworkSpec(readJsonFile(opts.network), opts.network) : defaultNetwork;
      if (opts.steps === 1) {
        const t = traceStep(spec, opts.input, opts.target, opts.lr);
        console.log(opts.json ? JSON.stringify(t, null, 2) : formatTrace(t));
        return;
      }
      const steps = traceTraining(spec, opts.input, opts.target, opts.lr, opts.steps);
      if (opts.json) { console.log(JSON.stringify({ steps }, null, 2)); return; }
      console.log(formatTrace(steps[0]!));
      console.log(`\n── Training ${opts.steps} steps ──`);
      const every = Math.max(1, Math.floor(opts.steps / 20));
      steps.forEach((s, i) => { if (i % every === 0 || i === steps.length - 1) console.log(`  step ${String(i + 1).padStart(5)}  E = ${s.errorAfter.toExponential(6)}`); });
    });
}
