/**
 * Cutting a text at its added tokens, as Hugging Face's tokenizers do before anything else.
 *
 * @module
 */

/**
 * An added token: its text and id.
 *
 * @category tokenizers
 */
export interface SplitToken {
  readonly content: string;
  readonly id: number;
}

/**
 * A piece of a text: an added token's id, or the text between added tokens (with its offset).
 *
 * @category tokenizers
 */
export type TextPiece = { readonly id: number } | { readonly text: string; readonly start: number };

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A function cutting texts at the given added tokens: leftmost match first, the longest token at a
 * place (as the tokenizers' own matcher does). Empty text between tokens is left out.
 *
 * **Gotchas**: only for added tokens matched on the raw text (non-normalized) and without `lstrip` /
 * `rstrip` / `single_word`; the callers check.
 *
 * @example
 * addedTokenSplitter([{ content: '<s>', id: 1 }])('a<s>b'); // [{ text: 'a', start: 0 }, { id: 1 }, { text: 'b', start: 4 }]
 *
 * @category tokenizers
 */
export const addedTokenSplitter = (tokens: ReadonlyArray<SplitToken>): ((text: string) => TextPiece[]) => {
  if (tokens.length === 0) return (text) => (text.length === 0 ? [] : [{ text, start: 0 }]);
  const idOf = new Map(tokens.map((t) => [t.content, t.id]));
  // Longest first: a regex alternation takes the first alternative that matches at a place.
  const pattern = new RegExp([...idOf.keys()].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
  return (text) => {
    const pieces: TextPiece[] = [];
    let at = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index > at) pieces.push({ text: text.slice(at, match.index), start: at });
      pieces.push({ id: idOf.get(match[0])! });
      at = match.index + match[0].length;
    }
    if (at < text.length) pieces.push({ text: text.slice(at), start: at });
    return pieces;
  };
};
