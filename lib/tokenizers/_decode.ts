/**
 * The `tokenizer.json` decoder chain, re-implemented to give exactly what HF's Rust `tokenizers` 0.22
 * gives (and so what Python `tokenizer.decode` gives), plus Python's `clean_up_tokenization`.
 *
 * **Details**: transformers.js has its own decoders, but they differ from Rust on invalid UTF-8
 * (Rust's `ByteFallback` turns a whole byte run that is not valid UTF-8 into one U+FFFD *per byte*;
 * `TextDecoder` gives one per invalid sequence), on `decode([])` (it throws) and in smaller ways, so
 * decoding never goes through it. Everything here is a pure function over token strings.
 *
 * @module
 */
import { TokenizerError } from '../core/errors.js';

/** A compiled decoder chain: token strings in, the decoded text out (Rust `Decoder::decode`). */
export type TokenDecoder = (tokens: ReadonlyArray<string>) => string;

/** One step of a chain (Rust `Decoder::decode_chain`): token strings in, token strings out. */
type Step = (tokens: ReadonlyArray<string>) => ReadonlyArray<string>;

const REPLACEMENT = '\uFFFD';

// ------------------------------------------------------------------------------------------------
// UTF-8
// ------------------------------------------------------------------------------------------------

/**
 * Decodes UTF-8 bytes, or returns null when they are not valid UTF-8 (Rust `String::from_utf8`).
 * Surrogate code points (ED A0..BF xx), overlong forms and values above U+10FFFF are invalid.
 */
export const utf8Strict = (bytes: ReadonlyArray<number>): string | null => utf8Decode(bytes, false);

/**
 * Decodes UTF-8 bytes, replacing each maximal invalid subsequence with one U+FFFD
 * (Rust `String::from_utf8_lossy`, which follows Unicode's "substitution of maximal subparts";
 * WHATWG `TextDecoder` does the same).
 */
export const utf8Lossy = (bytes: ReadonlyArray<number>): string => utf8Decode(bytes, true) as string;

/** Bounds of the second byte for a given lead byte (Unicode Table 3-7), or null for an invalid lead. */
const secondByteRange = (lead: number): readonly [number, number, number] | null => {
  // [low, high, sequence length]
  if (lead >= 0xc2 && lead <= 0xdf) return [0x80, 0xbf, 2];
  if (lead === 0xe0) return [0xa0, 0xbf, 3];
  if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef) return [0x80, 0xbf, 3];
  if (lead === 0xed) return [0x80, 0x9f, 3];
  if (lead === 0xf0) return [0x90, 0xbf, 4];
  if (lead >= 0xf1 && lead <= 0xf3) return [0x80, 0xbf, 4];
  if (lead === 0xf4) return [0x80, 0x8f, 4];
  return null;
};

function utf8Decode(bytes: ReadonlyArray<number>, lossy: boolean): string | null {
  const parts: string[] = [];
  let codes: number[] = [];
  const flush = (): void => {
    if (codes.length > 0) {
      parts.push(String.fromCodePoint(...codes));
      codes = [];
    }
  };
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      codes.push(b0);
      i += 1;
    } else {
      const range = secondByteRange(b0);
      // How many bytes form a valid prefix of a sequence starting at i (0 = the lead itself is bad).
      let valid = 0;
      let cp = 0;
      if (range !== null) {
        const [lo, hi, len] = range;
        cp = b0 & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
        valid = 1;
        for (let k = 1; k < len; k += 1) {
          const b = bytes[i + k];
          const ok = b !== undefined && (k === 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xbf);
          if (!ok) break;
          cp = (cp << 6) | (b & 0x3f);
          valid += 1;
        }
        if (valid === len) {
          codes.push(cp);
          i += len;
          continue;
        }
      }
      if (!lossy) return null;
      codes.push(0xfffd);
      i += Math.max(1, valid);
    }
    if (codes.length >= 4096) flush();
  }
  flush();
  return parts.join('');
}

const utf8Encode = (text: string): number[] => Array.from(Buffer.from(text, 'utf8'));

/** Rust `str::replace`: with an empty pattern it inserts `to` at every char boundary, ends included. */
const rustReplace = (text: string, from: string, to: string): string =>
  from === '' ? to + Array.from(text).join(to) + (text === '' ? '' : to) : text.split(from).join(to);

// ------------------------------------------------------------------------------------------------
// GPT-2 byte <-> unicode table (Rust `bytes_char`)
// ------------------------------------------------------------------------------------------------

