import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DataError } from '../errors.js';
import { Rng } from '../tensor/random.js';
import { KneserNey, modifiedKnDiscounts } from './kneser-ney.js';

/** The project's seeded generator as a () => [0, 1) function, so the random corpora are the same on every run. */
const rng = (seed: number): (() => number) => { const g = new Rng(seed); return () => g.uniform(); };

/**
 * A stream with structure, so that long n-grams repeat: each word has 3 preferred successors (80%),
 * otherwise a uniform word from 0..used−1. Words used..V−1 never occur (vocabulary words unseen in training).
 */
function corpus(length: number, used: number, seed: number): Int32Array {
  const r = rng(seed);
  const next = Array.from({ length: used }, () => [0, 1, 2].map(() => Math.floor(r() * used)));
  const out = new Int32Array(length);
  out[0] = Math.floor(r() * used);
  for (let i = 1; i < length; i++) {
    out[i] = r() < 0.8 ? next[out[i - 1]!]![Math.floor(r() * 3)]! : Math.floor(r() * used);
  }
  return out;
}

/**
 * The brute-force reference: plain Maps of n-gram strings, written straight from Chen & Goodman's
 * formulas (see kneser-ney.ts), recomputing every sum over the vocabulary on each query.
 */
class ReferenceKN {
  private readonly raw = new Map<string, number>();
  private readonly cont = new Map<string, number>();
  readonly discounts: { d1: number; d2: number; d3: number }[] = [];

  constructor(train: ArrayLike<number>, private readonly V: number, private readonly n: number) {
    const toks = Array.from(train);
    for (let k = 1; k <= n; k++) {
      for (let i = 0; i + k <= toks.length; i++) {
        const key = toks.slice(i, i + k).join(',');
        this.raw.set(key, (this.raw.get(key) ?? 0) + 1);
      }
    }
    // N1+(• g): each distinct (k+1)-gram x·g adds one left extension to g.
    for (const key of this.raw.keys()) {
      const parts = key.split(',');
      if (parts.length >= 2) {
        const suffix = parts.slice(1).join(',');
        this.cont.set(suffix, (this.cont.get(suffix) ?? 0) + 1);
      }
    }
    for (let k = 1; k <= n; k++) {
      const coc = [0, 0, 0, 0, 0];
      for (const key of this.raw.keys()) {
        if (key.split(',').length !== k) continue;
        const c = this.count(k, key.split(',').map(Number));
        if (c >= 1 && c <= 4) coc[c]!++;
      }
      const [n1, n2, n3, n4] = [coc[1]!, coc[2]!, coc[3]!, coc[4]!];
      const Y = n1 / (n1 + 2 * n2);
      const fix = (d: number, fallback: number, max: number) => (Number.isFinite(d) && d > 0 && d <= max ? d : fallback);
      this.discounts.push({
        d1: fix(1 - 2 * Y * n2 / n1, 0.5, 1),
        d2: fix(2 - 3 * Y * n3 / n2, 1.0, 2),
        d3: fix(3 - 4 * Y * n4 / n3, 1.5, 3),
      });
    }
  }

  /** The count used at order k: raw at the top order, continuation count below. */
  private count(k: number, gram: number[]): number {
    const key = gram.join(',');
    return k === this.n ? this.raw.get(key) ?? 0 : this.cont.get(key) ?? 0;
  }

  private pk(k: number, ctx: number[], w: number): number {
    if (k === 0) return 1 / this.V;
    const lower = this.pk(k - 1, ctx.slice(1), w);
    const D = this.discounts[k - 1]!;
    const disc = (c: number) => (c === 0 ? 0 : c === 1 ? D.d1 : c === 2 ? D.d2 : D.d3);
    let S = 0, removed = 0;
    for (let v = 0; v < this.V; v++) {
      const c = this.count(k, [...ctx, v]);
      S += c;
      removed += disc(c);
    }
    if (S === 0) return lower;
    const c = this.count(k, [...ctx, w]);
    return (c - disc(c)) / S + (removed / S) * lower;
  }

  prob(context: number[], w: number): number {
    const m = Math.min(this.n - 1, context.length);
    return this.pk(m + 1, context.slice(context.length - m), w);
  }
}

