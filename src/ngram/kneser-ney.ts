/**
 * An interpolated modified Kneser-Ney n-gram language model over a token-id stream: the classic
 * count-based baseline for our recurrent models, and a distribution to interpolate with them.
 *
 * References:
 * - S. F. Chen and J. Goodman (1998), "An Empirical Study of Smoothing Techniques for Language
 *   Modeling", Harvard TR-10-98, §3.5 (interpolated Kneser-Ney) and §4.1.6 (modified KN: three
 *   discounts per order, estimated from count-of-counts).
 * - R. Kneser and H. Ney (1995), "Improved backing-off for M-gram language modeling", ICASSP.
 * - SRILM `ngram-count -kndiscount -interpolate` and KenLM `lmplz` implement the same estimator
 *   (KenLM's fallback discounts 0.5, 1, 1.5 are the ones used below when a formula is undefined or out of range).
 *
 * The model, for order n and a context h = w_{i−k+1} .. w_{i−1} (k ≤ n, h' = h without its first word):
 *
 *   P_k(w | h) = (c_k(hw) − D_k(c_k(hw))) / S_k(h)  +  γ_k(h) · P_{k−1}(w | h')
 *   γ_k(h)    = (D_k1 · N1(h•) + D_k2 · N2(h•) + D_k3 · N3+(h•)) / S_k(h),     S_k(h) = Σ_v c_k(hv)
 *   P_0(w)    = 1 / |V|
 *
 * where c_n is the raw count and, for k < n, c_k(hw) = N1+(• hw) is the continuation count: the
 * number of distinct words seen immediately before hw. N_r(h•) is how many words v have c_k(hv) = r
 * (r = 3 meaning ≥ 3), and D_k(0) = 0. A context with S_k(h) = 0 (never seen, or seen only where it
 * cannot be extended) backs off completely: P_k(w | h) = P_{k−1}(w | h'). Since each level removes
 * exactly the mass γ redistributes, every P(· | h) sums to 1 over the vocabulary, and the uniform
 * floor gives every word nonzero probability.
 *
 * Discounts per order come from the count-of-counts n_r (how many k-grams have c_k = r) of the
 * counts actually used at that order: Y = n1/(n1 + 2 n2), D1 = 1 − 2Y n2/n1, D2 = 2 − 3Y n3/n2,
 * D3+ = 3 − 4Y n4/n3. A discount whose formula is undefined (a zero denominator) or out of range
 * (≤ 0 or > r) takes KenLM's fallback (0.5, 1, 1.5), as KenLM does with --discount_fallback. Keeping
 * every D in (0, r] keeps every count non-negative (so the normalization stays exact) and gives every
 * seen context some mass to hand down (γ > 0): a zero D3+ would give P = 0 to every word after a context
 * whose successors were all seen 3 times or more.
 *
 * The training stream is one sequence: no sentence boundaries are assumed. A context shorter than
 * n − 1 (the first tokens of a stream) is scored by the lower-order distribution of its own length.
 *
 * Storage: every k-gram seen in training gets a dense id, built order by order with one open-addressing
 * hash table per order keyed by (id of its first k−1 words, last word): id(w1..wk) = T_k(id(w1..wk−1), wk),
 * and unigram ids are the word ids. One pass per order over the stream assigns ids, counts, and (from the
 * (k−1)-gram ending at the same position, the suffix) the continuation counts of the order below.
 * All state lives in typed arrays: 800,000 tokens at order 5 is a few seconds and a few hundred MB.
 *
 * @example
 *   const lm = KneserNey.fit(corpus.train, corpus.vocab.size, { order: 5 });
 *   const lp = lm.logProbs(corpus.test);                    // ln P of every test token
 *   const ppl = Math.exp(-lp.reduce((a, b) => a + b, 0) / lp.length);
 */
import { ConfigError, DataError } from '../errors.js';

/** Options of the Kneser-Ney model. */
export interface KneserNeyOptions {
  /** n: the longest n-gram used (1 = unigram). */
  order: number;
}

/** Discounts used when a count-of-counts formula divides by zero or leaves (0, r] (KenLM's --discount_fallback). */
const FALLBACK_DISCOUNTS = [0.5, 1.0, 1.5] as const;