const buildCharToByte = (): ReadonlyMap<string, number> => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b += 1) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b += 1) bs.push(b);
  for (let b = 0xae; b <= 0xff; b += 1) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b <= 255; b += 1) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n += 1;
    }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i]!), b]));
};

let charToByteCache: ReadonlyMap<string, number> | undefined;
const charToByte = (): ReadonlyMap<string, number> => (charToByteCache ??= buildCharToByte());

// ------------------------------------------------------------------------------------------------
// The decoders (one per Rust `DecoderWrapper` variant)
// ------------------------------------------------------------------------------------------------

/**
 * `<0xXX>` → the byte, as Rust reads it: 6 UTF-8 bytes, `<0x` … `>`, and the two middle bytes parsed by
 * `u8::from_str_radix(_, 16)`, which also takes a leading `+` (`<0x+A>` is byte 0x0A).
 */
const hexValue = (c: number): number => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

const byteOfToken = (token: string): number | null => {
  // Six ASCII characters `<0x` h h `>` (or `<0x+h>`); checked by code, it runs once per decoded token.
  if (token.length !== 6 || token.charCodeAt(0) !== 60 || token.charCodeAt(1) !== 48 || token.charCodeAt(2) !== 120 || token.charCodeAt(5) !== 62) return null;
  const hi = token.charCodeAt(3);
  const lo = hexValue(token.charCodeAt(4));
  if (lo < 0) return null;
  if (hi === 43 /* + */) return lo;
  const h = hexValue(hi);
  return h < 0 ? null : h * 16 + lo;
};

const byteFallback: Step = (tokens) => {
  const out: string[] = [];
  let run: number[] = [];
  const flushRun = (): void => {
    if (run.length === 0) return;
    const text = utf8Strict(run);
    if (text !== null) out.push(text);
    else for (let k = 0; k < run.length; k += 1) out.push(REPLACEMENT);
    run = [];
  };
  for (const token of tokens) {
    const byte = byteOfToken(token);
    if (byte !== null) {
      run.push(byte);
    } else {
      flushRun();
      out.push(token);
    }
  }
  flushRun();
  return out;
};

const fuse: Step = (tokens) => [tokens.join('')];

const strip =
  (content: string, start: number, stop: number, where: string): Step =>
  (tokens) =>
    tokens.map((token) => {
      // Rust counts chars (code points); `content` is one char. Only the ends are looked at, so this
      // walks code points from each end instead of splitting the whole (often long) token.
      const unit = content.length;
      let startCut = 0;
      for (let i = 0; i < start && token.startsWith(content, startCut); i += 1) startCut += unit;
      let stopCut = token.length;
      for (let i = 0; i < stop; i += 1) {
        // Rust indexes `chars[index]` with a usize here and panics when it runs off the start.
        if (stopCut === 0) throw new TokenizerError(`${where}: Strip decoder would panic on token ${JSON.stringify(token)} (Rust index underflow)`);
        if (token.endsWith(content, stopCut)) stopCut -= unit;
        else break;
      }
      if (stopCut < startCut) {
        throw new TokenizerError(`${where}: Strip decoder would panic on token ${JSON.stringify(token)} (slice start after end)`);
      }
      return token.slice(startCut, stopCut);
    });

const replaceString =
  (pattern: string, content: string): Step =>
  (tokens) =>
    tokens.map((token) => (pattern === '' ? token.split(pattern).join(content) : token.includes(pattern) ? token.replaceAll(pattern, content) : token));

const replaceRegex =
  (regex: RegExp, content: string): Step =>
  (tokens) =>
    tokens.map((token) => token.replace(regex, () => content));

const metaspace =
  (replacement: string, prependNever: boolean): Step =>
  (tokens) =>
    tokens.map((token, i) => {
      let out = '';
      for (const c of token) {
        if (c === replacement) out += i === 0 && !prependNever ? '' : ' ';
        else out += c;
      }
      return out;
    });

const byteLevel: Step = (tokens) => {
  const table = charToByte();
  const bytes: number[] = [];
  for (const token of tokens) {
    const mapped: number[] = [];
    let all = true;
    for (const c of token) {
      const b = table.get(c);
      if (b === undefined) {
        all = false;
        break;
      }
      mapped.push(b);
    }
    for (const b of all ? mapped : utf8Encode(token)) bytes.push(b);
  }
  return [utf8Lossy(bytes)];
};

