/**
 * The backends of the tokenizer port (`'js'`: @huggingface/tokenizers in this thread; `'native'`: HF's
 * Rust tokenizers; `'transformers'`: transformers.js, when the optional peer is installed) against
 * each other and against whole-text encoders: on fuzzed text every backend gives the ids
 * @huggingface/tokenizers, transformers.js and Rust give for the whole text (which proves the
 * word-by-word path exact on that text), and both decode any id list as Rust's own decode does (all
 * use this library's Rust-exact decoder, with its per-id table for Llama's decoder). Also: the caches
 * change nothing (any size, concurrent calls), `wordSplitSafe` refuses a merge list that joins words
 * and the port then still encodes right, the fused Llama decoder equals the step-by-step chain, and a
 * meta-test shows that cutting words at the wrong place is caught.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Tokenizer } from '@huggingface/tokenizers';
import { compileDecoder, compileIdDecoder } from '../../lib/tokenizers/_decode.js';
import { addedTokenSplitter } from '../../lib/tokenizers/addedTokens.js';
import type { TokenizerPort } from '../../lib/tokenizers/port.js';
import {
  defaultTokenizerDir,
  loadDefaultTokenizer,
  readTokenizerFolder,
  tokenizerFromFiles,
  tokenizerSetup,
  type LoadTokenizerOptions,
  type TokenizerBackend,
  type TokenizerFiles,
} from '../../lib/tokenizers/index.js';
import { wordEncoder, wordSplitSafe } from '../../lib/tokenizers/wordBpe.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';
import { hasTransformers, needsTransformers } from '../helpers/transformers.js';

const SPACE = '\u2581';
const ADDITIONAL = ['<instruct>', '<query>', '<response>'] as const;
const OPTIONS = { additionalSpecialTokens: ADDITIONAL };

type Ids = ReadonlyArray<ReadonlyArray<number>>;
type Encoder = (texts: ReadonlyArray<string>) => Promise<Ids>;
type Json = Record<string, unknown>;

/** HF's Rust tokenizers, through the optional package the native backend uses. */
type NativeTokenizer = {
  encodeBatch(texts: string[], options: { addSpecialTokens: boolean }): Promise<Array<{ getIds(): number[] }>>;
  decodeBatch(ids: number[][], skipSpecialTokens: boolean): Promise<string[]>;
};
const native = createRequire(import.meta.url)('@anush008/tokenizers') as { Tokenizer: { fromString(json: string): NativeTokenizer } };

/** A JavaScript tokenizer as these specs use it (@huggingface/tokenizers' `Tokenizer`; its own declarations do not resolve under NodeNext). */
type JsTokenizer = { encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] } };
const jsTokenizer = (json: object, config: object): JsTokenizer => new Tokenizer(json, config) as JsTokenizer;

/** transformers.js (an optional peer: present when installed, as it is with the dev dependencies). */
const transformers = hasTransformers
  ? (createRequire(import.meta.url)('@huggingface/transformers') as { PreTrainedTokenizer: new (json: object, config: object) => { encode(text: string, options: { add_special_tokens: boolean }): number[] } })
  : null;

/**
 * Whole-text encoders straight from the libraries (no splitting, no caching), and Rust's own decode:
 * the oracles. `transformersWhole` is null when transformers.js is not installed.
 */
