/**
 * A vocabulary: the bijection between tokens (words or characters) and integer ids.
 *
 * Ids are dense, 0 … size−1, in the order of `itos`. Building is deterministic: the same tokens
 * always give the same ids, so a checkpoint's embedding rows keep their meaning across runs.
 */
import { ConfigError, DataError } from '../errors.js';

/** The token that stands for every out-of-vocabulary token. */
export const UNK = '<unk>';
/** The end-of-sentence token (one per line in PTB-format files). */
export const EOS = '<eos>';

/** How `Vocab.build` orders tokens that have the same count. */
export type TieOrder =
  /** the token seen first in the stream gets the smaller id */
  | 'first-seen'
  /** the token that sorts first by Unicode code point gets the smaller id (TensorFlow's PTB reader) */
  | 'lexicographic';

export interface VocabBuildOptions {
  /** Largest vocabulary, specials included; the least frequent tokens are dropped. Default: no limit. */
  maxSize?: number;
  /** Keep only tokens seen at least this many times (specials are always kept). Default 1. */
  minCount?: number;
  /** Tokens placed first, in this order, whatever their counts (e.g. `['<unk>']`). Default none. */
  specials?: readonly string[];
  /** Order among tokens of equal count. Default 'first-seen'. */
  ties?: TieOrder;
}

/** The serialized form: `{ "itos": ["<unk>", "the", …] }`. */
export interface VocabJSON {
  itos: string[];
}

/**
 * Compare two strings by Unicode code point, as Python's `<` on `str` does (JavaScript's `<`
 * compares UTF-16 code units, which puts U+E000…U+FFFF after astral characters).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (D800–DFFF) above E000–FFFF so code units sort like code points.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Count each token; a Map iterates in first-seen order, which `build` relies on. */
export function countTokens(tokens: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

export class Vocab {
  /** id → token */
  readonly itos: readonly string[];
  /** token → id */
  readonly stoi: ReadonlyMap<string, number>;
  /** The id of `<unk>`, or undefined when the vocabulary has none (unknown tokens then throw). */
  readonly unkId: number | undefined;

  /**
   * @param itos the tokens in id order; each a non-empty string, no duplicates.
   * @throws DataError on a duplicate, empty or non-string token.
   */
  constructor(itos: readonly string[]) {
    const stoi = new Map<string, number>();
    for (let id = 0; id < itos.length; id++) {
      const token: unknown = itos[id]; // a for loop, not forEach, so holes in a sparse array are caught
      if (typeof token !== 'string' || token.length === 0) {
        throw new DataError(`vocabulary entry ${id} must be a non-empty string, got ${JSON.stringify(token)}`);
      }
      if (stoi.has(token)) {
        throw new DataError(`vocabulary has token ${JSON.stringify(token)} twice (ids ${stoi.get(token)} and ${id})`);
      }
      stoi.set(token, id);
    }
    this.itos = Object.freeze([...itos]);
    this.stoi = stoi;
    this.unkId = stoi.get(UNK);
  }

  /** Number of tokens, V. */
  get size(): number {
    return this.itos.length;
  }

  /**
   * Tokens → ids. A token not in the vocabulary becomes `<unk>` if the vocabulary has it.
   * @throws DataError naming the token and its position when it is unknown and there is no `<unk>`.
   * @example new Vocab(['a', 'b']).encode(['b', 'a']) // Int32Array [1, 0]
   */
  encode(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const id = this.stoi.get(token) ?? this.unkId;
      if (id === undefined) {
        throw new DataError(`token ${JSON.stringify(token)} at position ${i} is not in the vocabulary, which has no ${UNK}`);
      }
      ids[i] = id;
    }
    return ids;
  }

  /**
   * Ids → tokens.
   * @throws DataError naming the id and its position when it is not in 0 … size−1.
   * @example new Vocab(['a', 'b']).decode([1, 0]) // ['b', 'a']
   */
  decode(ids: ArrayLike<number>): string[] {
    const out = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const token = this.itos[ids[i]!];
      if (token === undefined) {
        throw new DataError(`id ${ids[i]} at position ${i} is outside the vocabulary (size ${this.size})`);
      }
      out[i] = token;
    }
    return out;
  }

  toJSON(): VocabJSON {
    return { itos: [...this.itos] };
  }

  /**
   * The inverse of `toJSON` (takes the parsed object, not the JSON text).
   * @throws DataError naming what is wrong: not an object, `itos` missing or not an array of
   *   non-empty strings, a duplicate token, an empty vocabulary.
   * @example Vocab.fromJSON(JSON.parse('{"itos":["<unk>","a"]}')).size // 2
   */
  static fromJSON(json: unknown): Vocab {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new DataError(`vocabulary JSON must be an object with an "itos" array, got ${describe(json)}`);
    }
    const itos = (json as { itos?: unknown }).itos;
    if (!Array.isArray(itos)) {
      throw new DataError(`vocabulary JSON field "itos" must be an array of strings, got ${describe(itos)}`);
    }
    if (itos.length === 0) throw new DataError('vocabulary JSON field "itos" is empty');
    return new Vocab(itos as string[]);
  }

  /**
   * Build a vocabulary from a token stream. Order: `specials` first (in the given order), then
   * the other tokens by descending count, ties broken by `ties` ('first-seen' by default, or
   * 'lexicographic' = by code point, like TensorFlow's PTB `_build_vocab`).
   * @throws ConfigError when maxSize is smaller than the number of specials, or minCount/maxSize is not a positive integer.
   * @example Vocab.build('b a b c'.split(' '), { specials: ['<unk>'] }).itos // ['<unk>', 'b', 'a', 'c']
   */
  static build(tokens: Iterable<string>, options: VocabBuildOptions = {}): Vocab {
    const { maxSize = Infinity, minCount = 1, specials = [], ties = 'first-seen' } = options;
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < specials.length)) {
      throw new ConfigError(`maxSize must be an integer ≥ the number of specials (${specials.length}), got ${maxSize}`);
    }
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw new ConfigError(`minCount must be a positive integer, got ${minCount}`);
    }
    const special = new Set(specials);
    const entries = [...countTokens(tokens)].filter(([t, c]) => !special.has(t) && c >= minCount);
    // Array.prototype.sort is stable, so equal counts keep first-seen (Map insertion) order.
    entries.sort(ties === 'lexicographic'
      ? (p, q) => q[1] - p[1] || compareCodePoints(p[0], q[0])
      : (p, q) => q[1] - p[1]);
    const rest = entries.slice(0, maxSize - specials.length).map(([t]) => t);
    return new Vocab([...specials, ...rest]);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