/**
 * The cleanup of Rust's WordPiece and CTC decoders: Python's, plus `" do not"` → `" don't"` (no
 * replacement creates or breaks another's pattern, so doing that one last is the same as Rust's order).
 */
const wordPieceCleanup = (dirty: string): string => cleanUpTokenization(dirty).replaceAll(' do not', " don't");

const wordPiece =
  (prefix: string, cleanup: boolean): Step =>
  (tokens) =>
    tokens.map((token, i) => {
      let t = token;
      if (i !== 0) t = t.startsWith(prefix) ? t.slice(prefix.length) : ` ${t}`;
      return cleanup ? wordPieceCleanup(t) : t;
    });

const bpeDecoder =
  (suffix: string): Step =>
  (tokens) =>
    tokens.map((token, i) => rustReplace(token, suffix, i === tokens.length - 1 ? '' : ' '));

const ctc =
  (padToken: string, wordDelimiter: string, cleanup: boolean): Step =>
  (tokens) => {
    const out: string[] = [];
    let previous: string | undefined;
    for (const token of tokens) {
      // itertools `dedup`: drop consecutive duplicates (before any replacement).
      if (token === previous) continue;
      previous = token;
      let replaced = rustReplace(token, padToken, '');
      if (cleanup) replaced = rustReplace(wordPieceCleanup(replaced), wordDelimiter, ' ');
      if (replaced !== '') out.push(replaced);
    }
    return out;
  };

// ------------------------------------------------------------------------------------------------
// Compiling a tokenizer.json `decoder`
// ------------------------------------------------------------------------------------------------

type Json = Readonly<Record<string, unknown>>;

const isObject = (u: unknown): u is Json => typeof u === 'object' && u !== null && !Array.isArray(u);

const fail = (where: string, message: string): never => {
  throw new TokenizerError(`${where}: ${message}`);
};

const stringField = (spec: Json, key: string, where: string): string => {
  const v = spec[key];
  return typeof v === 'string' ? v : fail(where, `${spec['type']} decoder needs a string "${key}", got ${JSON.stringify(v)}`);
};

const boolField = (spec: Json, key: string, where: string): boolean => {
  const v = spec[key];
  return typeof v === 'boolean' ? v : fail(where, `${spec['type']} decoder needs a boolean "${key}", got ${JSON.stringify(v)}`);
};

const countField = (spec: Json, key: string, where: string): number => {
  const v = spec[key];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
    ? v
    : fail(where, `${spec['type']} decoder needs a non-negative integer "${key}", got ${JSON.stringify(v)}`);
};

/** One Unicode scalar value, as serde reads a Rust `char`. */
const charField = (spec: Json, key: string, where: string): string => {
  const v = stringField(spec, key, where);
  return Array.from(v).length === 1 ? v : fail(where, `${spec['type']} decoder needs a single character "${key}", got ${JSON.stringify(v)}`);
};

/**
 * A `Regex` pattern is accepted only when Oniguruma (Rust) and JavaScript must agree on it: literal
 * characters, escaped punctuation, `\n \r \t`, bracket classes of those, groups, alternation and
 * `+`. Classes such as `\s \w \d .` and anchors differ between the two engines, and patterns that can
 * match the empty string are handled differently, so they are refused.
 */
const compileSimpleRegex = (source: string, where: string): RegExp => {
  const refuse = (why: string): never => fail(where, `Replace decoder Regex ${JSON.stringify(source)} is not supported (${why})`);
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) refuse('trailing backslash');
      if (!/[nrt]/.test(next!) && /[A-Za-z0-9]/.test(next!)) refuse(`escape \\${next} differs between Oniguruma and JavaScript`);
      i += 1;
    } else if ('.^$*?{}'.includes(c)) {
      refuse(`"${c}" is not in the supported subset`);
    } else if (c === '(' && source[i + 1] === '?') {
      refuse('group modifiers are not in the supported subset');
    } else if (c === '[' && source[i + 1] === ':') {
      refuse('POSIX classes are not in the supported subset');
    }
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'gu');
  } catch (e) {
    return refuse(e instanceof Error ? e.message : String(e));
  }
  if (new RegExp(`^(?:${source})$`, 'u').test('')) refuse('it can match the empty string');
  return regex;
};

/** What the fused steps make of one token: its byte (a `<0xAB>` token), or its text after the Replace. */
type FusedItem = number | string;

/**
 * `Replace(String a → b)`, `ByteFallback`, `Fuse` (the start of Llama's and Mistral's decoder) as one
 * pass over the tokens: the same text as the three steps one after another, without their
 * intermediate arrays. Null unless the decoder list starts exactly so, with a pattern and content
 * that cannot occur in a byte token (`<0xAB>`), so that replacing first cannot change which tokens are bytes.
 */
