import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError, ShapeError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorRecord } from './safetensors.js';
import { seededRandom } from './testing.js';

/** Builds a file from a header string and data bytes, by hand: u64 LE length, header, data. */
function rawFile(header: string, data: number[], pad = true): Uint8Array {
  const json = [...new TextEncoder().encode(header)];
  while (pad && json.length % 8 !== 0) json.push(0x20);
  const n = json.length;
  const length = [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff, 0, 0, 0, 0];
  return new Uint8Array([...length, ...json, ...data]);
}

/** Asserts that decoding throws a FormatError that names the source and mentions `pattern`. */
function assertRejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => decodeSafetensors(bytes, 'bad.safetensors'), (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.match(e.message, /bad\.safetensors/);
    assert.match(e.message, pattern);
    return true;
  });
}

test('a file written byte by byte from the spec is read correctly', () => {
  const header =
    '{"__metadata__":{"format":"pt","note":"ünïcode"},' +
    '"b.ids":{"dtype":"I64","shape":[2],"data_offsets":[8,24]},' +
    '"a.w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
    '"c.half":{"dtype":"F16","shape":[2],"data_offsets":[24,28]},' +
    '"d.bf":{"dtype":"BF16","shape":[],"data_offsets":[28,30]},' +
    '"e.empty":{"dtype":"F64","shape":[0,3],"data_offsets":[30,30]}}';
  const data = [
    0x00, 0x00, 0xc0, 0x3f, /* 1.5 */ 0x00, 0x00, 0x00, 0xc0, /* -2 */
    0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -3 */ 0x07, 0, 0, 0, 0, 0, 0, 0, /* 7 */
    0x00, 0x3c, /* f16 1.0 */ 0x00, 0xc1, /* f16 -2.5 */
    0x80, 0x3f, /* bf16 1.0 */
  ];
  const { tensors, metadata } = decodeSafetensors(rawFile(header, data));
  assert.deepEqual(metadata, { format: 'pt', note: 'ünïcode' });
  assert.deepEqual(tensors['a.w'], { dtype: 'F32', shape: [1, 2], data: new Float32Array([1.5, -2]) });
  assert.deepEqual(tensors['b.ids'], { dtype: 'I64', shape: [2], data: new Int32Array([-3, 7]) });
  assert.deepEqual(tensors['c.half'], { dtype: 'F32', shape: [2], data: new Float32Array([1, -2.5]) });
  assert.deepEqual(tensors['d.bf'], { dtype: 'F32', shape: [], data: new Float32Array([1]) });
  assert.deepEqual(tensors['e.empty'], { dtype: 'F64', shape: [0, 3], data: new Float64Array(0) });
});

test('the writer follows the spec: padded header, sorted contiguous offsets, little-endian data', () => {
  const bytes = encodeSafetensors({
    z: { shape: [2], data: new Float32Array([1, 2]) },
    a: { shape: [1], data: new Float64Array([3]) },
    m: { dtype: 'I64', shape: [1], data: new Int32Array([-1]) },
    b: { shape: [2, 1], data: new Int32Array([5, 6]) },
  }, { k: 'v' });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(text[0], '{');
  assert.match(text, /^[^ ]*} *$/, 'padding is trailing spaces only');
  const header = JSON.parse(text);
  assert.deepEqual(header.__metadata__, { k: 'v' });
  // 8-byte dtypes first (by name), then 4-byte ones: each tensor aligned to its element size.
  assert.deepEqual(header.a, { dtype: 'F64', shape: [1], data_offsets: [0, 8] });
  assert.deepEqual(header.m, { dtype: 'I64', shape: [1], data_offsets: [8, 16] });
  assert.deepEqual(header.b, { dtype: 'I32', shape: [2, 1], data_offsets: [16, 24] });
  assert.deepEqual(header.z, { dtype: 'F32', shape: [2], data_offsets: [24, 32] });
  assert.equal(bytes.byteLength, 8 + n + 32);
  const data = new DataView(bytes.buffer, bytes.byteOffset + 8 + n);
  assert.equal(data.getFloat64(0, true), 3);
  assert.equal(data.getBigInt64(8, true), -1n);
  assert.equal(data.getInt32(20, true), 6);
  assert.equal(data.getFloat32(28, true), 2);
});

