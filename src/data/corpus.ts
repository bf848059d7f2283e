/**
 * The shape every corpus loader returns, and the one rule they share for turning token splits
 * into ids against a vocabulary built from the training split.
 */
import { DataError } from '../errors.js';
import { UNK, Vocab } from './vocab.js';

/** A tokenized corpus: three id streams over one vocabulary. */
export type Corpus = {
  name: string;
  level: 'word' | 'char';
  vocab: Vocab;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
  /** Facts about the preparation (token counts, |V|, sources, OOV counts), for logs and docs. */
  info: Record<string, number | string>;
};

/**
 * Encode validation/test tokens against a vocabulary built from training tokens only.
 * Out-of-vocabulary tokens become `<unk>`; if there are any and the vocabulary has no `<unk>`,
 * `<unk>` is appended as the last id (so a corpus without OOV keeps exactly its training vocabulary,
 * e.g. Tiny Shakespeare's 65 characters). Returns the (possibly extended) vocabulary, the id
 * streams, and how many tokens of each held-out split were OOV.
 */
export function encodeHeldOut(
  vocab: Vocab,
  heldOut: readonly (readonly string[])[],
): { vocab: Vocab; ids: Int32Array[]; oov: number[] } {
  const oov = heldOut.map((tokens) => tokens.reduce((n, t) => n + (vocab.stoi.has(t) ? 0 : 1), 0));
  const v = oov.some((n) => n > 0) && vocab.unkId === undefined ? new Vocab([...vocab.itos, UNK]) : vocab;
  return { vocab: v, ids: heldOut.map((tokens) => v.encode(tokens)), oov };
}

/** Each split must hold at least two tokens, so it yields at least one (input, target) pair. */
export const MIN_SPLIT_TOKENS = 2;

/** @throws DataError naming `what` (a file or corpus) when a split is below MIN_SPLIT_TOKENS. */
export function checkSplitSizes(what: string, splits: Record<string, number>): void {
  for (const [name, n] of Object.entries(splits)) {
    if (n < MIN_SPLIT_TOKENS) {
      const sizes = Object.entries(splits).map(([k, m]) => `${k} ${m}`).join(', ');
      throw new DataError(`${what}: too small to split: ${name} would have ${n} tokens (${sizes}); each split needs at least ${MIN_SPLIT_TOKENS}`);
    }
  }
}
