/**
 * Seeds as the reference libraries see them: arbitrary-size Python ints. JSON numbers above 2^53 are
 * already rounded by `JSON.parse`, so large seeds travel as decimal strings or bigints.
 *
 * @module
 */
import { ConfigError, InvariantError } from '../core/errors.js';

/**
 * A seed: a bigint, a safe-integer number, or a decimal string (`"12345678901234567890123"`).
 *
 * @example
 * const seeds: Seed[] = [42, 42n, '42', '340282366920938463463374607431768211457'];
 *
 * @category random
 */
export type Seed = bigint | number | string;

/**
 * How {@link parseSeed} treats the sign.
 *
 * @category random
 */
export interface ParseSeedOptions {
  /** `true` for CPython's `random.seed` (which takes `|seed|`), `false` for numpy (which rejects negatives). */
  readonly allowNegative: boolean;
}

const DECIMAL = /^-?[0-9]+$/;

/**
 * Turns a {@link Seed} into the exact integer it denotes.
 *
 * **Details**: strings must be plain decimal integers (an optional `-`, then digits; no spaces,
 * `+`, `_`, exponent or hex). Numbers must be safe integers.
 *
 * **Gotchas**: a number above `Number.MAX_SAFE_INTEGER` is rejected rather than silently used,
 * because by the time it is a JS number it is usually no longer the seed the user wrote.
 * The sign is kept (callers that want `|seed|` take it themselves).
 *
 * @throws {ConfigError} (`option: 'seed'`) for non-integers, unsafe numbers, malformed strings, and
 *   negatives unless `allowNegative`.
 *
 * @example
 * parseSeed('18446744073709551616', { allowNegative: false }); // 18446744073709551616n
 * parseSeed(-7, { allowNegative: true });                      // -7n
 *
 * @category random
 */
export const parseSeed = (seed: Seed, options: ParseSeedOptions): bigint => {
  let value: bigint;
  if (typeof seed === 'bigint') {
    value = seed;
  } else if (typeof seed === 'number') {
    if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${seed}`);
    if (!Number.isSafeInteger(seed)) {
      throw new ConfigError(
        'seed',
        `${seed} is above 2^53 and has lost precision; pass it as a decimal string or a bigint`,
      );
    }
    value = BigInt(seed);
  } else if (typeof seed === 'string') {
    if (!DECIMAL.test(seed)) throw new ConfigError('seed', `must be a decimal integer, got ${JSON.stringify(seed)}`);
    value = BigInt(seed);
  } else {
    // Untyped callers (JSON configs) can hand over anything.
    throw new ConfigError('seed', `must be a bigint, a number or a decimal string, got ${typeof seed}`);
  }
  if (value < 0n && !options.allowNegative) throw new ConfigError('seed', `must be non-negative, got ${value}`);
  return value;
};

/**
 * Cuts a non-negative integer into 32-bit words, least significant first; `0n` gives `[0]`.
 *
 * **Details**: both numpy's `SeedSequence` and CPython's `random.seed` key their generators with
 * exactly these words (`max(1, ceil(bitlen / 32))` of them, no zero padding).
 *
 * @throws {InvariantError} for a negative input (a caller bug: take the sign off first).
 *
 * @example
 * toUint32Words(2n ** 32n + 1n); // [1, 1]
 * toUint32Words(0n);             // [0]
 *
 * @category random
 */
export const toUint32Words = (n: bigint): number[] => {
  if (n < 0n) throw new InvariantError(`toUint32Words: negative input ${n}`);
  const words: number[] = [];
  let rest = n;
  do {
    words.push(Number(rest & 0xffffffffn));
    rest >>= 32n;
  } while (rest > 0n);
  return words;
};
