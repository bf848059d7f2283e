/**
 * TensorFlow's PTB batching (`reader.ptb_producer`), for stateful truncated BPTT.
 *
 * The token stream is cut into B contiguous streams of batchLen = ⌊N/B⌋ tokens (the last N mod B
 * tokens are dropped), laid out as rows of a [B, batchLen] matrix; window i is columns
 * i·T … i·T+T−1 as input x and the same shifted one to the right as target y. Row b of window i+1
 * continues row b of window i, so a recurrent state carried between windows stays meaningful.
 *
 *   data 0..24, B = 2, T = 3: batchLen 12, epochSize ⌊(12−1)/3⌋ = 3 (token 24 dropped)
 *   stream 0:  0  1  2 |  3  4  5 |  6  7  8 |  9 10 11
 *   stream 1: 12 13 14 | 15 16 17 | 18 19 20 | 21 22 23
 *   window 0: x = [[0 1 2], [12 13 14]], y = [[1 2 3], [13 14 15]]
 */
import { ConfigError } from '../errors.js';

/** One window: x and y as row-major [B, T] (x[b·T + t]); `index` is the window number. */
export interface Window {
  index: number;
  x: Int32Array;
  y: Int32Array;
}

export class StreamBatcher implements Iterable<Window> {
  /** B: number of parallel streams (rows). */
  readonly batchSize: number;
  /** T: tokens per window (columns). */
  readonly numSteps: number;
  /** ⌊N/B⌋: tokens in each stream. */
  readonly batchLen: number;
  /** Windows per epoch: ⌊(batchLen − 1)/T⌋ = ((N // B) − 1) // T, as in TensorFlow. */
  readonly epochSize: number;
  private readonly data: Int32Array;

  /**
   * @param data the token ids, N of them
   * @param batchSize B ≥ 1
   * @param numSteps T ≥ 1
   * @throws ConfigError naming batch size, steps and data length when B or T is not a positive
   *   integer, B > N, or the epoch would be empty (N < B·(T+1)).
   * @example new StreamBatcher(Int32Array.from({ length: 25 }, (_, i) => i), 2, 3).window(0).x // [0,1,2,12,13,14]
   */
  constructor(data: Int32Array, batchSize: number, numSteps: number) {
    const what = `batchSize ${batchSize}, numSteps ${numSteps}, data length ${data.length}`;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`batchSize must be a positive integer (${what})`);
    if (!Number.isInteger(numSteps) || numSteps < 1) throw new ConfigError(`numSteps must be a positive integer (${what})`);
    if (batchSize > data.length) throw new ConfigError(`batchSize exceeds the data length (${what})`);
    this.data = data;
    this.batchSize = batchSize;
    this.numSteps = numSteps;
    this.batchLen = Math.floor(data.length / batchSize);
    this.epochSize = Math.floor((this.batchLen - 1) / numSteps);
    if (this.epochSize <= 0) {
      throw new ConfigError(`epoch size is 0: need data length ≥ batchSize·(numSteps+1) = ${batchSize * (numSteps + 1)} (${what}); decrease batch size or num_steps`);
    }
  }

  /**
   * Window i: x[b·T + t] = data[b·batchLen + i·T + t], y[b·T + t] = data[b·batchLen + i·T + t + 1].
   * @throws ConfigError when i is not an integer in 0 … epochSize−1.
   */
  window(i: number): Window {
    if (!Number.isInteger(i) || i < 0 || i >= this.epochSize) {
      throw new ConfigError(`window index must be an integer in 0 … ${this.epochSize - 1}, got ${i}`);
    }
    const { batchSize: B, numSteps: T, batchLen, data } = this;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = b * batchLen + i * T;
      x.set(data.subarray(start, start + T), b * T);
      y.set(data.subarray(start + 1, start + T + 1), b * T);
    }
    return { index: i, x, y };
  }

  /**
   * A window of any length at any column: x[b·L + t] = data[b·batchLen + start + t] and y the same
   * one token later, for t < L (variable-length BPTT cuts the streams this way; `window(i)` is
   * `span(i·T, T)`). @throws ConfigError unless 0 ≤ start and start + length ≤ batchLen − 1.
   */
  span(start: number, length: number): Window {
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 1 || start + length > this.batchLen - 1) {
      throw new ConfigError(`span: need integers 0 ≤ start and 1 ≤ length with start + length ≤ ${this.batchLen - 1}, got start ${start}, length ${length}`);
    }
    const { batchSize: B, batchLen, data } = this;
    const x = new Int32Array(B * length);
    const y = new Int32Array(B * length);
    for (let b = 0; b < B; b++) {
      const s = b * batchLen + start;
      x.set(data.subarray(s, s + length), b * length);
      y.set(data.subarray(s + 1, s + length + 1), b * length);
    }
    return { index: -1, x, y };
  }

  /** N, the length of the token stream (including the tokens no window uses). */
  get dataLength(): number { return this.data.length; }

  /** The epoch's windows in order, 0 … epochSize−1. */
  *[Symbol.iterator](): Iterator<Window> {
    for (let i = 0; i < this.epochSize; i++) yield this.window(i);
  }
}
