/**
 * A bounded cache that forgets its oldest entries first.
 *
 * @module
 */

/**
 * A map that keeps the total cost of its keys within `capacity` by forgetting the oldest keys first
 * (first in, first out; reading a key does not renew it). Setting a key it holds replaces the value
 * and keeps the key's place.
 *
 * **Details**: eviction takes constant time. (Evicting a `Map`'s first key, by iterating it from the
 * start, does not: V8 leaves deleted entries in place until the table is rebuilt, and every iteration
 * steps over all of them, so a full cache spent most of its time evicting.)
 *
 * **Gotchas**: `cost` must depend on the key alone. A key costing more than `capacity` on its own is
 * forgotten at once. A capacity ≤ 0 keeps nothing.
 *
 * @example
 * const cache = new FifoCache<string, number[]>(5, (key) => key.length);
 * cache.set('abc', [1]); cache.set('de', [2]); cache.set('f', [3]); // 'abc' is forgotten: 6 > 5
 * cache.get('abc'); // undefined
 *
 * @category tokenizers
 */
export class FifoCache<K, V> {
  private readonly entries = new Map<K, V>();
  /** Keys in insertion order; those before `head` are already forgotten. */
  private order: K[] = [];
  private head = 0;
  private total = 0;

  constructor(
    readonly capacity: number,
    private readonly cost: (key: K) => number = () => 1,
  ) {}

  /** Keys held. */
  get size(): number {
    return this.entries.size;
  }

  /** Total cost of the keys held. */
  get totalCost(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    if (this.entries.has(key)) {
      this.entries.set(key, value);
      return;
    }
    this.entries.set(key, value);
    this.order.push(key);
    this.total += this.cost(key);
    while (this.total > this.capacity) {
      const oldest = this.order[this.head++]!;
      this.entries.delete(oldest);
      this.total -= this.cost(oldest);
    }
    // Drops forgotten keys from the front now and then; amortized, a constant per key.
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.entries.clear();
    this.order = [];
    this.head = 0;
    this.total = 0;
  }
}
