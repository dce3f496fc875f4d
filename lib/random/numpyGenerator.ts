/**
 * numpy's `np.random.default_rng(seed)` and `Generator.shuffle`, bit for bit: SeedSequence →
 * PCG64 (XSL-RR 128/64) → buffered `next_uint32` → masked-rejection `random_interval` → Fisher–Yates.
 * Specification and vectors: shared/notes/numpy-shuffle-spec.md (numpy 1.17 … 2.4 share this stream).
 *
 * @module
 */
import { ConfigError, InvariantError } from '../core/errors.js';
import { parseSeed, toUint32Words, type Seed } from './seed.js';

// SeedSequence constants (numpy/random/bit_generator.pyx).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

const U32 = 0xffffffff;
const TWO_32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;
const U128_MASK = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

// PCG_MULT as 16-bit limbs, least significant first. Products of two limbs stay below 2^32 and a
// column sum of eight of them below 2^36, so plain doubles compute the 128-bit LCG exactly.
const M0 = 0xf645;
const M1 = 0x9fcc;
const M2 = 0xdf64;
const M3 = 0x4385;
const M4 = 0x5da4;
const M5 = 0x1fc6;
const M6 = 0xed05;
const M7 = 0x2360;
const LIMB = 65536;

/**
 * A mutable array-like that {@link NumpyGenerator.shuffle} can permute: plain arrays and typed
 * arrays (`Int32Array`, `Float64Array`, …) alike.
 *
 * @category random
 */
export interface MutableArrayLike<T> {
  readonly length: number;
  [index: number]: T;
}

/**
 * numpy's `SeedSequence(entropy).pool` for pool size 4: hashes and cross-mixes the entropy words.
 *
 * **Details**: `entropy` is the seed's 32-bit words, least significant first (see
 * {@link toUint32Words}); words beyond the fourth are mixed in afterwards, as numpy does.
 *
 * @example
 * seedSequencePool([0]); // [0xfe40eb07, 0x4f363a36, 0x4eb2009d, 0xc89a7aa7]
 *
 * @category random
 */
export const seedSequencePool = (entropy: ReadonlyArray<number>): number[] => {
  // numpy's hash multiplier runs on across every hash call of one SeedSequence.
  let h = INIT_A;
  const hash = (value: number): number => {
    let v = (value ^ h) >>> 0;
    h = Math.imul(h, MULT_A) >>> 0;
    v = Math.imul(v, h) >>> 0;
    return (v ^ (v >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    // Both products are int32, so their difference is exact and `>>> 0` reduces it mod 2^32.
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const word = (i: number): number => entropy[i] ?? 0;
  const pool: number[] = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(hash(word(i)));
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (dst !== src) pool[dst] = mix(pool[dst]!, hash(pool[src]!));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst]!, hash(word(src)));
  }
  return pool;
};

/**
 * numpy's `SeedSequence.generate_state(n, np.uint32)` from a pool built by {@link seedSequencePool}.
 *
 * **Details**: PCG64 asks for 8 words; pair them as `even | odd << 32` to get its four u64 seeds.
 *
 * @example
 * seedSequenceGenerateState(seedSequencePool([0]), 8)[0]; // 0xb0f478be
 *
 * @category random
 */
export const seedSequenceGenerateState = (pool: ReadonlyArray<number>, nWords: number): number[] => {
  let g = INIT_B;
  const out: number[] = [];
  for (let k = 0; k < nWords; k++) {
    let v = ((pool[k % pool.length] ?? 0) ^ g) >>> 0;
    g = Math.imul(g, MULT_B) >>> 0;
    v = Math.imul(v, g) >>> 0;
    out.push((v ^ (v >>> 16)) >>> 0);
  }
  return out;
};

