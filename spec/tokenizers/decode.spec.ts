/**
 * The Rust-exact decoder chain (lib/tokenizers/_decode.ts): golden decodes from Rust `tokenizers` 0.22
 * (spec/tokenizers/golden/python-tokenizer.json, section `decoders`), examples, and properties.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenizerError } from '../../lib/core/errors.js';
import { cleanUpTokenization, compileDecoder, utf8Lossy, utf8Strict } from '../../lib/tokenizers/_decode.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

interface DecoderGolden {
  readonly decoder: unknown;
  readonly load_error?: string;
  readonly cases?: ReadonlyArray<{ readonly tokens: ReadonlyArray<string>; readonly decoded?: string; readonly error?: string }>;
}

const golden = JSON.parse(readFileSync(new URL('./golden/python-tokenizer.json', import.meta.url), 'utf8')) as {
  readonly decoders: ReadonlyArray<DecoderGolden>;
  readonly clean_up_tokenization: ReadonlyArray<readonly [string, string]>;
};

/** The Llama / Mistral decoder chain, as its tokenizer.json spells it. */
const LLAMA_DECODER = {
  type: 'Sequence',
  decoders: [
    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
    { type: 'Strip', content: ' ', start: 1, stop: 0 },
  ],
};

const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

const throwsTokenizerError = (f: () => unknown, pattern?: RegExp): void =>
  assert.throws(f, (e: unknown) => e instanceof TokenizerError && (pattern === undefined || pattern.test(e.message)));

describe('decoder chain: Rust tokenizers 0.22 goldens', () => {
  it(`covers every decoder type this port claims (${golden.decoders.length} specs)`, () => {
    const types = new Set(golden.decoders.map((d) => (d.decoder as { type: string }).type));
    for (const t of ['Sequence', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Metaspace', 'ByteLevel', 'WordPiece', 'BPEDecoder', 'CTC']) {
      assert.ok(types.has(t), `no golden for ${t}`);
    }
  });

  for (const [index, entry] of golden.decoders.entries()) {
    const title = `#${index} ${JSON.stringify(entry.decoder)}`;
    if (entry.load_error !== undefined) {
      it(`${title}: refused at load time, as Rust refuses it`, () => {
        throwsTokenizerError(() => compileDecoder(entry.decoder));
      });
      continue;
    }
    it(`${title}: decodes ${entry.cases?.length ?? 0} token lists as Rust does`, () => {
      const decode = compileDecoder(entry.decoder);
      const mismatches: string[] = [];
      for (const c of entry.cases ?? []) {
        if (c.error !== undefined) {
          // Rust panics (Python raises PanicException): the port throws a TokenizerError instead.
          try {
            const out = decode(c.tokens);
            mismatches.push(`${JSON.stringify(c.tokens)}: expected an error (${c.error}), got ${JSON.stringify(out)}`);
          } catch (e) {
            if (!(e instanceof TokenizerError)) mismatches.push(`${JSON.stringify(c.tokens)}: wrong error ${String(e)}`);
          }
          continue;
        }
        const out = decode(c.tokens);
        if (out !== c.decoded) mismatches.push(`${JSON.stringify(c.tokens)}: ${JSON.stringify(out)} !== ${JSON.stringify(c.decoded)}`);
      }
      assert.deepEqual(mismatches, []);
    });
  }

  it('clean_up_tokenization equals Python transformers 4.57', () => {
    for (const [input, expected] of golden.clean_up_tokenization) assert.equal(cleanUpTokenization(input), expected, JSON.stringify(input));
  });
});

describe('decoder chain: examples', () => {
  const llama = compileDecoder(LLAMA_DECODER);

  it('turns an invalid byte run into one U+FFFD per byte, the valid part of the run included', () => {
    // "é" (C3 A9) then the first two bytes of "€" (E2 82 AC): the whole run is invalid.
    assert.equal(llama(['\u2581a', byteToken(0xc3), byteToken(0xa9), byteToken(0xe2), byteToken(0x82)]), 'a\uFFFD\uFFFD\uFFFD\uFFFD');
    // TextDecoder gives one U+FFFD per maximal invalid subsequence: 'é\uFFFD'. Rust does not.
    assert.equal(new TextDecoder().decode(Uint8Array.from([0xc3, 0xa9, 0xe2, 0x82])), '\u00e9\uFFFD');
  });

  it('decodes a valid byte run and strips exactly one leading space', () => {
    assert.equal(llama(['\u2581\u2581x', byteToken(0xe2), byteToken(0x82), byteToken(0xac)]), ' x\u20ac');
  });

  it('decodes no tokens to the empty string (transformers.js throws on decode([]))', () => {
    assert.equal(llama([]), '');
    assert.equal(compileDecoder(null)([]), '');
  });

  it('joins tokens with a space when there is no decoder', () => {
    assert.equal(compileDecoder(null)(['a', 'b', '<s>']), 'a b <s>');
  });

  it('reads <0x+A> as byte 0x0A, as Rust u8::from_str_radix does, and leaves <0X41> alone', () => {
    const bf = compileDecoder({ type: 'ByteFallback' });
    assert.equal(bf(['<0x+A>']), '\n');
    assert.equal(bf(['<0X41>', '<0x41>', '<0x4>']), '<0X41>A<0x4>');
  });

  it('Metaspace drops every replacement character of the first token, not just the first one', () => {
    const ms = compileDecoder({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true });
    assert.equal(ms(['\u2581\u2581a\u2581', '\u2581b']), 'a b');
  });

  it('names the refused component and its place in the chain', () => {
    throwsTokenizerError(() => compileDecoder({ type: 'Sequence', decoders: [{ type: 'Fuse' }, { type: 'Nope' }] }), /decoder\.decoders\[1\].*"Nope"/);
    throwsTokenizerError(() => compileDecoder({ type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }), /Regex/);
    throwsTokenizerError(() => compileDecoder({ type: 'Replace', pattern: { Regex: 'a*' }, content: ' ' }), /Regex/);
    throwsTokenizerError(() => compileDecoder({ type: 'Strip', content: 'ab', start: 1, stop: 0 }), /single character/);
    throwsTokenizerError(() => compileDecoder({ type: 'WordPiece', prefix: '##' }), /cleanup/);
  });

  it('utf8Lossy and utf8Strict handle surrogates, overlongs and truncated sequences as Rust does', () => {
    assert.equal(utf8Lossy([0xed, 0xa0, 0x80]), '\uFFFD\uFFFD\uFFFD');
    assert.equal(utf8Lossy([0xc0, 0xaf]), '\uFFFD\uFFFD');
    assert.equal(utf8Lossy([0xf0, 0x9f, 0x98]), '\uFFFD');
    assert.equal(utf8Lossy([0xf0, 0x9f, 0x98, 0x80, 0x41]), '\u{1F600}A');
    assert.equal(utf8Strict([0xf4, 0x90, 0x80, 0x80]), null);
    assert.equal(utf8Strict([]), '');
  });
});

/** Bytes: valid UTF-8 of arbitrary text, or arbitrary bytes (mostly invalid). */
const bytesArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => Array.from(Buffer.from(s, 'utf8'))),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 16 }),
  // Valid text cut at an arbitrary byte: the case decoding truncated ids produces.
  fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.nat()).map(([s, k]) => {
    const b = Array.from(Buffer.from(s, 'utf8'));
    return b.slice(0, k % (b.length + 1));
  }),
);

