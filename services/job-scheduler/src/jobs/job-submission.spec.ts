import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppError,
  ErrorCode,
  type DataSourceLookup,
  type DataSourceRef,
  type Pipeline,
} from '@cloudflow/contracts';
import { NetworkPolicy, type DataSourceClient } from '@cloudflow/connectors';
import { resolveJobSpec, type SubmissionContext } from './job-submission';

/** The broker as the scheduler sees it, with a fixed set of data sources (no credentials needed here). */
function fakeDataSources(
  refs: DataSourceRef[],
): DataSourceClient & { lookups: DataSourceLookup[] } {
  const lookups: DataSourceLookup[] = [];
  return {
    lookups,
    resolve: (_workspaceId: string, lookup: DataSourceLookup) => {
      lookups.push(lookup);
      const found =
        'ref' in lookup
          ? refs.find((r) => r.id === lookup.ref || r.name === lookup.ref)
          : refs.find((r) => r.driver === 's3' && r.bucket === lookup.bucket);
      if (!found) {
        return Promise.reject(
          new AppError(
            ErrorCode.InvalidPipelineConfig,
            `no data source matches ${JSON.stringify(lookup)}`,
          ),
        );
      }
      return Promise.resolve(found);
    },
    open: () => Promise.reject(new Error('not opened in these tests')),
  } as unknown as DataSourceClient & { lookups: DataSourceLookup[] };
}

const REFS: DataSourceRef[] = [
  { id: 'ds_pg', name: 'warehouse', driver: 'postgres' },
  { id: 'ds_mongo', name: 'documents', driver: 'mongodb' },
  { id: 'ds_s3', name: 'lake', driver: 's3', bucket: 'lake-bucket', key: 'exports/' },
  { id: 'ds_file', name: 'people', driver: 'file', path: '/in/people.csv' },
  { id: 'ds_dir', name: 'inbox', driver: 'file', path: '/in/' },
];

function pipeline(steps: unknown[]): Pipeline {
  return {
    id: 'pl_1',
    name: 'p',
    steps: steps as Pipeline['steps'],
    errorPolicy: { mode: 'fail' },
    version: 1,
    createdAt: '',
    updatedAt: '',
  };
}

