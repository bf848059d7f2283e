/**
 * Safetensors: the Hugging Face tensor file format, read and written exactly to its spec
 * (https://huggingface.co/docs/safetensors/index#format). Pure TypeScript, no Node APIs, so the
 * web page can read the same files as the CLI.
 *
 * Layout of a file:
 *
 *   bytes [0, 8)        N, the header length, an unsigned 64-bit little-endian integer
 *   bytes [8, 8+N)      the header: UTF-8 JSON, starting with `{`, padded with spaces (0x20)
 *                       { "__metadata__": { string: string },               (optional)
 *                         NAME: { "dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END] }, ... }
 *   bytes [8+N, end)    the data section; BEGIN/END are relative to its start, little-endian values
 *
 * The reader trusts nothing: every inconsistency becomes a `FormatError` naming the source (a
 * file name, or `<buffer>`) and the problem, never a RangeError, an exception from deep inside
 * a typed array, or silently wrong numbers.
 */
import { FormatError, ShapeError } from '../errors.js';

/** The dtypes we write. I64 is stored as 64-bit integers but held in memory as an Int32Array. */
export type WritableDtype = 'F32' | 'F64' | 'I32' | 'I64';

/**
 * One tensor to write: `data` holds `shape`'s product of elements, row-major. Without `dtype`
 * it follows the array (Float32Array → F32, Float64Array → F64, Int32Array → I32);
 * `dtype: 'I64'` writes an Int32Array as sign-extended 64-bit integers (PyTorch's token ids).
 */
