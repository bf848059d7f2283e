/**
 * The documented error types. Every error the library raises on bad input is a `BackpropError`
 * (or a subclass), with a message that names the offending value: a shape, a file, a line, a field.
 * Anything else escaping the library is a bug.
 *
 * @example
 * ```ts
 * import { BackpropError, add, zeros } from 'backprop';
 * try { add(zeros([2, 3]), zeros([4])); } catch (e) {
 *   if (e instanceof BackpropError) console.error(e.name, e.message); // ShapeError add: …
 * }
 * ```
 */
export class BackpropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A tensor shape or dtype does not fit the operation (names the op and the shapes).
 *
 * @example
 * ```ts
 * import { ShapeError, matmul, zeros } from 'backprop';
 * try { matmul(zeros([2, 3]), zeros([4, 5])); } catch (e) { console.log(e instanceof ShapeError); } // true
 * ```
 */
export class ShapeError extends BackpropError {}

/**
 * A data file or corpus is unusable (names the file, and the line where it applies).
 *
 * @example
 * ```ts
 * import { DataError } from 'backprop';
 * import { textCorpusFromBytes } from 'backprop/node';
 * try { textCorpusFromBytes(new Uint8Array(0), 'empty.txt', { level: 'word' }); } catch (e) { console.log(e instanceof DataError); }
 * ```
 */
export class DataError extends BackpropError {}

/**
 * A model, checkpoint or weights file is truncated, corrupted or mismatched (names the file).
 *
 * @example
 * ```ts
 * import { FormatError, decodeSafetensors } from 'backprop';
 * try { decodeSafetensors(new Uint8Array([1, 2, 3]), 'broken.safetensors'); } catch (e) { console.log(e instanceof FormatError); } // true
 * ```
 */
export class FormatError extends BackpropError {}

/**
 * A configuration value is impossible (names the field and the value).
 *
 * @example
 * ```ts
 * import { ConfigError, Dense, SGD } from 'backprop';
 * try { new SGD(new Dense(2, 1), { lr: -1 }); } catch (e) { console.log(e instanceof ConfigError); } // true
 * ```
 */
export class ConfigError extends BackpropError {}

/**
 * Training produced a NaN or Inf (names the step and the tensor).
 *
 * @example
 * ```ts
 * import { DivergenceError, Dense, SGD, trainStep, scalar } from 'backprop';
 * const opt = new SGD(new Dense(2, 1), { lr: 0.1 });
 * try { trainStep(opt, () => scalar(NaN)); } catch (e) { console.log(e instanceof DivergenceError); } // true
 * ```
 */
export class DivergenceError extends BackpropError {}

/**
 * A file or folder cannot be created, written or read (names the path, the system's reason, and what to do).
 *
 * @example
 * ```ts
 * import { FileError, loadModel } from 'backprop';
 * import 'backprop/node'; // registers file://
 * try { await loadModel('file://no/such/model.ckpt'); } catch (e) { console.log(e instanceof FileError); } // true
 * ```
 */
export class FileError extends BackpropError {}
