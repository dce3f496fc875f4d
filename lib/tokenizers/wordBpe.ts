/**
 * A faster, exact way to run BPE on SentencePiece-style tokenizers (Llama, Mistral): the normalized
 * text is cut into words at every `▁` that follows another character, each distinct word is encoded
 * once by the backend's BPE model (transformers.js, or Rust for the native backend), and the words'
 * ids are remembered, so recurring words (every prompt, every common word) cost a lookup.
 *
 * **Why it is exact**: BPE merges adjacent symbols, one pair at a time, only into symbols the merge
 * list names. If no merge produces a symbol in which `▁` follows another character, no merge ever
 * joins the two sides of such a place, so the sides are merged independently, and in the same order
 * relative to each other: the tokens are the same as for the whole text. {@link wordSplitSafe}
 * checks that condition on the merges and the vocabulary, and that nothing else in the tokenizer
 * looks across words (no pre-tokenizer, no `ignore_merges`, no word prefixes or suffixes, no dropout,
 * no unknown-token fusing without byte fallback).
 *
 * @module
 */
import { FifoCache } from '../core/fifoCache.js';
import { addedTokenSplitter, type SplitToken, type TextPiece } from './addedTokens.js';

const SPACE = '\u2581';
const SPACE_CODE = 0x2581;
const NOT_YET: ReadonlyArray<number> = [];
/** Words remembered (a few dozen bytes each). */
const WORD_CACHE_SIZE = 200_000;

/** Whether `▁` follows another character somewhere in `symbol`: a place words are cut at. */
const crossesWords = (symbol: string): boolean => {
  for (let i = symbol.indexOf(SPACE, 1); i > 0; i = symbol.indexOf(SPACE, i + 1)) if (symbol[i - 1] !== SPACE) return true;
  return false;
};

type Json = Readonly<Record<string, unknown>>;

/**
 * Whether a tokenizer.json allows encoding word by word (see the module's proof).
 *
 * @category tokenizers
 */
export const wordSplitSafe = (tokenizerJson: Json): boolean => {
  const model = tokenizerJson['model'] as Json | undefined;
  if (model === undefined || model['type'] !== 'BPE' || tokenizerJson['pre_tokenizer'] != null) return false;
  if (model['ignore_merges'] === true || model['dropout'] != null) return false;
  if (model['continuing_subword_prefix'] || model['end_of_word_suffix']) return false;
  if (model['fuse_unk'] === true && model['byte_fallback'] !== true) return false;
  const vocab = model['vocab'];
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab) || !(SPACE in vocab)) return false;
  for (const token of Object.keys(vocab)) if (crossesWords(token)) return false;
  const merges = model['merges'];
  if (!Array.isArray(merges)) return false;
  for (const merge of merges) {
    const [a, b] = Array.isArray(merge) ? (merge as string[]) : String(merge).split(' ', 2);
    if (crossesWords(`${a ?? ''}${b ?? ''}`)) return false;
  }
  return true;
};

/**
 * The backend's BPE model alone: words (already normalized) in, ids out, nothing else applied.
 *
 * @category tokenizers
 */
export type WordModel = (words: ReadonlyArray<string>) => ReadonlyArray<ReadonlyArray<number>> | Promise<ReadonlyArray<ReadonlyArray<number>>>;

/**
 * An `encodeBatch` (no special tokens, no truncation) that cuts at added tokens, normalizes each
 * piece, cuts it into words and encodes each distinct new word once, in one call to `model`; and a
 * `countBatch` giving the same ids' counts without building them.
 *
 * @category tokenizers
 */