/**
 * Modified-KN discounts from count-of-counts n[1..4] (n[0] unused). Undefined formulas take the
 * fallback, and so does one outside (0, r]: c − D(c) ≥ 0 for every count class, and D > 0 so γ > 0.
 *
 * @example
 * ```ts
 * import { modifiedKnDiscounts } from 'backprop';
 * modifiedKnDiscounts(10, 5, 3, 2); // { d1: 0.5, d2: 1.1, d3: 1.666… } from the counts-of-counts n1…n4
 * ```
 */
export function modifiedKnDiscounts(n1: number, n2: number, n3: number, n4: number): { d1: number; d2: number; d3: number } {
  const y = n1 / (n1 + 2 * n2);
  const raw = [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3];
  const [d1, d2, d3] = raw.map((d, i) => (Number.isFinite(d) && d > 0 && d <= i + 1 ? d : FALLBACK_DISCOUNTS[i]!));
  return { d1: d1!, d2: d2!, d3: d3! };
}

/**
 * An open-addressing (linear probing) hash table from a pair of non-negative int32 keys
 * (prefix id, word) to a dense id 0, 1, 2, ... in insertion order. Fixed capacity: the caller
 * bounds the number of entries, and the table keeps its load factor at or below 1/2.
 */
class PairTable {
  private readonly mask: number;
  private readonly keyA: Int32Array;   // prefix id per slot; −1 = empty slot
  private readonly keyB: Int32Array;   // word per slot
  private readonly value: Int32Array;  // dense id per slot
  /** Per dense id: the prefix id (the k−1 first words), for grouping k-grams by context. */
  readonly prefixOf: Int32Array;
  size = 0;
  /** Whether the last getOrInsert created the entry. */
  inserted = false;

  constructor(maxEntries: number) {
    let cap = 16;
    while (cap < 2 * maxEntries) cap *= 2;
    this.mask = cap - 1;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.value = new Int32Array(cap);
    this.prefixOf = new Int32Array(Math.max(maxEntries, 0));
  }

  private slot(a: number, b: number): number {
    // A cheap integer mix (multiply-xorshift) of both keys; linear probing handles the rest.
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x5bd1e995, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & this.mask;
  }

  /** The id of (a, b), or −1 if absent. */
  get(a: number, b: number): number {
    for (let s = this.slot(a, b); ; s = (s + 1) & this.mask) {
      const ka = this.keyA[s]!;
      if (ka === -1) return -1;
      if (ka === a && this.keyB[s] === b) return this.value[s]!;
    }
  }

  /** The id of (a, b), creating it (next dense id) if absent; sets `inserted`. */
  getOrInsert(a: number, b: number): number {
    for (let s = this.slot(a, b); ; s = (s + 1) & this.mask) {
      const ka = this.keyA[s]!;
      if (ka === -1) {
        const id = this.size++;
        this.keyA[s] = a; this.keyB[s] = b; this.value[s] = id;
        this.prefixOf[id] = a;
        this.inserted = true;
        return id;
      }
      if (ka === a && this.keyB[s] === b) { this.inserted = false; return this.value[s]!; }
    }
  }
}

/** One order k of the model: the counts it uses and, per context ((k−1)-gram id), 1/S and γ. */
interface Level {
  /** c_k per k-gram id (raw at the top order, continuation counts below). */
  counts: Int32Array;
  /** Per context id: 1/S_k(h), or 0 when S_k(h) = 0. */
  invDenom: Float64Array;
  /** Per context id: γ_k(h), or 1 when S_k(h) = 0 (full back-off). */
  gamma: Float64Array;
  d1: number; d2: number; d3: number;
}

function checkIds(data: ArrayLike<number>, vocabSize: number, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const t = data[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new DataError(`${what}: token id ${t} at position ${i} is out of range (vocabulary size ${vocabSize})`);
    }
  }
}

/**
 * An interpolated modified Kneser-Ney n-gram language model (the file header has the method and an example).
 *
 * @example
 * ```ts
 * import { KneserNey } from 'backprop';
 * const train = new Int32Array([0, 1, 2, 0, 1, 3, 0, 1, 2]);
 * const kn = KneserNey.fit(train, 4, { order: 3 });
 * kn.prob([0, 1], 2);                       // P(2 | 0 1)
 * kn.logProbs(new Int32Array([0, 1, 2, 0])); // per-token nats, as the neural models' scores
 * ```
 */