test('hand-checked bigram example', () => {
  // a=0 b=1 c=2 d=3 (d never occurs), train "a b a c a b c a", order 2.
  //
  // Bigrams (raw, top order): ab 2, ba 1, ac 1, ca 2, bc 1 → n1 = 3, n2 = 2, n3 = n4 = 0.
  //   Y = 3/(3+4) = 3/7; D1 = 1 − 2·(3/7)·(2/3) = 3/7; D2 = 2 − 3·(3/7)·0/2 = 2; D3: n3 = 0 → fallback 1.5.
  // Unigram continuation counts N1+(•w): a {b, c} = 2, b {a} = 1, c {a, b} = 2, d 0; total 5.
  //   n1 = 1, n2 = 2, n3 = 0: Y = 1/5; D1 = 1 − 2·(1/5)·2 = 1/5; D2 = 2; D3 → 1.5.
  //   γ() = (1/5·1 + 2·2)/5 = 0.84, so P1(w) = (N1+(•w) − D)/5 + 0.84/4:
  //   P1(a) = 0 + 0.21 = 0.21, P1(b) = 0.8/5 + 0.21 = 0.37, P1(c) = 0.21, P1(d) = 0.21 (sum 1).
  // Context a: ab 2, ac 1 → S = 3, γ(a) = (3/7 + 2)/3 = 17/21.
  //   P(b|a) = (2 − 2)/3 + 17/21·0.37;  P(c|a) = (1 − 3/7)/3 + 17/21·0.21 = 4/21 + 0.17;  P(a|a) = P(d|a) = 0.17.
  // Context b: ba 1, bc 1 → S = 2, γ(b) = 2·(3/7)/2 = 3/7.  P(a|b) = (4/7)/2 + 3/7·0.21 = 2/7 + 0.09.
  // Context c: ca 2 → S = 2, γ(c) = 2/2 = 1.  P(a|c) = 0 + 0.21.
  // Context d: unseen → P(w|d) = P1(w).
  const train = Int32Array.from([0, 1, 0, 2, 0, 1, 2, 0]);
  const lm = KneserNey.fit(train, 4, { order: 2 });
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-15, `${what}: ${a} vs ${b}`);
  assert.deepEqual(lm.ngramCounts, [3, 5]);
  close(lm.discounts[1]!.d1, 3 / 7, 'D1 order 2'); close(lm.discounts[1]!.d2, 2, 'D2 order 2'); close(lm.discounts[1]!.d3, 1.5, 'D3 order 2');
  close(lm.discounts[0]!.d1, 1 / 5, 'D1 order 1'); close(lm.discounts[0]!.d2, 2, 'D2 order 1'); close(lm.discounts[0]!.d3, 1.5, 'D3 order 1');
  const P1 = [0.21, 0.37, 0.21, 0.21];
  for (let w = 0; w < 4; w++) { close(lm.prob([], w), P1[w]!, `P1(${w})`); close(lm.prob([3], w), P1[w]!, `P(${w}|d)`); }
  close(lm.prob([0], 1), 17 / 21 * 0.37, 'P(b|a)');
  close(lm.prob([0], 2), 4 / 21 + 0.17, 'P(c|a)');
  close(lm.prob([0], 0), 0.17, 'P(a|a)');
  close(lm.prob([0], 3), 0.17, 'P(d|a)');
  close(lm.prob([1], 0), 2 / 7 + 0.09, 'P(a|b)');
  close(lm.prob([2], 0), 0.21, 'P(a|c)');
  close(lm.prob([2, 1, 0], 1), 17 / 21 * 0.37, 'only the last order−1 context tokens count');
  // logProbs over "a b d": the first token has an empty context; P(d|b) = 0 + γ(b)·P1(d) = 3/7·0.21.
  const lp = lm.logProbs(Int32Array.from([0, 1, 3]));
  close(lp[0]!, Math.log(0.21), 'ln P1(a)'); close(lp[1]!, Math.log(17 / 21 * 0.37), 'ln P(b|a)'); close(lp[2]!, Math.log(3 / 7 * 0.21), 'ln P(d|b)');
});

test('modifiedKnDiscounts: the formulas, and fallbacks for zero count-of-counts or discounts outside (0, r]', () => {
  const d = modifiedKnDiscounts(100, 40, 20, 10);
  const Y = 100 / 180;
  assert.ok(Math.abs(d.d1 - (1 - 2 * Y * 40 / 100)) < 1e-15);
  assert.ok(Math.abs(d.d2 - (2 - 3 * Y * 20 / 40)) < 1e-15);
  assert.ok(Math.abs(d.d3 - (3 - 4 * Y * 10 / 20)) < 1e-15);
  assert.deepEqual(modifiedKnDiscounts(0, 0, 0, 0), { d1: 0.5, d2: 1, d3: 1.5 });
  assert.deepEqual(modifiedKnDiscounts(5, 0, 0, 0), { d1: 1, d2: 1, d3: 1.5 });
  // n2 small, n3 huge: D2 = 2 − 3·(1/3)·1000/1 < 0 → the fallback 1 (a zero discount would leave γ = 0).
  assert.equal(modifiedKnDiscounts(1, 1, 1000, 0).d2, 1);
});

test('P(·|context) sums to 1 over the vocabulary for seen, partially seen, unseen and start-of-stream contexts', () => {
  const V = 14;
  const train = corpus(600, 12, 7);   // words 12 and 13 never occur
  for (const order of [1, 2, 3, 4, 5]) {
    const lm = KneserNey.fit(train, V, { order });
    const r = rng(order);
    const contexts: number[][] = [[]];
    for (let i = 1; i <= 8; i++) contexts.push(Array.from(train.subarray(0, i)));            // the very start
    for (let i = 0; i < 40; i++) { const s = Math.floor(r() * 590); contexts.push(Array.from(train.subarray(s, s + 1 + (i % 6)))); }  // seen
    contexts.push(Array.from(train.subarray(train.length - 4)));                                // only at the end
    for (let i = 0; i < 20; i++) contexts.push(Array.from({ length: 1 + (i % 5) }, () => Math.floor(r() * V)));  // partly or never seen
    contexts.push([13, 12, 13, 12], [train[0]!, 13], [13, train[0]!]);
    for (const ctx of contexts) {
      let sum = 0;
      for (let w = 0; w < V; w++) {
        const p = lm.prob(ctx, w);
        assert.ok(p > 0, `order ${order}: P(${w} | ${ctx}) = ${p}`);
        sum += p;
      }
      assert.ok(Math.abs(sum - 1) < 1e-9, `order ${order}, context [${ctx}]: sum ${sum}`);
    }
  }
});