export const wordEncoder = (options: {
  readonly splitTokens: ReadonlyArray<SplitToken>;
  readonly normalize: (piece: string) => string;
  readonly model: WordModel;
  /** Characters of whole pieces (text between added tokens) remembered too. Default: 1,000,000. */
  readonly pieceCacheChars?: number;
}): {
  readonly encodeBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<ReadonlyArray<number>>>;
  readonly countBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<number>>;
} => {
  const split = addedTokenSplitter(options.splitTokens);
  // First in, first out: cheaper than an LRU; a common word that is forgotten soon comes back.
  const words = new FifoCache<string, ReadonlyArray<number>>(WORD_CACHE_SIZE);
  // Whole pieces: prompts and in-context examples recur as such, in every query of a batch.
  const pieces = new FifoCache<string, ReadonlyArray<number>>(options.pieceCacheChars ?? 1_000_000, (piece) => piece.length);
  /** The ids of every distinct piece of `texts` (from the caches, or encoded now), and their layouts. */
  const piecesOf = async (texts: ReadonlyArray<string>) => {
    // Each text as added-token ids and pieces. What this call needs is taken from the caches now
    // (as references to the cached arrays): a concurrent call may evict entries while this one waits.
    const layouts = texts.map(split);
    const knownPieces = new Map<string, ReadonlyArray<number>>();
    // A new piece's words, in order: a cached word's ids, or the slot of a word not cached yet.
    const newPieces: { readonly piece: string; readonly parts: (ReadonlyArray<number> | number)[] }[] = [];
    const missingSlots = new Map<string, number>();
    const missing: string[] = [];
    const partOf = (word: string): ReadonlyArray<number> | number => {
      const ids = words.get(word);
      if (ids !== undefined) return ids;
      let slot = missingSlots.get(word);
      if (slot === undefined) {
        slot = missing.push(word) - 1;
        missingSlots.set(word, slot);
      }
      return slot;
    };
    for (const layout of layouts) {
      for (const p of layout) {
        if ('id' in p || knownPieces.has(p.text)) continue;
        const cached = pieces.get(p.text);
        if (cached !== undefined) {
          knownPieces.set(p.text, cached);
          continue;
        }
        // Words: cut at every `▁` that follows another character.
        const normalized = options.normalize(p.text);
        const parts: (ReadonlyArray<number> | number)[] = [];
        let start = 0;
        for (let i = normalized.indexOf(SPACE, 1); i > 0; i = normalized.indexOf(SPACE, i + 1)) {
          if (normalized.charCodeAt(i - 1) === SPACE_CODE) continue;
          parts.push(partOf(normalized.slice(start, i)));
          start = i;
        }
        if (start < normalized.length) parts.push(partOf(normalized.slice(start)));
        // Marks the piece as taken care of; its ids are set below.
        knownPieces.set(p.text, NOT_YET);
        newPieces.push({ piece: p.text, parts });
      }
    }
    const encoded = missing.length > 0 ? await options.model(missing) : [];
    missing.forEach((w, i) => words.set(w, encoded[i]!));
    for (const { piece, parts } of newPieces) {
      // Allocated at their final size: these arrays stay in the piece cache.
      const wordIds = parts.map((part) => (typeof part === 'number' ? encoded[part]! : part));
      const ids = new Array<number>(wordIds.reduce((n, w) => n + w.length, 0));
      let k = 0;
      for (const w of wordIds) for (let i = 0; i < w.length; i++) ids[k++] = w[i]!;
      knownPieces.set(piece, ids);
      pieces.set(piece, ids);
    }
    return { layouts, knownPieces };
  };

  const lengthOf = (layout: ReadonlyArray<TextPiece>, known: ReadonlyMap<string, ReadonlyArray<number>>): number => {
    let length = 0;
    for (const p of layout) length += 'id' in p ? 1 : known.get(p.text)!.length;
    return length;
  };

  return {
    encodeBatch: async (texts) => {
      const { layouts, knownPieces } = await piecesOf(texts);
      return layouts.map((layout) => {
        const out = new Array<number>(lengthOf(layout, knownPieces));
        let k = 0;
        for (const p of layout) {
          if ('id' in p) out[k++] = p.id;
          else for (const id of knownPieces.get(p.text)!) out[k++] = id;
        }
        return out;
      });
    },
    // Lengths only: the in-context example budget needs no ids.
    countBatch: async (texts) => {
      const { layouts, knownPieces } = await piecesOf(texts);
      return layouts.map((layout) => lengthOf(layout, knownPieces));
    },
  };
};
