import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fcParams, FC_SEED } from '../helpers/fc.js';
import { ConfigError } from '../../lib/core/errors.js';
import { parseSeed, toUint32Words, type Seed } from '../../lib/random/seed.js';
import {
  NumpyGenerator,
  numpyRng,
  seedSequenceGenerateState,
  seedSequencePool,
  shuffled,
  type MutableArrayLike,
  type NumpyRngState,
} from '../../lib/random/numpyGenerator.js';

const iota = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const big = (h: string): bigint => BigInt(h);
const LETTERS = 'abcdefghij'.split('');

// ---------------------------------------------------------------------------------------------
// §9.1 per-seed vectors (real numpy 2.4.6), copied from shared/notes/numpy-shuffle-spec.md.
// ---------------------------------------------------------------------------------------------
interface SeedVector {
  readonly seed: number;
  readonly words: number[];
  readonly pool: string[];
  readonly gen8: string[];
  readonly u64x4: string[];
  readonly initstate: string;
  readonly initseq: string;
  readonly inc: string;
  readonly state: string;
  readonly next64: string[];
  readonly next32: number[];
  readonly shuffle10: number[];
  readonly two: [number[], number[]];
}

const SEED_VECTORS: SeedVector[] = [
  {
    seed: 0,
    words: [0],
    pool: ['0xfe40eb07', '0x4f363a36', '0x4eb2009d', '0xc89a7aa7'],
    gen8: ['0xb0f478be', '0xdb2cd7e7', '0x2c71ba49', '0xabf4641a', '0x9d7b8d41', '0x20c6ed6d', '0x223c39d4', '0x2c4099de'],
    u64x4: ['0xdb2cd7e7b0f478be', '0xabf4641a2c71ba49', '0x20c6ed6d9d7b8d41', '0x2c4099de223c39d4'],
    initstate: '0xdb2cd7e7b0f478beabf4641a2c71ba49',
    initseq: '0x20c6ed6d9d7b8d412c4099de223c39d4',
    inc: '0x418ddadb3af71a82588133bc447873a9',
    state: '0x1aa1b5345996452d09585eb7a69561e3',
    next64: ['0xa30febcfd9c2825f', '0x4510bdf882d9d721', '0x0a7d3da94ecde8b8', '0x043b27b61342f01d', '0xd0327a782cde513b', '0xe9aa5979a6401c4e'],
    next32: [3653403231, 2735729615, 2195314465, 1158725112, 1322117304, 175979945],
    shuffle10: [4, 6, 2, 7, 3, 5, 9, 0, 8, 1],
    two: [[0, 1], [2, 4, 3, 0, 1]],
  },
  {
    seed: 1,
    words: [1],
    pool: ['0xa137e185', '0x0de2fab1', '0x950eae78', '0x54dd0a81'],
    gen8: ['0x6d6791ff', '0x672d8ee5', '0x4eb1072c', '0x8ae19ca1', '0x1322fc4a', '0x4915796d', '0xaba049bd', '0xd0cc2bdc'],
    u64x4: ['0x672d8ee56d6791ff', '0x8ae19ca14eb1072c', '0x4915796d1322fc4a', '0xd0cc2bdcaba049bd'],
    initstate: '0x672d8ee56d6791ff8ae19ca14eb1072c',
    initseq: '0x4915796d1322fc4ad0cc2bdcaba049bd',
    inc: '0x922af2da2645f895a19857b95740937b',
    state: '0x9c5b484bfedb756c2a6e7d6f320fbc7e',
    next64: ['0x8306bdf37922e4ff', '0xf35196bbc152a866', '0x24e7a4f608ec18cd', '0xf2dab0aed2ac6fd2', '0x4fd42fa03fcd72a9', '0x6c5f1f45de787048'],
    next32: [2032329983, 2198257139, 3243419750, 4082210491, 149690573, 619160822],
    shuffle10: [8, 4, 7, 0, 1, 2, 5, 9, 6, 3],
    two: [[0, 1], [4, 0, 1, 2, 3]],
  },
  {
    seed: 42,
    words: [42],
    pool: ['0x631d3606', '0x07ae90ae', '0x6fc4be28', '0x2ced5c75'],
    gen8: ['0xcd540ab7', '0x9f1e2e6d', '0x79fb94b6', '0xd57873dc', '0x64d420b7', '0x7d282a1b', '0x4692d5ff', '0x33657971'],
    u64x4: ['0x9f1e2e6dcd540ab7', '0xd57873dc79fb94b6', '0x7d282a1b64d420b7', '0x336579714692d5ff'],
    initstate: '0x9f1e2e6dcd540ab7d57873dc79fb94b6',
    initseq: '0x7d282a1b64d420b7336579714692d5ff',
    inc: '0xfa505436c9a8416e66caf2e28d25abff',
    state: '0xcea44f6798798f2aacbc7c9d68860ac8',
    next64: ['0xc621fbcd16d92688', '0x705a5661a791ffc1', '0xdbcd12c26eda1624', '0xb286b60e1600888d', '0x181c01b5339381eb', '0xf9c262ed86c7538c'],
    next32: [383329928, 3324115917, 2811363265, 1884968545, 1859786276, 3687649986],
    shuffle10: [5, 6, 0, 7, 3, 2, 4, 9, 1, 8],
    two: [[1, 0], [3, 2, 0, 4, 1]],
  },
  {
    seed: 12345,
    words: [12345],
    pool: ['0xf293d734', '0xfd668225', '0xf94ff895', '0x872090a0'],
    gen8: ['0xa03d837c', '0xb5ae6482', '0xfa1f7a2f', '0xbbe2996f', '0x37158f94', '0x64e39a9f', '0xa013fd73', '0x3ebb0f96'],
    u64x4: ['0xb5ae6482a03d837c', '0xbbe2996ffa1f7a2f', '0x64e39a9f37158f94', '0x3ebb0f96a013fd73'],
    initstate: '0xb5ae6482a03d837cbbe2996ffa1f7a2f',
    initseq: '0x64e39a9f37158f943ebb0f96a013fd73',
    inc: '0xc9c7353e6e2b1f287d761f2d4027fae7',
    state: '0x1905e0335aae96349199b0d09775add5',
    next64: ['0x3a32b18db2ffc19d', '0x51171315c9e4c4de', '0xcc2024823444efd9', '0xad1f06aea486e910', '0x641fc168fd0b7b0d', '0x55334b27d6e48f43'],
    next32: [3003105693, 976400781, 3387213022, 1360466709, 876933081, 3424658562],
    shuffle10: [4, 8, 1, 3, 7, 9, 6, 0, 2, 5],
    two: [[0, 1], [4, 3, 0, 2, 1]],
  },
];

