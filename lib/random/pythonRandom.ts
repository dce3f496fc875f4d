/**
 * CPython's `random` module after `random.seed(int)`, bit for bit: MT19937 keyed with
 * `init_by_array(|seed| as 32-bit words)`, `getrandbits`, `_randbelow`, `random()`, `choice`,
 * `sample` (pool and set paths) and `shuffle`. Specification and vectors:
 * shared/notes/python-random-spec.md (identical streams on CPython 3.8 … 3.13).
 *
 * @module
 */
import { ConfigError, InvariantError } from '../core/errors.js';
import { parseSeed, toUint32Words, type Seed } from './seed.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const U32 = 0xffffffff;
const TWO_32 = 4294967296;
const TWO_26 = 67108864;
const TWO_53 = 9007199254740992;

/**
 * Serializable snapshot of a {@link PythonRandom}: plain frozen data.
 *
 * **Details**: `mt` is the 624-word MT19937 table as unsigned 32-bit numbers and `index` the read
 * position (0 … 624), i.e. CPython's `random.getstate()[1][:624]` and `random.getstate()[1][624]`.
 *
 * @example
 * const s: PythonRandomState = pythonRandom(42);
 * s.index; // 624: the first draw regenerates the table
 *
 * @category random
 */
export interface PythonRandomState {
  readonly mt: ReadonlyArray<number>;
  readonly index: number;
}

/**
 * The pool/set threshold of CPython's `random.sample`: `21`, plus the smallest power of 4 that is
 * `≥ 3k` when `k > 5`. A population of length `n` takes the pool path iff `n ≤ sampleSetsize(k)`.
 *
 * @example
 * sampleSetsize(7); // 85, so sample(range(30), 7) is the pool path and sample(range(200), 7) the set path
 *
 * @category random
 */
export const sampleSetsize = (k: number): number => {
  let setsize = 21;
  if (k > 5) {
    // Python computes 4 ** ceil(log(3k, 4)); 3k is never a power of 4, so this loop agrees exactly.
    let p = 1;
    while (p < 3 * k) p *= 4;
    setsize += p;
  }
  return setsize;
};

// Up to this many picks, the set path's membership test scans the picked positions instead of
// using a Set: same answers, 2-3x faster for the small k the reference uses (measured on Node 20).
const LINEAR_SCAN_MAX = 64;

const contains = (xs: ArrayLike<number>, count: number, x: number): boolean => {
  for (let q = 0; q < count; q++) if (xs[q] === x) return true;
  return false;
};

const bitLengthBig = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);

/**
 * A mutable CPython `random.Random`, private to one computation.
 *
 * **Details**: the table is an `Int32Array` and draws allocate nothing. {@link PythonRandom.getrandbits}
 * returns a number (for `k ≤ 53`); {@link PythonRandom.getrandbitsBig} returns a bigint for any `k`.
 * Likewise {@link PythonRandom.randbelow} takes safe integers and {@link PythonRandom.randbelowBig} bigints.
 *
 * **Gotchas**: never share an instance between computations; hand out {@link PythonRandom.state}
 * snapshots (or {@link PythonRandom.clone}s). The pure helpers ({@link pythonSample} & co.) copy the
 * 624-word table on every call, so hot loops should use one instance.
 *
 * @example
 * const r = PythonRandom.fromSeed(0);
 * r.random();                               // 0.8444218515250481
 * r.sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3);
 *
 * @category random
 */
export class PythonRandom {
  // Lazily allocated workspaces (samplePositions' identity pool, drawn positions); never part of
  // the state, never shared by clones.
  private identity: Int32Array | undefined;
  private picked: Int32Array | undefined;

  private constructor(
    private readonly mt: Int32Array,
    private index: number,
  ) {}

