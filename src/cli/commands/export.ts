/** `backprop export`: a checkpoint's weights as ONNX (LSTM models) and/or safetensors + JSON sidecar (src/io). */
import fs from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { exportWeights } from '../../io/checkpoint.js';
import { exportLstmLmOnnx } from '../../io/onnx.js';
import { lstmLmFromTensors } from '../../io/weights.js';
import { loadModel, modelTensors } from '../../train/lm-trainer.js';

export function registerExport(program: Command): void {
  program.command('export')
    .description('export a checkpoint\'s weights: --onnx FILE (LSTM language models) and/or --safetensors PATH')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by backprop train')
    .option('--onnx <file>', 'write an ONNX model (opset 13): tokens [T, B], h0/c0 → logits, hT/cT')
    .option('--safetensors <path>', 'write PATH.safetensors and its JSON sidecar (config, vocabulary)')
    .action((f: { checkpoint: string; onnx?: string; safetensors?: string }) => {
      if (!f.onnx && !f.safetensors) throw new ConfigError('export: give --onnx FILE and/or --safetensors PATH');
      const { model, config, vocab } = loadModel(f.checkpoint);
      const tensors = modelTensors(model);
      if (f.onnx) {
        if (config.cell !== 'lstm') throw new ConfigError(`--onnx exports LSTM models only; this checkpoint's cell is "${config.cell}"`);
        const lm = lstmLmFromTensors(tensors, config.forgetBias, f.checkpoint);
        writeFileAtomic(f.onnx, exportLstmLmOnnx(lm));
        console.log(`wrote ${f.onnx} (${fs.statSync(f.onnx).size} bytes)`);
      }
      if (f.safetensors) {
        const written = exportWeights(f.safetensors, { tensors, config, vocab: vocab.toJSON() });
        console.log(`wrote ${JSON.stringify(written)}`);
      }
    });
}