/** The model: the platform's strict UTF-8 validator says valid → its text, else one U+FFFD per byte. */
const byteFallbackModel = (bytes: ReadonlyArray<number>): string => {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bytes));
  } catch {
    return '\uFFFD'.repeat(bytes.length);
  }
};

/** What transformers.js-style decoding does instead: one U+FFFD per invalid sequence. */
const textDecoderStyle = (tokens: ReadonlyArray<string>): string => {
  const bytes = tokens.map((t) => parseInt(t.slice(3, 5), 16));
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes));
};

describe(`decoder chain: properties (FC_SEED=${FC_SEED})`, () => {
  const byteFallback = compileDecoder({ type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] });
  const byteFallbackLaw = (decode: (tokens: ReadonlyArray<string>) => string) =>
    fc.property(bytesArb, (bytes) => decode(bytes.map(byteToken)) === byteFallbackModel(bytes));

  it('a run of byte tokens decodes to its text when it is valid UTF-8, else to one U+FFFD per byte', () => {
    fc.assert(byteFallbackLaw(byteFallback), fcParams());
  });

  it('meta: the law fails for TextDecoder-style decoding (one U+FFFD per invalid sequence)', () => {
    assert.equal(fc.check(byteFallbackLaw(textDecoderStyle), fcParams()).failed, true);
  });

  it('on valid UTF-8 the Rust-exact ByteFallback and TextDecoder agree', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 16 }), (s) => {
        const tokens = Array.from(Buffer.from(s, 'utf8'), byteToken);
        return byteFallback(tokens) === textDecoderStyle(tokens) && byteFallback(tokens) === s;
      }),
      fcParams(),
    );
  });

  it('utf8Lossy substitutes maximal subparts exactly as WHATWG TextDecoder does', () => {
    fc.assert(
      fc.property(bytesArb, (bytes) => utf8Lossy(bytes) === new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(bytes))),
      fcParams(),
    );
  });

  it('ByteLevel decoding inverts the GPT-2 byte-to-unicode mapping of any text', () => {
    // The model: the published GPT-2 table, written out independently of the implementation.
    const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const table = new Map<number, string>();
    let n = 0;
    for (let b = 0; b < 256; b += 1) table.set(b, String.fromCodePoint(printable(b) ? b : 256 + n++));
    const byteLevel = compileDecoder({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 16 }), fc.nat({ max: 4 }), (s, split) => {
        const mapped = Array.from(Buffer.from(s, 'utf8'), (b) => table.get(b)!).join('');
        const chars = Array.from(mapped);
        const tokens = [chars.slice(0, split).join(''), chars.slice(split).join('')];
        return byteLevel(tokens) === s;
      }),
      fcParams(),
    );
  });
});
