/**
 * The ways every parity configuration is run: each tokenizer backend, with and without worker
 * threads. The output must not depend on how it is computed.
 */
export const VARIANTS: ReadonlyArray<{ readonly name: string; readonly argv: ReadonlyArray<string> }> = [
  { name: 'transformers.js, this thread', argv: [] },
  { name: 'native tokenizers, 4 batches at once', argv: ['--tokenizer_backend', 'native', '--concurrency', '4'] },
  { name: 'transformers.js, 2 worker threads', argv: ['--workers', '2'] },
  { name: 'native tokenizers, 2 worker threads', argv: ['--tokenizer_backend', 'native', '--workers', '2'] },
];