interface MultiWordVector {
  readonly seed: string;
  readonly words: number[];
  readonly pool: string[];
  readonly next64: string[];
  readonly shuffle10: number[];
}

const MULTI_WORD_VECTORS: MultiWordVector[] = [
  { seed: '4294967295', words: [4294967295], pool: ['0x9c7e046c', '0xdecfba02', '0x6b54a1b3', '0xc4c4a610'], next64: ['0x407f5fa930d8fd9f', '0x3814b22eb9684802', '0x498b7dcee8d8dc95'], shuffle10: [0, 1, 4, 8, 3, 7, 5, 6, 2, 9] },
  { seed: '4294967297', words: [1, 1], pool: ['0x4fa8819f', '0x4eda2000', '0xe3ba519d', '0x1625ba6f'], next64: ['0x54f596cd84cf4c1f', '0x9ca536eb5cb7fa6a', '0x81f436c89e9256f8'], shuffle10: [7, 2, 4, 6, 1, 0, 3, 5, 9, 8] },
  { seed: '18446744073709551616', words: [0, 0, 1], pool: ['0x990040dc', '0x32e6c28b', '0x69dd1192', '0xe6b3d3da'], next64: ['0x730150b2e3c8c450', '0x641b4e08066ad287', '0x93b439efc465df22'], shuffle10: [5, 1, 6, 3, 4, 8, 9, 7, 2, 0] },
  { seed: '340282366920938463463374607431768211457', words: [1, 0, 0, 0, 1], pool: ['0x61e74972', '0xaf4409c2', '0xa2d38b26', '0xbca713aa'], next64: ['0x79cbb417f0f216fa', '0x99c0296124ccf668', '0x3ebdf884ef5e1f5e'], shuffle10: [5, 0, 9, 3, 2, 4, 6, 1, 8, 7] },
  { seed: '12345678901234567890123', words: [1900168395, 1119243894, 669], pool: ['0x5f59bc8d', '0x9f2d0cd3', '0x61a30fa3', '0xe339f362'], next64: ['0xe6c8eb8b8ba077d3', '0x053660776a720ebc', '0x00a902f4fd2d4f69'], shuffle10: [2, 5, 0, 9, 6, 8, 4, 1, 7, 3] },
];

