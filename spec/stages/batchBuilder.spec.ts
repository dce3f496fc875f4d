/**
 * The composed pipeline runs the four text stages as one step per batch (so that batches can be
 * built concurrently, or on worker threads): that must be the same as piping the stages.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { from, toArray } from 'ix/asynciterable';
import { isDeepStrictEqual } from 'node:util';
import { mapConcurrent } from '../../lib/core/mapConcurrent.js';
import { batchBuilder } from '../../lib/stages/batchBuilder.js';
import { augmentIcl } from '../../lib/stages/augmentIcl.js';
import { formatPrompt } from '../../lib/stages/formatPrompt.js';
import { pad } from '../../lib/stages/pad.js';
import { tokenize } from '../../lib/stages/tokenize.js';
import { runnable, sampledBatchesOf } from '../arbitraries/batches.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

describe(`batchBuilder (FC_SEED=${FC_SEED})`, () => {
  it('equals formatPrompt → augmentIcl → tokenize → pad piped as stages, for any number of batches in flight', async () => {
    await fc.assert(
      fc.asyncProperty(runnable, fc.integer({ min: 1, max: 5 }), async (r, concurrency) => {
        const sampled = await sampledBatchesOf(r);
        const o = r.options;
        const piped = await toArray(
          from(sampled).pipe(formatPrompt(o), augmentIcl(o), tokenize(o), pad({ ...o, padTokenId: o.tokenizer.padTokenId, paddingSide: o.tokenizer.paddingSide })),
        );
        const built = await toArray(from(sampled).pipe(mapConcurrent(concurrency, batchBuilder(o))));
        return isDeepStrictEqual(built, piped);
      }),
      fcParams({ numRuns: 25 }),
    );
  });
});
