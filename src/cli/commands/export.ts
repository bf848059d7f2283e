/** `backprop export`: a checkpoint's weights as ONNX (LSTM models) and/or safetensors + JSON sidecar (src/io). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { exportPaths, exportWeights } from '../../io/checkpoint.js';
import { exportDenseOnnx, exportLmOnnx } from '../../io/onnx.js';
import { lmWeights } from '../../io/model.js';
import { denseToTensors, type DenseNetWeights } from '../../io/weights.js';
import { parseNetworkSpec, type NetworkSpec } from '../../explain/network.js';
import { loadModel, modelTensors } from '../../train/model-file.js';
import { checkOutputs, readJsonFile } from '../util.js';

/** The explain/JSON network format as plain dense weights ([in, out] row-major, as ONNX Gemm takes them). */
function denseWeights(spec: NetworkSpec): DenseNetWeights {
  let inSize = spec.inputSize;
  return {
    layers: spec.layers.map((l) => {
      const outSize = l.biases.length;
      const layer = { inSize, outSize, activation: l.activation, weight: Float32Array.from(l.weights.flat()), bias: Float32Array.from(l.biases) };
      inSize = outSize;
      return layer;
    }),
  };
}

export function registerExport(program: Command): void {
  program.command('export')
    .description('export weights: a checkpoint (LSTM language model) or a dense network (--network FILE) as --onnx FILE and/or --safetensors PATH')
    .option('--checkpoint <file>', 'a checkpoint written by backprop train')
    .option('--network <file>', 'a dense network in the JSON format of `backprop explain --network`')
    .option('--onnx <file>', 'write an ONNX model (opset 13): for an LM, tokens [T, B], h0/c0 → logits, hT/cT; for a dense network, x [N, in] → y')
    .option('--safetensors <path>', 'write PATH.safetensors and its JSON sidecar (config, vocabulary)')
    .option('--force', 'replace output files that already exist (never an input)')
    .action((f: { checkpoint?: string; network?: string; onnx?: string; safetensors?: string; force?: boolean }) => {
      if (!f.onnx && !f.safetensors) throw new ConfigError('export: give --onnx FILE and/or --safetensors PATH');
      if (!f.checkpoint === !f.network) throw new ConfigError('export: give exactly one of --checkpoint FILE and --network FILE');
      const outputs = [...(f.onnx ? [f.onnx] : []), ...(f.safetensors ? Object.values(exportPaths(f.safetensors)) : [])];
      if (new Set(outputs.map((o) => path.resolve(o))).size < outputs.length) throw new ConfigError(`export: --onnx ${f.onnx} is also one of the --safetensors files; choose another name`);
      checkOutputs(outputs, [f.checkpoint ?? f.network!], f.force ?? false);
      if (f.network) {
        const spec = parseNetworkSpec(readJsonFile(f.network), f.network);
        const net = denseWeights(spec);
        if (f.onnx) {
          writeFileAtomic(f.onnx, exportDenseOnnx(net));
          console.log(`wrote ${f.onnx} (${fs.statSync(f.onnx).size} bytes)`);
        }
        if (f.safetensors) {
          const written = exportWeights(f.safetensors, { tensors: denseToTensors(net), config: { inputSize: spec.inputSize, activations: spec.layers.map((l) => l.activation) } });
          console.log(`wrote ${JSON.stringify(written)}`);
        }
        return;
      }
      const { model, config, vocab } = loadModel(f.checkpoint!);
      const tensors = modelTensors(model);
      if (f.onnx) {
        if (config.cell !== 'lstm') throw new ConfigError(`--onnx exports LSTM models only; this checkpoint's cell is "${config.cell}"`);
        writeFileAtomic(f.onnx, exportLmOnnx(lmWeights(model)));   // a tied model's output as the one [H, V] matrix
        console.log(`wrote ${f.onnx} (${fs.statSync(f.onnx).size} bytes)`);
      }
      if (f.safetensors) {
        const written = exportWeights(f.safetensors, { tensors, config, vocab: vocab.toJSON() });
        console.log(`wrote ${JSON.stringify(written)}`);
      }
    });
}
