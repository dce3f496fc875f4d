/**
 * fast-check settings shared by every property: one seed for the whole run, from FC_SEED, so that a
 * failure can be replayed with `FC_SEED=<seed> npm test`. CI must set it (.ci/run does).
 */
import type { Parameters } from 'fast-check';

const DEFAULT_SEED = 20261127;

const readSeed = (): number => {
  const raw = process.env['FC_SEED'];
  if (raw === undefined || raw === '') {
    if (process.env['CI']) throw new Error('FC_SEED must be set in CI so that property runs can be replayed');
    return DEFAULT_SEED;
  }
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed;
};

/** The seed of this run's properties; printed in describe titles. */
export const FC_SEED = readSeed();

/** Parameters for `fc.assert`: the run's seed, bounded time (a timeout is a failure, not a pass). */
export const fcParams = <T>(extra: Parameters<T> = {}): Parameters<T> => ({
  seed: FC_SEED,
  interruptAfterTimeLimit: 60_000,
  markInterruptAsFailure: true,
  ...extra,
});