describe('seeds (lib/random/seed.ts)', () => {
  it('parses bigints, safe numbers and decimal strings to the same integer', () => {
    for (const s of [42n, 42, '42']) assert.equal(parseSeed(s, { allowNegative: false }), 42n);
    assert.equal(parseSeed('12345678901234567890123', { allowNegative: false }), 12345678901234567890123n);
    assert.equal(parseSeed(-7, { allowNegative: true }), -7n);
  });

  it('rejects negatives (numpy), non-integers, unsafe numbers and malformed strings with ConfigError("seed")', () => {
    const bad: unknown[] = [-1, -1n, '-1', 1.5, NaN, Infinity, 2 ** 60, '', '1e3', '0x10', ' 1', '+1', '1_000', true, null, undefined, {}];
    for (const s of bad) {
      assert.throws(
        () => parseSeed(s as Seed, { allowNegative: false }),
        (e: unknown) => e instanceof ConfigError && e.option === 'seed',
        `seed ${String(s)}`,
      );
    }
    assert.throws(() => NumpyGenerator.fromSeed(-1), ConfigError);
    assert.throws(() => numpyRng('-5'), ConfigError);
  });

  it('cuts integers into little-endian u32 words (§1), seed 0 giving [0]', () => {
    assert.deepEqual(toUint32Words(0n), [0]);
    assert.deepEqual(toUint32Words(42n), [42]);
    assert.deepEqual(toUint32Words(2n ** 32n - 1n), [0xffffffff]);
    assert.deepEqual(toUint32Words(2n ** 32n + 1n), [1, 1]);
    assert.deepEqual(toUint32Words(2n ** 64n), [0, 0, 1]);
    assert.deepEqual(toUint32Words(2n ** 128n + 1n), [1, 0, 0, 0, 1]);
  });
});

describe('NumpyGenerator: §9.1 per-seed vectors', () => {
  for (const v of SEED_VECTORS) {
    it(`seed ${v.seed}: entropy, pool, generate_state, PCG64 seeding`, () => {
      const words = toUint32Words(BigInt(v.seed));
      assert.deepEqual(words, v.words);
      const pool = seedSequencePool(words);
      assert.deepEqual(pool.map(hex), v.pool);
      const gen8 = seedSequenceGenerateState(pool, 8);
      assert.deepEqual(gen8.map(hex), v.gen8);
      const u64 = [0, 1, 2, 3].map((j) => (BigInt(gen8[2 * j + 1]!) << 32n) | BigInt(gen8[2 * j]!));
      assert.deepEqual(u64, v.u64x4.map(big));
      assert.equal((u64[0]! << 64n) | u64[1]!, big(v.initstate));
      assert.equal((u64[2]! << 64n) | u64[3]!, big(v.initseq));
      const s = NumpyGenerator.fromSeed(v.seed).state();
      assert.deepEqual(s, { state: v.state, inc: v.inc, hasUint32: false, uinteger: 0 });
      assert.deepEqual(numpyRng(v.seed), s);
    });

    it(`seed ${v.seed}: next_uint64 ×6 and next_uint32 ×6 (low half first)`, () => {
      const g64 = NumpyGenerator.fromSeed(v.seed);
      assert.deepEqual(v.next64.map(() => g64.nextUint64()), v.next64.map(big));
      const g32 = NumpyGenerator.fromSeed(v.seed);
      assert.deepEqual(v.next32.map(() => g32.nextUint32()), v.next32);
    });

    it(`seed ${v.seed}: shuffle of an ndarray (Int32Array), a list and letters; two shuffles on one generator`, () => {
      const nd = Int32Array.from(iota(10));
      NumpyGenerator.fromSeed(v.seed).shuffle(nd);
      assert.deepEqual(Array.from(nd), v.shuffle10);
      const list = iota(10);
      NumpyGenerator.fromSeed(v.seed).shuffle(list);
      assert.deepEqual(list, v.shuffle10);
      const letters = LETTERS.slice();
      NumpyGenerator.fromSeed(v.seed).shuffle(letters);
      assert.deepEqual(letters, v.shuffle10.map((i) => LETTERS[i]));
      const g = NumpyGenerator.fromSeed(v.seed);
      const a = iota(2);
      const b = iota(5);
      g.shuffle(a);
      g.shuffle(b);
      assert.deepEqual([a, b], v.two);
      assert.deepEqual(shuffled(numpyRng(v.seed), iota(10))[0], v.shuffle10);
    });
  }

  for (const v of MULTI_WORD_VECTORS) {
    it(`multi-word seed ${v.seed}: words, pool, first u64s, shuffle`, () => {
      assert.deepEqual(toUint32Words(BigInt(v.seed)), v.words);
      assert.deepEqual(seedSequencePool(v.words).map(hex), v.pool);
      for (const seed of [v.seed, BigInt(v.seed)]) {
        const g = NumpyGenerator.fromSeed(seed);
        assert.deepEqual(v.next64.map(() => g.nextUint64()), v.next64.map(big));
        const xs = Int32Array.from(iota(10));
        NumpyGenerator.fromSeed(seed).shuffle(xs);
        assert.deepEqual(Array.from(xs), v.shuffle10);
      }
    });
  }
});