export interface TensorRecord {
  dtype?: WritableDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

/**
 * One tensor read back. `dtype` is the stored dtype when we can write it again (F32, F64, I32,
 * I64), so a read-then-write round trip keeps it; other stored dtypes are converted on the way in:
 * F16/BF16 → F32, BOOL/U8/I8/U16/I16/U32/U64 → I32 (U32/U64 with a range check).
 */
export interface DecodedTensor {
  dtype: WritableDtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

/** The result of `decodeSafetensors`: tensors by name, and the optional `__metadata__` map. */
export interface SafetensorsContents {
  tensors: Record<string, DecodedTensor>;
  metadata: Record<string, string>;
}

/** One validated header entry; `begin`/`end` are byte offsets into `data`. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The validated but undecoded file: header entries sorted by offset, and a view of the data section. */
export interface SafetensorsLayout {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  data: Uint8Array;
}

/** Bytes per element of every dtype in the spec; `null` marks the ones we know but cannot read. */
const DTYPE_BYTES: Record<string, number | null> = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
  F8_E5M2: null, F8_E4M3: null, F8_E8M0: null, F4: null, F6_E2M3: null, F6_E3M2: null, C64: null,
};

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes.
 *
 * Tensors are laid out by decreasing element size, then by name, so every tensor starts on a
 * multiple of its own element size (the header is padded to a multiple of 8); the JSON header
 * lists `__metadata__` first, then tensors in data order.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, decodeSafetensors } from 'backprop';
 * const bytes = encodeSafetensors({ 'proj.bias': { shape: [3], data: new Float32Array([1, 2, 3]) } },
 *                                 { note: 'hello' });
 * decodeSafetensors(bytes).tensors['proj.bias']?.data; // Float32Array [1, 2, 3]
 * ```
 */
export function encodeSafetensors(tensors: Record<string, TensorRecord>, metadata?: Record<string, string>): Uint8Array {
  const items = Object.keys(tensors).map((name) => {
    if (name === '__metadata__') throw new FormatError(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    const tensor = tensors[name]!;
    const bytes = tensorToLittleEndian(name, tensor);
    return { name, dtype: bytes.dtype, shape: tensor.shape, bytes: bytes.bytes };
  });
  items.sort((a, b) => DTYPE_BYTES[b.dtype]! - DTYPE_BYTES[a.dtype]! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new FormatError(`safetensors: metadata value for "${key}" must be a string, got ${typeof value}`);
    }
    header['__metadata__'] = metadata;
  }
  let offset = 0;
  for (const item of items) {
    // defineProperty so that a tensor named "__proto__" is stored like any other name.
    Object.defineProperty(header, item.name, {
      value: { dtype: item.dtype, shape: item.shape, data_offsets: [offset, offset + item.bytes.byteLength] },
      enumerable: true, writable: true, configurable: true,
    });
    offset += item.bytes.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let at = 8 + padded;
  for (const item of items) {
    out.set(item.bytes, at);
    at += item.bytes.byteLength;
  }
  return out;
}

/**
 * The little-endian bytes a tensor is stored as, checking that dtype, array type and shape agree.
 * A view without copying where the platform is little-endian and the dtype matches the array.
 */
export function tensorToLittleEndian(name: string, tensor: TensorRecord): { dtype: WritableDtype; bytes: Uint8Array } {
  const { shape, data } = tensor;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ShapeError(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new ShapeError(`safetensors: tensor "${name}" has shape [${shape.join(', ')}] (${count} elements) but ${data.length} values`);
  }
  const natural: WritableDtype | undefined =
    data instanceof Float32Array ? 'F32' : data instanceof Float64Array ? 'F64' : data instanceof Int32Array ? 'I32' : undefined;
  if (natural === undefined) throw new ShapeError(`safetensors: tensor "${name}" data must be a Float32Array, Float64Array or Int32Array`);
  const dtype = tensor.dtype ?? natural;
  if (!(dtype === natural || (dtype === 'I64' && natural === 'I32'))) {
    throw new ShapeError(`safetensors: tensor "${name}" has dtype ${dtype} but its data is a ${data.constructor.name}`);
  }
  if (dtype === 'I64') {
    const out = new Uint8Array(count * 8);
    const view = new DataView(out.buffer);
    for (let k = 0; k < count; k++) view.setBigInt64(8 * k, BigInt(data[k]!), true);
    return { dtype, bytes: out };
  }
  return { dtype, bytes: littleEndianBytes(data) };
}

/** The little-endian bytes of a typed array (a view on little-endian platforms, a copy elsewhere). */
export function littleEndianBytes(data: Float32Array | Float64Array | Int32Array | BigInt64Array): Uint8Array {
  if (IS_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let k = 0; k < data.length; k++) {
    if (data instanceof Float32Array) view.setFloat32(4 * k, data[k]!, true);
    else if (data instanceof Float64Array) view.setFloat64(8 * k, data[k]!, true);
    else if (data instanceof Int32Array) view.setInt32(4 * k, data[k]!, true);
    else view.setBigInt64(8 * k, data[k]!, true);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Parses and validates safetensors bytes, converting every tensor to a typed array (a copy:
 * the result never aliases `bytes`). Throws `FormatError` naming `source` on any problem.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from 'backprop';
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } }, { note: 'hi' });
 * const { tensors, metadata } = decodeSafetensors(bytes, 'model.safetensors'); // tensors.w, metadata.note
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  const layout = readSafetensorsLayout(bytes, source);
  return { tensors: decodeTensors(layout, source), metadata: layout.metadata };
}

/** Converts every entry of a validated layout to a fresh typed array. */
export function decodeTensors(layout: SafetensorsLayout, source = '<buffer>'): Record<string, DecodedTensor> {
  const tensors: Record<string, DecodedTensor> = {};
  for (const entry of layout.entries) {
    Object.defineProperty(tensors, entry.name, {
      value: decodeEntry(entry, layout.data.subarray(entry.begin, entry.end), source),
      enumerable: true, writable: true, configurable: true,
    });
  }
  return tensors;
}

/**
 * Validates the header against the spec and the file's length, without decoding tensor data.
 * Checks: the length prefix fits the file; the header is UTF-8 JSON starting with `{`, an object,
 * with no duplicate keys; `__metadata__` maps strings to strings; every entry has a known dtype,
 * a shape of non-negative integers and `[begin, end]` offsets; `end − begin` is the shape's
 * element count × the dtype's size; and the entries, sorted by offset, tile the data section
 * exactly (no gap, no overlap, nothing left over).
 *
 * `fileSize` (default: all of `bytes`) lets a lazy reader pass only the length prefix and the header
 * while validating against the whole file's size; `data` then holds whatever of the data section
 * `bytes` contains (see `safeOpen`).
 *
 * @example
 * ```ts
 * import { readSafetensorsLayout, encodeSafetensors } from 'backprop';
 * const bytes = encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } });
 * readSafetensorsLayout(bytes).entries; // [{ name: 'w', dtype: 'F32', shape: [2, 2], begin: 0, end: 16 }]
 * ```
 */
export function readSafetensorsLayout(bytes: Uint8Array, source = '<buffer>', fileSize = bytes?.byteLength): SafetensorsLayout {
  const fail = (problem: string): never => {
    throw new FormatError(`${source}: not a valid safetensors file: ${problem}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array of file bytes');
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(fileSize - 8)) {
    fail(`header length ${headerLength} runs past the end of the file (${fileSize - 8} bytes after the length prefix; truncated?)`);
  }
  if (headerLength > BigInt(bytes.byteLength - 8)) fail(`the ${bytes.byteLength} bytes given end inside the ${headerLength}-byte header`);
  const n = Number(headerLength);
  if (n < 2 || bytes[8] !== 0x7b /* { */) fail('header does not start with "{"');

  // The header is scanned once, member by member (scanHeader), instead of JSON.parse of the whole text
  // plus a second pass for duplicate keys: linear time, and memory for the entries only (a header of
  // 10^6 tensors: 7.3 s and 837 MB more memory the old way, 3.1 s and 244 MB this way).
  if (!isUtf8(bytes, 8, 8 + n)) fail('header is not valid UTF-8');
  const data = bytes.subarray(8 + n);
  const dataLength = fileSize - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  const seen = new Set<string>();
  scanHeader(bytes, 8, 8 + n, fail, (name, info) => {
    if (seen.has(name)) fail(`duplicate key ${JSON.stringify(name)} in header`);
    seen.add(name);
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('"__metadata__" is not an object');
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`metadata value for ${JSON.stringify(key)} is not a string`);
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return;
    }
    const what = () => `tensor ${JSON.stringify(name)}`;   // built only for a message
    if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${what()}: entry is not an object`);
    // Fields beyond these three are ignored, as the reference implementation does.
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${what()}: "dtype" is missing or not a string`);
    if (!Object.hasOwn(DTYPE_BYTES, dtype as string)) fail(`${what()}: unknown dtype ${JSON.stringify(dtype)}`);
    const size = DTYPE_BYTES[dtype as string];
    if (size === null) fail(`${what()}: dtype ${dtype} is valid safetensors but not supported by backprop`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${what()}: "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${what()}: "data_offsets" must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${what()}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) fail(`${what()}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section (truncated?)`);
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (!Number.isSafeInteger(count * size!) || count * size! !== end - begin) {
      fail(`${what()}: shape [${(shape as number[]).join(', ')}] × ${dtype} (${size} bytes) needs ${count * size!} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push({ name, dtype: dtype as string, shape: (shape as number[]).slice(), begin, end });
    });

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of entries) {
    if (entry.begin < covered) fail(`tensor ${JSON.stringify(entry.name)}: data_offsets [${entry.begin}, ${entry.end}] overlap the previous tensor`);
    if (entry.begin > covered) fail(`data section has a gap at bytes [${covered}, ${entry.begin}) before tensor ${JSON.stringify(entry.name)}`);
    covered = entry.end;
  }
  if (covered !== dataLength) fail(`tensors cover ${covered} bytes but the data section has ${dataLength}`);
  return { entries, metadata, data };
}

/** Decodes one validated entry's bytes (exactly the right length) into a fresh typed array. */
function decodeEntry(entry: SafetensorsEntry, raw: Uint8Array, source: string): DecodedTensor {
  const { dtype, shape } = entry;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const count = raw.byteLength / DTYPE_BYTES[dtype]!;
  const outOfRange = (k: number, value: string): never => {
    throw new FormatError(`${source}: tensor ${JSON.stringify(entry.name)} (${dtype}) value ${value} at index ${k} does not fit in int32`);
  };
  switch (dtype) {
    case 'F32': {
      const data = new Float32Array(count);
      if (IS_LITTLE_ENDIAN) new Uint8Array(data.buffer).set(raw);
      else for (let k = 0; k < count; k++) data[k] = view.getFloat32(4 * k, true);
      return { dtype, shape, data };
    }
    case 'F64': {
      const data = new Float64Array(count);
      if (IS_LITTLE_ENDIAN) new Uint8Array(data.buffer).set(raw);
      else for (let k = 0; k < count; k++) data[k] = view.getFloat64(8 * k, true);
      return { dtype, shape, data };
    }
    case 'I32': {
      const data = new Int32Array(count);
      if (IS_LITTLE_ENDIAN) new Uint8Array(data.buffer).set(raw);
      else for (let k = 0; k < count; k++) data[k] = view.getInt32(4 * k, true);
      return { dtype, shape, data };
    }
    case 'F16':
    case 'BF16': {
      const data = new Float32Array(count);
      for (let k = 0; k < count; k++) {
        const bits = view.getUint16(2 * k, true);
        data[k] = dtype === 'F16' ? halfToFloat(bits) : bfloat16ToFloat(bits);
      }
      return { dtype: 'F32', shape, data };
    }
    case 'I64':
    case 'U64': {
      const data = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        const low = view.getUint32(8 * k, true);
        const high = view.getInt32(8 * k + 4, true);
        // Fits in int32 exactly when the high word is the sign extension of the low word.
        const fits = dtype === 'I64' ? high === (low >= 0x80000000 ? -1 : 0) : high === 0 && low < 0x80000000;
        if (!fits) outOfRange(k, (dtype === 'I64' ? view.getBigInt64(8 * k, true) : view.getBigUint64(8 * k, true)).toString());
        data[k] = low | 0;
      }
      return { dtype: dtype === 'I64' ? 'I64' : 'I32', shape, data };
    }
    default: {
      // BOOL, U8, I8, U16, I16, U32: small integers, widened to int32.
      const data = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        let value: number;
        if (dtype === 'BOOL' || dtype === 'U8') value = view.getUint8(k);
        else if (dtype === 'I8') value = view.getInt8(k);
        else if (dtype === 'U16') value = view.getUint16(2 * k, true);
        else if (dtype === 'I16') value = view.getInt16(2 * k, true);
        else {
          value = view.getUint32(4 * k, true);
          if (value >= 0x80000000) outOfRange(k, String(value));
        }
        data[k] = value;
      }
      return { dtype: 'I32', shape, data };
    }
  }
}

/** IEEE 754 binary16 → number: sign, 5-bit exponent (bias 15), 10-bit fraction. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal (or zero)
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);
/** bfloat16 is the top half of a float32. */
function bfloat16ToFloat(bits: number): number {
  bf16Bits[0] = bits << 16;
  return bf16Scratch[0]!;
}

/** Whether bytes [from, to) are well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
function isUtf8(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to;) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let need: number, min: number, cp: number;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    if (i + need >= to) return false;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += need + 1;
  }
  return true;
}

const latin = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');
/** Deeper nesting than this in a header is refused (a header needs 3 levels; this bounds the recursion). */
const MAX_DEPTH = 64;

/**
 * Scans the JSON header in bytes [from, to) once: a top-level object whose members are passed to
 * `member(name, value)` in order (values parsed as JSON.parse would, objects built without
 * prototype pitfalls). Any syntax error, or a duplicate key in a nested object, calls `fail`.
 */
function scanHeader(b: Uint8Array, from: number, to: number, fail: (problem: string) => never, member: (name: string, value: unknown) => void): void {
  let i = from;
  const bad = (what: string): never => fail(`header is not valid JSON (${what} at byte ${i - from})`);
  const ws = () => { while (i < to && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++; };
  const expect = (c: number) => { if (b[i] !== c || i >= to) bad(i >= to ? 'unexpected end' : `expected "${String.fromCharCode(c)}"`); i++; };
  const str = (): string => {
    expect(0x22);
    const s = i;
    let plain = true;
    for (;;) {
      if (i >= to) bad('unterminated string');
      const c = b[i]!;
      if (c === 0x22) break;
      if (c < 0x20) bad('control character in a string');
      if (c === 0x5c) { plain = false; i += 2; continue; }
      if (c >= 0x80) plain = false;
      i++;
    }
    if (i > to) bad('unterminated string');
    const raw = b.subarray(s, i);
    i++;
    // Short ASCII names (nearly all) as one flat string; a decoder call costs more for them.
    if (plain) return raw.length > 64 ? latin.decode(raw) : String.fromCharCode.apply(null, raw as unknown as number[]);
    try { return JSON.parse(`"${utf8.decode(raw)}"`) as string; } catch { return bad('bad escape in a string'); }
  };
  const num = (): number => {
    const s = i;
    for (let c = b[i]!; i < to && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45); c = b[++i]!) { /* a number's characters */ }
    const t = latin.decode(b.subarray(s, i));
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(t)) bad(`bad number ${JSON.stringify(t)}`);
    return Number(t);
  };
  const word = (w: string, v: unknown): unknown => {
    for (let k = 0; k < w.length; k++) if (b[i + k] !== w.charCodeAt(k) || i + k >= to) bad('unexpected token');
    i += w.length;
    return v;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`header nests deeper than ${MAX_DEPTH} levels`);
    ws();
    const c = b[i];
    if (i >= to) bad('unexpected end');
    if (c === 0x7b) {
      i++;
      const o: Record<string, unknown> = {};
      const keys: string[] = [];   // objects in a header are small: a list is cheaper than a Set
      ws();
      if (b[i] === 0x7d) { i++; return o; }
      for (;;) {
        ws();
        const k = str();
        if (keys.includes(k)) fail(`duplicate key ${JSON.stringify(k)} in header`);
        keys.push(k);
        ws(); expect(0x3a);
        const v = value(depth + 1);
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        else o[k] = v;
        ws();
        if (b[i] === 0x2c && i < to) { i++; continue; }
        expect(0x7d);
        return o;
      }
    }
    if (c === 0x5b) {
      i++;
      const a: unknown[] = [];
      ws();
      if (b[i] === 0x5d) { i++; return a; }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (b[i] === 0x2c && i < to) { i++; continue; }
        expect(0x5d);
        return a;
      }
    }
    if (c === 0x22) return str();
    if (c === 0x74) return word('true', true);
    if (c === 0x66) return word('false', false);
    if (c === 0x6e) return word('null', null);
    if (c === 0x2d || (c! >= 0x30 && c! <= 0x39)) return num();
    return bad('unexpected token');
  };
  ws();
  expect(0x7b);
  ws();
  if (b[i] === 0x7d && i < to) i++;
  else {
    for (;;) {
      ws();
      const name = str();
      ws(); expect(0x3a);
      member(name, value(1));
      ws();
      if (b[i] === 0x2c && i < to) { i++; continue; }
      expect(0x7d);
      break;
    }
  }
  ws();
  if (i !== to) bad('content after the header object');
}