export class KneserNey {
  readonly order: number;
  readonly vocabSize: number;
  /** Discounts of orders 1..n (index 0 = unigrams). */
  readonly discounts: { d1: number; d2: number; d3: number }[];
  /** Distinct k-grams seen in training, k = 1..n (index 0 = unigrams: distinct words). */
  readonly ngramCounts: number[];
  /** Tables for orders 2..n at index k; index 0 and 1 unused (unigram id = word id). */
  private readonly tables: (PairTable | null)[];
  /** Levels 1..n at index k−1. */
  private readonly levels: Level[];

  private constructor(order: number, vocabSize: number, tables: (PairTable | null)[], levels: Level[], ngramCounts: number[]) {
    this.order = order;
    this.vocabSize = vocabSize;
    this.tables = tables;
    this.levels = levels;
    this.ngramCounts = ngramCounts;
    this.discounts = levels.map(({ d1, d2, d3 }) => ({ d1, d2, d3 }));
  }

  /**
   * Fit on a token-id stream (one continuous stream, no sentence boundaries assumed).
   * @throws ConfigError for order < 1 (or not an integer) or vocabSize < 1;
   *   DataError for empty training data or an id outside 0..vocabSize−1 (naming the position).
   */
  static fit(train: Int32Array, vocabSize: number, opts: KneserNeyOptions): KneserNey {
    const n = opts.order;
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`order must be an integer ≥ 1, got ${n}`);
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new ConfigError(`vocabSize must be an integer ≥ 1, got ${vocabSize}`);
    if (train.length === 0) throw new DataError('Kneser-Ney training data is empty');
    checkIds(train, vocabSize, 'Kneser-Ney training data');
    const N = train.length;

    // counts[k] holds c_k per k-gram id, for k = 1..n. Raw counts at the top; continuation counts
    // below, filled in by the pass over order k+1 (each new (k+1)-gram adds one to its suffix).
    const counts: Int32Array[] = new Array(n + 1);
    const tables: (PairTable | null)[] = [null, null];
    counts[1] = new Int32Array(vocabSize);
    const seenWord = new Uint8Array(vocabSize);
    for (let i = 0; i < N; i++) seenWord[train[i]!] = 1;
    if (n === 1) for (let i = 0; i < N; i++) counts[1][train[i]!]!++;

    // prev[i] = id of the (k−1)-gram ending at position i (valid for i ≥ k−2); for k−1 = 1 the word.
    let prev: Int32Array = train;
    for (let k = 2; k <= n; k++) {
      const table = new PairTable(Math.max(0, N - k + 1));
      const cur = new Int32Array(N).fill(-1);
      const lower = counts[k - 1]!;
      const raw = k === n ? new Int32Array(Math.max(0, N - k + 1)) : null;
      for (let i = k - 1; i < N; i++) {
        // the k-gram ending at i = (the (k−1)-gram ending at i−1) + train[i]
        const g = table.getOrInsert(prev[i - 1]!, train[i]!);
        // A new k-gram is a new distinct left extension of its suffix, the (k−1)-gram ending at i.
        if (table.inserted) lower[prev[i]!]!++;
        if (raw) raw[g]!++;
        cur[i] = g;
      }
      tables.push(table);
      counts[k] = raw ? raw.subarray(0, table.size) : new Int32Array(table.size);
      prev = cur;
    }

    const ngramCounts = [seenWord.reduce((a, b) => a + b, 0)];
    for (let k = 2; k <= n; k++) ngramCounts.push(tables[k]!.size);

