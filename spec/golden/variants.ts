/**
 * The ways every parity configuration is run: each tokenizer backend, with and without worker
 * threads. The output must not depend on how it is computed. The transformers.js variant (a
 * tokenizer loaded by transformers.js's `AutoTokenizer` and handed in) needs the optional peer
 * installed, and says so.
 */
import { needsTransformers } from '../helpers/transformers.js';

export const VARIANTS: ReadonlyArray<{ readonly name: string; readonly argv: ReadonlyArray<string>; readonly skip?: { skip?: string } }> = [
  { name: '@huggingface/tokenizers, this thread', argv: [] },
  { name: 'native tokenizers, 4 batches at once', argv: ['--tokenizer_backend', 'native', '--concurrency', '4'] },
  { name: '@huggingface/tokenizers, 2 worker threads', argv: ['--workers', '2'] },
  { name: 'native tokenizers, 2 worker threads', argv: ['--tokenizer_backend', 'native', '--workers', '2'] },
  { name: 'transformers.js (AutoTokenizer, handed in), this thread', argv: ['--tokenizer_backend', 'transformers'], skip: needsTransformers() },
];
