/**
 * The token budgets of FlagEmbedding's ICL texts, computed once per tokenizer and settings.
 *
 * @module
 */
import { ConfigError } from '../core/errors.js';
import type { TokenizerPort } from '../tokenizers/port.js';

/**
 * The token budgets of the final texts: of a query (after BOS, and the ICL suffix with EOS) and of
 * a symmetric passage (after one token and the suffix), as the reference computes them.
 *
 * @category plan
 */
export interface IclBudgets {
  readonly query: number;
  readonly passage: number;
}

/**
 * {@link IclBudgets} for a tokenizer and settings (two short encodes).
 *
 * @throws {ConfigError} when `query_max_len` leaves no room for a query.
 *
 * @example
 * const { query, passage } = await iclBudgets(tokenizer, { queryMaxLen: 2048, passageMaxLen: 512, iclSuffixStr: '\n<response>' });
 *
 * @category plan
 */
export const iclBudgets = async (
  tokenizer: TokenizerPort,
  options: {
    readonly queryMaxLen: number;
    readonly passageMaxLen: number;
    readonly iclSuffixStr: string;
    /** The texts whose ids are taken off the budgets. Default: the ICL suffix with EOS, and BOS (the research flavor measures others). */
    readonly texts?: { readonly prefix: string; readonly suffix: string };
  },
): Promise<IclBudgets> => {
  // The reference formats the token strings with an f-string, so a missing token reads "None".
  const texts = options.texts ?? { suffix: `${options.iclSuffixStr}${tokenizer.eosToken ?? 'None'}`, prefix: `${tokenizer.bosToken ?? 'None'}` };
  const [suffixIds, bosIds] = await tokenizer.encodeBatch([texts.suffix, texts.prefix]);
  const query = options.queryMaxLen - bosIds!.length - suffixIds!.length;
  if (query < 1) throw new ConfigError('query_max_len', `${options.queryMaxLen} leaves no room for a query after BOS and the ICL suffix (${bosIds!.length + suffixIds!.length} tokens)`);
  return { query, passage: options.passageMaxLen - 1 - suffixIds!.length };
};

/**
 * A symmetric task's passages need a budget of at least one token.
 *
 * @throws {ConfigError} naming `passage_max_len`.
 *
 * @category plan
 */
export const checkSymmetricBudget = (options: { readonly passageMaxLen: number }, passageBudget: number): void => {
  if (passageBudget < 1) throw new ConfigError('passage_max_len', `${options.passageMaxLen} leaves no room for a symmetric passage after the ICL suffix`);
};