describe('NumpyGenerator: §9.2 step-by-step trace (seed 0, shuffle(arange(10)))', () => {
  const DRAWS = [0xd9c2825f, 0xa30febcf, 0x82d9d721, 0x4510bdf8, 0x4ecde8b8, 0x0a7d3da9, 0x1342f01d, 0x043b27b6, 0x2cde513b, 0xd0327a78, 0xa6401c4e, 0xe9aa5979];
  const STEPS: { i: number; mask: number; draws: number; j: number; after: number[] }[] = [
    { i: 9, mask: 0xf, draws: 3, j: 1, after: [0, 9, 2, 3, 4, 5, 6, 7, 8, 1] },
    { i: 8, mask: 0xf, draws: 1, j: 8, after: [0, 9, 2, 3, 4, 5, 6, 7, 8, 1] },
    { i: 7, mask: 0x7, draws: 1, j: 0, after: [7, 9, 2, 3, 4, 5, 6, 0, 8, 1] },
    { i: 6, mask: 0x7, draws: 1, j: 1, after: [7, 6, 2, 3, 4, 5, 9, 0, 8, 1] },
    { i: 5, mask: 0x7, draws: 1, j: 5, after: [7, 6, 2, 3, 4, 5, 9, 0, 8, 1] },
    { i: 4, mask: 0x7, draws: 2, j: 3, after: [7, 6, 2, 4, 3, 5, 9, 0, 8, 1] },
    { i: 3, mask: 0x3, draws: 1, j: 0, after: [4, 6, 2, 7, 3, 5, 9, 0, 8, 1] },
    { i: 2, mask: 0x3, draws: 1, j: 2, after: [4, 6, 2, 7, 3, 5, 9, 0, 8, 1] },
    { i: 1, mask: 0x1, draws: 1, j: 1, after: [4, 6, 2, 7, 3, 5, 9, 0, 8, 1] },
  ];

  it('the raw u32 stream is the listed draws', () => {
    const g = NumpyGenerator.fromSeed(0);
    assert.deepEqual(DRAWS.map(() => g.nextUint32()), DRAWS);
  });

  it('each random_interval(i) keeps the low bits under the mask, rejects > i, and consumes the listed draws', () => {
    const g = NumpyGenerator.fromSeed(0);
    const counter = NumpyGenerator.fromSeed(0);
    const xs = iota(10);
    let used = 0;
    for (const step of STEPS) {
      // The listed draws, masked, must reject exactly until the accepted j.
      const masked = DRAWS.slice(used, used + step.draws).map((d) => (d & step.mask) >>> 0);
      assert.equal(masked.at(-1), step.j);
      assert.ok(masked.slice(0, -1).every((m) => m > step.i));
      used += step.draws;
      const j = g.randomInterval(step.i);
      assert.equal(j, step.j);
      for (let d = 0; d < step.draws; d++) counter.nextUint32();
      assert.deepEqual(g.state(), counter.state(), `draw count at i=${step.i}`);
      [xs[step.i], xs[j]] = [xs[j]!, xs[step.i]!];
      assert.deepEqual(xs, step.after);
    }
    assert.equal(used, DRAWS.length);
    const viaShuffle = NumpyGenerator.fromSeed(0);
    const ys = Int32Array.from(iota(10));
    viaShuffle.shuffle(ys);
    assert.deepEqual(viaShuffle.state(), g.state());
  });

  it('two_shuffles: arange(2) uses only the low half; arange(5) starts from the buffered high half', () => {
    const g = NumpyGenerator.fromSeed(0);
    g.shuffle(iota(2));
    assert.deepEqual(g.state().hasUint32, true);
    assert.equal(g.state().uinteger, 0xa30febcf);
  });
});

