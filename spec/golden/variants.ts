/**
 * The ways every parity configuration is run: each tokenizer backend, with and without worker
 * threads. The output must not depend on how it is computed. The transformers.js variant (a
 * tokenizer loaded by transformers.js's `AutoTokenizer` and handed in) needs the optional peer
 * installed, and says so.
 *
 * The two worker-thread variants share the configurations between them (the js backend the even
 * ones, the native backend the odd ones, so every configuration runs on worker threads once) and
 * run rank 0 only: a rank's slice is chosen upstream of the threads, which only build batches, and
 * every rank of every configuration runs on each backend in this thread. Each of their runs mostly
 * starts threads (about 1.5 s against 0.5 s); all of them would add two minutes to `npm test`.
 */
import { needsTransformers } from '../helpers/transformers.js';

export interface Variant {
  readonly name: string;
  readonly argv: ReadonlyArray<string>;
  readonly skip?: { skip?: string };
  /** `'first'`: rank 0 of each configuration only. Default: every rank. */
  readonly ranks?: 'all' | 'first';
  /** Runs the configurations whose index in the list has this parity. Default: every configuration. */
  readonly configs?: 'even' | 'odd';
}

/** The ranks of the `index`th configuration (of `worldSize`) that `variant` runs: none, rank 0, or all. */
export const ranksOf = (variant: Variant, index: number, worldSize: number): number[] => {
  if (variant.configs !== undefined && index % 2 !== (variant.configs === 'even' ? 0 : 1)) return [];
  return Array.from({ length: variant.ranks === 'first' ? 1 : worldSize }, (_, r) => r);
};

export const VARIANTS: ReadonlyArray<Variant> = [
  { name: '@huggingface/tokenizers, this thread', argv: [] },
  { name: 'native tokenizers, 4 batches at once', argv: ['--tokenizer_backend', 'native', '--concurrency', '4'] },
  { name: '@huggingface/tokenizers, 2 worker threads', argv: ['--workers', '2'], ranks: 'first', configs: 'even' },
  { name: 'native tokenizers, 2 worker threads', argv: ['--tokenizer_backend', 'native', '--workers', '2'], ranks: 'first', configs: 'odd' },
  { name: 'transformers.js (AutoTokenizer, handed in), this thread', argv: ['--tokenizer_backend', 'transformers'], skip: needsTransformers() },
];