const wholeTextEncoders = (files: TokenizerFiles) => {
  const setup = tokenizerSetup(files, OPTIONS);
  const config = { bos_token: setup.bosToken, eos_token: setup.eosToken, unk_token: setup.unkToken, pad_token: setup.padToken };
  const js = jsTokenizer(setup.json, config);
  const rust = native.Tokenizer.fromString(JSON.stringify(setup.json));
  const jsWhole: Encoder = async (texts) => texts.map((t) => js.encode(t, { add_special_tokens: false }).ids);
  const tjs = transformers === null ? null : new transformers.PreTrainedTokenizer(setup.json, config);
  const transformersWhole: Encoder | null = tjs === null ? null : async (texts) => texts.map((t) => tjs.encode(t, { add_special_tokens: false }));
  const rustWhole: Encoder = async (texts) => (texts.length === 0 ? [] : (await rust.encodeBatch([...texts], { addSpecialTokens: false })).map((e) => e.getIds()));
  const rustDecode = async (lists: Ids): Promise<ReadonlyArray<string>> => rust.decodeBatch(lists.map((ids) => [...ids]), false);
  return { setup, jsWhole, transformersWhole, rustWhole, rustDecode };
};

// ------------------------------------------------------------------------------------------------
// Arbitraries
// ------------------------------------------------------------------------------------------------

const WORDS = ['the', 'a', 'hello', 'world', 'query', 'café', 'naïve', 'Straße', 'résumé', 'e\u0301', '中文', '日本語', '한국어', '😀', '👨\u200d👩\u200d👧', '∑', '𝔽', 'x', 'ab', 'data', 'base'];
const ADDED = ['<instruct>', '<query>', '<response>', '<s>', '</s>', '<unk>'];

/** Text mixing everything the tokenizer treats specially, glued together in any order. */
const textArb = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
      { weight: 4, arbitrary: fc.constantFrom(...WORDS) },
      // Whitespace runs: several spaces, tabs, newlines, and the ▁ the normalizer makes of a space.
      { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(' ', ' ', '\t', '\n', '\r', SPACE), minLength: 1, maxLength: 5 }) },
      // Added tokens glued to words and to each other, and their near misses.
      { weight: 3, arbitrary: fc.constantFrom(...ADDED, '<', '>', '</', '<query', 'instruct>') },
    ),
    { maxLength: 30, size: 'medium' },
  )
  .map((parts) => parts.join(''));

const textsArb = fc.array(textArb, { maxLength: 5 });

/** A meta-test's verdict: the property failed on a counterexample (not by running out of time or preconditions). */
const assertCaught = <T>(result: fc.RunDetails<T>): void =>
  assert.ok(
    result.failed && result.counterexample !== null && !result.interrupted,
    `expected a counterexample; got ${JSON.stringify({ failed: result.failed, skips: result.numSkips, interrupted: result.interrupted })}`,
  );

/** Every encoder gives the same ids as the first for random texts. */
const allAgree = (encoders: () => ReadonlyArray<Encoder>) =>
  fc.asyncProperty(textsArb, async (texts) => {
    const [first, ...rest] = await Promise.all(encoders().map((e) => e(texts)));
    return rest.every((ids) => isDeepStrictEqual(ids, first));
  });

// ------------------------------------------------------------------------------------------------
// Encoders cut into words by hand, for the meta-test
// ------------------------------------------------------------------------------------------------

/**
 * An encoder built from the parts the word path uses — cut at added tokens, Mistral's normalizer
 * (Prepend ▁, spaces → ▁), cut into words, BPE on each word alone — with the word cut as a parameter.
 */
const wordCutEncoder = (setup: ReturnType<typeof tokenizerSetup>, cut: (normalized: string) => string[]): Encoder => {
  const json = setup.json as Json;
  const bare = jsTokenizer({ ...json, normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [] }, {});
  const split = addedTokenSplitter((json['added_tokens'] as Json[]).map((t) => ({ content: t['content'] as string, id: t['id'] as number })));
  return async (texts) =>
    texts.map((text) =>
      split(text).flatMap((p) => ('id' in p ? [p.id] : cut(`${SPACE}${p.text.replaceAll(' ', SPACE)}`).flatMap((w) => bare.encode(w, { add_special_tokens: false }).ids))),
    );
};

/** Cuts before every ▁ that follows another character (where the port cuts). */
const cutAfterNonSpace = (s: string): string[] => s.split(/(?<=[^\u2581])(?=\u2581)/u);
/** Cuts before every ▁ (also between two ▁): wrong, "▁▁" is one token. */
const cutAtEverySpace = (s: string): string[] => s.split(/(?=\u2581)/u);