  /**
   * `random.seed(seed)` for an int: `init_by_array` with `|seed|`'s 32-bit words (LSW first).
   *
   * **Details**: negative seeds give the stream of their absolute value, as in CPython.
   *
   * @throws {ConfigError} (`option: 'seed'`) for non-integer or unsafe-number seeds.
   *
   * @example
   * PythonRandom.fromSeed(-7).genrandUint32() === PythonRandom.fromSeed(7).genrandUint32(); // true
   */
  static fromSeed(seed: Seed): PythonRandom {
    const value = parseSeed(seed, { allowNegative: true });
    const key = toUint32Words(value < 0n ? -value : value);
    const mt = new Int32Array(N);
    // init_genrand(19650218); typed-array stores reduce the sums mod 2^32.
    mt[0] = 19650218;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
    let i = 1;
    let j = 0;
    for (let step = Math.max(N, key.length); step > 0; step--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) >>> 0) + key[j]! + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let step = N - 1; step > 0; step--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) >>> 0) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = UPPER_MASK;
    return new PythonRandom(mt, N);
  }

  /**
   * Rebuilds a generator from a {@link PythonRandomState} (the inverse of {@link PythonRandom.state}).
   *
   * @throws {ConfigError} (`option: 'state'`) unless `mt` is 624 u32 integers and `0 ≤ index ≤ 624`.
   *
   * @example
   * const r = PythonRandom.fromState(pythonRandom(42));
   */
  static fromState(s: PythonRandomState): PythonRandom {
    const { mt, index } = s;
    if (!Array.isArray(mt) || mt.length !== N) throw new ConfigError('state', `mt must be an array of ${N} u32 words`);
    const table = new Int32Array(N);
    for (let i = 0; i < N; i++) {
      const w: unknown = mt[i];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > U32) {
        throw new ConfigError('state', `mt[${i}] must be a u32, got ${String(w)}`);
      }
      table[i] = w;
    }
    if (!Number.isInteger(index) || index < 0 || index > N) {
      throw new ConfigError('state', `index must be an integer in [0, ${N}], got ${index}`);
    }
    return new PythonRandom(table, index);
  }

  /**
   * Snapshot of the current state (CPython's `getstate()` table and index), frozen.
   *
   * @example
   * PythonRandom.fromSeed(0).state().mt[0]; // 0x80000000
   */
  state(): PythonRandomState {
    return Object.freeze({ mt: Object.freeze(Array.from(this.mt, (w) => w >>> 0)), index: this.index });
  }

  /**
   * An independent copy at the same position.
   *
   * @example
   * const a = PythonRandom.fromSeed(1); const b = a.clone();
   * a.random() === b.random(); // true
   */
  clone(): PythonRandom {
    return new PythonRandom(this.mt.slice(), this.index);
  }

  /**
   * One tempered MT19937 output word (`genrand_uint32`), unsigned.
   *
   * @example
   * PythonRandom.fromSeed(0).genrandUint32(); // 3626764237
   */
  genrandUint32(): number {
    if (this.index >= N) this.regenerate();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * `getrandbits(k)` as a number, for `0 ≤ k ≤ 53`.
   *
   * **Details**: `k = 0` draws nothing; `k ≤ 32` keeps the top `k` bits of one word; `k > 32` takes two
   * words, the first one drawn being the low 32 bits.
   *
   * @throws {InvariantError} for `k` outside `[0, 53]` (use {@link PythonRandom.getrandbitsBig}).
   *
   * @example
   * PythonRandom.fromSeed(42).getrandbits(40); // 123005401501
   */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) throw new InvariantError(`getrandbits: k must be an integer in [0, 53], got ${k}`);
    // `w >>> 32` is `w >>> 0` in JS, so k = 0 cannot go through the shift.
    if (k === 0) return 0;
    if (k <= 32) return this.genrandUint32() >>> (32 - k);
    const lo = this.genrandUint32();
    return (this.genrandUint32() >>> (64 - k)) * TWO_32 + lo;
  }

  /**
   * `getrandbits(k)` for any `k ≥ 0`, as a bigint: `ceil(k / 32)` words, least significant first.
   *
   * @throws {InvariantError} for a negative or non-integer `k`.
   *
   * @example
   * PythonRandom.fromSeed(42).getrandbitsBig(100);
   */
  getrandbitsBig(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new InvariantError(`getrandbitsBig: k must be a non-negative integer, got ${k}`);
    let result = 0n;
    for (let i = 0, left = k; left > 0; i++, left -= 32) {
      const w = this.genrandUint32();
      result |= BigInt(left < 32 ? w >>> (32 - left) : w) << BigInt(32 * i);
    }
    return result;
  }

  /**
   * CPython's `_randbelow(n)`: uniform in `[0, n)` by rejection on `getrandbits(bitlen(n))`.
   *
   * **Gotchas**: the bit count is `bitlen(n)`, not `bitlen(n − 1)`: powers of two reject half the
   * time and `n = 1` still consumes one or more words.
   *
   * @throws {InvariantError} unless `n` is a safe integer `≥ 1` (CPython 3.11+ loops forever on 0).
   *
   * @example
   * PythonRandom.fromSeed(0).randbelow(10); // 6
   */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new InvariantError(`randbelow: n must be a safe integer >= 1, got ${n}`);
    return n <= U32 ? this.below32(n) : this.belowWide(n);
  }

  /**
   * {@link PythonRandom.randbelow} for bigint bounds of any size.
   *
   * @throws {InvariantError} for `n < 1`.
   *
   * @example
   * PythonRandom.fromSeed(0).randbelowBig(10n ** 20n);
   */
  randbelowBig(n: bigint): bigint {
    if (n < 1n) throw new InvariantError(`randbelowBig: n must be >= 1, got ${n}`);
    const k = bitLengthBig(n);
    for (;;) {
      const r = this.getrandbitsBig(k);
      if (r < n) return r;
    }
  }

  /**
   * `random.random()`: two words, the first giving the high 27 bits, as a multiple of 2^−53 in [0, 1).
   *
   * **Gotchas**: compare with Python numerically; Python prints `5e-05` where JS prints `0.00005`.
   *
   * @example
   * PythonRandom.fromSeed(42).random(); // 0.6394267984578837
   */
  random(): number {
    const a = this.genrandUint32() >>> 5;
    const b = this.genrandUint32() >>> 6;
    return (a * TWO_26 + b) / TWO_53;
  }

  /**
   * `random.choice(seq)`: one `_randbelow(len(seq))`.
   *
   * **Gotchas**: a one-element sequence still draws (see {@link PythonRandom.randbelow}).
   *
   * @throws {InvariantError} for an empty sequence (CPython's IndexError), without drawing.
   *
   * @example
   * PythonRandom.fromSeed(0).choice(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']); // 'g'
   */
  choice<T>(seq: ReadonlyArray<T>): T {
    if (seq.length === 0) throw new InvariantError('choice: cannot choose from an empty sequence');
    return seq[this.below32(seq.length)] as T;
  }

  /**
   * `random.sample(population, k)`: `k` values at distinct positions, in selection order.
   *
   * **Details**: the pool path (`len ≤ sampleSetsize(k)`) copies the population once and moves the
   * last unpicked value into each hole; the set path redraws `_randbelow(len)` on repeated positions.
   * Equal values in the population are fine (positions are distinct, values need not be).
   *
   * @throws {InvariantError} unless `0 ≤ k ≤ population.length` (CPython's ValueError), without drawing.
   *
   * @example
   * PythonRandom.fromSeed(0).sample([...Array(30).keys()], 7); // [27, 12, 24, 13, 1, 8, 16]
   */
  sample<T>(population: ReadonlyArray<T>, k: number): T[] {
    // Both of CPython's paths only pick positions; the values are copied out afterwards.
    return this.samplePositions(population.length, k).map((i) => population[i] as T);
  }

  /**
   * The positions `random.sample(list(range(n)), k)` picks (which are also its values), with the
   * same draws, without building the population.
   *
   * **Details**: `sample(population, k)` equals `samplePositions(population.length, k).map(i => population[i])`
   * and leaves the generator in the same state. `n` may exceed 2^32 (set path with wide draws).
   *
   * @throws {InvariantError} unless `n` is a safe integer and `0 ≤ k ≤ n`, without drawing.
   *
   * @example
   * PythonRandom.fromSeed(0).samplePositions(1000, 10); // [864, 394, 776, 911, 430, 41, 265, 988, 523, 497]
   */
  samplePositions(n: number, k: number): number[] {
    if (!Number.isSafeInteger(n) || n < 0) throw new InvariantError(`samplePositions: n must be a safe non-negative integer, got ${n}`);
    checkSampleSize(n, k);
    const result: number[] = [];
    if (n <= sampleSetsize(k)) {
      // The pool stays the identity between calls and only the k written slots are restored
      // afterwards, so a call costs O(k) rather than O(n).
      const pool = this.identityPool(n);
      const drawn = this.pickedBuffer(k);
      for (let i = 0; i < k; i++) {
        const j = this.below32(n - i);
        drawn[i] = j;
        result.push(pool[j]!);
        pool[j] = pool[n - i - 1]!;
      }
      for (let i = 0; i < k; i++) pool[drawn[i]!] = drawn[i]!;
    } else if (n > U32) {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.belowWide(n);
        while (selected.has(j)) j = this.belowWide(n);
        selected.add(j);
        result.push(j);
      }
    } else if (k <= LINEAR_SCAN_MAX) {
      for (let i = 0; i < k; i++) {
        let j = this.below32(n);
        while (contains(result, i, j)) j = this.below32(n);
        result.push(j);
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.below32(n);
        while (selected.has(j)) j = this.below32(n);
        selected.add(j);
        result.push(j);
      }
    }
    return result;
  }

  /**
   * `random.shuffle(x)` in place: for `i = len − 1 … 1`, swap `x[i]` with `x[_randbelow(i + 1)]`.
   *
   * @example
   * const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
   * PythonRandom.fromSeed(0).shuffle(xs); // [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]
   */
  shuffle<T>(xs: T[]): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.below32(i + 1);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
  }

  /** A workspace holding `0, 1, 2, …` in (at least) its first `n` slots. */
  private identityPool(n: number): Int32Array {
    let pool = this.identity;
    if (pool === undefined || pool.length < n) {
      pool = this.identity = new Int32Array(Math.max(n, 2 * (pool?.length ?? 0), 64));
      for (let i = 0; i < pool.length; i++) pool[i] = i;
    }
    return pool;
  }

  /** A workspace of at least `k` slots for drawn positions. */
  private pickedBuffer(k: number): Int32Array {
    let picked = this.picked;
    if (picked === undefined || picked.length < k) picked = this.picked = new Int32Array(Math.max(k, 2 * (picked?.length ?? 0), 64));
    return picked;
  }

  /** `_randbelow` for `1 ≤ n ≤ 2^32 − 1`: one word per try, keeping its top `bitlen(n)` bits. */
  private below32(n: number): number {
    const shift = Math.clz32(n);
    for (;;) {
      const r = this.genrandUint32() >>> shift;
      if (r < n) return r;
    }
  }

  /** `_randbelow` for `2^32 ≤ n < 2^53`: two words per try (low word first). */
  private belowWide(n: number): number {
    const shift = Math.clz32(Math.floor(n / TWO_32));
    for (;;) {
      const lo = this.genrandUint32();
      const r = (this.genrandUint32() >>> shift) * TWO_32 + lo;
      if (r < n) return r;
    }
  }

  /** Refills the whole table in place, in index order (the standard three-loop MT19937 body). */
  private regenerate(): void {
    const mt = this.mt;
    let kk = 0;
    let y: number;
    for (; kk < N - M; kk++) {
      y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
      mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    for (; kk < N - 1; kk++) {
      y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
      mt[kk] = mt[kk + M - N]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    }
    y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
    mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
    this.index = 0;
  }
}