test('round trip keeps names, dtypes, shapes, values and metadata', () => {
  const tensors: Record<string, TensorRecord> = {
    'embedding.weight': { shape: [3, 2], data: new Float32Array([0.1, -0.2, 3e-30, 1e30, NaN, -Infinity]) },
    'optim.step': { shape: [], data: new Float64Array([12345.678]) },
    tokens: { dtype: 'I64', shape: [2, 2], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
    counts: { shape: [4], data: new Int32Array([1, 2, 3, 4]) },
    empty: { shape: [0], data: new Float32Array(0) },
    ['__proto__']: { shape: [1], data: new Float32Array([7]) },
  };
  const { tensors: back, metadata } = decodeSafetensors(encodeSafetensors(tensors, { a: '1', b: '{"x":2}' }));
  assert.deepEqual(metadata, { a: '1', b: '{"x":2}' });
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    assert.deepEqual(back[name], { dtype: t.dtype ?? back[name]!.dtype, shape: t.shape, data: t.data }, name);
  }
  assert.equal(back['optim.step']!.dtype, 'F64');
  // decoded arrays are fresh copies, not views into the file
  assert.equal(back['counts']!.data.byteOffset, 0);
});

test('the writer rejects mismatched shapes and dtypes', () => {
  assert.throws(() => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), ShapeError);
  assert.throws(() => encodeSafetensors({ w: { dtype: 'F64', shape: [1], data: new Float32Array(1) } }), ShapeError);
  assert.throws(() => encodeSafetensors({ w: { shape: [-1], data: new Float32Array(0) } }), ShapeError);
  assert.throws(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), FormatError);
});

test('every kind of corruption is a FormatError naming the file and the problem', () => {
  const f32 = (name: string, offsets: string, shape = '[1]'): string => `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;
  const four = [0, 0, 128, 63];
  assertRejects(new Uint8Array([1, 2, 3]), /shorter than the 8-byte/);
  assertRejects(rawFile(`{${f32('a', '[0,4]')}}`, four).subarray(0, 20), /runs past the end of the file/);
  const huge = rawFile('{}', []);
  huge.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
  assertRejects(huge, /header length 18446744073709551615 runs past/);
  assertRejects(rawFile('[1,2,3]', []), /does not start with "{"/);
  assertRejects(rawFile('{"a":', []), /not valid JSON/);
  assertRejects(rawFile('{"a":1}', []), /entry is not an object/);
  const badUtf8 = rawFile('{"a":"xx"}', []);
  badUtf8[14] = 0xff;
  assertRejects(badUtf8, /not valid UTF-8/);
  assertRejects(rawFile(`{${f32('a', '[0,4]')},${f32('a', '[0,4]')}}`, four), /duplicate key "a"/);
  assertRejects(rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, []), /duplicate key "k"/);
  assertRejects(rawFile(`{"__metadata__":{"k":1}}`, []), /metadata value for "k" is not a string/);
  assertRejects(rawFile(`{"__metadata__":[]}`, []), /"__metadata__" is not an object/);
  assertRejects(rawFile(`{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, four), /unknown dtype "F33"/);
  assertRejects(rawFile(`{"a":{"dtype":"toString","shape":[1],"data_offsets":[0,4]}}`, four), /unknown dtype "toString"/);
  assertRejects(rawFile(`{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}`, four), /not supported/);
  assertRejects(rawFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, four), /"dtype" is missing/);
  assertRejects(rawFile(`{${f32('a', '[0,4]', '[1.5]')}}`, four), /"shape" must be an array of non-negative integers/);
  assertRejects(rawFile(`{${f32('a', '[0,4]', '[-1]')}}`, four), /"shape" must be/);
  assertRejects(rawFile(`{${f32('a', '[0,4]', '"1"')}}`, four), /"shape" must be/);
  assertRejects(rawFile(`{${f32('a', '[0]')}}`, four), /"data_offsets" must be \[begin, end\]/);
  assertRejects(rawFile(`{${f32('a', '[4,0]')}}`, four), /end before they begin/);
  assertRejects(rawFile(`{${f32('a', '[0,8]', '[2]')}}`, four), /run past the 4-byte data section/);
  assertRejects(rawFile(`{${f32('a', '[0,4]', '[2]')}}`, four), /needs 8 bytes but data_offsets \[0, 4\] hold 4/);
  assertRejects(rawFile(`{${f32('a', '[0,4]', '[4294967296,4294967296]')}}`, four), /needs/);
  assertRejects(rawFile(`{${f32('a', '[0,4]')},${f32('b', '[2,6]')}}`, [...four, ...four]), /overlap/);
  assertRejects(rawFile(`{${f32('a', '[4,8]')}}`, [...four, ...four]), /gap at bytes \[0, 4\)/);
  assertRejects(rawFile(`{${f32('a', '[0,4]')}}`, [...four, 1, 2]), /tensors cover 4 bytes but the data section has 6/);
  assertRejects(rawFile(`{}`, [1]), /tensors cover 0 bytes/);
  const bigI64 = rawFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, [0, 0, 0, 0x80, 0, 0, 0, 0]);
  assertRejects(bigI64, /value 2147483648 at index 0 does not fit in int32/);
});

