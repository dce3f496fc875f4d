/**
 * FifoCache: after any sequence of sets, it holds exactly what a plain list model holds (keys in
 * insertion order, the oldest dropped while the total cost is over capacity; setting a held key
 * replaces its value in place), through many compactions of its key queue; and its documented example.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FifoCache } from '../../lib/core/fifoCache.js';
import { FC_SEED, fcParams } from '../helpers/fc.js';

/** The obvious implementation: a list in insertion order. */
const model = (capacity: number, cost: (key: string) => number) => {
  let entries: Array<[string, number]> = [];
  return {
    set(key: string, value: number) {
      const held = entries.find(([k]) => k === key);
      if (held !== undefined) {
        held[1] = value;
        return;
      }
      entries.push([key, value]);
      let total = entries.reduce((n, [k]) => n + cost(k), 0);
      while (total > capacity) total -= cost(entries.shift()![0]);
    },
    entries: () => entries,
    clear: () => {
      entries = [];
    },
  };
};

type Command = { readonly op: 'set'; readonly key: string; readonly value: number } | { readonly op: 'clear' };

const commandsArb = (keys: fc.Arbitrary<string>) =>
  fc.array(
    fc.oneof(
      { weight: 1000, arbitrary: fc.record({ op: fc.constant('set' as const), key: keys, value: fc.integer() }) },
      { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    ),
    { minLength: 1500, maxLength: 3000 },
  );

/** Runs the commands on both and compares every key the commands used, the size and the total cost. */
const agrees = (capacity: number, cost: (key: string) => number, commands: ReadonlyArray<Command>): boolean => {
  const cache = new FifoCache<string, number>(capacity, cost);
  const expected = model(capacity, cost);
  const keys = new Set<string>();
  for (const command of commands) {
    if (command.op === 'clear') {
      cache.clear();
      expected.clear();
      continue;
    }
    keys.add(command.key);
    cache.set(command.key, command.value);
    expected.set(command.key, command.value);
  }
  const held = new Map(expected.entries());
  const total = expected.entries().reduce((n, [k]) => n + cost(k), 0);
  return cache.size === held.size && cache.totalCost === total && [...keys].every((k) => cache.get(k) === held.get(k) && cache.has(k) === held.has(k));
};

describe(`FifoCache (FC_SEED=${FC_SEED})`, () => {
  it('holds what the list model holds, cost 1 per key, for any capacity (0 included) and thousands of sets', () => {
    // Keys from a small range recur (sets of held keys); from a large one they are mostly new, so
    // that the key queue is compacted (every 1,024 forgotten keys) several times in a run.
    const keys = fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 100_000 })).map(String);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), commandsArb(keys), (capacity, commands) =>
        agrees(capacity, () => 1, commands),
      ),
      fcParams({ numRuns: 200 }),
    );
  });

  it('holds what the list model holds when keys cost their length (keys longer than the capacity included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), commandsArb(fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 8 })), (capacity, commands) =>
        agrees(capacity, (key) => key.length, commands),
      ),
      fcParams({ numRuns: 200 }),
    );
  });

  it('setting a held key replaces its value and keeps its place: it is still forgotten first', () => {
    const fifo = new FifoCache<string, number>(2);
    for (const [k, v] of [['a', 1], ['b', 2], ['a', 3], ['c', 4]] as const) fifo.set(k, v);
    assert.deepEqual([fifo.get('a'), fifo.get('b'), fifo.get('c')], [undefined, 2, 4]);
  });

  it('the example of its documentation', () => {
    const cache = new FifoCache<string, number[]>(5, (key) => key.length);
    cache.set('abc', [1]);
    cache.set('de', [2]);
    cache.set('f', [3]);
    assert.equal(cache.get('abc'), undefined);
    assert.deepEqual([cache.get('de'), cache.get('f')], [[2], [3]]);
    assert.equal(cache.totalCost, 3);
  });
});