/**
 * Serializable snapshot of a {@link NumpyGenerator}: plain frozen data, numpy's
 * `bit_generator.state` fields.
 *
 * **Details**: `state` and `inc` are 128-bit integers as `0x`-prefixed, 32-digit lowercase hex.
 * `hasUint32`/`uinteger` are the buffered high half of the last 64-bit draw; it carries over between
 * shuffles and epochs, so a snapshot without it would resume on a different stream.
 *
 * @example
 * const s: NumpyRngState = numpyRng(0);
 * s.inc; // '0x418ddadb3af71a82588133bc447873a9'
 *
 * @category random
 */
export interface NumpyRngState {
  readonly state: string;
  readonly inc: string;
  readonly hasUint32: boolean;
  readonly uinteger: number;
}

const hex128 = (n: bigint): string => `0x${n.toString(16).padStart(32, '0')}`;

const HEX128 = /^(0x)?[0-9a-fA-F]{1,32}$/;
const parseHex128 = (field: string, value: unknown): bigint => {
  if (typeof value !== 'string' || !HEX128.test(value)) {
    throw new ConfigError('state', `${field} must be a hex string of at most 128 bits, got ${JSON.stringify(value)}`);
  }
  return BigInt(value.startsWith('0x') ? value : `0x${value}`);
};

/**
 * A mutable numpy `Generator(PCG64(SeedSequence(seed)))`, private to one computation.
 *
 * **Details**: the 128-bit LCG runs on 16-bit limbs in doubles (no BigInt per draw). The 32-bit
 * buffer (`has_uint32`/`uinteger`) is part of the state and persists across calls, as in numpy.
 *
 * **Gotchas**: never share an instance between computations; hand out {@link NumpyGenerator.state}
 * snapshots (or {@link NumpyGenerator.clone}s) instead. Use the pure {@link shuffled} outside hot loops.
 *
 * @example
 * const g = NumpyGenerator.fromSeed(0);
 * const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
 * g.shuffle(xs); // xs is now [4, 6, 2, 7, 3, 5, 9, 0, 8, 1], as rng.shuffle(np.arange(10))
 *
 * @category random
 */
export class NumpyGenerator {
  // LCG state and increment, 16-bit limbs, least significant first. Separate fields (not an array)
  // keep the hot path free of bounds checks.
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private s4 = 0;
  private s5 = 0;
  private s6 = 0;
  private s7 = 0;
  private c0 = 0;
  private c1 = 0;
  private c2 = 0;
  private c3 = 0;
  private c4 = 0;
  private c5 = 0;
  private c6 = 0;
  private c7 = 0;
  private hasUint32: boolean;
  private uinteger: number;
  // Halves of the last 64-bit output, returned through fields so a draw allocates nothing.
  private outHi = 0;
  private outLo = 0;

  private constructor(state: bigint, inc: bigint, hasUint32: boolean, uinteger: number) {
    this.setLimbs(state, inc);
    this.hasUint32 = hasUint32;
    this.uinteger = uinteger;
  }

  /**
   * `np.random.default_rng(seed)`: nothing is drawn yet.
   *
   * @throws {ConfigError} (`option: 'seed'`) for negative or non-integer seeds, like numpy's ValueError.
   *
   * @example
   * NumpyGenerator.fromSeed('18446744073709551616').nextUint64(); // 0x730150b2e3c8c450n
   */
  static fromSeed(seed: Seed): NumpyGenerator {
    const words = seedSequenceGenerateState(seedSequencePool(toUint32Words(parseSeed(seed, { allowNegative: false }))), 8);
    const u64 = (j: number): bigint => (BigInt(words[2 * j + 1]!) << 32n) | BigInt(words[2 * j]!);
    const initState = (u64(0) << 64n) | u64(1);
    const initSeq = (u64(2) << 64n) | u64(3);
    const inc = ((initSeq << 1n) | 1n) & U128_MASK;
    const state = (((inc + initState) & U128_MASK) * PCG_MULT + inc) & U128_MASK;
    return new NumpyGenerator(state, inc, false, 0);
  }