describe('NumpyGenerator: §9.3 interleaved 32- and 64-bit random_interval (fresh PCG64(0))', () => {
  const CALLS: [bigint, bigint][] = [
    [5n, 1n],
    [2n ** 32n, 323153949n],
    [2n ** 40n + 12345n, 516148842811n],
    [5n, 0n],
    [2n ** 63n, 50516411784532144n],
    [5n, 0n],
    [2n ** 32n - 1n, 3682523327n],
  ];

  it('randomIntervalBig reproduces the sequence (stale buffer survives u64 draws)', () => {
    const g = NumpyGenerator.fromSeed(0);
    assert.deepEqual(CALLS.map(([max]) => g.randomIntervalBig(max)), CALLS.map(([, v]) => v));
  });

  it('randomInterval (numbers) agrees wherever max is a safe integer', () => {
    const g = NumpyGenerator.fromSeed(0);
    const got = CALLS.map(([max]) => (max <= BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(g.randomInterval(Number(max))) : g.randomIntervalBig(max)));
    assert.deepEqual(got, CALLS.map(([, v]) => v));
  });

  it('max = 0 draws nothing; bad bounds throw', () => {
    const g = NumpyGenerator.fromSeed(0);
    const before = g.state();
    assert.equal(g.randomInterval(0), 0);
    assert.equal(g.randomIntervalBig(0n), 0n);
    assert.deepEqual(g.state(), before);
    assert.throws(() => g.randomInterval(-1));
    assert.throws(() => g.randomInterval(1.5));
    assert.throws(() => g.randomInterval(2 ** 53));
    assert.throws(() => g.randomIntervalBig(2n ** 64n));
  });
});

// ---------------------------------------------------------------------------------------------
// §9.4: FlagEmbedding's refresh_epoch (§8) replayed by a tiny local model on one generator.
// ---------------------------------------------------------------------------------------------
interface TaskSpec {
  readonly name: string;
  readonly size: number;
  readonly batchSize: number;
}
interface EpochOut {
  readonly order: number[];
  readonly batches: { task: string; rank_slices: number[][] }[];
  readonly after: NumpyRngState;
}

const refreshEpochs = (seed: Seed, tasks: readonly TaskSpec[], numProcesses: number, epochs: number): EpochOut[] => {
  const g = NumpyGenerator.fromSeed(seed);
  const offsets = tasks.map((_, t) => tasks.slice(0, t).reduce((acc, u) => acc + u.size, 0));
  const each = tasks.map((task, t) => Int32Array.from(iota(task.size), (i) => i + offsets[t]!));
  const order = iota(tasks.length);
  const out: EpochOut[] = [];
  for (let e = 0; e < epochs; e++) {
    g.shuffle(order);
    const batches: { t: number; ids: number[] }[] = [];
    for (const t of order) {
      const ids = each[t]!;
      g.shuffle(ids);
      const size = tasks[t]!.size;
      const G = tasks[t]!.batchSize * numProcesses;
      for (let start = 0; start < size && size - start >= G; start += G) {
        batches.push({ t, ids: Array.from(ids.subarray(start, start + G)) });
      }
    }
    g.shuffle(batches);
    out.push({
      order: order.slice(),
      batches: batches.map(({ t, ids }) => {
        const per = ids.length / numProcesses;
        return {
          task: tasks[t]!.name,
          rank_slices: iota(numProcesses).map((r) => ids.slice(r * per, (r + 1) * per).map((i) => i - offsets[t]!)),
        };
      }),
      after: g.state(),
    });
  }
  return out;
};

describe('NumpyGenerator: §9.4 pipeline vector (seed 42, 2 processes, 2 epochs)', () => {
  it('reproduces task orders, rank slices and the generator state after each epoch', () => {
    const tasks: TaskSpec[] = [
      { name: 'msmarco', size: 10, batchSize: 2 },
      { name: 'nli', size: 7, batchSize: 3 },
      { name: 'sts', size: 9, batchSize: 1 },
    ];
    const [e0, e1] = refreshEpochs(42, tasks, 2, 2);
    assert.ok(e0 && e1);
    assert.deepEqual(e0.order, [2, 1, 0]);
    assert.deepEqual(e0.batches, [
      { task: 'sts', rank_slices: [[0], [7]] },
      { task: 'nli', rank_slices: [[6, 5, 2], [4, 3, 0]] },
      { task: 'sts', rank_slices: [[5], [6]] },
      { task: 'msmarco', rank_slices: [[3, 5], [1, 8]] },
      { task: 'msmarco', rank_slices: [[7, 0], [4, 2]] },
      { task: 'sts', rank_slices: [[4], [8]] },
      { task: 'sts', rank_slices: [[3], [2]] },
    ]);
    assert.deepEqual(e0.after, { state: '0x3dd2494809e72be65cda6a24d5717b3c', inc: e0.after.inc, hasUint32: true, uinteger: 0xa1b4c210 });
    assert.deepEqual(e1.order, [0, 1, 2]);
    assert.deepEqual(e1.batches, [
      { task: 'nli', rank_slices: [[6, 5, 0], [2, 3, 1]] },
      { task: 'msmarco', rank_slices: [[9, 4], [1, 5]] },
      { task: 'sts', rank_slices: [[2], [6]] },
      { task: 'sts', rank_slices: [[7], [8]] },
      { task: 'msmarco', rank_slices: [[0, 3], [6, 7]] },
      { task: 'sts', rank_slices: [[1], [5]] },
      { task: 'sts', rank_slices: [[4], [3]] },
    ]);
    assert.deepEqual(e1.after, { state: '0x3c90410098465cdba485395b6b7b6b2f', inc: e1.after.inc, hasUint32: true, uinteger: 0x6fe9302a });
    assert.equal(e0.after.inc, numpyRng(42).inc);
  });
});

