/**
 * Python's `len` and `sorted()` on str (`codePointLength`, `byCodePoint`): by code point, where
 * JavaScript counts and compares UTF-16 units.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { byCodePoint, codePointLength } from '../../lib/core/pythonStrings.js';
import { fcParams, FC_SEED } from '../helpers/fc.js';

describe(`codePointLength equals [...s].length (FC_SEED=${FC_SEED})`, () => {
  it('examples: ASCII, BMP, astral, a lone surrogate each, a trailing high surrogate', () => {
    assert.equal(codePointLength(''), 0);
    assert.equal(codePointLength('abc'), 3);
    assert.equal(codePointLength('é中'), 2);
    assert.equal(codePointLength('😀𝔽'), 2);
    assert.equal('😀𝔽'.length, 4);
    assert.equal(codePointLength('\uDE00\uD83D'), 2); // low then high: two lone surrogates
    assert.equal(codePointLength('a\uD83D'), 2);
  });

  for (const unit of ['binary', 'grapheme', 'grapheme-composite', 'binary-ascii'] as const) {
    it(`fc.string({ unit: '${unit}' })`, () => {
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 200 }), (s) => codePointLength(s) === [...s].length),
        fcParams({ numRuns: 300 }),
      );
    });
  }

  it('the property can fail: UTF-16 length is caught by the binary and grapheme generators', () => {
    const utf16Length = (s: string) => s.length;
    for (const unit of ['binary', 'grapheme'] as const) {
      const run = fc.check(
        fc.property(fc.string({ unit, maxLength: 200 }), (s) => utf16Length(s) === [...s].length),
        fcParams({ numRuns: 300 }),
      );
      assert.equal(run.failed, true, unit);
    }
  });

  it('strings mixing lone surrogates, pairs and ASCII', () => {
    const unit = fc.constantFrom('\uD83D', '\uDE00', '😀', 'a', '\uDBFF', '\uDC00');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (s) => codePointLength(s) === [...s].length),
      fcParams({ numRuns: 300 }),
    );
  });
});

describe(`byCodePoint orders as Python's sorted() (FC_SEED=${FC_SEED})`, () => {
  it("examples: an astral character sorts after U+FF21, where JavaScript's default sort puts it before", () => {
    assert.deepEqual(['\u{1F600}', 'b', '\uFF21', 'ba', ''].sort(byCodePoint), ['', 'b', 'ba', '\uFF21', '\u{1F600}']);
    assert.deepEqual(['\u{1F600}', '\uFF21'].sort(), ['\u{1F600}', '\uFF21']);
  });

  // UTF-8 preserves code point order, so its byte order is an independent oracle (for well-formed text).
  const byUtf8 = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  const names = fc.array(fc.string({ unit: 'grapheme', maxLength: 6 }), { maxLength: 12 });

  it('equals the order of the UTF-8 bytes', () => {
    fc.assert(
      fc.property(names, (list) => {
        assert.deepEqual([...list].sort(byCodePoint), [...list].sort(byUtf8));
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it("the property can fail: JavaScript's default sort (by UTF-16 unit) is caught", () => {
    const run = fc.check(
      fc.property(names, (list) => JSON.stringify([...list].sort()) === JSON.stringify([...list].sort(byUtf8))),
      fcParams({ numRuns: 300 }),
    );
    assert.equal(run.failed, true);
  });

});
