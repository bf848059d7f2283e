/**
 * The documented error types. Every error the library raises on bad input is a `BackpropError`
 * (or a subclass), with a message that names the offending value: a shape, a file, a line, a field.
 * Anything else escaping the library is a bug.
 */
export class BackpropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor shape or dtype does not fit the operation (names the op and the shapes). */
export class ShapeError extends BackpropError {}

/** A data file or corpus is unusable (names the file, and the line where it applies). */
export class DataError extends BackpropError {}

/** A model, checkpoint or weights file is truncated, corrupted or mismatched (names the file). */
export class FormatError extends BackpropError {}

/** A configuration value is impossible (names the field and the value). */
export class ConfigError extends BackpropError {}

/** Training produced a NaN or Inf (names the step and the tensor). */
export class DivergenceError extends BackpropError {}

/** A file or folder cannot be created, written or read (names the path, the system's reason, and what to do). */
export class FileError extends BackpropError {}