  /**
   * Rebuilds a generator from a {@link NumpyRngState} (the inverse of {@link NumpyGenerator.state}).
   *
   * @throws {ConfigError} (`option: 'state'`) for malformed snapshots.
   *
   * @example
   * const g = NumpyGenerator.fromState(numpyRng(42));
   */
  static fromState(s: NumpyRngState): NumpyGenerator {
    const state = parseHex128('state.state', s.state);
    const inc = parseHex128('state.inc', s.inc);
    if (typeof s.hasUint32 !== 'boolean') throw new ConfigError('state', 'hasUint32 must be a boolean');
    if (!Number.isInteger(s.uinteger) || s.uinteger < 0 || s.uinteger > U32) {
      throw new ConfigError('state', `uinteger must be a u32, got ${s.uinteger}`);
    }
    return new NumpyGenerator(state, inc, s.hasUint32, s.uinteger);
  }

  /**
   * Snapshot of the current state (numpy's `bit_generator.state`), frozen.
   *
   * @example
   * NumpyGenerator.fromSeed(0).state().state; // '0x1aa1b5345996452d09585eb7a69561e3'
   */
  state(): NumpyRngState {
    const big = (a: readonly number[]): bigint => a.reduceRight((acc, limb) => (acc << 16n) | BigInt(limb), 0n);
    return Object.freeze({
      state: hex128(big([this.s0, this.s1, this.s2, this.s3, this.s4, this.s5, this.s6, this.s7])),
      inc: hex128(big([this.c0, this.c1, this.c2, this.c3, this.c4, this.c5, this.c6, this.c7])),
      hasUint32: this.hasUint32,
      uinteger: this.uinteger,
    });
  }

  /**
   * An independent copy at the same position (including the 32-bit buffer).
   *
   * @example
   * const a = NumpyGenerator.fromSeed(1); const b = a.clone();
   * a.nextUint32() === b.nextUint32(); // true
   */
  clone(): NumpyGenerator {
    const g = new NumpyGenerator(0n, 0n, this.hasUint32, this.uinteger);
    g.s0 = this.s0; g.s1 = this.s1; g.s2 = this.s2; g.s3 = this.s3;
    g.s4 = this.s4; g.s5 = this.s5; g.s6 = this.s6; g.s7 = this.s7;
    g.c0 = this.c0; g.c1 = this.c1; g.c2 = this.c2; g.c3 = this.c3;
    g.c4 = this.c4; g.c5 = this.c5; g.c6 = this.c6; g.c7 = this.c7;
    return g;
  }

  /**
   * PCG64's `next_uint64`: advances once.
   *
   * **Gotchas**: neither reads nor clears the 32-bit buffer, exactly like numpy.
   *
   * @example
   * NumpyGenerator.fromSeed(0).nextUint64(); // 0xa30febcfd9c2825fn
   */
  nextUint64(): bigint {
    this.draw64();
    return (BigInt(this.outHi) << 32n) | BigInt(this.outLo);
  }

  /**
   * PCG64's `next_uint32`: the low half of a fresh 64-bit draw, then its buffered high half.
   *
   * @example
   * const g = NumpyGenerator.fromSeed(0);
   * [g.nextUint32(), g.nextUint32()]; // [0xd9c2825f, 0xa30febcf]
   */
  nextUint32(): number {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    this.draw64();
    this.hasUint32 = true;
    this.uinteger = this.outHi;
    return this.outLo;
  }