describe('resolveJobSpec with data sources', () => {
  let root: string;
  let context: SubmissionContext;
  let dataSources: ReturnType<typeof fakeDataSources>;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cf-submit-'));
    await mkdir(join(root, 'in'));
    await writeFile(join(root, 'in', 'people.csv'), 'id,name\n1,ada\n');
    dataSources = fakeDataSources(REFS);
    context = {
      workspaceId: 'ws_1',
      dataRoot: root,
      dataSources,
      policy: new NetworkPolicy({ allowLoopback: false, allowPrivate: false }),
      timeoutMs: 1_000,
    };
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const refusal = async (promise: Promise<unknown>): Promise<string> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(ErrorCode.InvalidPipelineConfig);
    return (error as AppError).details ?? '';
  };

  it('reads a file data source from its path and writes a bucket object under the prefix', async () => {
    const spec = await resolveJobSpec(
      context,
      pipeline([
        { type: 'source', config: { datasource: 'people' } },
        { type: 'sink', config: { datasource: 'lake', object: 'out/people.jsonl' } },
      ]),
      undefined,
    );
    expect(spec.input).toMatchObject({
      path: '/in/people.csv',
      format: 'csv',
      columns: ['id', 'name'],
      source: { kind: 'file' },
    });
    expect(spec.output).toEqual({
      kind: 'object',
      dataSourceId: 'ds_s3',
      bucket: 'lake-bucket',
      key: 'exports/out/people.jsonl',
      format: 'jsonl',
    });
  });

  it('reads a path under a directory data source, never outside the data root', async () => {
    const spec = await resolveJobSpec(
      context,
      pipeline([{ type: 'source', config: { datasource: 'inbox', path: 'people.csv' } }]),
      undefined,
    );
    expect(spec.input).toMatchObject({ path: '/in/people.csv', columns: ['id', 'name'] });
    const bare = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'source', config: { datasource: 'inbox' } }]),
        undefined,
      ),
    );
    expect(bare).toBe(
      "the source step's data source 'inbox' (file) names the directory '/in/': name a 'path' in it",
    );
    const onFile = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'source', config: { datasource: 'people', path: 'x.csv' } }]),
        undefined,
      ),
    );
    expect(onFile).toContain(
      "names the file '/in/people.csv'; only a directory data source takes a 'path'",
    );
  });

  it('writes a table of a PostgreSQL data source and a collection of a MongoDB one', async () => {
    const toTable = await resolveJobSpec(
      context,
      pipeline([{ type: 'sink', config: { datasource: 'warehouse', table: 'public.people' } }]),
      '/in/people.csv',
    );
    expect(toTable.output).toEqual({
      kind: 'table',
      dataSourceId: 'ds_pg',
      driver: 'postgres',
      table: 'public.people',
    });
    const toCollection = await resolveJobSpec(
      context,
      pipeline([{ type: 'sink', config: { datasource: 'ds_mongo', collection: 'people' } }]),
      '/in/people.csv',
    );
    expect(toCollection.output).toMatchObject({
      kind: 'table',
      driver: 'mongodb',
      table: 'people',
    });
  });

  it('looks an s3:// input up by its bucket and key', async () => {
    // The fake cannot open the data source, so submission stops after the lookup.
    await expect(
      resolveJobSpec(
        context,
        pipeline([{ type: 'transform', config: { operation: 'trim' } }]),
        's3://lake-bucket/exports/a.csv',
      ),
    ).rejects.toThrow('not opened in these tests');
    expect(dataSources.lookups).toEqual([{ bucket: 'lake-bucket', key: 'exports/a.csv' }]);
  });

  it('refuses an s3:// input that climbs out of its data source’s prefix', async () => {
    const details = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'transform', config: { operation: 'trim' } }]),
        's3://lake-bucket/exports/../hr/salaries.csv',
      ),
    );
    expect(details).toContain("may not contain '.' or '..' segments");
  });

  it('refuses an input URL that is neither a path nor s3://', async () => {
    const details = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'transform', config: { operation: 'trim' } }]),
        'ftp://host/a.csv',
      ),
    );
    expect(details).toBe(
      "input 'ftp://host/a.csv': give a path under the data root or an s3://bucket/key object",
    );
  });

  it.each([
    [
      { datasource: 'warehouse', collection: 'people' },
      "the source step's data source 'warehouse' (postgres) has no 'collection'; name a 'table'",
    ],
    [
      { datasource: 'documents', table: 'people' },
      "the source step's data source 'documents' (mongodb) has no 'table'; name a 'collection'",
    ],
    [
      { datasource: 'people', object: 'x.csv' },
      "the source step's data source 'people' (file) has no 'object'; name a 'path'",
    ],
    [
      { datasource: 'warehouse' },
      "the source step's data source 'warehouse' (postgres) needs a 'table'",
    ],
  ])('refuses a source step that does not fit its data source: %j', async (config, expected) => {
    const details = await refusal(
      resolveJobSpec(context, pipeline([{ type: 'source', config }]), undefined),
    );
    expect(details).toBe(expected);
  });

  it('refuses a bucket sink without an object to write, and one that climbs out of the prefix', async () => {
    const missing = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'sink', config: { datasource: 'lake' } }]),
        '/in/people.csv',
      ),
    );
    expect(missing).toContain("names the prefix 'exports/' but no object");
    const climbing = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'sink', config: { datasource: 'lake', object: '../secrets.csv' } }]),
        '/in/people.csv',
      ),
    );
    expect(climbing).toContain("may not contain '.' or '..' segments");
  });

  it('refuses a sink table name the database would refuse or shorten, and the marker table', async () => {
    const sink = (table: string) =>
      refusal(
        resolveJobSpec(
          context,
          pipeline([{ type: 'sink', config: { datasource: 'warehouse', table } }]),
          '/in/people.csv',
        ),
      );
    expect(await sink('x'.repeat(70))).toMatch(/^sink: /);
    expect(await sink('public.cloudflow_task_commits')).toBe(
      "sink: 'cloudflow_task_commits' holds CloudFlow's commit markers; name another table",
    );
  });

  it('passes on the broker’s refusal of an unknown data source', async () => {
    const details = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'source', config: { datasource: 'nope', table: 't' } }]),
        undefined,
      ),
    );
    expect(details).toContain('no data source matches');
  });

  it('refuses a file data-source sink that is the job’s input', async () => {
    const details = await refusal(
      resolveJobSpec(
        context,
        pipeline([{ type: 'sink', config: { datasource: 'people' } }]),
        '/in/people.csv',
      ),
    );
    expect(details).toBe(
      "the sink path '/in/people.csv' is the job's input; write the output elsewhere",
    );
  });
});
