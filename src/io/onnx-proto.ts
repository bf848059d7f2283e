/**
 * The ONNX protobuf messages that our exports write, and a protobuf encoder for them: a small,
 * dependency-free replacement for the `onnx-proto` package (a stale generated copy of the schema that
 * pulled in protobufjs 6, 22 MB installed). ONNX export only ever ENCODES, so a table of field numbers
 * per message and the protobuf wire format (varints, fixed32/64, length-delimited fields) are all it needs.
 *
 * The field numbers, types and enum values are those of ONNX's onnx.proto (IR version 7 and later),
 * restricted to the fields an export sets. The API mirrors the generated classes that onnx.ts was
 * written against: `onnx.NodeProto.create({...})` builds a message (a plain object here), and
 * `onnx.ModelProto.encode(model).finish()` serializes it. Fields are written in field-number order,
 * repeated numbers packed, absent fields (undefined, null, empty lists) skipped — byte for byte what
 * protobufjs writes for the same message; the test checks that against `onnx-proto`.
 */

/** The message types (camelCase field names, as in protobufjs). Every field is optional. */
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace proto {
  /** A tensor: dims, element type and data (raw little-endian bytes, or one of the typed lists). */
  export interface TensorProto {
    dims?: number[]; dataType?: number; floatData?: number[]; int32Data?: number[]; stringData?: Uint8Array[];
    int64Data?: number[]; name?: string; rawData?: Uint8Array; doubleData?: number[]; uint64Data?: number[]; docString?: string;
  }
  /** One named attribute of a node; `type` says which value field is set. */
  export interface AttributeProto {
    name?: string; f?: number; i?: number; s?: Uint8Array; t?: TensorProto; g?: GraphProto; floats?: number[]; ints?: number[];
    strings?: Uint8Array[]; tensors?: TensorProto[]; graphs?: GraphProto[]; docString?: string; type?: number; refAttrName?: string;
  }
  /** A named value's type, for graph inputs and outputs. */
  export interface ValueInfoProto { name?: string; type?: TypeProto; docString?: string }
  /** One operator application. */
  export interface NodeProto {
    input?: string[]; output?: string[]; name?: string; opType?: string; attribute?: AttributeProto[]; docString?: string; domain?: string;
  }
  /** A key/value pair (model metadata). */
  export interface StringStringEntryProto { key?: string; value?: string }
  /** An operator set the model imports (`domain` '' is the default ONNX domain). */
  export interface OperatorSetIdProto { domain?: string; version?: number }
  /** The computation graph: nodes in topological order, weights as initializers, typed inputs and outputs. */
  export interface GraphProto {
    node?: NodeProto[]; name?: string; initializer?: TensorProto[]; docString?: string;
    input?: ValueInfoProto[]; output?: ValueInfoProto[]; valueInfo?: ValueInfoProto[];
  }
  /** The file: versions, opsets, producer, the graph. */
  export interface ModelProto {
    irVersion?: number; producerName?: string; producerVersion?: string; domain?: string; modelVersion?: number;
    docString?: string; graph?: GraphProto; opsetImport?: OperatorSetIdProto[]; metadataProps?: StringStringEntryProto[];
  }
  /** One dimension: a fixed size or a symbolic name. */
  export interface TensorShapeProto_Dimension { dimValue?: number; dimParam?: string; denotation?: string }
  /** A tensor shape. */
  export interface TensorShapeProto { dim?: TensorShapeProto_Dimension[] }
  /** A tensor type: element type and shape. */
  export interface TypeProto_Tensor { elemType?: number; shape?: TensorShapeProto }
  /** A value's type (only tensors here). */
  export interface TypeProto { tensorType?: TypeProto_Tensor; denotation?: string }
}

// ---- the schema: per message, its fields by number ---------------------------------------------