test('agrees with a brute-force reference to 1e-12 (2,000 tokens, |V| 30, orders 3 and 5)', () => {
  const V = 30;
  const train = corpus(2000, 28, 11);
  const held = new Int32Array([...corpus(300, 28, 12), 28, 29, 5, 28, 3, 3, 3]);   // includes unseen words
  for (const order of [3, 5]) {
    const lm = KneserNey.fit(train, V, { order });
    const ref = new ReferenceKN(train, V, order);
    for (let k = 0; k < order; k++) {
      for (const key of ['d1', 'd2', 'd3'] as const) {
        assert.ok(Math.abs(lm.discounts[k]![key] - ref.discounts[k]![key]) < 1e-15, `order ${order}, level ${k + 1} ${key}`);
      }
    }
    for (const data of [held, train.subarray(0, 400)]) {
      const lp = lm.logProbs(data);
      for (let i = 0; i < data.length; i++) {
        const ctx = Array.from(data.subarray(Math.max(0, i - order + 1), i));
        const want = ref.prob(ctx, data[i]!);
        const got = Math.exp(lp[i]!);
        assert.ok(Math.abs(got - want) < 1e-12, `order ${order}, position ${i}: ${got} vs reference ${want}`);
        assert.ok(Math.abs(lm.prob(ctx, data[i]!) - want) < 1e-12);
      }
    }
    // a few arbitrary contexts and words, including unseen words
    const r = rng(99);
    for (let t = 0; t < 200; t++) {
      const ctx = Array.from({ length: Math.floor(r() * (order + 1)) }, () => (r() < 0.7 ? train[Math.floor(r() * 2000)]! : Math.floor(r() * V)));
      const w = Math.floor(r() * V);
      assert.ok(Math.abs(lm.prob(ctx, w) - ref.prob(ctx, w)) < 1e-12, `order ${order}: P(${w} | [${ctx}])`);
    }
  }
});

test('logProbs(data, from) uses the tokens before from as context, and matches prob()', () => {
  const train = corpus(1500, 20, 3);
  const lm = KneserNey.fit(train, 20, { order: 4 });
  const data = corpus(100, 20, 4);
  const all = lm.logProbs(data);
  const tail = lm.logProbs(data, 37);
  assert.equal(tail.length, 63);
  for (let k = 0; k < tail.length; k++) assert.equal(tail[k], all[37 + k]);
  assert.equal(lm.logProbs(data, 100).length, 0);
  for (let i = 0; i < data.length; i++) {
    assert.ok(Math.abs(Math.log(lm.prob(data.subarray(0, i), data[i]!)) - all[i]!) < 1e-12);
  }
});

test('clear errors: order, vocabulary size, empty data, ids out of range', () => {
  const train = Int32Array.from([0, 1, 2, 1]);
  for (const order of [0, -1, 1.5, NaN]) assert.throws(() => KneserNey.fit(train, 3, { order }), ConfigError);
  assert.throws(() => KneserNey.fit(train, 0, { order: 2 }), ConfigError);
  assert.throws(() => KneserNey.fit(new Int32Array(0), 3, { order: 2 }), (e: unknown) => e instanceof DataError && /empty/.test(e.message));
  assert.throws(() => KneserNey.fit(Int32Array.from([0, 1, 3]), 3, { order: 2 }),
    (e: unknown) => e instanceof DataError && /token id 3 at position 2/.test(e.message) && /vocabulary size 3/.test(e.message));
  assert.throws(() => KneserNey.fit(Int32Array.from([0, -1]), 3, { order: 2 }), DataError);
  const lm = KneserNey.fit(train, 3, { order: 2 });
  assert.throws(() => lm.prob([0], 3), DataError);
  assert.throws(() => lm.prob([7], 0), DataError);
  assert.throws(() => lm.prob([0], 0.5), DataError);
  assert.throws(() => lm.logProbs(Int32Array.from([0, 5])), (e: unknown) => e instanceof DataError && /position 1/.test(e.message));
  assert.throws(() => lm.logProbs(train, 5), ConfigError);
  // a one-token stream and an order longer than the stream still give a normalized model
  for (const [data, order] of [[Int32Array.from([1]), 3], [train, 9]] as const) {
    const m = KneserNey.fit(data, 3, { order });
    for (const ctx of [[], [1], [0, 1, 2, 1]]) {
      const s = [0, 1, 2].reduce((a, w) => a + m.prob(ctx, w), 0);
      assert.ok(Math.abs(s - 1) < 1e-12, `order ${order}, [${ctx}]: ${s}`);
    }
  }
});
