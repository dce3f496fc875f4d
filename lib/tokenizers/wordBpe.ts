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
 * Whether the text between added tokens may be cut before position `at` (0 < at < length) so that
 * the normalized words of `text.slice(0, at)` are exactly the first words of the normalized text:
 * the character at `at` normalizes to one that starts with `▁` and the one before it to one that does
 * not end with `▁` (words are cut at every `▁` that follows another character).
 *
 * @category tokenizers
 */
export type WordCut = (text: string, at: number) => boolean;

/** Characters of text read first per token wanted (English averages about 4): usually one round. */
const FIRST_REACH_PER_TOKEN = 8;
const FIRST_REACH_SLACK = 64;

/**
 * A copy of `text` that does not keep a longer string alive (V8 represents `slice`s of 13 or more
 * characters as views of their parent: a cached view of a 50 MB passage would keep the passage).
 */
const detached = (text: string): string => (text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8'));

/**
 * The shortest prefix of `text` at least `reach` characters long that ends where a word starts (see
 * {@link WordCut}) and not inside an added token, or the whole text; detached from `text`.
 *
 * **Why it is exact**: added tokens are matched on the raw text before anything else, leftmost
 * first, so the prefix splits into the same pieces as the text up to the cut (no occurrence of an
 * added token covers the cut, so no match of the text does, and every match of the prefix is one of
 * the text's); within the last piece the normalizer works character by character (a `WordCut`
 * exists only for such normalizers) and the cut is a word start, so the prefix's words are the
 * piece's first words. Encoding is word by word (`wordSplitSafe`), so the prefix's ids are the
 * text's first ids.
 *
 * @example
 * prefixCut('one two three', 4, cutBeforeSpaces, []); // { text: 'one two', whole: false }
 *
 * @category tokenizers
 */
export const prefixCut = (text: string, reach: number, wordCut: WordCut, splitTokens: ReadonlyArray<SplitToken>): { readonly text: string; readonly whole: boolean } => {
  // An occurrence of an added token that starts before `at` and ends after it (looked for around `at` only).
  const inAddedToken = (at: number) =>
    splitTokens.some(({ content }) => {
      for (let start = Math.max(0, at - content.length + 1); start < at; start++) if (text.startsWith(content, start)) return true;
      return false;
    });
  for (let at = Math.max(1, Math.ceil(reach)); at < text.length; at++) {
    if (wordCut(text, at) && !inAddedToken(at)) return { text: detached(text.slice(0, at)), whole: false };
  }
  return { text, whole: true };
};

/**
 * The first `limits[i]` ids of each text, from a prefix of it: about `firstReach(limit)` characters
 * cut where a word starts ({@link prefixCut}), four times longer while that gives too few ids. Equal
 * to `encodeBatch(texts)[i].slice(0, limits[i])` when `wordCut` is right for the tokenizer (see
 * `prefixCut` for why); memory and time then follow the budget, not the text.
 *
 * @category tokenizers
 */
export const encodePrefixes = async (
  options: {
    readonly encodeBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<ReadonlyArray<number>>>;
    readonly wordCut: WordCut;
    readonly splitTokens: ReadonlyArray<SplitToken>;
    /** Characters read first for a budget of `limit` tokens. Default: 8 per token + 64 (English averages about 4). */
    readonly firstReach?: (limit: number) => number;
  },
  texts: ReadonlyArray<string>,
  limits: ReadonlyArray<number>,
): Promise<ReadonlyArray<ReadonlyArray<number>>> => {
  const firstReach = options.firstReach ?? ((limit: number) => FIRST_REACH_PER_TOKEN * limit + FIRST_REACH_SLACK);
  const out = new Array<ReadonlyArray<number>>(texts.length);
  const reach = limits.map((limit) => Math.max(1, firstReach(Math.max(0, limit))));
  let pending = texts.map((_, i) => i);
  while (pending.length > 0) {
    const cuts = pending.map((i) => prefixCut(texts[i]!, reach[i]!, options.wordCut, options.splitTokens));
    const encoded = await options.encodeBatch(cuts.map((c) => c.text));
    const again: number[] = [];
    pending.forEach((i, k) => {
      const ids = encoded[k]!;
      const limit = limits[i]!;
      if (cuts[k]!.whole || ids.length >= limit) out[i] = ids.length > limit ? ids.slice(0, Math.max(0, limit)) : ids;
      else {
        reach[i] = reach[i]! * 4;
        again.push(i);
      }
    });
    pending = again;
  }
  return out;
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
  /**
   * Where a text may be cut so that the words of its normalized prefix are the first words of the
   * whole text's (see {@link WordCut}; transformers.ts's `wordCutOf` makes one for plain normalizers); without
   * it, `encodePrefixBatch` encodes whole texts.
   */
  readonly wordCut?: WordCut;
}): {
  readonly encodeBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<ReadonlyArray<number>>>;
  readonly countBatch: (texts: ReadonlyArray<string>) => Promise<ReadonlyArray<number>>;
  readonly encodePrefixBatch: (texts: ReadonlyArray<string>, limits: ReadonlyArray<number>) => Promise<ReadonlyArray<ReadonlyArray<number>>>;
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

  const encodeBatch = async (texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>> => {
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
  };

  const wordCut = options.wordCut;
  return {
    encodeBatch,
    encodePrefixBatch: (texts, limits) =>
      wordCut === undefined
        ? encodeBatch(texts).then((all) => all.map((ids, i) => (ids.length > limits[i]! ? ids.slice(0, limits[i]) : ids)))
        : encodePrefixes({ encodeBatch, wordCut, splitTokens: options.splitTokens }, texts, limits),
    // Lengths only: the in-context example budget needs no ids.
    countBatch: async (texts) => {
      const { layouts, knownPieces } = await piecesOf(texts);
      return layouts.map((layout) => lengthOf(layout, knownPieces));
    },
  };
};
