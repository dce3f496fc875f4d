/**
 * Encoding by segments: a text is cut at added tokens (`<s>`, `<instruct>`, …), each piece between
 * them is encoded on its own and remembered, and the ids are put back together. Hugging Face's
 * tokenizers (Rust and transformers.js alike) split at non-normalized added tokens before anything
 * else and normalize, pre-tokenize and encode each piece separately, so this gives the very same
 * ids; it only stops re-encoding the prompts and in-context examples that recur in every query.
 *
 * @module
 */
import { FifoCache } from '../core/fifoCache.js';
import { addedTokenSplitter, type SplitToken } from './addedTokens.js';
import type { TokenizerPort } from './port.js';

/**
 * Options of {@link withSegmentCache}.
 *
 * @category tokenizers
 */
export interface SegmentCacheOptions {
  /** Every added token the tokenizer splits at (non-normalized, no strip, not single-word). */
  readonly splitTokens: ReadonlyArray<SplitToken>;
  /**
   * An added token put before a piece that is not at the start of its text, so that it is encoded as
   * a non-first piece (Metaspace's `prepend_scheme: "first"` treats the two differently); its id is
   * then dropped.
   */
  readonly anchor: SplitToken;
  /** Characters of pieces kept (the oldest go first). */
  readonly capacityChars: number;
}

type Piece = { readonly id: number } | { readonly key: string };

/**
 * Wraps a port so that `encodeBatch` encodes each distinct piece once (per call, and across calls
 * while it stays in the cache). Everything else is the port's own.
 *
 * **Details**: a piece is keyed by its text and by whether it starts its text. All pieces missing
 * from the cache are encoded in one call to the port.
 *
 * **Gotchas**: only valid when every added token is non-normalized, without `lstrip`/`rstrip` and
 * not single-word (the adapter checks before using it). If the anchor ever fails to come out as its
 * own first id, the wrapper stops using pieces and encodes whole texts from then on.
 *
 * @example
 * const fast = withSegmentCache(port, { splitTokens, anchor: { content: '<s>', id: 1 }, capacityChars: 1_000_000 });
 *
 * @category tokenizers
 */
export const withSegmentCache = (port: TokenizerPort, options: SegmentCacheOptions): TokenizerPort => {
  if (options.splitTokens.length === 0 || options.capacityChars <= 0) return port;
  const split = addedTokenSplitter(options.splitTokens);
  const cache = new FifoCache<string, ReadonlyArray<number>>(options.capacityChars, (key) => key.length);
  let usable = true;

  const piecesOf = (text: string): Piece[] => split(text).map((p) => ('id' in p ? p : { key: `${p.start === 0 ? 'F' : 'N'}${p.text}` }));

  const encodeBatch = async (texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>> => {
    if (!usable) return port.encodeBatch(texts);
    const pieced = texts.map(piecesOf);
    // What this call needs, taken now: concurrent calls may evict entries while this one waits.
    const known = new Map<string, ReadonlyArray<number>>();
    const missing = new Set<string>();
    for (const pieces of pieced) {
      for (const p of pieces) {
        if (!('key' in p) || known.has(p.key) || missing.has(p.key)) continue;
        const ids = cache.get(p.key);
        if (ids === undefined) {
          missing.add(p.key);
          continue;
        }
        known.set(p.key, ids);
      }
    }
    if (missing.size > 0) {
      const keys = [...missing];
      const encoded = await port.encodeBatch(keys.map((k) => (k[0] === 'F' ? k.slice(1) : options.anchor.content + k.slice(1))));
      if (!usable) return port.encodeBatch(texts);
      for (const [i, key] of keys.entries()) {
        const ids = encoded[i]!;
        if (key[0] === 'N' && ids[0] !== options.anchor.id) {
          usable = false;
          cache.clear();
          return port.encodeBatch(texts);
        }
        known.set(key, key[0] === 'N' ? ids.slice(1) : ids);
      }
      for (const key of keys) cache.set(key, known.get(key)!);
    }
    return pieced.map((pieces) => {
      // A plain loop: flatMap over long id lists is a measurable share of a batch's time.
      const parts = pieces.map((p) => ('id' in p ? p.id : known.get(p.key)!));
      let length = 0;
      for (const part of parts) length += typeof part === 'number' ? 1 : part.length;
      const ids = new Array<number>(length);
      let k = 0;
      for (const part of parts) {
        if (typeof part === 'number') ids[k++] = part;
        else for (let i = 0; i < part.length; i++) ids[k++] = part[i]!;
      }
      return ids;
    });
  };

  return { ...port, encodeBatch };
};
