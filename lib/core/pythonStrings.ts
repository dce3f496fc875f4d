/**
 * Python's view of a `str` where it differs from JavaScript's: its length and its order are by code
 * point, not by UTF-16 unit.
 *
 * @module
 */

/**
 * Python's `sorted()` on str: by code point. JavaScript's default sort compares UTF-16 units, which
 * orders characters beyond U+FFFF before U+E000–U+FFFF, unlike Python.
 *
 * @example
 * ['b', '\u{1F600}', '\uFF21'].sort(byCodePoint); // ['b', '\uFF21', '\u{1F600}']
 */
export const byCodePoint = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

/** Python's `len(text)`: code points, not UTF-16 units (a lone surrogate counts as one, as in Python). */
export const codePointLength = (text: string): number => {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
};
