import { RowRejected, type Row } from '../model';
import { compileTransforms } from './compile-transforms';
import { CLUSTER_JOINERS, reverseGraphemes } from './string-transforms';

function run(config: Parameters<typeof compileTransforms>[0][number], row: Row) {
  return compileTransforms([config])(row);
}

describe('string transforms', () => {
  it('uppercases every string field when no fields are listed, leaving other types alone', () => {
    const row = { name: 'ada', city: 'Paris', age: 36, active: true, note: null, tags: ['x'] };
    expect(run({ operation: 'uppercase' }, row)).toStrictEqual({
      name: 'ADA',
      city: 'PARIS',
      age: 36,
      active: true,
      note: null,
      tags: ['x'],
    });
  });

  it('uppercases only the listed fields and ignores listed fields the row lacks', () => {
    const row = { name: 'ada', city: 'paris', age: 36 };
    expect(run({ operation: 'uppercase', fields: ['city', 'age', 'missing'] }, row)).toStrictEqual({
      name: 'ada',
      city: 'PARIS',
      age: 36,
    });
  });

  it('lowercases', () => {
    expect(run({ operation: 'lowercase' }, { a: 'ÉCOLE MiXed', b: 1 })).toStrictEqual({
      a: 'école mixed',
      b: 1,
    });
  });

  it('trims whitespace, including non-breaking spaces, from string values', () => {
    expect(
      run({ operation: 'trim', fields: ['a', 'b'] }, { a: '  x y \t', b: '\u00a0z\n', c: ' c ' }),
    ).toStrictEqual({ a: 'x y', b: 'z', c: ' c ' });
  });

  describe('reverse', () => {
    it('reverses plain ASCII', () => {
      expect(run({ operation: 'reverse' }, { s: 'hello world', n: 12 })).toStrictEqual({
        s: 'dlrow olleh',
        n: 12,
      });
    });

    it('reverses accented text, precomposed and with combining marks', () => {
      expect(reverseGraphemes('héllo wörld')).toBe('dlröw olléh');
      // 'e' + U+0301 stays one 'é' after reversal
      expect(reverseGraphemes('ae\u0301b')).toBe('be\u0301a');
    });

    it('keeps an emoji with a skin-tone modifier, a flag and a ZWJ family whole', () => {
      expect(reverseGraphemes('a👍🏽b')).toBe('b👍🏽a');
      expect(reverseGraphemes('🇫🇷🇩🇪')).toBe('🇩🇪🇫🇷');
      expect(reverseGraphemes('x👩‍👩‍👧y')).toBe('y👩‍👩‍👧x');
    });

    it('reverses other scripts and astral characters by code point', () => {
      expect(reverseGraphemes('Привет мир')).toBe('рим тевирП');
      expect(reverseGraphemes('東京都渋谷区')).toBe('区谷渋都京東');
      expect(reverseGraphemes('a𝒳b😀')).toBe('😀b𝒳a');
    });

    it('keeps Hangul jamo sequences and Devanagari conjuncts whole', () => {
      // U+1100 U+1161 U+11A8 is one syllable written with three jamo
      expect(reverseGraphemes('x\u1100\u1161\u11a8y')).toBe('y\u1100\u1161\u11a8x');
      expect(reverseGraphemes('नमस्ते')).toBe('स्तेमन');
    });

    it('treats every code point outside the joiner class as its own cluster', () => {
      // What ICU says for each such code point between two letters, in slices
      // (Intl.Segmenter is slow on long strings).
      const chars: string[] = [];
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const char = String.fromCodePoint(cp);
        if (/\p{Assigned}/u.test(char) && !CLUSTER_JOINERS.test(char)) chars.push(char);
      }
      const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
      let clusters = 0;
      for (let i = 0; i < chars.length; i += 200) {
        clusters += [...segmenter.segment(`a${chars.slice(i, i + 200).join('')}a`)].length - 2;
      }
      expect(clusters).toBe(chars.length);
    });

    it('segments long mixed text in linear time', () => {
      const text = 'e\u0301👍🏽ab🇫🇷'.repeat(5000);
      const started = Date.now();
      expect(reverseGraphemes(text)).toBe('🇫🇷ba👍🏽e\u0301'.repeat(5000));
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('keeps CR LF together and handles empty and one-character strings', () => {
      expect(reverseGraphemes('a\r\nb')).toBe('b\r\na');
      expect(reverseGraphemes('')).toBe('');
      expect(reverseGraphemes('z')).toBe('z');
    });
  });

  it('never rejects', () => {
    expect(run({ operation: 'trim' }, { a: 1 })).not.toBeInstanceOf(RowRejected);
  });
});
