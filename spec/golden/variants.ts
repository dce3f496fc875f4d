/**
 * The ways every parity configuration is run: each tokenizer backend, with and without worker
 * threads. The output must not depend on how it is computed. The transformers.js variant (a
 * tokenizer loaded by transformers.js's `AutoTokenizer` and handed in) needs the optional peer
 * installed, and says so.
 *
 * The worker-thread variants run rank 0 of every configuration (every option the configurations
 * exercise), not every rank: a rank's slice is chosen upstream of the threads, which only build
 * batches, and every rank runs on each backend in this thread. Each of their runs mostly starts
 * threads (about 1.5 s against 0.5 s), and every rank would add about a minute to `npm test`.
 */
import { needsTransformers } from '../helpers/transformers.js';

export interface Variant {
  readonly name: string;
  readonly argv: ReadonlyArray<string>;
  readonly skip?: { skip?: string };
  /** `'first'`: rank 0 of each configuration only. Default: every rank. */
  readonly ranks?: 'all' | 'first';
}

/** The ranks of a configuration of `worldSize` that `variant` runs. */
export const ranksOf = (variant: Variant, worldSize: number): number[] => Array.from({ length: variant.ranks === 'first' ? 1 : worldSize }, (_, r) => r);

export const VARIANTS: ReadonlyArray<Variant> = [
  { name: '@huggingface/tokenizers, this thread', argv: [] },
  { name: 'native tokenizers, 4 batches at once', argv: ['--tokenizer_backend', 'native', '--concurrency', '4'] },
  { name: '@huggingface/tokenizers, 2 worker threads', argv: ['--workers', '2'], ranks: 'first' },
  { name: 'native tokenizers, 2 worker threads', argv: ['--tokenizer_backend', 'native', '--workers', '2'], ranks: 'first' },
  { name: 'transformers.js (AutoTokenizer, handed in), this thread', argv: ['--tokenizer_backend', 'transformers'], skip: needsTransformers() },
];
