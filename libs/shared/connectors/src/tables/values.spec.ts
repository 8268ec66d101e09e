import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID } from 'mongodb';
import { jsonBytes, PG_TYPES, plainRow, plainValue } from './values';

describe('plainValue', () => {
  it('turns driver values into JSON values without losing digits', () => {
    expect(
      plainRow({
        at: new Date('2024-03-01T10:00:00.123Z'),
        big: 9007199254740993n,
        bytes: Buffer.from([0, 255]),
        nothing: undefined,
        nan: Number.NaN,
        nested: { list: [new Date(0), 1n] },
      }),
    ).toEqual({
      at: '2024-03-01T10:00:00.123Z',
      big: '9007199254740993',
      bytes: 'AP8=',
      nothing: null,
      nan: 'NaN',
      nested: { list: ['1970-01-01T00:00:00.000Z', '1'] },
    });
  });

  it('turns MongoDB’s own types into strings or numbers', () => {
    const id = new ObjectId();
    const uuid = new UUID();
    expect(plainValue(id)).toBe(id.toHexString());
    expect(plainValue(Decimal128.fromString('12345678901234567890.123'))).toBe(
      '12345678901234567890.123',
    );
    expect(plainValue(Long.fromNumber(42))).toBe(42);
    expect(plainValue(Long.fromString('9007199254740993'))).toBe('9007199254740993');
    expect(plainValue(new Int32(7))).toBe(7);
    expect(plainValue(new Double(0.5))).toBe(0.5);
    expect(plainValue(uuid)).toBe(uuid.toHexString(true));
    expect(plainValue(new Binary(Buffer.from([1, 2])))).toBe('AQI=');
    expect(plainValue(new Timestamp({ t: 5, i: 1 }))).toEqual({ $timestamp: { t: 5, i: 1 } });
  });
});

describe('jsonBytes', () => {
  it('is the size of the rows as UTF-8 JSON', () => {
    expect(jsonBytes([{ a: 'é' }])).toBe(Buffer.byteLength('[{"a":"é"}]'));
  });
});

describe('PostgreSQL type parsers', () => {
  const parse = (oid: number, text: string) =>
    (PG_TYPES.getTypeParser(oid as never, 'text') as (text: string) => unknown)(text);

  it('keeps dates and times exact, as ISO 8601 text', () => {
    expect(parse(1184, '2024-03-01 10:00:00.123456+00')).toBe('2024-03-01T10:00:00.123456Z');
    expect(parse(1114, '2024-03-01 23:59:59.999999')).toBe('2024-03-01T23:59:59.999999');
    expect(parse(1082, '2024-02-29')).toBe('2024-02-29');
    expect(parse(1186, '1 day 02:00:00')).toBe('1 day 02:00:00');
    expect(parse(1185, '{"2024-03-01 10:00:00+00",NULL}')).toEqual(['2024-03-01T10:00:00Z', null]);
  });

  it('leaves other types to node-postgres (bigint stays a string)', () => {
    expect(parse(20, '9007199254740993')).toBe('9007199254740993');
    expect(parse(16, 't')).toBe(true);
  });
});