type Scalar = 'string' | 'bytes' | 'int64' | 'int32' | 'float' | 'double';
/** [field number, field name, value kind (a scalar or another message's name), repeated?] */
type Field = readonly [number, string, Scalar | MessageName, boolean];
type MessageName = 'TensorProto' | 'AttributeProto' | 'ValueInfoProto' | 'NodeProto' | 'StringStringEntryProto' | 'OperatorSetIdProto'
  | 'GraphProto' | 'ModelProto' | 'Dimension' | 'TensorShapeProto' | 'TypeTensor' | 'TypeProto';

const SCHEMA: Record<MessageName, readonly Field[]> = {
  TensorProto: [[1, 'dims', 'int64', true], [2, 'dataType', 'int32', false], [4, 'floatData', 'float', true], [5, 'int32Data', 'int32', true],
    [6, 'stringData', 'bytes', true], [7, 'int64Data', 'int64', true], [8, 'name', 'string', false], [9, 'rawData', 'bytes', false],
    [10, 'doubleData', 'double', true], [11, 'uint64Data', 'int64', true], [12, 'docString', 'string', false]],
  AttributeProto: [[1, 'name', 'string', false], [2, 'f', 'float', false], [3, 'i', 'int64', false], [4, 's', 'bytes', false],
    [5, 't', 'TensorProto', false], [6, 'g', 'GraphProto', false], [7, 'floats', 'float', true], [8, 'ints', 'int64', true],
    [9, 'strings', 'bytes', true], [10, 'tensors', 'TensorProto', true], [11, 'graphs', 'GraphProto', true], [13, 'docString', 'string', false],
    [20, 'type', 'int32', false], [21, 'refAttrName', 'string', false]],
  ValueInfoProto: [[1, 'name', 'string', false], [2, 'type', 'TypeProto', false], [3, 'docString', 'string', false]],
  NodeProto: [[1, 'input', 'string', true], [2, 'output', 'string', true], [3, 'name', 'string', false], [4, 'opType', 'string', false],
    [5, 'attribute', 'AttributeProto', true], [6, 'docString', 'string', false], [7, 'domain', 'string', false]],
  StringStringEntryProto: [[1, 'key', 'string', false], [2, 'value', 'string', false]],
  OperatorSetIdProto: [[1, 'domain', 'string', false], [2, 'version', 'int64', false]],
  GraphProto: [[1, 'node', 'NodeProto', true], [2, 'name', 'string', false], [5, 'initializer', 'TensorProto', true], [10, 'docString', 'string', false],
    [11, 'input', 'ValueInfoProto', true], [12, 'output', 'ValueInfoProto', true], [13, 'valueInfo', 'ValueInfoProto', true]],
  ModelProto: [[1, 'irVersion', 'int64', false], [2, 'producerName', 'string', false], [3, 'producerVersion', 'string', false],
    [4, 'domain', 'string', false], [5, 'modelVersion', 'int64', false], [6, 'docString', 'string', false], [7, 'graph', 'GraphProto', false],
    [8, 'opsetImport', 'OperatorSetIdProto', true], [14, 'metadataProps', 'StringStringEntryProto', true]],
  Dimension: [[1, 'dimValue', 'int64', false], [2, 'dimParam', 'string', false], [3, 'denotation', 'string', false]],
  TensorShapeProto: [[1, 'dim', 'Dimension', true]],
  TypeTensor: [[1, 'elemType', 'int32', false], [2, 'shape', 'TensorShapeProto', false]],
  TypeProto: [[1, 'tensorType', 'TypeTensor', false], [6, 'denotation', 'string', false]],
};

// ---- the wire format -----------------------------------------------------------------------------

const VARINT = 0, FIXED64 = 1, LEN = 2, FIXED32 = 5;

/** A growable byte buffer with the protobuf primitive writers. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** An unsigned varint (7 bits a byte, low first); negatives are written as their 64-bit two's complement (10 bytes). */
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`ONNX encoder: ${v} is not an integer that fits a varint exactly`);
    this.reserve(10);
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) { this.buf[this.len++] = Number(b & 0x7fn) | 0x80; b >>= 7n; }
      this.buf[this.len++] = Number(b);
      return;
    }
    while (v >= 0x80) { this.buf[this.len++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
    this.buf[this.len++] = v;
  }

  tag(field: number, wire: number): void { this.varint(field * 8 + wire); }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  float(v: number): void { this.reserve(4); new DataView(this.buf.buffer).setFloat32(this.len, v, true); this.len += 4; }
  double(v: number): void { this.reserve(8); new DataView(this.buf.buffer).setFloat64(this.len, v, true); this.len += 8; }

  finish(): Uint8Array { return this.buf.slice(0, this.len); }
}

