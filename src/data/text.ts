/**
 * Plain-text corpora: any UTF-8 file at character or word level (Tiny Shakespeare), and
 * PTB-format files (`ptb.train.txt`, `ptb.valid.txt`, `ptb.test.txt`) read the way TensorFlow's
 * PTB tutorial `reader.py` reads them.
 *
 * The parsing functions (`decodeUtf8`, `wordTokens`, `textCorpusFromBytes`, `ptbCorpusFromBytes`)
 * are pure; only `loadTextCorpus` and `loadPtbFiles` touch the file system.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import { checkSplitSizes, encodeHeldOut, type Corpus } from './corpus.js';
import { compareCodePoints, EOS, Vocab } from './vocab.js';

export type Level = 'word' | 'char';

/** How `loadTextCorpus` and `textCorpusFromBytes` tokenize a text (words or characters) and split off validation. */
export interface TextCorpusOptions {
  level: Level;
  /** Fraction of tokens, taken from the end, that form the validation split. Default 0.1 (nanoGPT). */
  validFraction?: number;
}

/**
 * The byte offset of the first ill-formed UTF-8 sequence (Unicode Table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF, no truncated sequence), or −1 when all bytes are well formed.
 * Agrees with `new TextDecoder('utf-8', { fatal: true })`, which only says *that* decoding failed.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) { need = 2; lo = 0xa0; }
    else if (b === 0xed) { need = 2; hi = 0x9f; }
    else if (b >= 0xe1 && b <= 0xef) need = 2;
    else if (b === 0xf0) { need = 3; lo = 0x90; }
    else if (b === 0xf4) { need = 3; hi = 0x8f; }
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line and byte column of a byte offset. */
function lineAt(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) { line++; lineStart = i + 1; }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Decode UTF-8 strictly (a leading BOM is dropped, as TextDecoder does).
 * @throws DataError naming `file`, the byte offset, line and column of the first invalid byte, or an empty file.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes.length === 0) throw new DataError(`${file}: file is empty`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const at = offset < 0 ? '' : (() => {
      const { line, column } = lineAt(bytes, offset);
      const hex = bytes[offset]!.toString(16).toUpperCase().padStart(2, '0');
      return `: invalid byte 0x${hex} at byte offset ${offset} (line ${line}, byte column ${column})`;
    })();
    throw new DataError(`${file}: not valid UTF-8${at}`);
  }
}

