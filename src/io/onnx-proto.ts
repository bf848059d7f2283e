/**
 * The few ONNX messages our exports write, serialized by hand as protocol buffers, so ONNX export needs
 * no protobuf library (the public entry loads nothing but our own files, and a page bundles it).
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/): each field is a key varint
 * (field number << 3 | wire type) then its value: wire type 0 a varint (int32/int64/enum), 2 a length-
 * prefixed byte string (string, bytes, an embedded message). Repeated scalars are written one key per
 * element (unpacked), which every reader accepts. Field numbers are onnx.proto's (onnx/onnx, IR 7+);
 * src/io/onnx.test.ts decodes our files with an independent protobuf implementation and runs them.
 */

/** A message under construction: fields appended in order. */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void { this.chunks.push(bytes); this.length += bytes.byteLength; }

  private varint(value: number | bigint): void {
    // Negative int64s are two's complement in 10 bytes; ours are all ≥ 0 but stay correct anyway.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: 0 | 2): void { this.varint((field << 3) | wireType); }

  /** An int32/int64/enum field. */
  int(field: number, value: number): this { this.key(field, 0); this.varint(value); return this; }

  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this { this.key(field, 2); this.varint(value.byteLength); this.push(value); return this; }

  /** A string field (UTF-8). */
  string(field: number, value: string): this { return this.bytes(field, new TextEncoder().encode(value)); }

  /** An embedded message field. */
  message(field: number, value: ProtoWriter): this { return this.bytes(field, value.finish()); }

  /** The serialized message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.byteLength; }
    return out;
  }
}

/** TensorProto.DataType values we use. */
export const FLOAT = 1;
export const INT64 = 7;

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian values). */
export function tensorProto(name: string, dims: readonly number[], dataType: number, rawData: Uint8Array): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  return w.int(2, dataType).string(8, name).bytes(9, rawData);
}

/**
 * ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1: { elem_type = 1, shape = 2:
 * TensorShapeProto { dim = 1: { dim_value = 1 | dim_param = 2 } } } } }; a string dimension is symbolic.
 */
export function valueInfoProto(name: string, elemType: number, dims: ReadonlyArray<number | string>): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/**
 * NodeProto { input = 1, output = 2, name = 3, op_type = 4, attribute = 5 }, an attribute being
 * AttributeProto { name = 1, i = 3 (INT), s = 4 (STRING), type = 20 (2 = INT, 3 = STRING) }.
 */
export function nodeProto(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Readonly<Record<string, number | string>> = {}): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of inputs) w.string(1, i);
  for (const o of outputs) w.string(2, o);
  w.string(3, `${opType}_${outputs[0]}`).string(4, opType);
  for (const [name, v] of Object.entries(attributes)) {
    const a = new ProtoWriter().string(1, name);
    if (typeof v === 'number') a.int(3, v).int(20, 2);
    else a.bytes(4, new TextEncoder().encode(v)).int(20, 3);
    w.message(5, a);
  }
  return w;
}

/** GraphProto { node = 1, name = 2, initializer = 5, input = 11, output = 12 }. */
export function graphProto(name: string, nodes: readonly ProtoWriter[], initializers: readonly ProtoWriter[], inputs: readonly ProtoWriter[], outputs: readonly ProtoWriter[]): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of nodes) w.message(1, n);
  w.string(2, name);
  for (const t of initializers) w.message(5, t);
  for (const i of inputs) w.message(11, i);
  for (const o of outputs) w.message(12, o);
  return w;
}

/**
 * ModelProto { ir_version = 1, producer_name = 2, doc_string = 6, graph = 7, opset_import = 8:
 * OperatorSetIdProto { domain = 1, version = 2 } } with the default ('') domain only.
 */
export function modelProto(irVersion: number, opset: number, docString: string, graph: ProtoWriter): Uint8Array {
  return new ProtoWriter().int(1, irVersion).string(2, 'backprop').string(6, docString).message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, opset)).finish();
}