// ---------------------------------------------------------------------------------------------
// Extra vectors generated from real numpy (spec/random/vectors/numpy.json; script inside the file).
// ---------------------------------------------------------------------------------------------
interface NumpyVectors {
  readonly numpy: string;
  readonly fresh: { seed: string; n: number; result: number[]; after: NumpyRngState }[];
  readonly sequences: { seed: string; steps: { n: number; result: number[] }[]; after: NumpyRngState }[];
  readonly raw: { seed: string; ops: ['u32' | 'u64', string][]; after: NumpyRngState }[];
  readonly interval: { seed: string; calls: [string, string][]; after: NumpyRngState }[];
  readonly big: { seed: string; init: NumpyRngState; u64: string[]; shuffle50: number[]; after: NumpyRngState }[];
}
const VECTORS = JSON.parse(readFileSync(new URL('./vectors/numpy.json', import.meta.url), 'utf8')) as NumpyVectors;

// numpy prints the 128-bit integers without padding; compare values, not spellings.
const sameState = (got: NumpyRngState, expected: NumpyRngState): void =>
  assert.deepEqual(
    { ...got, state: BigInt(got.state), inc: BigInt(got.inc) },
    { ...expected, state: BigInt(expected.state), inc: BigInt(expected.inc) },
  );

describe(`NumpyGenerator: generated vectors (numpy ${VECTORS.numpy})`, () => {
  it('fresh default_rng(s).shuffle (ndarray for even s, list for odd s) and the state after', () => {
    for (const c of VECTORS.fresh) {
      const g = NumpyGenerator.fromSeed(c.seed);
      const xs = Number(c.seed) % 2 === 0 ? Int32Array.from(iota(c.n)) : iota(c.n);
      g.shuffle(xs);
      assert.deepEqual(Array.from(xs), c.result, `seed ${c.seed}`);
      sameState(g.state(), c.after);
    }
  });

  it('shuffles in sequence on one generator (buffer carried across calls)', () => {
    for (const c of VECTORS.sequences) {
      const g = NumpyGenerator.fromSeed(c.seed);
      for (const step of c.steps) {
        const xs = iota(step.n);
        g.shuffle(xs);
        assert.deepEqual(xs, step.result, `seed ${c.seed}`);
      }
      sameState(g.state(), c.after);
    }
  });

  it('raw interleaved next_uint32 / next_uint64 streams', () => {
    for (const c of VECTORS.raw) {
      const g = NumpyGenerator.fromSeed(c.seed);
      for (const [kind, value] of c.ops) {
        assert.equal(kind === 'u32' ? String(g.nextUint32()) : g.nextUint64().toString(), value, `seed ${c.seed}`);
      }
      sameState(g.state(), c.after);
    }
  });

  it("numpy's compiled random_interval on both paths (called through ctypes)", () => {
    for (const c of VECTORS.interval) {
      const g = NumpyGenerator.fromSeed(c.seed);
      for (const [max, value] of c.calls) assert.equal(g.randomIntervalBig(BigInt(max)).toString(), value, `seed ${c.seed} max ${max}`);
      sameState(g.state(), c.after);
    }
  });

  it('large seeds: state after seeding, first u64s, shuffle(arange(50))', () => {
    for (const c of VECTORS.big) {
      const g = NumpyGenerator.fromSeed(c.seed);
      sameState(g.state(), c.init);
      assert.deepEqual(c.u64.map(() => g.nextUint64().toString()), c.u64);
      const xs = iota(50);
      g.shuffle(xs);
      assert.deepEqual(xs, c.shuffle50, `seed ${c.seed}`);
      sameState(g.state(), c.after);
    }
  });
});