const checkSampleSize = (n: number, k: number): void => {
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new InvariantError(`sample: k must be an integer in [0, ${n}] (sample larger than population or negative), got ${k}`);
  }
};

/**
 * The state after `random.seed(seed)`, as an immutable value.
 *
 * @throws {ConfigError} (`option: 'seed'`) for non-integer or unsafe-number seeds.
 *
 * @example
 * const rng0 = pythonRandom('18446744073709551739'); // 2^64 + 123
 *
 * @category random
 */
export const pythonRandom = (seed: Seed): PythonRandomState => PythonRandom.fromSeed(seed).state();

/**
 * Pure `random.random()`: the value and the state after it.
 *
 * @example
 * const [x, rng1] = pythonRandomFloat(pythonRandom(42)); // x = 0.6394267984578837
 *
 * @category random
 */
export const pythonRandomFloat = (rng: PythonRandomState): readonly [number, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const x = r.random();
  return [x, r.state()] as const;
};

/**
 * Pure `_randbelow(n)`: the value and the state after it.
 *
 * @throws {InvariantError} unless `n` is a safe integer `≥ 1`.
 *
 * @example
 * const [j, rng1] = pythonRandbelow(pythonRandom(0), 10); // j = 6
 *
 * @category random
 */
export const pythonRandbelow = (rng: PythonRandomState, n: number): readonly [number, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const x = r.randbelow(n);
  return [x, r.state()] as const;
};

