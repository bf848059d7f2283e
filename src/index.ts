/**
 * backprop: tensors, reverse-mode autodiff, layers and optimizers, in TypeScript.
 * This entry uses no Node-only API: it runs unchanged in a browser. Importing it starts nothing (no
 * WebAssembly compile, no worker): the kernel backend starts on first use or on `await ready()`.
 *
 * @module backprop
 */
export * from './errors.js';
export * from './tensor/shape.js';
export * from './tensor/random.js';
export * from './tensor/tensor.js';
export { getBackend, setBackend, ready, useBackend, referenceBackend, backendInfo } from './backend/index.js';
export type { Backend, BackendInfo, BackendKind, DType, DataArray, FloatArray, NativeInfo, WasmBackendOptions } from './backend/index.js';
export * from './autodiff/index.js';
export * from './nn/index.js';
export * from './optim/index.js';
export * from './explain/index.js';
export * from './nn/recurrent.js';
export * from './nn/language-model.js';
export * from './nn/sequence.js';
export * from './train/tbptt.js';
export * from './eval/score.js';
export * from './train/fused-dense.js';
export * from './train/step.js';
export * from './train/fit.js';
export * from './ngram/kneser-ney.js';
// Model IO (no Node API: bytes, Blobs, downloads, IndexedDB; file paths are in 'backprop/node').
export * from './io/model.js';
export { safeOpen, bytesSource, blobSource, SafetensorsFile, type ByteSource } from './io/safe-open.js';
export {
  encodeSafetensors, decodeSafetensors, readSafetensorsLayout,
  type TensorRecord, type DecodedTensor, type SafetensorsContents, type WritableDtype,
} from './io/safetensors.js';
export { encodeCheckpoint, decodeCheckpoint, CHECKPOINT_FORMAT_VERSION, type Checkpoint, type LoadedCheckpoint } from './io/checkpoint-codec.js';
export { exportLmOnnx, exportLstmLmOnnx, exportDenseOnnx, ONNX_OPSET } from './io/onnx.js';
export {
  recurrentLmToTensors, recurrentLmFromTensors, lstmLmToTensors, lstmLmFromTensors, denseToTensors, denseFromTensors,
  type RecurrentLmWeights, type RecurrentLayerWeights, type RecurrentCellKind, type LstmLmWeights, type LstmLayerWeights,
  type DenseNetWeights, type DenseLayerWeights,
} from './io/weights.js';