describe('NumpyGenerator: snapshots', () => {
  it('state() is frozen, JSON-serializable, and fromState validates its input', () => {
    const g = NumpyGenerator.fromSeed(7);
    g.nextUint32();
    const s = g.state();
    assert.ok(Object.isFrozen(s));
    assert.deepEqual(NumpyGenerator.fromState(JSON.parse(JSON.stringify(s)) as NumpyRngState).state(), s);
    assert.deepEqual(NumpyGenerator.fromState({ ...s, state: s.state.slice(2) }).state(), s);
    const bad: NumpyRngState[] = [
      { ...s, state: 'xyz' },
      { ...s, inc: `0x1${'0'.repeat(32)}` },
      { ...s, uinteger: -1 },
      { ...s, uinteger: 2 ** 32 },
      { ...s, hasUint32: 1 as unknown as boolean },
    ];
    for (const b of bad) assert.throws(() => NumpyGenerator.fromState(b), ConfigError);
  });
});

// ---------------------------------------------------------------------------------------------
// Laws, each stated as a sentence, each checked against the real code and (test of the test)
// against a deliberately broken variant that must fail.
// ---------------------------------------------------------------------------------------------
const seedArb: fc.Arbitrary<Seed> = fc.oneof(
  fc.nat(),
  fc.bigInt({ min: 0n, max: 2n ** 200n }).map((n) => n.toString()),
  fc.bigInt({ min: 0n, max: 2n ** 70n }),
);
const valuesArb = fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 300 });
type Draw = { kind: 'u32' } | { kind: 'u64' } | { kind: 'shuffle'; n: number } | { kind: 'interval'; max: number };
const drawArb: fc.Arbitrary<Draw> = fc.oneof(
  fc.constant({ kind: 'u32' as const }),
  fc.constant({ kind: 'u64' as const }),
  fc.record({ kind: fc.constant('shuffle' as const), n: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('interval' as const), max: fc.oneof(fc.nat({ max: 100 }), fc.maxSafeNat()) }),
);
const runDraws = (g: NumpyGenerator, draws: readonly Draw[]): unknown[] =>
  draws.map((d) => {
    switch (d.kind) {
      case 'u32':
        return g.nextUint32();
      case 'u64':
        return g.nextUint64();
      case 'interval':
        return g.randomInterval(d.max);
      case 'shuffle': {
        const xs = iota(d.n);
        g.shuffle(xs);
        return xs;
      }
    }
  });
const sortedCopy = (xs: ArrayLike<number>): number[] => Array.from(xs).sort((a, b) => a - b);

/** "Shuffling leaves the same multiset of values: the result is a permutation of the input." */
const isPermutationLaw = (shuffle: (g: NumpyGenerator, xs: MutableArrayLike<number>) => void) =>
  fc.property(seedArb, valuesArb, fc.boolean(), (seed, values, typed) => {
    const xs: MutableArrayLike<number> = typed ? Int32Array.from(values) : values.slice();
    shuffle(NumpyGenerator.fromSeed(seed), xs);
    return xs.length === values.length && JSON.stringify(sortedCopy(xs)) === JSON.stringify(sortedCopy(values));
  });

/** "A generator rebuilt from state() continues with exactly the draws the original makes." */
const roundTripLaw = (rebuild: (s: NumpyRngState) => NumpyGenerator) =>
  fc.property(seedArb, fc.array(drawArb, { maxLength: 12 }), fc.array(drawArb, { minLength: 1, maxLength: 12 }), (seed, warmup, next) => {
    const g = NumpyGenerator.fromSeed(seed);
    runDraws(g, warmup);
    const copy = rebuild(JSON.parse(JSON.stringify(g.state())) as NumpyRngState);
    assert.deepEqual(runDraws(copy, next), runDraws(g, next));
    assert.deepEqual(copy.state(), g.state());
    return true;
  });

/** "Drawing from a clone leaves the original where it was, and both then draw the same values." */
const cloneLaw = (cloneOf: (g: NumpyGenerator) => NumpyGenerator) =>
  fc.property(seedArb, fc.array(drawArb, { maxLength: 8 }), fc.array(drawArb, { minLength: 1, maxLength: 8 }), (seed, warmup, next) => {
    const g = NumpyGenerator.fromSeed(seed);
    runDraws(g, warmup);
    const before = g.state();
    const c = cloneOf(g);
    const fromClone = runDraws(c, next);
    assert.deepEqual(g.state(), before);
    assert.deepEqual(runDraws(g, next), fromClone);
    return true;
  });