// ------------------------------------------------------------------------------------------------
// A Rust-exact decoder model, written from the decoders' documentation
// ------------------------------------------------------------------------------------------------

/** `<0xAB>` (either case), or `<0x+A>` (Rust's u8::from_str_radix takes a leading +), as a byte. */
const byteOf = (token: string): number | null => {
  const m = /^<0x(?:([0-9A-Fa-f]{2})|\+([0-9A-Fa-f]))>$/.exec(token);
  return m === null ? null : Number.parseInt(m[1] ?? m[2]!, 16);
};

/** Replace(from → to) on each token, then ByteFallback (a valid run is its text, an invalid one one U+FFFD per byte), Fuse, then Strip of `strip` leading spaces. */
const decoderModel = (tokens: ReadonlyArray<string>, from: string, to: string, strip: number): string => {
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    try {
      out.push(utf8.decode(Uint8Array.from(run)));
    } catch {
      out.push('\uFFFD'.repeat(run.length));
    }
    run = [];
  };
  for (const token of tokens.map((t) => t.split(from).join(to))) {
    const b = byteOf(token);
    if (b === null) {
      flush();
      out.push(token);
    } else run.push(b);
  }
  flush();
  let text = out.join('');
  for (let i = 0; i < strip && text.startsWith(' '); i++) text = text.slice(1);
  return text;
};

const replace = (from: string, to: string) => ({ type: 'Replace', pattern: { String: from }, content: to });
const LLAMA_TAIL = [{ type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }];
/** As shipped (its first three steps are fused into one pass). */
const fusedLlama = (from: string, to: string) => compileDecoder({ type: 'Sequence', decoders: [replace(from, to), ...LLAMA_TAIL] });
/** The same steps, the Replace wrapped in a Sequence of its own: the list no longer starts with Replace, so nothing is fused. */
const stepwiseLlama = (from: string, to: string) => compileDecoder({ type: 'Sequence', decoders: [{ type: 'Sequence', decoders: [replace(from, to)] }, ...LLAMA_TAIL] });

const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** Token lists: byte tokens (also valid multi-byte runs, cut or whole), near misses of byte tokens, ▁ and spaces, other text. */
const tokensArb = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => [byteToken(b)]),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }).map((s) => [...Buffer.from(s, 'utf8')].map(byteToken)),
      fc.constantFrom(['<0x+A>'], ['<0xe4>'], ['<0X41>'], ['<0xG1>'], [`<0x${SPACE}1>`], [`<0x4${SPACE}>`], ['<0xA'], ['0xA1>'], ['<0x>'], ['<0xEF>', '<0xBB>', '<0xBF>']),
      fc.string({ unit: fc.constantFrom(SPACE, ' ', 'a', 'A', '1', 'é', '中', '😀', '<', '>', 'x', '+'), maxLength: 5 }).map((t) => [t]),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.flat());

// ------------------------------------------------------------------------------------------------
// The spec
// ------------------------------------------------------------------------------------------------

/** The backends checked here: transformers.js too when it is installed (its absence is reported by the test below). */
const BACKENDS: ReadonlyArray<TokenizerBackend> = hasTransformers ? ['js', 'native', 'transformers'] : ['js', 'native'];

