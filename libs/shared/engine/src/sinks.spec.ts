import { access, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Row } from './model';
import {
  DocumentSink,
  FilePartSink,
  RowShapeError,
  assembleParts,
  partFileName,
  stagingDir,
} from './sinks';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudflow-sinks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fresh directory for one test. */
async function scratch(): Promise<string> {
  const path = join(dir, `t${n++}`);
  await mkdir(path);
  return path;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const text = (path: string) => readFile(path, 'utf8');

async function writePart(path: string, content: string): Promise<string> {
  await writeFile(path, content);
  return path;
}

describe('FilePartSink', () => {
  it('writes to <part>.tmp and shows nothing under the part name before commit', async () => {
    const d = await scratch();
    const part = join(d, 'parts', '000000.a1.part');
    const sink = new FilePartSink(part, 'csv');
    await sink.write([{ id: '1', name: 'ada' }]);
    expect(await exists(part)).toBe(false);
    expect(await text(`${part}.tmp`)).toBe('id,name\n1,ada\n');
    await sink.abort();
  });

  it('commit renames the tmp file to the part', async () => {
    const d = await scratch();
    const part = join(d, 'parts', '000000.a1.part');
    const sink = new FilePartSink(part, 'csv');
    await sink.write([{ id: '1', name: 'ada' }]);
    await sink.write([{ id: '2', name: 'bob' }]);
    await sink.commit();
    expect(await text(part)).toBe('id,name\n1,ada\n2,bob\n');
    expect(await exists(`${part}.tmp`)).toBe(false);
    expect(await readdir(join(d, 'parts'))).toEqual(['000000.a1.part']);
  });

  it('abort removes the tmp file and leaves no part', async () => {
    const d = await scratch();
    const part = join(d, '000001.a2.part');
    const sink = new FilePartSink(part, 'jsonl');
    await sink.write([{ id: 1 }]);
    await sink.abort();
    expect(await readdir(d)).toEqual([]);
  });

  it('abort without any write is harmless', async () => {
    const d = await scratch();
    const sink = new FilePartSink(join(d, 'p.part'), 'csv');
    await expect(sink.abort()).resolves.toBeUndefined();
    expect(await readdir(d)).toEqual([]);
  });

  it('commits an empty part when nothing was written', async () => {
    const d = await scratch();
    const part = join(d, 'p.part');
    const sink = new FilePartSink(part, 'csv');
    await sink.write([]);
    await sink.commit();
    expect(await text(part)).toBe('');
  });

  it('takes the CSV header from the first row and writes later rows in its column order', async () => {
    const d = await scratch();
    const part = join(d, 'p.part');
    const sink = new FilePartSink(part, 'csv');
    await sink.write([
      { id: '1', name: 'ada', note: 'a, "quoted" note' },
      { name: 'bob', id: '2', note: null },
    ]);
    await sink.write([{ note: 'line1\nline2', id: 3 }]);
    await sink.commit();
    expect(await text(part)).toBe(
      'id,name,note\n1,ada,"a, ""quoted"" note"\n2,bob,\n3,,"line1\nline2"\n',
    );
  });

  it('writes JSON Lines, one object per row', async () => {
    const d = await scratch();
    const part = join(d, 'p.part');
    const sink = new FilePartSink(part, 'jsonl');
    await sink.write([{ a: 1 }, { b: 'x', c: [1, 2] }]);
    await sink.write([{ a: null }]);
    await sink.commit();
    expect(await text(part)).toBe('{"a":1}\n{"b":"x","c":[1,2]}\n{"a":null}\n');
  });

  it('refuses a CSV row with a field outside the columns', async () => {
    const d = await scratch();
    const sink = new FilePartSink(join(d, 'p.part'), 'csv');
    await sink.write([{ id: '1' }]);
    const error: unknown = await sink.write([{ id: '2', extra: 'x' }]).catch((e) => e);
    expect(error).toBeInstanceOf(RowShapeError);
    expect((error as Error).message).toBe("unexpected field 'extra'");
    await sink.abort();
  });

  describe('misfits', () => {
    it('names CSV rows with fields outside the columns fixed by an earlier write', async () => {
      const d = await scratch();
      const sink = new FilePartSink(join(d, 'p.part'), 'csv');
      await sink.write([{ id: '1', name: 'ada' }]);
      const misfits = sink.misfits([
        { id: '2', name: 'bob' },
        { id: '3', city: 'Paris', zip: '75001' },
        { name: 'cy' },
        { id: '4', name: 'di', age: 9 },
      ]);
      expect([...misfits]).toEqual([
        [1, "field 'city' is not among the CSV output's columns (id, name)"],
        [3, "field 'age' is not among the CSV output's columns (id, name)"],
      ]);
      await sink.abort();
    });

    it("takes the batch's first row as the columns before anything was written", () => {
      const sink = new FilePartSink(join(dir, 'never-written.part'), 'csv');
      const misfits = sink.misfits([{ a: 1, b: 2 }, { b: 3 }, { a: 4, c: 5 }]);
      expect([...misfits]).toEqual([[2, "field 'c' is not among the CSV output's columns (a, b)"]]);
    });

    it('finds no misfits in JSON Lines, where every row may differ', () => {
      const sink = new FilePartSink(join(dir, 'never-written.part'), 'jsonl');
      expect(sink.misfits([{ a: 1 }, { b: 2 }]).size).toBe(0);
    });
  });
});

describe('assembleParts', () => {
  async function assemble(d: string, parts: string[], format: 'csv' | 'jsonl', target?: string) {
    const out = target ?? join(d, 'out', 'result.' + format);
    const result = await assembleParts({
      parts,
      target: out,
      format,
      tmpPath: join(d, 'staging', 'output.tmp'),
    });
    return { out, result };
  }

  it('concatenates CSV parts in the given order under one header', async () => {
    const d = await scratch();
    const p0 = await writePart(join(d, 'p0'), 'id,name\n1,ada\n2,bob\n');
    const p1 = await writePart(join(d, 'p1'), 'id,name\n3,cy\n');
    const p2 = await writePart(join(d, 'p2'), 'id,name\n4,"d, e"\n');
    const { out, result } = await assemble(d, [p2, p0, p1], 'csv');
    const expected = 'id,name\n4,"d, e"\n1,ada\n2,bob\n3,cy\n';
    expect(await text(out)).toBe(expected);
    expect(result).toStrictEqual({ bytesWritten: Buffer.byteLength(expected) });
    expect(await exists(join(d, 'staging', 'output.tmp'))).toBe(false);
  });

  it('re-maps parts with other columns onto the union, with empty values, losing no field', async () => {
    const d = await scratch();
    const p0 = await writePart(join(d, 'p0'), 'id,name\n1,ada\n');
    const p1 = await writePart(join(d, 'p1'), 'name,id,city\nbob,2,Paris\n"c\nd",3,"Lyon, FR"\n');
    const p2 = await writePart(join(d, 'p2'), 'zip\n75001\n');
    const p3 = await writePart(join(d, 'p3'), 'id,name\n4,di\n');
    const { out, result } = await assemble(d, [p0, p1, p2, p3], 'csv');
    const expected =
      'id,name,city,zip\n' +
      '1,ada,,\n' +
      '2,bob,Paris,\n' +
      '3,"c\nd","Lyon, FR",\n' +
      ',,,75001\n' +
      '4,di,,\n';
    expect(await text(out)).toBe(expected);
    expect(result.bytesWritten).toBe(Buffer.byteLength(expected));
  });

  it('concatenates JSON Lines parts as they are', async () => {
    const d = await scratch();
    const p0 = await writePart(join(d, 'p0'), '{"a":1}\n{"a":2}\n');
    const p1 = await writePart(join(d, 'p1'), '{"b":"x"}\n');
    const { out, result } = await assemble(d, [p0, p1], 'jsonl');
    expect(await text(out)).toBe('{"a":1}\n{"a":2}\n{"b":"x"}\n');
    expect(result).toStrictEqual({ bytesWritten: 26 });
  });

  it('gives byte-identical output when run twice', async () => {
    const d = await scratch();
    const p0 = await writePart(join(d, 'p0'), 'id,name\n1,ada\n');
    const p1 = await writePart(join(d, 'p1'), 'name,id,city\nbob,2,Paris\n');
    const first = await assemble(d, [p0, p1], 'csv');
    const once = await readFile(first.out);
    const second = await assemble(d, [p0, p1], 'csv');
    expect(await readFile(second.out)).toEqual(once);
    expect(second.result).toStrictEqual(first.result);
    expect(once.toString()).toBe('id,name,city\n1,ada,\n2,bob,Paris\n');
  });

  it('replaces an existing target file', async () => {
    const d = await scratch();
    const target = join(d, 'result.csv');
    await writeFile(target, 'old,content\nthat,is,longer,than,the,new,one\n');
    const p0 = await writePart(join(d, 'p0'), 'a\n1\n');
    await assemble(d, [p0], 'csv', target);
    expect(await text(target)).toBe('a\n1\n');
  });

  it("creates the target's directory", async () => {
    const d = await scratch();
    const p0 = await writePart(join(d, 'p0'), 'a\n1\n');
    const target = join(d, 'deep', 'er', 'result.csv');
    await assemble(d, [p0], 'csv', target);
    expect(await text(target)).toBe('a\n1\n');
  });

  it('writes an empty file when there are no parts', async () => {
    const d = await scratch();
    const { out, result } = await assemble(d, [], 'csv');
    expect(await text(out)).toBe('');
    expect(result).toStrictEqual({ bytesWritten: 0 });
  });

  it('assembles what FilePartSink committed', async () => {
    const d = await scratch();
    const staging = stagingDir(d, 'job-1');
    const parts = [0, 1].map((seq) => join(staging, 'parts', partFileName(seq, seq + 1)));
    const a = new FilePartSink(parts[0]!, 'csv');
    await a.write([{ id: 1, note: 'x,y' }]);
    await a.commit();
    const b = new FilePartSink(parts[1]!, 'csv');
    await b.write([{ note: 'z', id: 2, extra: true }]);
    await b.commit();
    const { out } = await assemble(d, parts, 'csv');
    expect(await text(out)).toBe('id,note,extra\n1,"x,y",\n2,z,true\n');
  });
});

describe('partFileName and stagingDir', () => {
  it('name parts so they sort by task, with the attempt in the name', () => {
    expect(partFileName(7, 2)).toBe('000007.a2.part');
    expect(stagingDir('/data', 'job-9')).toBe(join('/data', '.cloudflow', 'jobs', 'job-9'));
  });
});

describe('DocumentSink', () => {
  it('forwards each batch of rows with their input lines', async () => {
    const insert = jest.fn<Promise<void>, [Row[], number[]]>(() => Promise.resolve());
    const sink = new DocumentSink(insert);
    await sink.write([{ id: 1 }, { id: 2 }], [4, 7]);
    await sink.write([{ id: 3 }], [9]);
    await sink.commit();
    await sink.abort();
    expect(insert.mock.calls).toEqual([
      [
        [{ id: 1 }, { id: 2 }],
        [4, 7],
      ],
      [[{ id: 3 }], [9]],
    ]);
  });

  it('passes an insert failure on to the caller', async () => {
    const sink = new DocumentSink(() => Promise.reject(new Error('E11000 but not a duplicate')));
    await expect(sink.write([{ id: 1 }], [2])).rejects.toThrow('E11000 but not a duplicate');
  });
});
