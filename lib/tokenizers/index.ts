/**
 * Tokenizers: the port stages depend on, the Hugging Face tokenizer adapter (with transformers.js
 * tokenizers handed in) and the hermetic fixture.
 *
 * @module
 */
export type { TokenizerPort, TokenizerRecipe } from './port.js';
export {
  loadTokenizer,
  loadDefaultTokenizer,
  defaultTokenizerDir,
  tokenizerFromFiles,
  tokenizerFromRecipe,
  readTokenizerFolder,
  tokenizerSetup,
  fromTransformersTokenizer,
  type LoadTokenizerOptions,
  type TokenizerBackend,
  type TransformersJsTokenizer,
  type TokenizerFiles,
  type TokenizerSetup,
} from './transformers.js';
export { fixtureTokenizer, fixtureTokenizerFiles } from './fixture.js';