    const levels: Level[] = [];
    for (let k = 1; k <= n; k++) {
      // Contexts of order k are the (k−1)-grams: ids 0..#(k−1)-grams−1; the single empty context for k = 1.
      const nContexts = k === 1 ? 1 : k === 2 ? vocabSize : tables[k - 1]!.size;
      const prefixOf = k === 1 ? null : tables[k]!.prefixOf;
      levels.push(buildLevel(counts[k]!, prefixOf, nContexts));
    }
    return new KneserNey(n, vocabSize, tables, levels, ngramCounts);
  }

  /** P(w | context); only the last order−1 context tokens are used (fewer at the start of a stream). */
  prob(context: ArrayLike<number>, w: number): number {
    const m = Math.min(this.order - 1, context.length);
    const used = [...Array.from({ length: m }, (_, j) => context[context.length - m + j]!), w];
    // Checked before the copy into an Int32Array, which would silently truncate 0.5 to 0.
    checkIds(used, this.vocabSize, 'Kneser-Ney query (the used context tokens, then the word)');
    return this.probs(Int32Array.from(used), m)[0]!;
  }

  /**
   * ln P(data[i] | data[max(0, i−order+1) .. i−1]) for every i in [from, data.length): out[k] is for
   * position from+k. Tokens before `from` serve as context only.
   */
  logProbs(data: Int32Array, from = 0): Float64Array {
    const out = this.probs(data, from);
    for (let i = 0; i < out.length; i++) out[i] = Math.log(out[i]!);
    return out;
  }

  /** Probabilities as `logProbs` describes (not logged). Validates ids and `from`. */
  private probs(data: Int32Array, from: number): Float64Array {
    if (!Number.isInteger(from) || from < 0 || from > data.length) {
      throw new ConfigError(`from must be an integer in [0, ${data.length}], got ${from}`);
    }
    const start = Math.max(0, from - this.order + 1);
    checkIds(data.subarray(start), this.vocabSize, 'Kneser-Ney scoring data');
    const n = this.order, uniform = 1 / this.vocabSize;
    const out = new Float64Array(data.length - from);
    // prevIds[k] / curIds[k]: id of the k-gram ending at the previous / current position (−1 = unseen
    // in training or not enough tokens). Unigram ids are the words themselves.
    let prevIds = new Int32Array(n + 1).fill(-1);
    let curIds = new Int32Array(n + 1).fill(-1);
    for (let i = start; i < data.length; i++) {
      const w = data[i]!;
      curIds[1] = w;
      for (let k = 2; k <= n; k++) {
        const p = prevIds[k - 1]!;
        curIds[k] = p >= 0 ? this.tables[k]!.get(p, w) : -1;
      }
      if (i >= from) {
        let prob = uniform;
        const top = Math.min(n, i + 1);   // the context is at most the i tokens before i
        for (let k = 1; k <= top; k++) {
          const ctx = k === 1 ? 0 : prevIds[k - 1]!;
          // A context never seen in training: no longer one was either; the rest is full back-off.
          if (ctx < 0) break;
          const L = this.levels[k - 1]!;
          const g = curIds[k]!;
          const c = g >= 0 ? L.counts[g]! : 0;
          const d = c === 0 ? 0 : c === 1 ? L.d1 : c === 2 ? L.d2 : L.d3;
          prob = (c - d) * L.invDenom[ctx]! + L.gamma[ctx]! * prob;
        }
        out[i - from] = prob;
      }
      const t = prevIds; prevIds = curIds; curIds = t;
    }
    return out;
  }
}

/**
 * One order's discounts and per-context normalizers from its counts c_k (per k-gram id) and the
 * context (prefix) id of each k-gram (null: every k-gram has the single empty context 0).
 */
function buildLevel(counts: Int32Array, prefixOf: Int32Array | null, nContexts: number): Level {
  const coc = [0, 0, 0, 0, 0];   // count-of-counts n_0..n_4
  for (let g = 0; g < counts.length; g++) { const c = counts[g]!; if (c <= 4) coc[c]!++; }
  const { d1, d2, d3 } = modifiedKnDiscounts(coc[1]!, coc[2]!, coc[3]!, coc[4]!);
  const denom = new Float64Array(nContexts);
  const removed = new Float64Array(nContexts);   // D1·N1 + D2·N2 + D3·N3+ per context
  for (let g = 0; g < counts.length; g++) {
    const c = counts[g]!;
    if (c === 0) continue;   // e.g. a k-gram seen only at the very start: no left extension
    const h = prefixOf ? prefixOf[g]! : 0;
    denom[h]! += c;
    removed[h]! += c === 1 ? d1 : c === 2 ? d2 : d3;
  }
  const invDenom = new Float64Array(nContexts), gamma = new Float64Array(nContexts);
  for (let h = 0; h < nContexts; h++) {
    if (denom[h]! > 0) { invDenom[h] = 1 / denom[h]!; gamma[h] = removed[h]! / denom[h]!; }
    else gamma[h] = 1;
  }
  return { counts, invDenom, gamma, d1, d2, d3 };
}
