/**
 * Tokenizers: the port stages depend on, the transformers.js adapter and the hermetic fixture.
 *
 * @module
 */
export type { TokenizerPort } from './port.js';
export {
  loadTokenizer,
  loadDefaultTokenizer,
  defaultTokenizerDir,
  tokenizerFromFiles,
  tokenizerSetup,
  type LoadTokenizerOptions,
  type TokenizerFiles,
  type TokenizerSetup,
} from './transformers.js';
export { fixtureTokenizer, fixtureTokenizerFiles } from './fixture.js';