/**
 * Pure `random.choice(seq)`: the chosen element and the state after it.
 *
 * @throws {InvariantError} for an empty sequence.
 *
 * @example
 * const [c, rng1] = pythonChoice(pythonRandom(42), [0, 1, 2, 3, 4, 5]); // c = 5
 *
 * @category random
 */
export const pythonChoice = <T>(rng: PythonRandomState, seq: ReadonlyArray<T>): readonly [T, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const x = r.choice(seq);
  return [x, r.state()] as const;
};

/**
 * Pure `random.sample(population, k)`: the sample (selection order) and the state after it.
 *
 * @throws {InvariantError} unless `0 ≤ k ≤ population.length`.
 *
 * @example
 * const [picked, rng1] = pythonSample(pythonRandom(42), [...Array(32).keys()], 3); // [7, 1, 17]
 *
 * @category random
 */
export const pythonSample = <T>(
  rng: PythonRandomState,
  population: ReadonlyArray<T>,
  k: number,
): readonly [ReadonlyArray<T>, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const x = r.sample(population, k);
  return [x, r.state()] as const;
};

/**
 * Pure {@link PythonRandom.samplePositions}: what `sample(list(range(n)), k)` picks, and the state after it.
 *
 * @throws {InvariantError} unless `0 ≤ k ≤ n`.
 *
 * @example
 * const [positions, rng1] = pythonSamplePositions(pythonRandom(0), 30, 7); // [27, 12, 24, 13, 1, 8, 16]
 *
 * @category random
 */
export const pythonSamplePositions = (
  rng: PythonRandomState,
  n: number,
  k: number,
): readonly [ReadonlyArray<number>, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const x = r.samplePositions(n, k);
  return [x, r.state()] as const;
};

/**
 * Pure `random.shuffle`: a shuffled copy and the state after it; `xs` is left untouched.
 *
 * @example
 * const [abc, rng1] = pythonShuffled(pythonRandom(42), ['a', 'b', 'c']); // ['b', 'a', 'c']
 *
 * @category random
 */
export const pythonShuffled = <T>(rng: PythonRandomState, xs: ReadonlyArray<T>): readonly [ReadonlyArray<T>, PythonRandomState] => {
  const r = PythonRandom.fromState(rng);
  const copy = xs.slice();
  r.shuffle(copy);
  return [copy, r.state()] as const;
};