const utf8 = new TextEncoder();

function writeScalar(w: Writer, kind: Scalar, v: unknown): void {
  switch (kind) {
    case 'string': w.bytes(utf8.encode(v as string)); break;
    case 'bytes': w.bytes(v as Uint8Array); break;
    case 'int64': case 'int32': w.varint(v as number); break;
    case 'float': w.float(v as number); break;
    case 'double': w.double(v as number); break;
  }
}

const WIRE: Record<Scalar, number> = { string: LEN, bytes: LEN, int64: VARINT, int32: VARINT, float: FIXED32, double: FIXED64 };
const isScalar = (k: string): k is Scalar => Object.hasOwn(WIRE, k);

function encodeMessage(type: MessageName, msg: object): Uint8Array {
  const w = new Writer();
  const m = msg as Record<string, unknown>;
  for (const [num, name, kind, repeated] of SCHEMA[type]) {
    const v = m[name];
    if (v === undefined || v === null) continue;
    if (!repeated) {
      if (isScalar(kind)) { w.tag(num, WIRE[kind]); writeScalar(w, kind, v); } else { w.tag(num, LEN); w.bytes(encodeMessage(kind, v as object)); }
      continue;
    }
    const list = v as readonly unknown[];
    if (list.length === 0) continue;
    if (!isScalar(kind)) {
      for (const item of list) { w.tag(num, LEN); w.bytes(encodeMessage(kind, item as object)); }
    } else if (kind === 'string' || kind === 'bytes') {
      for (const item of list) { w.tag(num, LEN); writeScalar(w, kind, item); }
    } else {
      // Repeated numbers packed into one length-delimited field (protobuf parsers read packed and unpacked alike).
      const inner = new Writer();
      for (const item of list) writeScalar(inner, kind, item);
      w.tag(num, LEN);
      w.bytes(inner.finish());
    }
  }
  return w.finish();
}

/** A message "class": `create` builds the (plain-object) message, `encode(m).finish()` serializes it. */
interface MessageClass<T> { create(fields: T): T; encode(message: T): { finish(): Uint8Array } }

function messageClass<T extends object>(type: MessageName): MessageClass<T> {
  return { create: (fields) => fields, encode: (message) => ({ finish: () => encodeMessage(type, message) }) };
}

/** The ONNX messages, with the enums the exports use (values from onnx.proto). */
export const onnx = {
  TensorProto: Object.assign(messageClass<proto.TensorProto>('TensorProto'), {
    DataType: { UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 } as const,
  }),
  AttributeProto: Object.assign(messageClass<proto.AttributeProto>('AttributeProto'), {
    AttributeType: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const,
  }),
  ValueInfoProto: messageClass<proto.ValueInfoProto>('ValueInfoProto'),
  NodeProto: messageClass<proto.NodeProto>('NodeProto'),
  StringStringEntryProto: messageClass<proto.StringStringEntryProto>('StringStringEntryProto'),
  OperatorSetIdProto: messageClass<proto.OperatorSetIdProto>('OperatorSetIdProto'),
  GraphProto: messageClass<proto.GraphProto>('GraphProto'),
  ModelProto: messageClass<proto.ModelProto>('ModelProto'),
  TensorShapeProto: Object.assign(messageClass<proto.TensorShapeProto>('TensorShapeProto'), {
    Dimension: messageClass<proto.TensorShapeProto_Dimension>('Dimension'),
  }),
  TypeProto: Object.assign(messageClass<proto.TypeProto>('TypeProto'), {
    Tensor: messageClass<proto.TypeProto_Tensor>('TypeTensor'),
  }),
};
