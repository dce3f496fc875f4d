/** Checks of the Arrow step table (`dump --format arrow`, `export`) against dump's JSON lines. */
import assert from 'node:assert/strict';
import { Vector, type Table } from 'apache-arrow';

/** An Arrow value as plain JSON-like data: vectors to arrays, int64 to numbers. */
export const plainArrow = (value: unknown): unknown => (value instanceof Vector ? [...value].map(plainArrow) : typeof value === 'bigint' ? Number(value) : value);

/**
 * Every row of `table` equals dump's JSON record of the same step, field for field (teacher scores
 * after rounding to float32); without `withText` the two text columns are absent.
 */
export const assertTableEqualsDump = (table: Table, json: ReadonlyArray<Record<string, unknown>>, withText: boolean): void => {
  assert.equal(table.numRows, json.length);
  json.forEach((record, i) => {
    for (const [key, value] of Object.entries(record)) {
      const column = table.getChild(key);
      if (key.endsWith('_text') && !withText) {
        assert.equal(column, null, `${key} without --with_text`);
        continue;
      }
      assert.ok(column !== null, `step ${i}: no ${key} column`);
      const got = plainArrow(column.get(i));
      if (key === 'teacher_scores' && value !== null) assert.deepEqual(got, [...Float32Array.from(value as number[])]);
      else assert.deepEqual(got, value, `step ${i}: ${key}`);
    }
  });
};
