/**
 * A tiny, hermetic tokenizer for the specs of other stages: a miniature of the Llama/Mistral tokenizer
 * (same normalizer, byte fallback, decoder chain and BOS/EOS template), small enough to reason about.
 *
 * @module
 */
import type { TokenizerPort } from './port.js';
import { tokenizerFromFiles, type LoadTokenizerOptions, type TokenizerFiles } from './transformers.js';

const SPACE = '\u2581';

const specialToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * The fixture's `tokenizer.json` and `tokenizer_config.json` (fresh objects on every call).
 *
 * **Details**: vocabulary, by id: `<unk>` 0, `<s>` 1, `</s>` 2, the byte tokens `<0x00>`…`<0xFF>`
 * 3…258, `▁` 259, the printable ASCII characters `!`…`~` 260…353 (id = code + 227), then the merges
 * `▁t` 354, `he` 355, `▁the` 356, `▁a` 357. `tokenizer_class` is `LlamaTokenizer`, so loading rewrites
 * the post-processor to `<s> $A </s>` as Python does. spec/tokenizers/golden/generate.py builds the same
 * files from the same recipe, and the spec checks that Python gives the fixture's ids.
 *
 * @category constructors
 */
export const fixtureTokenizerFiles = (): TokenizerFiles => {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let next = 3;
  for (let b = 0; b < 256; b += 1) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = next++;
  vocab[SPACE] = next++;
  for (let c = 0x21; c < 0x7f; c += 1) vocab[String.fromCharCode(c)] = next++;
  const merges: Array<[string, string]> = [
    [SPACE, 't'],
    ['h', 'e'],
    [`${SPACE}t`, 'he'],
    [SPACE, 'a'],
  ];
  for (const [a, b] of merges) vocab[a + b] = next++;
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [specialToken(0, '<unk>'), specialToken(1, '<s>'), specialToken(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'LlamaTokenizer',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: 2048,
  };
  return { tokenizerJson, tokenizerConfig };
};

/**
 * A tiny Llama-like {@link TokenizerPort} built offline from inline JSON, through the same code path as
 * real folders ({@link tokenizerFromFiles}), for the specs of other stages.
 *
 * **Details**: like Llama, a text gets a leading `▁` and every space becomes `▁` (id 259). Each
 * printable ASCII character is one token (id = char code + 227), except the merges `▁t`, `he`, `▁the`,
 * `▁a`. Every other character (tab, newline, `é`, `中`, emoji) becomes its UTF-8 bytes as `<0xXX>`
 * tokens (id = byte + 3). So **no word is ever unknown** and `<unk>` never comes out of encoding;
 * decoding a cut inside a multi-byte character gives one U+FFFD per byte, as the real tokenizer does.
 * Options are {@link loadTokenizer}'s: by default `specialTokens` is `{ prefix: [1], suffix: [2] }`
 * (`<s>` … `</s>`), pad id 0 (`<unk>`), and additional special tokens get ids 358, 359, ….
 *
 * @example
 * const tok = fixtureTokenizer({ additionalSpecialTokens: ['<query>'] });
 * await tok.encodeBatch(['<query>the cat']); // [[358, 356, 259, 326, 324, 343]]
 * await tok.decodeBatch([[356, 259, 326]]); // ['the c']
 *
 * @category constructors
 */
export const fixtureTokenizer = (options: LoadTokenizerOptions = {}): TokenizerPort =>
  tokenizerFromFiles(fixtureTokenizerFiles(), options, 'fixture');