const fusedLlamaPrefix = (list: ReadonlyArray<unknown>): ((token: string) => FusedItem) | null => {
  const [replace, bytes, fuseStep] = list;
  if (!isObject(replace) || !isObject(bytes) || !isObject(fuseStep)) return null;
  if (replace['type'] !== 'Replace' || bytes['type'] !== 'ByteFallback' || fuseStep['type'] !== 'Fuse') return null;
  const pattern = replace['pattern'];
  const content = replace['content'];
  if (!isObject(pattern) || typeof pattern['String'] !== 'string' || typeof content !== 'string') return null;
  const from = pattern['String'];
  // Neither side may hold a byte token's characters: replacing must not make or unmake byte tokens.
  if (from === '' || /[<0xX>0-9A-Fa-f+]/.test(from) || /[<0xX>0-9A-Fa-f+]/.test(content)) return null;
  return (token) => byteOfToken(token) ?? (token.includes(from) ? token.replaceAll(from, content) : token);
};

/** The fused steps' text: items in order, each run of bytes decoded (one U+FFFD per byte when invalid). */
const joinFused = (count: number, itemAt: (i: number) => FusedItem | undefined): string => {
  let out = '';
  let run: number[] = [];
  for (let i = 0; i < count; i++) {
    const item = itemAt(i);
    if (item === undefined) continue;
    if (typeof item === 'number') {
      run.push(item);
      continue;
    }
    if (run.length > 0) {
      out += utf8Strict(run) ?? REPLACEMENT.repeat(run.length);
      run = [];
    }
    out += item;
  }
  if (run.length > 0) out += utf8Strict(run) ?? REPLACEMENT.repeat(run.length);
  return out;
};

const compileStep = (spec: unknown, where: string): Step => {
  if (!isObject(spec)) return fail(where, `a decoder must be an object, got ${JSON.stringify(spec)}`);
  const type = spec['type'];
  switch (type) {
    case 'Sequence': {
      const list = spec['decoders'];
      if (!Array.isArray(list)) return fail(where, 'Sequence decoder needs a "decoders" array');
      const steps = list.map((d, i) => compileStep(d, `${where}.decoders[${i}]`));
      const fused = fusedLlamaPrefix(list);
      if (fused !== null) {
        // The first three steps in one pass (decoding runs often); the rest as compiled.
        const rest = steps.slice(3);
        return (tokens) => rest.reduce<ReadonlyArray<string>>((acc, step) => step(acc), [joinFused(tokens.length, (i) => fused(tokens[i]!))]);
      }
      return (tokens) => steps.reduce<ReadonlyArray<string>>((acc, step) => step(acc), tokens);
    }
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return fuse;
    case 'Strip':
      return strip(charField(spec, 'content', where), countField(spec, 'start', where), countField(spec, 'stop', where), where);
    case 'Replace': {
      const pattern = spec['pattern'];
      const content = stringField(spec, 'content', where);
      if (isObject(pattern) && typeof pattern['String'] === 'string') {
        const literal = pattern['String'];
        if (literal === '') return fail(where, 'Replace decoder with an empty String pattern is not supported');
        return replaceString(literal, content);
      }
      if (isObject(pattern) && typeof pattern['Regex'] === 'string') {
        return replaceRegex(compileSimpleRegex(pattern['Regex'], where), content);
      }
      return fail(where, `Replace decoder needs a {"String": …} or {"Regex": …} pattern, got ${JSON.stringify(pattern)}`);
    }
    case 'Metaspace': {
      const replacement = charField(spec, 'replacement', where);
      const rawScheme = spec['prepend_scheme'] ?? 'always';
      if (rawScheme !== 'always' && rawScheme !== 'first' && rawScheme !== 'never') {
        return fail(where, `Metaspace decoder has an unknown prepend_scheme ${JSON.stringify(rawScheme)}`);
      }
      const addPrefixSpace = spec['add_prefix_space'];
      if (addPrefixSpace !== undefined && addPrefixSpace !== null && typeof addPrefixSpace !== 'boolean') {
        return fail(where, `Metaspace decoder has a non-boolean add_prefix_space ${JSON.stringify(addPrefixSpace)}`);
      }
      // Rust's Metaspace deserializer: add_prefix_space=false must come with prepend_scheme "never"
      // (and a missing prepend_scheme counts as "always"), otherwise the tokenizer does not load.
      if (addPrefixSpace === false && rawScheme !== 'never') {
        return fail(where, 'Metaspace decoder: add_prefix_space does not match declared prepend_scheme (Rust refuses it)');
      }
      return metaspace(replacement, rawScheme === 'never');
    }
    case 'ByteLevel':
      return byteLevel;
    case 'WordPiece':
      return wordPiece(stringField(spec, 'prefix', where), boolField(spec, 'cleanup', where));
    case 'BPEDecoder':
      return bpeDecoder(stringField(spec, 'suffix', where));
    case 'CTC':
      return ctc(stringField(spec, 'pad_token', where), stringField(spec, 'word_delimiter_token', where), boolField(spec, 'cleanup', where));
    default:
      return fail(where, `decoder type ${JSON.stringify(type)} is not supported`);
  }
};

