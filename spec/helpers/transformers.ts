/**
 * Whether the optional peer `@huggingface/transformers` (transformers.js) is installed: the specs of
 * the `'transformers'` tokenizer backend run only then, and say why they skip otherwise.
 */
import { createRequire } from 'node:module';

/** Whether `@huggingface/transformers` resolves from here. */
export const hasTransformers: boolean = (() => {
  try {
    createRequire(import.meta.url).resolve('@huggingface/transformers');
    return true;
  } catch {
    return false;
  }
})();

/** `{ skip: 'skipped: …' }` when transformers.js is not installed, for node:test's `it(name, options, fn)` and `describe`. */
export const needsTransformers = (): { skip?: string } =>
  hasTransformers ? {} : { skip: 'skipped: the optional peer dependency @huggingface/transformers is not installed' };