/** Read a whole file as bytes. @throws DataError naming the file when it is missing or unreadable. */
export function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read (${code ?? String(e)})`;
    throw new DataError(`${file}: ${why}`);
  }
}

/**
 * Word tokens: whitespace-separated (JavaScript's `\s`), with one `<eos>` for each "\n".
 * Equivalent to TensorFlow's `_read_words` (`read().replace("\n", "<eos>").split()`) on files whose
 * lines begin and end with a space, as the PTB files do; unlike it, a word is never glued to
 * `<eos>` when a line lacks the trailing space, and each blank line gives its own `<eos>`.
 * A final line without "\n" gets no `<eos>`, as in TensorFlow.
 */
export function wordTokens(text: string): string[] {
  return text.replace(/\n/g, ` ${EOS} `).split(/\s+/).filter((t) => t.length > 0);
}

/** Character tokens: one per Unicode code point (so an emoji is one token, as in Python's `str`). */
export function charTokens(text: string): string[] {
  return Array.from(text);
}

/**
 * Character tokens of a PTB-format file: each line's words joined by single spaces (leading and
 * trailing whitespace dropped), one token per code point, then `<eos>` for the line's "\n".
 */
export function ptbCharTokens(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, k) => {
    for (const ch of line.split(/\s+/).filter((w) => w.length > 0).join(' ')) out.push(ch);
    if (k < lines.length - 1) out.push(EOS);
  });
  return out;
}

/** nanoGPT's character vocabulary: the distinct characters, sorted by code point. */
function sortedCharVocab(tokens: readonly string[]): Vocab {
  return new Vocab([...new Set(tokens)].sort(compareCodePoints));
}

/** TensorFlow's `_build_vocab`: by count descending, then word ascending. */
export function tfVocab(tokens: readonly string[]): Vocab {
  return Vocab.build(tokens, { ties: 'lexicographic' });
}

/**
 * A corpus from the bytes of one text file (pure; `file` names it in errors and `info`).
 * Split as nanoGPT does: n tokens, the first floor(n·(1−validFraction)) train, the rest validation;
 * `test` is the same array as `valid` (a single file has no separate test split).
 * Vocabulary from the training split only: characters sorted by code point (nanoGPT) or words
 * in TensorFlow order; held-out OOV tokens map to `<unk>`, appended only if needed.
 * @throws DataError (file named) for empty or non-UTF-8 input, no tokens, or a split under 2 tokens;
 *   ConfigError for validFraction outside (0, 1).
 *
 * @example
 * ```ts
 * import { textCorpusFromBytes } from 'backprop/node';
 * const c = textCorpusFromBytes(new TextEncoder().encode('to be or not to be\n'.repeat(50)), 'play.txt', { level: 'word' });
 * c.vocab.size; // the distinct words (and the end-of-line token)
 * ```
 */
export function textCorpusFromBytes(bytes: Uint8Array, file: string, options: TextCorpusOptions): Corpus {
  const { level, validFraction = 0.1 } = options;
  if (level !== 'char' && level !== 'word') throw new ConfigError(`level must be 'char' or 'word', got ${String(level)}`);
  if (!(validFraction > 0 && validFraction < 1)) {
    throw new ConfigError(`validFraction must be in (0, 1), got ${validFraction}`);
  }
  const text = decodeUtf8(bytes, file);
  const tokens = level === 'char' ? charTokens(text) : wordTokens(text);
  if (tokens.length === 0) throw new DataError(`${file}: contains no tokens (only whitespace)`);
  const nTrain = Math.floor(tokens.length * (1 - validFraction));
  checkSplitSizes(file, { train: nTrain, valid: tokens.length - nTrain });
  const trainTokens = tokens.slice(0, nTrain);
  const validTokens = tokens.slice(nTrain);
  const trainVocab = level === 'char' ? sortedCharVocab(trainTokens) : tfVocab(trainTokens);
  const { vocab, ids, oov } = encodeHeldOut(trainVocab, [validTokens]);
  const valid = ids[0]!;
  return {
    name: basename(file),
    level,
    vocab,
    train: vocab.encode(trainTokens),
    valid,
    test: valid,
    info: {
      source: file,
      bytes: bytes.length,
      tokens: tokens.length,
      trainTokens: nTrain,
      validTokens: valid.length,
      testTokens: valid.length,
      vocabSize: vocab.size,
      validOov: oov[0]!,
      split: `first ${nTrain} train, last ${valid.length} valid (= test)`,
    },
  };
}

/**
 * Load any UTF-8 text file as a corpus (see `textCorpusFromBytes` for the split and vocabulary).
 * @example
 * ```ts
 * import { loadTextCorpus } from 'backprop/node';
 * const c = loadTextCorpus('tinyshakespeare/input.txt', { level: 'char' });
 * c.vocab.size // 65; c.train.length // 1003854; c.valid.length // 111540
 * ```
 */
export function loadTextCorpus(path: string, options: TextCorpusOptions): Corpus {
  return textCorpusFromBytes(readBytes(path), path, options);
}

/** The three PTB-format files, as paths or (for `ptbCorpusFromBytes`) contents. */
export interface PtbSplits<T> {
  train: T;
  valid: T;
  test: T;
}

/**
 * A corpus from the bytes of three PTB-format files (pure; `names` name them in errors).
 * Word level: TensorFlow's `_read_words` (see `wordTokens`) and `_build_vocab` on train (count
 * descending, then word ascending). Char level: see `ptbCharTokens`; vocabulary sorted by count
 * descending then code point. OOV in valid/test → `<unk>` (real PTB has none: `<unk>` is a word of
 * its training file); TensorFlow would silently drop them instead.
 * @throws DataError naming the file for empty, non-UTF-8 or too-small (< 2 tokens) input.
 */
export function ptbCorpusFromBytes(
  bytes: PtbSplits<Uint8Array>,
  names: PtbSplits<string>,
  level: Level = 'word',
): Corpus {
  if (level !== 'char' && level !== 'word') throw new ConfigError(`level must be 'char' or 'word', got ${String(level)}`);
  const split = (k: keyof PtbSplits<unknown>): string[] => {
    const text = decodeUtf8(bytes[k], names[k]);
    const tokens = level === 'char' ? ptbCharTokens(text) : wordTokens(text);
    checkSplitSizes(names[k], { [k]: tokens.length });
    return tokens;
  };
  const trainTokens = split('train');
  const validTokens = split('valid');
  const testTokens = split('test');
  const { vocab, ids, oov } = encodeHeldOut(tfVocab(trainTokens), [validTokens, testTokens]);
  return {
    name: 'ptb-files',
    level,
    vocab,
    train: vocab.encode(trainTokens),
    valid: ids[0]!,
    test: ids[1]!,
    info: {
      train: names.train,
      valid: names.valid,
      test: names.test,
      trainTokens: trainTokens.length,
      validTokens: validTokens.length,
      testTokens: testTokens.length,
      vocabSize: vocab.size,
      validOov: oov[0]!,
      testOov: oov[1]!,
    },
  };
}

/**
 * Load PTB-format files: a folder holding `ptb.train.txt`, `ptb.valid.txt`, `ptb.test.txt`, or
 * the three paths.
 * @example
 * const c = loadPtbFiles('data/simple-examples/data'); // c.vocab.size === 10000 on the real PTB
 */
export function loadPtbFiles(source: string | PtbSplits<string>, options: { level?: Level } = {}): Corpus {
  const names: PtbSplits<string> = typeof source === 'string'
    ? { train: join(source, 'ptb.train.txt'), valid: join(source, 'ptb.valid.txt'), test: join(source, 'ptb.test.txt') }
    : source;
  const bytes = { train: readBytes(names.train), valid: readBytes(names.valid), test: readBytes(names.test) };
  return ptbCorpusFromBytes(bytes, names, options.level ?? 'word');
}
