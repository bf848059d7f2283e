// The ONNX encoder against protobufjs (through the onnx-proto dev dependency, a generated copy of the
// schema): the same message encodes to the same bytes, field by field and for whole exported models,
// and what we write decodes back to what we built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { onnx, type proto } from './onnx-proto.js';
import { exportDenseOnnx, exportLstmLmOnnx } from './onnx.js';
import { seededRandom } from './testing.js';

const ref = onnxProto.onnx;

/** protobufjs's bytes for the same message (its generated encoder reads plain objects). */
function reference(m: proto.ModelProto): Uint8Array {
  return new Uint8Array(ref.ModelProto.encode(m as onnxProto.onnx.IModelProto).finish()); // a Buffer in Node
}

test('every field kind encodes exactly as protobufjs encodes it', () => {
  const t: proto.TensorProto = {
    dims: [2, 3, 0, 300], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1.5, -2, 3e-8], int32Data: [-1, 7], int64Data: [2 ** 40, -5],
    stringData: [new Uint8Array([1, 2]), new Uint8Array(0)], name: 'héllo', rawData: new Uint8Array([0, 255, 128]), doubleData: [Math.PI], docString: '',
  };
  const graph: proto.GraphProto = {
    name: 'g', node: [{
      input: ['x', ''], output: ['y'], name: 'n', opType: 'GRU', domain: '', docString: 'd',
      attribute: [
        { name: 'f', type: onnx.AttributeProto.AttributeType.FLOAT, f: -0.25 },
        { name: 'i', type: onnx.AttributeProto.AttributeType.INT, i: -3 },
        { name: 's', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('forward') },
        { name: 'fs', type: onnx.AttributeProto.AttributeType.FLOATS, floats: [0.5, 1e10] },
        { name: 'is', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2 ** 35, -1] },
        { name: 'ss', type: onnx.AttributeProto.AttributeType.STRINGS, strings: [new TextEncoder().encode('Sigmoid'), new TextEncoder().encode('Tanh')] },
        { name: 't', type: onnx.AttributeProto.AttributeType.TENSOR, t },
        { name: 'g', type: onnx.AttributeProto.AttributeType.GRAPH, g: { name: 'inner', node: [] } },
      ],
    }],
    initializer: [t, { name: 'empty' }],
    input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 4 }] } } } }],
    output: [{ name: 'y', type: { tensorType: { elemType: 7 }, denotation: 'TENSOR' }, docString: 'out' }],
    valueInfo: [{ name: 'v' }], docString: 'graph doc',
  };
  const model: proto.ModelProto = {
    irVersion: 7, producerName: 'backprop', producerVersion: '0.1.0', domain: 'x.y', modelVersion: 3, docString: 'doc', graph,
    opsetImport: [{ domain: '', version: 13 }, { domain: 'com.microsoft', version: 1 }], metadataProps: [{ key: 'k', value: 'v' }],
  };
  assert.deepEqual(onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish(), reference(model));
  const back = ref.ModelProto.toObject(ref.ModelProto.decode(onnx.ModelProto.encode(model).finish()), { longs: Number, bytes: Array, defaults: false });
  assert.equal(back['graph'].node[0].attribute[1].i, -3);
  assert.deepEqual(back['graph'].initializer[0].int64Data, [2 ** 40, -5]);
  assert.equal(back['graph'].initializer[0].name, 'héllo');
});

test('the exported dense and LSTM models are the bytes protobufjs would write', () => {
  const random = seededRandom(3);
  const u = (n: number) => Float32Array.from({ length: n }, () => random() - 0.5);
  const dense = exportDenseOnnx({ layers: [
    { weight: u(6), bias: u(3), inSize: 2, outSize: 3, activation: 'tanh' },
    { weight: u(6), bias: u(2), inSize: 3, outSize: 2, activation: 'softmax' },
  ] });
  const lm = exportLstmLmOnnx({
    vocabSize: 5, embedSize: 3, hiddenSize: 4, numLayers: 1, forgetBias: 0,
    embedding: u(15), layers: [{ kernel: u(7 * 16), bias: u(16) }], projWeight: u(20), projBias: u(5),
  });
  for (const bytes of [dense, lm]) {
    assert.deepEqual(new Uint8Array(ref.ModelProto.encode(ref.ModelProto.decode(bytes)).finish()), bytes);
  }
});

test('an integer that a varint cannot hold exactly is refused', () => {
  assert.throws(() => onnx.ModelProto.encode({ irVersion: 2 ** 60 }).finish(), /ONNX encoder: 1152921504606847000 is not an integer that fits a varint exactly/);
  assert.throws(() => onnx.ModelProto.encode({ irVersion: 1.5 }).finish(), /not an integer/);
});
