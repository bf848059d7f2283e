/**
 * A seeded random generator, so every run can be reproduced exactly.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, 2018), 128 bits of state, seeded from one integer by
 * splitmix32. `uniform()` builds a double from two 32-bit draws (53 random bits); `normal()` uses the
 * Box–Muller transform and keeps the spare value in the state. `getState()`/`setState()` capture the
 * generator completely (checkpoints save it, so a resumed run draws the same numbers).
 *
 * @example
 * ```ts
 * import { Rng } from 'backprop';
 * const rng = new Rng(42);
 * rng.uniform();        // 0 <= u < 1
 * rng.normal(0, 1);
 * ```
 */

/** The generator's complete state: four 32-bit words and the spare normal value. */
export interface RngState { s: [number, number, number, number]; spare: number | null }

/**
 * The seeded generator (xoshiro128**; see the file header).
 *
 * @example
 * ```ts
 * import { Rng } from 'backprop';
 * const rng = new Rng(42);
 * rng.uniform();        // 0 <= u < 1
 * rng.int(10);          // 0 … 9
 * const saved = rng.getState(); // setState(saved) replays the same draws
 * ```
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [lo, hi) with 53 random bits. */
  uniform(lo = 0, hi = 1): number {
    const a = this.nextU32() >>> 5, b = this.nextU32() >>> 6;
    return lo + ((a * 67108864 + b) / 9007199254740992) * (hi - lo);
  }

  /** Normal with the given mean and standard deviation (Box–Muller). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) { const z = this.spare; this.spare = null; return mean + std * z; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** The complete state, for a checkpoint. */
  getState(): RngState {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.spare };
  }

  /** Restores a state from `getState()`: the generator then draws the same numbers again. */
  setState(st: RngState): void {
    for (let i = 0; i < 4; i++) this.s[i] = st.s[i]! >>> 0;
    this.spare = st.spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The library's default generator, used when no `rng` is passed. Reseed it with `seed(n)`.
 *
 * @example
 * ```ts
 * import { globalRng, seed } from 'backprop';
 * seed(7);
 * globalRng.uniform(); // the same number on every run after seed(7)
 * ```
 */
export let globalRng = new Rng(0);
/**
 * Reseeds the library's default generator.
 *
 * @example
 * ```ts
 * import { seed, randNormal } from 'backprop';
 * seed(42);
 * const w = randNormal([2, 2]); // the same values on every run
 * ```
 */
export function seed(n: number): void { globalRng = new Rng(n); }