  /**
   * numpy's `random_interval(max)`: a uniform integer in `[0, max]` (inclusive) by masked rejection.
   *
   * **Details**: `max ≤ 2^32 − 1` draws u32s, larger `max` draws u64s; `max = 0` draws nothing.
   *
   * **Gotchas**: this is not `Generator.integers` (Lemire's method). `max` must be a safe integer;
   * use {@link NumpyGenerator.randomIntervalBig} up to 2^64 − 1.
   *
   * @throws {InvariantError} if `max` is not a safe non-negative integer.
   *
   * @example
   * NumpyGenerator.fromSeed(0).randomInterval(5); // 1
   */
  randomInterval(max: number): number {
    if (!Number.isSafeInteger(max) || max < 0) throw new InvariantError(`randomInterval: max must be a safe non-negative integer, got ${max}`);
    if (max === 0) return 0;
    if (max <= U32) return this.interval32(max);
    // 64-bit path without BigInt: the mask's low word is all ones, its high word masks max's high word.
    const maskHi = U32 >>> Math.clz32(Math.floor(max / TWO_32));
    for (;;) {
      this.draw64();
      const v = ((this.outHi & maskHi) >>> 0) * TWO_32 + this.outLo;
      if (v <= max) return v;
    }
  }

  /**
   * {@link NumpyGenerator.randomInterval} for the full `[0, 2^64 − 1]` range of `max`.
   *
   * @throws {InvariantError} if `max` is negative or above 2^64 − 1.
   *
   * @example
   * NumpyGenerator.fromSeed(0).randomIntervalBig(2n ** 63n);
   */
  randomIntervalBig(max: bigint): bigint {
    if (max < 0n || max > U64_MAX) throw new InvariantError(`randomIntervalBig: max must be in [0, 2^64-1], got ${max}`);
    if (max <= BigInt(Number.MAX_SAFE_INTEGER)) return BigInt(this.randomInterval(Number(max)));
    let mask = max;
    for (const shift of [1n, 2n, 4n, 8n, 16n, 32n]) mask |= mask >> shift;
    for (;;) {
      const v = this.nextUint64() & mask;
      if (v <= max) return v;
    }
  }

