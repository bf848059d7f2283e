/** The data layer: vocabularies, corpora (Brown, any text, PTB-format files) and the PTB batcher. */
export { Vocab, UNK, EOS, compareCodePoints, countTokens } from './vocab.js';
export type { VocabBuildOptions, VocabJSON, TieOrder } from './vocab.js';
export type { Corpus } from './corpus.js';
export { loadBrownCorpus, readBrown, parseBrownTagged, bengioCorpus, ptbCorpus, brownDir, brownFileNames } from './brown.js';
export type { BrownFile } from './brown.js';
export {
  loadTextCorpus, loadPtbFiles, textCorpusFromBytes, ptbCorpusFromBytes, decodeUtf8, firstInvalidUtf8,
  wordTokens, charTokens, ptbCharTokens, tfVocab,
} from './text.js';
export type { Level, TextCorpusOptions, PtbSplits } from './text.js';
export { StreamBatcher } from './batcher.js';
export { dataSources, loadCorpus, checkCorpusSource } from './sources.js';
export type { DataSource, CorpusSource } from './sources.js';
export type { Window } from './batcher.js';
