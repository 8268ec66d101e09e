import { Client as PgClient } from 'pg';
import { testEnv, uniqueName } from '@cloudflow/testing';
import { parseConnectionString } from '../connection-string';
import { NetworkPolicy } from '../network-policy';
import type { KeyRange } from './model';
import { planKeyRanges } from './tables';

const access = {
  policy: new NetworkPolicy({ allowLoopback: true, allowPrivate: true }),
  timeoutMs: 10_000,
};

async function collect(ranges: AsyncIterable<KeyRange>, limit = Infinity): Promise<KeyRange[]> {
  const out: KeyRange[] = [];
  for await (const range of ranges) {
    out.push(range);
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * A re-plan (the scheduler restarted mid-planning) must not start over on a
 * table that changed since: ranges already planned keep their bounds and row
 * numbers, and planning goes on after the last of them.
 */
describe('planKeyRanges resumed after the last planned range (real PostgreSQL)', () => {
  const url = testEnv('CLOUDFLOW_TEST_POSTGRES_URL');
  const parsed = parseConnectionString('postgres', url);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const config = parsed.config;
  const schema = uniqueName('cf_resume');
  const table = `${schema}.events`;
  let admin: PgClient;

  beforeAll(async () => {
    admin = new PgClient({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    // Even ids 2..2000: 1,000 rows.
    await admin.query(
      `CREATE TABLE ${table} AS SELECT g * 2 AS id, 'e' || g AS name FROM generate_series(1, 1000) g`,
    );
    await admin.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
  });

  afterAll(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  it('continues after the last planned key with the next row number, whatever changed before it', async () => {
    const spec = { driver: 'postgres' as const, table, splitKey: 'id' };
    const first = await collect(planKeyRanges(config, spec, { ...access, chunkRows: 100 }), 3);
    expect(first.map((r) => [r.after, r.upTo, r.firstLine, r.rows])).toEqual([
      // Keys travel as text, so any key type survives JSON unchanged.
      [null, '200', 1, 100],
      ['200', '400', 101, 100],
      ['400', '600', 201, 100],
    ]);

    // The table changes while the scheduler is down: rows inside the planned
    // ranges (odd ids below 600) and after them (odd ids 601..801).
    await admin.query(`INSERT INTO ${table} SELECT g, 'late' FROM generate_series(1, 801, 2) g`);

    const last = first[first.length - 1] as KeyRange;
    const resumed = await collect(
      planKeyRanges(config, spec, {
        ...access,
        chunkRows: 100,
        resumeAfter: { after: last.upTo, firstLine: last.firstLine + last.rows },
      }),
    );
    expect(resumed[0]).toMatchObject({ after: '600', firstLine: 301 });
    // Row numbers follow on without a gap or an overlap.
    for (let i = 1; i < resumed.length; i++) {
      const before = resumed[i - 1] as KeyRange;
      expect(resumed[i]).toMatchObject({
        after: before.upTo,
        firstLine: before.firstLine + before.rows,
      });
    }
    const beyond = await admin.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE id > 600`,
    );
    expect(resumed.reduce((sum, r) => sum + r.rows, 0)).toBe(Number(beyond.rows[0]?.n));
  });

  it('plans nothing more for a table read as one range once that range exists', async () => {
    const spec = { driver: 'postgres' as const, table, splitKey: null };
    const ranges = await collect(
      planKeyRanges(config, spec, {
        ...access,
        chunkRows: 100,
        resumeAfter: { after: null, firstLine: 1_001 },
      }),
    );
    expect(ranges).toEqual([]);
  });
});