describe(`tokenizer backends: ${BACKENDS.join(', ')} (FC_SEED=${FC_SEED})`, () => {
  let files: TokenizerFiles;
  let oracle: ReturnType<typeof wholeTextEncoders>;
  const ports: Record<string, TokenizerPort> = {};
  const port = (backend: TokenizerBackend, segmentCacheChars?: number): TokenizerPort => ports[`${backend}:${segmentCacheChars ?? 'default'}`]!;
  let vocabSize: number;
  let idOf: (token: string) => number | undefined;

  before(async () => {
    files = await readTokenizerFolder(defaultTokenizerDir());
    oracle = wholeTextEncoders(files);
    for (const backend of BACKENDS) {
      for (const segmentCacheChars of [undefined, 0, 50]) {
        const options: LoadTokenizerOptions = { ...OPTIONS, backend, ...(segmentCacheChars === undefined ? {} : { segmentCacheChars }) };
        ports[`${backend}:${segmentCacheChars ?? 'default'}`] = await loadDefaultTokenizer(options);
      }
    }
    const json = oracle.setup.json as Json;
    const vocab = (json['model'] as Json)['vocab'] as Record<string, number>;
    const added = json['added_tokens'] as Json[];
    const byToken = new Map<string, number>([...Object.entries(vocab), ...added.map((t) => [t['content'] as string, t['id'] as number] as const)]);
    idOf = (token) => byToken.get(token);
    vocabSize = Math.max(...byToken.values()) + 1;
  });

  describe('encoding', () => {
    it('the setup is the one the word path applies to (word split safe, added tokens splittable)', () => {
      assert.equal(wordSplitSafe(oracle.setup.json), true);
      assert.deepEqual(
        (oracle.setup.json['added_tokens'] as Json[]).map((t) => t['content']),
        ['<unk>', '<s>', '</s>', ...ADDITIONAL],
      );
    });

    it('the transformers backend is checked here (transformers.js is installed)', needsTransformers(), () => {
      assert.ok(BACKENDS.includes('transformers') && oracle.transformersWhole !== null);
    });

    it('every backend\'s port, and @huggingface/tokenizers, transformers.js and Rust on whole texts give the same ids on fuzzed text', async () => {
      await fc.assert(
        allAgree(() => [
          oracle.jsWhole,
          ...BACKENDS.map((backend): Encoder => (t) => port(backend).encodeBatch(t)),
          ...(oracle.transformersWhole === null ? [] : [oracle.transformersWhole]),
          oracle.rustWhole,
        ]),
        fcParams({
          numRuns: 2000,
          examples: [
            [['<query>hello  world\t\nfoo<s></s>', `a${SPACE}${SPACE}b ${SPACE} c`, '', ' ', '  ', '😀中文 café', '<instruct><query>', 'x<response>y']],
            [['\t\t', '\n\n\n', ` ${SPACE}`, `${SPACE} `, 'a  b   c    d', '<s> </s>', '</s>  <s>']],
          ],
        }),
      );
    });

    it('the ports with segmentCacheChars 0 and 50 give the default ids, also under concurrent encodeBatch calls on one port', async () => {
      // Calls drawn from a small pool of texts, so that pieces and words recur across concurrent calls.
      const callsArb = fc
        .array(textArb, { minLength: 1, maxLength: 5 })
        .chain((pool) => fc.array(fc.array(fc.constantFrom(...pool), { maxLength: 4 }), { minLength: 1, maxLength: 5 }));
      await fc.assert(
        fc.asyncProperty(callsArb, async (calls) => {
          const expected = await Promise.all(calls.map(oracle.jsWhole));
          for (const backend of BACKENDS) {
            for (const size of [undefined, 0, 50]) {
              const p = port(backend, size);
              const got = await Promise.all(calls.map((texts) => p.encodeBatch(texts)));
              if (!isDeepStrictEqual(got, expected)) return false;
            }
          }
          return true;
        }),
        fcParams({ numRuns: 300 }),
      );
    });

    it("countBatch (where the port has it) gives the lengths of encodeBatch's ids, for every cache size, also concurrently", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(textsArb, { minLength: 1, maxLength: 4 }), async (calls) => {
          const expected = (await Promise.all(calls.map(oracle.jsWhole))).map((ids) => ids.map((row) => row.length));
          for (const backend of BACKENDS) {
            for (const size of [undefined, 0, 50]) {
              const p = port(backend, size);
              if (p.countBatch === undefined) return false; // the word path is taken for Mistral, so it counts
              const got = await Promise.all(calls.map((texts) => p.countBatch!(texts)));
              if (!isDeepStrictEqual(got, expected)) return false;
            }
          }
          return true;
        }),
        fcParams({ numRuns: 300 }),
      );
    });

    it('meta: the same property fails for an encoder that cuts words at every ▁ (also between two ▁), and holds when it cuts where the port does', async () => {
      const everySpace = wordCutEncoder(oracle.setup, cutAtEverySpace);
      const likeThePort = wordCutEncoder(oracle.setup, cutAfterNonSpace);
      assert.deepEqual(cutAfterNonSpace(`${SPACE}a${SPACE}${SPACE}b${SPACE}`), [`${SPACE}a`, `${SPACE}${SPACE}b`, SPACE]);
      assert.deepEqual(cutAtEverySpace(`${SPACE}a${SPACE}${SPACE}b`), [`${SPACE}a`, SPACE, `${SPACE}b`]);
      await fc.assert(allAgree(() => [oracle.jsWhole, likeThePort]), fcParams({ numRuns: 500 }));
      assertCaught(await fc.check(allAgree(() => [oracle.jsWhole, everySpace]), fcParams({ numRuns: 500 })));
    });
  });

  describe('decoding', () => {
    it('byte tokens are where the spec expects them (<0x00> … <0xFF> are ids 3 … 258)', () => {
      assert.equal(idOf('<0x00>'), 3);
      assert.equal(idOf('<0xE4>'), 3 + 0xe4);
      assert.equal(vocabSize, 32003);
    });

    it("every backend decodes random id lists as Rust's own decode does, unknown ids included", async () => {
      const idArb = fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: vocabSize - 1 }) },
        { weight: 4, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((b) => 3 + b) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((b) => 3 + b) },
        { weight: 1, arbitrary: fc.integer({ min: vocabSize, max: vocabSize + 5 }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(idArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (lists) => {
          const rust = await oracle.rustDecode(lists);
          for (const backend of BACKENDS) if (!isDeepStrictEqual(await port(backend).decodeBatch(lists), rust)) return false;
          return true;
        }),
        fcParams({ numRuns: 1500 }),
      );
    });

    it("every backend decodes the ids of random texts cut at every position (multi-byte characters cut apart) as Rust's own decode does", async () => {
      await fc.assert(
        fc.asyncProperty(textArb, async (text) => {
          const [ids] = await port('js').encodeBatch([text]);
          const lists = [];
          for (let k = 0; k <= ids!.length; k++) lists.push(ids!.slice(0, k), ids!.slice(k));
          const rust = await oracle.rustDecode(lists);
          for (const backend of BACKENDS) if (!isDeepStrictEqual(await port(backend).decodeBatch(lists), rust)) return false;
          return true;
        }),
        fcParams({ numRuns: 500, examples: [['中文😀 ∑𝔽 한국어']] }),
      );
    });

    it("an invalid UTF-8 run of byte tokens is one U+FFFD per byte, in every backend and in Rust's own decode", async () => {
      const b = (...bytes: number[]) => bytes.map((x) => 3 + x);
      const cases: Array<[number[], string]> = [
        [b(0xe4), '\uFFFD'],
        [b(0xe4, 0xb8), '\uFFFD\uFFFD'],
        [b(0xe4, 0xb8, 0xad), '中'],
        [[...b(0xe4, 0xb8), idOf('▁a')!, ...b(0xad)], '\uFFFD\uFFFD a\uFFFD'],
        // A valid character followed by a stray continuation byte: the whole run is invalid.
        [b(0xe4, 0xb8, 0xad, 0xad), '\uFFFD\uFFFD\uFFFD\uFFFD'],
        [b(0xff, 0xfe, 0xc0, 0x80), '\uFFFD\uFFFD\uFFFD\uFFFD'],
        [b(0xed, 0xa0, 0x80), '\uFFFD\uFFFD\uFFFD'],
        [b(0xef, 0xbb, 0xbf), '\uFEFF'],
      ];
      for (const backend of BACKENDS) {
        assert.deepEqual(await port(backend).decodeBatch(cases.map(([ids]) => ids)), cases.map(([, text]) => text), backend);
      }
      assert.deepEqual(await oracle.rustDecode(cases.map(([ids]) => ids)), cases.map(([, text]) => text), 'rust');
    });
  });

  describe('wordSplitSafe', () => {
    /** Mistral's files with one more merge, first in the list: `a` + `▁b` → `a▁b`, which joins two words. */
    const unsafeFiles = (): TokenizerFiles => {
      const json = structuredClone(files.tokenizerJson) as Json;
      const model = json['model'] as { vocab: Record<string, number>; merges: string[] };
      model.vocab[`a${SPACE}b`] = Object.keys(model.vocab).length;
      model.merges.unshift(`a ${SPACE}b`);
      return { ...files, tokenizerJson: json };
    };

    it("is true for the shipped Mistral tokenizer.json, false when a merge's result has ▁ after another character", () => {
      assert.equal(wordSplitSafe(tokenizerSetup(files, OPTIONS).json), true);
      assert.equal(wordSplitSafe(tokenizerSetup(unsafeFiles(), OPTIONS).json), false);
    });

    it('is false for each other thing that looks across words, true for merges of ▁ runs', () => {
      const json = tokenizerSetup(files, OPTIONS).json as Json;
      const model = json['model'] as Json;
      const withModel = (patch: Json): Json => ({ ...json, model: { ...model, ...patch } });
      const vocab = model['vocab'] as Record<string, number>;
      const merges = model['merges'] as string[];
      assert.equal(wordSplitSafe({ ...json, pre_tokenizer: { type: 'Metaspace', replacement: SPACE } }), false);
      assert.equal(wordSplitSafe(withModel({ ignore_merges: true })), false);
      assert.equal(wordSplitSafe(withModel({ dropout: 0.1 })), false);
      assert.equal(wordSplitSafe(withModel({ continuing_subword_prefix: '##' })), false);
      assert.equal(wordSplitSafe(withModel({ end_of_word_suffix: '</w>' })), false);
      assert.equal(wordSplitSafe(withModel({ byte_fallback: false })), false, 'fuse_unk without byte fallback');
      assert.equal(wordSplitSafe(withModel({ vocab: { ...vocab, [`x${SPACE}y`]: 99_999 } })), false, 'a vocabulary token across words');
      assert.equal(wordSplitSafe(withModel({ merges: [...merges, [`x${SPACE}`, 'y']] })), false, 'a merge in array form');
      assert.equal(wordSplitSafe(withModel({ type: 'Unigram' })), false);
      assert.equal(wordSplitSafe(withModel({ merges: [`${SPACE}${SPACE} ${SPACE}`, ...merges], vocab: { ...vocab, [`${SPACE}${SPACE}${SPACE}`]: 99_999 } })), true, '▁▁ + ▁ stays inside a word');
    });

    it('a port built from such files (every backend, whole texts behind the segment cache) still gives the whole-text ids', async () => {
      const unsafe = unsafeFiles();
      const whole = wholeTextEncoders(unsafe);
      const shipped = oracle;
      const texts = ['a b', 'ca b', 'data base', 'tea break<query>banana bread', '<s>la b</s>xa b', 'a  b', `a${SPACE}b`, '<query>a b<response>ca b'];
      const unsafeIds = await whole.jsWhole(texts);
      // The added merge matters: whole-text ids differ from the shipped tokenizer's on these texts.
      assert.notDeepEqual(unsafeIds, await shipped.jsWhole(texts));
      assert.deepEqual(await whole.rustWhole(texts), unsafeIds);
      if (whole.transformersWhole !== null) assert.deepEqual(await whole.transformersWhole(texts), unsafeIds);
      const unsafePorts = BACKENDS.flatMap((backend) =>
        [undefined, 0, 50].map((segmentCacheChars) => tokenizerFromFiles(unsafe, { ...OPTIONS, backend, ...(segmentCacheChars === undefined ? {} : { segmentCacheChars }) }, `unsafe-${backend}`)),
      );
      for (const p of unsafePorts) assert.deepEqual(await p.encodeBatch(texts), unsafeIds, p.name);
      // And on fuzzed text with "a b" glued in, concurrently.
      const withAB = fc.array(fc.oneof(textArb, fc.constantFrom('a b', 'ca b', 'a', ' b')), { maxLength: 4 }).map((parts) => parts.join(''));
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(withAB, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), async (calls) => {
          const expected = await Promise.all(calls.map(whole.jsWhole));
          for (const p of unsafePorts) if (!isDeepStrictEqual(await Promise.all(calls.map((t) => p.encodeBatch(t))), expected)) return false;
          return true;
        }),
        fcParams({ numRuns: 150 }),
      );
    });
  });

  describe('the fused Llama decoder', () => {
    it('Replace ▁→" ", ByteFallback, Fuse, Strip: fused equals the step-by-step chain and the model, on random tokens with byte tokens', () => {
      const fused = fusedLlama(SPACE, ' ');
      const stepwise = stepwiseLlama(SPACE, ' ');
      fc.assert(
        fc.property(tokensArb, (tokens) => {
          const expected = decoderModel(tokens, SPACE, ' ', 1);
          return fused(tokens) === expected && stepwise(tokens) === expected;
        }),
        fcParams({ numRuns: 3000, examples: [[['<0xE4>', '<0xB8>', `${SPACE}a`, '<0xAD>']], [[' ', '<0x20>', 'x']], [['<0xEF>', '<0xBB>', '<0xBF>']]] }),
      );
    });

    it('any Replace (pattern and content from ▁, hex digits, <, x, >, +, space): the compiled chain equals the step-by-step one and the model', () => {
      const chars = fc.constantFrom(SPACE, ' ', 'A', '1', 'e', '<', '>', 'x', '0', '+', 'é', 'z');
      fc.assert(
        fc.property(fc.string({ unit: chars, minLength: 1, maxLength: 2 }), fc.string({ unit: chars, maxLength: 2 }), tokensArb, (from, to, tokens) => {
          const expected = decoderModel(tokens, from, to, 1);
          return fusedLlama(from, to)(tokens) === expected && stepwiseLlama(from, to)(tokens) === expected;
        }),
        fcParams({ numRuns: 3000 }),
      );
    });

    it('a Replace whose content holds hex digits is not fused, and stays right (▁→A turns <0x▁1> into byte 0xA1)', () => {
      const decode = compileDecoder({ type: 'Sequence', decoders: [replace(SPACE, 'A'), { type: 'ByteFallback' }, { type: 'Fuse' }] });
      // Replaced first, the tokens are byte tokens: 0xA1 alone is not UTF-8, so one U+FFFD each.
      assert.equal(decode([`<0x${SPACE}1>`, `<0x${SPACE}1>`]), '\uFFFD\uFFFD');
      assert.equal(decode(['<0xC3>', `<0x${SPACE}9>`]), 'é');
      // A pattern holding hex digits: <0xA1> becomes "<0x 1>", plain text.
      const byPattern = compileDecoder({ type: 'Sequence', decoders: [replace('A', ' '), { type: 'ByteFallback' }, { type: 'Fuse' }] });
      assert.equal(byPattern(['<0xA1>', 'A']), '<0x 1> ');
      fc.assert(
        fc.property(tokensArb, (tokens) => decode(tokens) === decoderModel(tokens, SPACE, 'A', 0)),
        fcParams({ numRuns: 500 }),
      );
    });

    it('compileIdDecoder (a table per id when fused) equals compileDecoder on the ids\' tokens, unknown ids skipped, fused or not', () => {
      const chars = fc.constantFrom(SPACE, ' ', 'A', '1', '<', '>', 'x', 'é');
      fc.assert(
        fc.property(
          fc.string({ unit: chars, minLength: 1, maxLength: 2 }),
          fc.string({ unit: chars, maxLength: 2 }),
          fc.boolean(),
          tokensArb,
          fc.array(fc.nat({ max: 40 }), { maxLength: 20 }),
          (from, to, fusable, vocabulary, ids) => {
            // A Replace wrapped in a Sequence of its own is never fused: the general path.
            const spec = { type: 'Sequence', decoders: [fusable ? replace(from, to) : { type: 'Sequence', decoders: [replace(from, to)] }, ...LLAMA_TAIL] };
            const tokens = new Map(vocabulary.map((t, id) => [id, t] as const));
            const expected = compileDecoder(spec)(ids.flatMap((id) => (tokens.has(id) ? [tokens.get(id)!] : [])));
            return compileIdDecoder(spec, tokens)(ids) === expected;
          },
        ),
        fcParams({ numRuns: 2000 }),
      );
    });

    it('compileIdDecoder: the example of its documentation', () => {
      const mistral = { type: 'Sequence', decoders: [replace(SPACE, ' '), ...LLAMA_TAIL] };
      assert.equal(compileIdDecoder(mistral, new Map([[1, `${SPACE}a`], [2, '<0x21>'], [3, `${SPACE}b`]]))([1, 2, 99, 3]), 'a! b');
    });

    it('the Mistral port decodes as the model does (its decoder is the fused one)', async () => {
      await fc.assert(
        fc.asyncProperty(tokensArb, async (tokens) => {
          const known = tokens.filter((t) => idOf(t) !== undefined);
          const [text] = await port('js').decodeBatch([known.map((t) => idOf(t)!)]);
          return text === decoderModel(known, SPACE, ' ', 1);
        }),
        fcParams({ numRuns: 1000 }),
      );
    });

    it('meta: the model property fails for a fused pass that replaces before looking for bytes when the content holds hex digits', () => {
      // What fusing ▁→A would do: bytes are looked for in the tokens as they come, then ▁ is replaced.
      const wronglyFused = (tokens: ReadonlyArray<string>): string => {
        const bytes = compileDecoder({ type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Fuse' }] });
        return bytes(tokens).split(SPACE).join('A');
      };
      assertCaught(fc.check(fc.property(tokensArb, (tokens) => wronglyFused(tokens) === decoderModel(tokens, SPACE, 'A', 0)), fcParams({ numRuns: 500 })));
    });
  });

  describe('wordEncoder piece cache', () => {
    it('after concurrent calls that miss the same pieces, a piece well under the capacity is still kept (the cache does not shrink)', async () => {
      // Two concurrent calls that miss a piece both store it; it must be counted once, or the count
      // drifts up and what the cache can hold drifts down with every such pair.
      let normalized = 0;
      const { encodeBatch: encode } = wordEncoder({
        splitTokens: [{ content: '<s>', id: 1 }],
        normalize: (piece) => {
          normalized += 1;
          return `${SPACE}${piece.replaceAll(' ', SPACE)}`;
        },
        model: async (words) => {
          await new Promise<void>((r) => setImmediate(r));
          return words.map((w) => [...w].map((c) => c.codePointAt(0)!));
        },
        pieceCacheChars: 100,
      });
      for (let i = 0; i < 40; i++) {
        const text = `<s>piece ${i}`;
        await Promise.all([encode([text]), encode([text])]);
      }
      const probe = '<s>a piece of twenty chars';
      await encode([probe]);
      const before = normalized;
      await encode([probe]);
      assert.equal(normalized - before, 0, 'the piece just encoded should come from the piece cache');
    });
  });
});
