import { parseCsvText } from './csv-records';
import { CsvScanner, JsonlScanner, whitespaceLength } from './record-scanner';

/** Deterministic pseudo-random numbers (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Scans `buf` cut into pieces at `cuts`; returns record ends (absolute, exclusive) and lines. */
function scanAll(scanner: CsvScanner | JsonlScanner, buf: Buffer, cuts: number[]) {
  const ends: number[] = [];
  const lines: number[] = [];
  let from = 0;
  for (const to of [...cuts, buf.length]) {
    scanner.scan(buf.subarray(from, to));
    scanner.ends.forEach((e, i) => {
      ends.push(from + e + 1);
      lines.push(scanner.endLines[i]!);
    });
    from = to;
  }
  return { ends, lines, total: scanner.lines };
}

/** Records as papaparse sees the whole text (its trailing empty row dropped). */
function papaRecords(text: string, delimiter: string, quote: string): string[][] {
  const { data } = parseCsvText(text, { delimiter, quote, header: false }, '\n');
  if (text.endsWith('\n')) data.pop();
  return data;
}

describe('CsvScanner', () => {
  it('ends records only at newlines outside quoted fields', () => {
    const text = 'a,"b\nc",d\n"x""\n",y\n5\'10",z\nlast';
    const { ends, lines, total } = scanAll(new CsvScanner(0x2c, 0x22), Buffer.from(text), []);
    expect(ends).toEqual([10, 19, 27]);
    expect(lines).toEqual([2, 4, 5]);
    expect(total).toBe(5);
  });

  it('follows papaparse on stray and malformed quotes', () => {
    // Stray quote mid-field is data; `"h"x` keeps the field open until `"i",`.
    const text = 'a,b"c,d\n"h"x,1\n"i",2\ne,f\n';
    const { ends } = scanAll(new CsvScanner(0x2c, 0x22), Buffer.from(text), []);
    expect(ends).toEqual([8, 21, 25]);
    expect(papaRecords(text, ',', '"')).toEqual([
      ['a', 'b"c', 'd'],
      ['h"x,1\n"i', '2'],
      ['e', 'f'],
    ]);
  });

  it('treats a quote followed by Unicode whitespace and a delimiter as closing, even across chunks', () => {
    const text = '"a"\u3000,"b\n"\u00a0\nc,d\n';
    const buf = Buffer.from(text);
    const expected = scanAll(new CsvScanner(0x2c, 0x22), buf, []);
    expect(expected.ends).toEqual([buf.length - 4, buf.length]);
    for (let cut = 1; cut < buf.length; cut++) {
      for (let cut2 = cut + 1; cut2 < Math.min(buf.length, cut + 3); cut2++) {
        expect(scanAll(new CsvScanner(0x2c, 0x22), buf, [cut, cut2])).toEqual(expected);
      }
    }
  });

  it.each([
    [',', '"'],
    [';', "'"],
    ['\t', '"'],
    [' ', '"'],
  ])(
    'agrees with papaparse on random input (delimiter %j, quote %j), however the input is chunked',
    (delimiter, quote) => {
      const random = prng(delimiter.charCodeAt(0) * 31 + quote.charCodeAt(0));
      const alphabet = [
        'a',
        'b',
        delimiter,
        quote,
        quote,
        '\n',
        '\r',
        ' ',
        '\t',
        'é',
        '\u00a0',
        '\u2028',
      ];
      for (let n = 0; n < 1500; n++) {
        let text = '';
        const length = Math.floor(random() * 40);
        for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
        const buf = Buffer.from(text);
        const cuts = [Math.floor(random() * buf.length), Math.floor(random() * buf.length)].sort(
          (x, y) => x - y,
        );
        const scanner = new CsvScanner(delimiter.charCodeAt(0), quote.charCodeAt(0));
        const { ends, total } = scanAll(scanner, buf, cuts);
        expect(total).toBe(text.split('\n').length - 1);
        // Each scanned record parses alone exactly as papaparse parses it in the whole text.
        const starts = [0, ...ends];
        if (ends.at(-1) === buf.length) starts.pop();
        const alone = starts.flatMap((s, i) =>
          papaRecords(buf.toString('utf8', s, ends[i] ?? buf.length), delimiter, quote),
        );
        expect({ text, records: alone }).toEqual({
          text,
          records: papaRecords(text, delimiter, quote),
        });
      }
    },
  );
});

describe('JsonlScanner', () => {
  it('ends a record at every newline and records only those at or after recordFrom', () => {
    const scanner = new JsonlScanner();
    scanner.scan(Buffer.from('{}\n{"a":"\n"}\r\n'), 3);
    expect(scanner.ends).toEqual([9, 13]);
    expect(scanner.endLines).toEqual([2, 3]);
    expect(scanner.lines).toBe(3);
  });
});

describe('whitespaceLength', () => {
  it('measures the characters String.prototype.trim removes', () => {
    const cases: [string, number][] = [
      [' ', 1],
      ['\t', 1],
      ['\r', 1],
      ['\u00a0', 2],
      ['\u1680', 3],
      ['\u200a', 3],
      ['\u2028', 3],
      ['\u202f', 3],
      ['\u205f', 3],
      ['\u3000', 3],
      ['\ufeff', 3],
      ['a', 0],
      ['é', 0],
      ['\u200b', 0],
      ['\u2010', 0],
    ];
    for (const [c, n] of cases) {
      expect([c, whitespaceLength(Buffer.from(c), 0)]).toEqual([c, n]);
      expect(c.trim() === '').toBe(n > 0);
    }
    expect(whitespaceLength(Buffer.from([0xe2, 0x80]), 0)).toBe(-1);
    expect(whitespaceLength(Buffer.from([0xe2, 0x41]), 0)).toBe(0);
    expect(whitespaceLength(Buffer.from([0xc2]), 0)).toBe(-1);
  });
});