/**
 * Compiles a `tokenizer.json` `decoder` (null: tokens joined with a space, as Rust does without a
 * decoder) into a function giving exactly Rust `tokenizers` 0.22's `decoder.decode(tokens)`.
 *
 * **Details**: supports Sequence, Replace (String patterns; Regex patterns from a small subset both
 * engines agree on), ByteFallback, Fuse, Strip, Metaspace, ByteLevel, WordPiece, BPEDecoder and CTC.
 *
 * **Gotchas**: throws {@link TokenizerError} naming the component (e.g. `decoder.decoders[2]`) for
 * anything else, when compiling, not when decoding. Token lists on which Rust would panic (a `Strip`
 * with `stop > 0` on an empty token) throw `TokenizerError` when decoded.
 *
 * @example
 * const decode = compileDecoder({ type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] });
 * decode(['a', '<0xE2>', '<0x82>']); // 'a\uFFFD\uFFFD' (one U+FFFD per byte of an invalid run)
 *
 * @category tokenizers
 */
export const compileDecoder = (spec: unknown, where = 'decoder'): TokenDecoder => {
  if (spec === null || spec === undefined) return (tokens) => tokens.join(' ');
  const step = compileStep(spec, where);
  return (tokens) => step(tokens).join('');
};

/**
 * {@link compileDecoder} over ids: Rust `tokenizer.decode(ids, skip_special_tokens=False)`, where an
 * id without a token is skipped.
 *
 * **Details**: for a decoder that starts with Llama's `Replace`, `ByteFallback`, `Fuse`, what those
 * steps make of each token is computed once per vocabulary entry, when compiling; decoding then
 * reads a table instead of parsing and replacing every token again.
 *
 * @example
 * const mistral = { type: 'Sequence', decoders: [
 *   { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
 *   { type: 'Strip', content: ' ', start: 1, stop: 0 }] };
 * compileIdDecoder(mistral, new Map([[1, '▁a'], [2, '<0x21>'], [3, '▁b']]))([1, 2, 99, 3]); // 'a! b'
 *
 * @category tokenizers
 */
export const compileIdDecoder = (spec: unknown, tokens: ReadonlyMap<number, string>, where = 'decoder'): ((ids: ReadonlyArray<number>) => string) => {
  // Compiled in any case: an unsupported decoder throws here, whichever path decodes.
  const decode = compileDecoder(spec, where);
  const list = isObject(spec) && spec['type'] === 'Sequence' && Array.isArray(spec['decoders']) ? spec['decoders'] : null;
  const fused = list === null ? null : fusedLlamaPrefix(list);
  if (list === null || fused === null) {
    return (ids) => {
      const known: string[] = [];
      for (const id of ids) {
        const token = tokens.get(id);
        if (token !== undefined) known.push(token);
      }
      return decode(known);
    };
  }
  const items: Array<FusedItem | undefined> = [];
  for (const [id, token] of tokens) items[id] = fused(token);
  const rest = list.slice(3).map((d, i) => compileStep(d, `${where}.decoders[${i + 3}]`));
  return (ids) => rest.reduce<ReadonlyArray<string>>((acc, step) => step(acc), [joinFused(ids.length, (i) => items[ids[i]!])]).join('');
};

/**
 * Python `PreTrainedTokenizerBase.clean_up_tokenization` (transformers 4.57), applied after decoding
 * when the tokenizer's `clean_up_tokenization_spaces` is true.
 *
 * @example
 * cleanUpTokenization("a , b n't"); // "a, bn't"
 *
 * @category tokenizers
 */
export const cleanUpTokenization = (text: string): string =>
  text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