  /**
   * numpy's `Generator.shuffle(x)` in place: Fisher–Yates from the last index down to 1.
   *
   * **Details**: lists and ndarrays take the same draws in numpy, so any array or typed array works
   * here; elements are only moved. Length 0 or 1 draws nothing.
   *
   * @example
   * const xs = Int32Array.from({ length: 10 }, (_, i) => i);
   * NumpyGenerator.fromSeed(42).shuffle(xs); // [5, 6, 0, 7, 3, 2, 4, 9, 1, 8]
   */
  shuffle<T>(xs: MutableArrayLike<T>): void {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.interval32(i);
      const t = xs[i] as T;
      xs[i] = xs[j] as T;
      xs[j] = t;
    }
  }

  /** `random_interval` for `1 ≤ max ≤ 2^32 − 1` (the only case a shuffle reaches). */
  private interval32(max: number): number {
    const mask = U32 >>> Math.clz32(max);
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  private setLimbs(state: bigint, inc: bigint): void {
    const limb = (n: bigint, k: number): number => Number((n >> BigInt(16 * k)) & 0xffffn);
    this.s0 = limb(state, 0); this.s1 = limb(state, 1); this.s2 = limb(state, 2); this.s3 = limb(state, 3);
    this.s4 = limb(state, 4); this.s5 = limb(state, 5); this.s6 = limb(state, 6); this.s7 = limb(state, 7);
    this.c0 = limb(inc, 0); this.c1 = limb(inc, 1); this.c2 = limb(inc, 2); this.c3 = limb(inc, 3);
    this.c4 = limb(inc, 4); this.c5 = limb(inc, 5); this.c6 = limb(inc, 6); this.c7 = limb(inc, 7);
  }

  /** Advances the LCG (`state = state * MULT + inc mod 2^128`) and stores the XSL-RR output halves. */
  private draw64(): void {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const s4 = this.s4, s5 = this.s5, s6 = this.s6, s7 = this.s7;
    // Schoolbook product, column by column; only columns below 8 survive mod 2^128.
    let v = s0 * M0 + this.c0;
    let carry = Math.floor(v / LIMB);
    const n0 = v - carry * LIMB;
    v = s0 * M1 + s1 * M0 + this.c1 + carry;
    carry = Math.floor(v / LIMB);
    const n1 = v - carry * LIMB;
    v = s0 * M2 + s1 * M1 + s2 * M0 + this.c2 + carry;
    carry = Math.floor(v / LIMB);
    const n2 = v - carry * LIMB;
    v = s0 * M3 + s1 * M2 + s2 * M1 + s3 * M0 + this.c3 + carry;
    carry = Math.floor(v / LIMB);
    const n3 = v - carry * LIMB;
    v = s0 * M4 + s1 * M3 + s2 * M2 + s3 * M1 + s4 * M0 + this.c4 + carry;
    carry = Math.floor(v / LIMB);
    const n4 = v - carry * LIMB;
    v = s0 * M5 + s1 * M4 + s2 * M3 + s3 * M2 + s4 * M1 + s5 * M0 + this.c5 + carry;
    carry = Math.floor(v / LIMB);
    const n5 = v - carry * LIMB;
    v = s0 * M6 + s1 * M5 + s2 * M4 + s3 * M3 + s4 * M2 + s5 * M1 + s6 * M0 + this.c6 + carry;
    carry = Math.floor(v / LIMB);
    const n6 = v - carry * LIMB;
    v = s0 * M7 + s1 * M6 + s2 * M5 + s3 * M4 + s4 * M3 + s5 * M2 + s6 * M1 + s7 * M0 + this.c7 + carry;
    const n7 = v % LIMB;
    this.s0 = n0; this.s1 = n1; this.s2 = n2; this.s3 = n3;
    this.s4 = n4; this.s5 = n5; this.s6 = n6; this.s7 = n7;

    // XSL-RR on the new state: x = hi64 ^ lo64, rotated right by the top 6 bits.
    let hi = ((n7 << 16) | n6) ^ ((n3 << 16) | n2);
    let lo = ((n5 << 16) | n4) ^ ((n1 << 16) | n0);
    let rot = n7 >>> 10;
    if (rot >= 32) {
      const t = hi;
      hi = lo;
      lo = t;
      rot -= 32;
    }
    if (rot === 0) {
      // JS shifts count mod 32, so `x << 32` would not be 0: rotation 0 is its own case.
      this.outHi = hi >>> 0;
      this.outLo = lo >>> 0;
    } else {
      this.outHi = ((hi >>> rot) | (lo << (32 - rot))) >>> 0;
      this.outLo = ((lo >>> rot) | (hi << (32 - rot))) >>> 0;
    }
  }
}

/**
 * The state of a fresh `np.random.default_rng(seed)`, as an immutable value.
 *
 * @throws {ConfigError} (`option: 'seed'`) for negative or non-integer seeds.
 *
 * @example
 * const rng0 = numpyRng('42');
 *
 * @category random
 */
export const numpyRng = (seed: Seed): NumpyRngState => NumpyGenerator.fromSeed(seed).state();

/**
 * Pure `Generator.shuffle`: returns a shuffled copy and the generator state after the draws.
 *
 * **Details**: never mutates `xs` or `rng`; thread the returned state into the next call (the
 * 32-bit buffer inside it carries over, as in numpy).
 *
 * **Gotchas**: each call rebuilds a generator from the snapshot; in hot loops use one
 * {@link NumpyGenerator} (`fromState` once, then mutate the private copy).
 *
 * @example
 * const [order, rng1] = shuffled(numpyRng(0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
 * // order = [4, 6, 2, 7, 3, 5, 9, 0, 8, 1]
 *
 * @category random
 */
export const shuffled = <T>(rng: NumpyRngState, xs: ReadonlyArray<T>): readonly [ReadonlyArray<T>, NumpyRngState] => {
  const g = NumpyGenerator.fromState(rng);
  const copy = xs.slice();
  g.shuffle(copy);
  return [copy, g.state()] as const;
};