/** "The pure shuffled() leaves its input array and state untouched and is deterministic." */
const pureLaw = (pure: typeof shuffled) =>
  fc.property(seedArb, valuesArb, fc.nat({ max: 3 }), (seed, values, warm) => {
    const [, rng] = pure(numpyRng(seed), iota(warm));
    const input = values.slice();
    const rngCopy = { ...rng };
    const [a, rngA] = pure(rng, input);
    const [b, rngB] = pure(rng, input);
    assert.deepEqual(input, values);
    assert.deepEqual(rng, rngCopy);
    assert.deepEqual(a, b);
    assert.deepEqual(rngA, rngB);
    return true;
  });

// Deliberately broken variants: each law must reject its broken twin.
const overwritingShuffle = (g: NumpyGenerator, xs: MutableArrayLike<number>): void => {
  for (let i = xs.length - 1; i > 0; i--) xs[i] = xs[g.randomInterval(i)]!;
};
const forgetfulRebuild = (s: NumpyRngState): NumpyGenerator => NumpyGenerator.fromState({ ...s, hasUint32: false });
const sharingClone = (g: NumpyGenerator): NumpyGenerator => g;
const inPlaceShuffled = <T>(rng: NumpyRngState, xs: ReadonlyArray<T>): readonly [ReadonlyArray<T>, NumpyRngState] => {
  const g = NumpyGenerator.fromState(rng);
  g.shuffle(xs as T[]);
  return [xs, g.state()] as const;
};

describe(`NumpyGenerator laws (FC_SEED=${FC_SEED})`, () => {
  it('shuffle is a permutation (arrays and Int32Array)', () => {
    fc.assert(isPermutationLaw((g, xs) => g.shuffle(xs)), fcParams());
  });

  it('state()/fromState() round trip continues the identical stream, buffer included', () => {
    fc.assert(roundTripLaw(NumpyGenerator.fromState), fcParams());
  });

  it('clone() does not share state', () => {
    fc.assert(cloneLaw((g) => g.clone()), fcParams());
  });

  it('the pure shuffled() never mutates its input and agrees with the class', () => {
    fc.assert(pureLaw(shuffled), fcParams());
    fc.assert(
      fc.property(seedArb, valuesArb, (seed, values) => {
        const g = NumpyGenerator.fromSeed(seed);
        const xs = values.slice();
        g.shuffle(xs);
        const [ys, after] = shuffled(numpyRng(seed), values);
        assert.deepEqual(ys, xs);
        assert.deepEqual(after, g.state());
        return true;
      }),
      fcParams(),
    );
  });

  it('randomInterval stays within [0, max]', () => {
    fc.assert(
      fc.property(seedArb, fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat()), (seed, max) => {
        const v = NumpyGenerator.fromSeed(seed).randomInterval(max);
        return Number.isInteger(v) && v >= 0 && v <= max;
      }),
      fcParams(),
    );
  });
});

describe(`NumpyGenerator laws catch broken variants (test of the test, FC_SEED=${FC_SEED})`, () => {
  it('the permutation law fails for a shuffle that overwrites instead of swapping', () => {
    assert.equal(fc.check(isPermutationLaw(overwritingShuffle), fcParams()).failed, true);
  });

  it('the round-trip law fails when the snapshot drops the 32-bit buffer', () => {
    assert.equal(fc.check(roundTripLaw(forgetfulRebuild), fcParams()).failed, true);
  });

  it('the clone law fails for a clone that shares the instance', () => {
    assert.equal(fc.check(cloneLaw(sharingClone), fcParams()).failed, true);
  });

  it('the purity law fails for a "pure" shuffle that shuffles its input in place', () => {
    assert.equal(fc.check(pureLaw(inPlaceShuffled), fcParams()).failed, true);
  });

  it('the §9.1 vectors reject a next_uint32 that returns the high half first', () => {
    const highFirstShuffle = (seed: number, n: number): number[] => {
      const g = NumpyGenerator.fromSeed(seed);
      let buffered: number | undefined;
      const u32 = (): number => {
        if (buffered !== undefined) {
          const b = buffered;
          buffered = undefined;
          return b;
        }
        const v = g.nextUint64();
        buffered = Number(v & 0xffffffffn);
        return Number(v >> 32n);
      };
      const xs = iota(n);
      for (let i = n - 1; i > 0; i--) {
        const mask = 0xffffffff >>> Math.clz32(i);
        let j = (u32() & mask) >>> 0;
        while (j > i) j = (u32() & mask) >>> 0;
        [xs[i], xs[j]] = [xs[j]!, xs[i]!];
      }
      return xs;
    };
    const mismatches = SEED_VECTORS.filter((v) => JSON.stringify(highFirstShuffle(v.seed, 10)) !== JSON.stringify(v.shuffle10));
    assert.equal(mismatches.length, SEED_VECTORS.length);
  });
});
