/**
 * Tokenizers: the port stages depend on, the transformers.js adapter and the hermetic fixture.
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
  type LoadTokenizerOptions,
  type TokenizerFiles,
  type TokenizerSetup,
} from './transformers.js';
export { fixtureTokenizer, fixtureTokenizerFiles } from './fixture.js';
