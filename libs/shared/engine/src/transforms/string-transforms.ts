/** uppercase, lowercase, trim and reverse: they change string values only. */
import type { Row } from '../model';

export type StringFunction = (value: string) => string;

export const toUpperCase: StringFunction = (value) => value.toUpperCase();
export const toLowerCase: StringFunction = (value) => value.toLowerCase();
export const trim: StringFunction = (value) => value.trim();

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Code points that can share a grapheme cluster with a neighbour (UAX #29,
 * Unicode 17): marks, joiners, emoji modifiers, regional indicators, Hangul
 * and Kirat Rai conjoining letters, Prepend and the non-mark SpacingMark and
 * Extend characters, CR. Between two code points outside this class a
 * cluster always breaks. The spec checks this against the runtime's ICU, so
 * a Node upgrade with new such characters fails the test, not silently.
 */
export const CLUSTER_JOINERS =
  /[\r\p{M}\u200C\u200D\p{Emoji_Modifier}\p{Regional_Indicator}\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF\u0600-\u0605\u06DD\u070F\u0890\u0891\u08E2\u0D4E\u0E33\u0EB3\uFF9E\uFF9F\u{110BD}\u{110CD}\u{111C2}\u{111C3}\u{1193F}\u{11941}\u{11A3A}\u{11A84}-\u{11A89}\u{11D46}\u{11F02}\u{113D1}\u{16D63}\u{16D67}-\u{16D6A}\u{E0000}-\u{E0FFF}]/u;

const JOINER_AT = new RegExp(CLUSTER_JOINERS.source, 'uy');

/**
 * Reverses by grapheme clusters, so combining marks, emoji modifiers and flags
 * survive. Latin text below U+0300 takes a plain loop; text without joining
 * code points is reversed by code point.
 */
export const reverseGraphemes: StringFunction = (value) => {
  const length = value.length;
  if (length < 2) return value;
  let simple = true;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x300 || code === 0x0d) {
      simple = false;
      break;
    }
  }
  if (simple) {
    let out = '';
    for (let i = length - 1; i >= 0; i--) out += value[i];
    return out;
  }
  if (!CLUSTER_JOINERS.test(value)) return Array.from(value).reverse().join('');
  return reverseClusters(value);
};

/**
 * Intl.Segmenter costs ~10 µs a call and its iteration is quadratic in the
 * string's length in V8 (64 K code units took 8 s), so it only sees the
 * short stretches between two code points that cannot join: a break always
 * falls there.
 */
function reverseClusters(value: string): string {
  const clusters: string[] = [];
  const pushStretch = (start: number, end: number): void => {
    const stretch = value.slice(start, end);
    if (end - start === 1 || !CLUSTER_JOINERS.test(stretch)) {
      clusters.push(...Array.from(stretch));
    } else {
      for (const { segment } of graphemes.segment(stretch)) clusters.push(segment);
    }
  };
  let start = 0;
  let previousJoins = true;
  for (let i = 0; i < value.length; ) {
    const step = (value.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    JOINER_AT.lastIndex = i;
    const joins = JOINER_AT.test(value);
    if (!joins && !previousJoins) {
      pushStretch(start, i);
      start = i;
    }
    previousJoins = joins;
    i += step;
  }
  pushStretch(start, value.length);
  return clusters.reverse().join('');
}

/**
 * Applies `fn` to the string values of `fields` (missing ones are ignored),
 * or to every string field when no fields are given. Mutates the row.
 */
export function compileStringTransform(
  fn: StringFunction,
  fields: readonly string[] | undefined,
): (row: Row) => Row {
  if (!fields) {
    return (row) => {
      for (const key in row) {
        const value = row[key];
        if (typeof value === 'string') row[key] = fn(value);
      }
      return row;
    };
  }
  const list = [...fields];
  return (row) => {
    for (const key of list) {
      const value = row[key];
      if (typeof value === 'string') row[key] = fn(value);
    }
    return row;
  };
}