test('fuzz: mutated and random files only ever raise FormatError', () => {
  const random = seededRandom(20240607);
  const int = (n: number): number => Math.floor(random() * n);
  let accepted = 0;
  let rejected = 0;
  for (let trial = 0; trial < 600; trial++) {
    // A valid file with a few random tensors.
    const tensors: Record<string, TensorRecord> = {};
    for (let k = int(4); k >= 0; k--) {
      const shape = Array.from({ length: int(3) }, () => int(4));
      const count = shape.reduce((a, b) => a * b, 1);
      const kind = int(4);
      const data = kind === 0 ? new Float64Array(count) : kind === 1 ? new Float32Array(count) : new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = kind < 2 ? random() * 10 - 5 : int(1000) - 500;
      tensors[`t${k}.${int(100)}`] = { dtype: kind === 3 ? 'I64' : undefined, shape, data };
    }
    let bytes = encodeSafetensors(tensors, random() < 0.5 ? { seed: String(trial) } : undefined);
    // Then damage it in one of several ways.
    const mutation = trial % 8; // 7: left intact, a control that must decode
    bytes = bytes.slice();
    if (mutation === 0) for (let m = 1 + int(3); m > 0; m--) { const at = int(bytes.length); bytes[at] = bytes[at]! ^ (1 << int(8)); }
    else if (mutation === 1) bytes = bytes.subarray(0, int(bytes.length));
    else if (mutation === 2) bytes = new Uint8Array([...bytes, ...Array.from({ length: 1 + int(9) }, () => int(256))]);
    else if (mutation === 3) new DataView(bytes.buffer).setUint32(int(2) * 4, int(2 ** 32), true);
    else if (mutation === 4) {
      // Rewrite a digit, quote, bracket or comma inside the JSON header.
      const n = new DataView(bytes.buffer).getUint32(0, true);
      const at = 8 + int(n);
      bytes[at] = '0123456789",[]{}:-e. '.charCodeAt(int(21));
    } else if (mutation === 5) bytes = Uint8Array.from({ length: int(64) }, () => int(256));
    else if (mutation === 6) bytes = bytes.subarray(1 + int(bytes.length - 1)); // a suffix: junk where the length prefix should be
    try {
      const { tensors: decoded } = decodeSafetensors(bytes, `fuzz#${trial}`);
      for (const [name, t] of Object.entries(decoded)) {
        assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), `fuzz#${trial}: ${name} data matches its shape`);
      }
      if (mutation === 7) assert.deepEqual(Object.keys(decoded).sort(), Object.keys(tensors).sort());
      accepted++;
    } catch (e) {
      if (mutation === 7) throw e;
      if (!(e instanceof FormatError)) throw new Error(`fuzz#${trial} (mutation ${mutation}) raised ${String(e)}`);
      assert.match(e.message, new RegExp(`fuzz#${trial}\\b`));
      rejected++;
    }
  }
  assert.ok(rejected > 300 && accepted >= 75, `accepted ${accepted}, rejected ${rejected}`);
});
