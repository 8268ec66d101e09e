import { extname } from 'node:path';
import {
  AppError,
  DEFAULT_ERROR_POLICY,
  ErrorCode,
  namesDataSource,
  type DataSourceLookup,
  type DataSourceRef,
  type JobOutput,
  type Pipeline,
  type PipelineStep,
  type SinkConfig,
  type SourceConfig,
  type TransformConfig,
} from '@cloudflow/contracts';
import {
  DEFAULT_CSV_OPTIONS,
  DataPathError,
  TransformConfigError,
  compileTransforms,
  readHeader,
  resolveDataPath,
  resolveInputFile,
  type Format,
} from '@cloudflow/engine';
import {
  COMMIT_MARKERS,
  ConnectorError,
  checkTableName,
  inspectTable,
  objectKeyOf,
  s3ByteSource,
  statS3Object,
  type ConnectionConfig,
  type DataSourceClient,
  type NetworkPolicy,
} from '@cloudflow/connectors';
import type { JobInput } from '@cloudflow/job-store';
import { isInfrastructureError } from '../execution/infrastructure-error';

/** What a job will run, worked out (and checked) before it is accepted. */
export interface ResolvedJobSpec {
  steps: PipelineStep[];
  errorPolicy: NonNullable<Pipeline['errorPolicy']>;
  input: JobInput;
  output: JobOutput;
}

/** The workspace a job is submitted in, and how to reach its files and data sources. */
export interface SubmissionContext {
  workspaceId: string;
  /** The workspace's data root. */
  dataRoot: string;
  dataSources: DataSourceClient;
  policy: NetworkPolicy;
  timeoutMs: number;
}

type InputChoice =
  | { kind: 'file'; path: string; format?: Format }
  | { kind: 'object'; ref: DataSourceRef; key: string; format?: Format }
  | { kind: 'table'; ref: DataSourceRef; table: string; splitKey?: string };

/**
 * Turns a pipeline plus the job's `input` into the job's input and output,
 * refusing with 4001 anything that could not run: no input, a path outside
 * the data root or missing, a data source that is not there or does not
 * fit the step, an unreadable header, a bad expression.
 */
export async function resolveJobSpec(
  context: SubmissionContext,
  pipeline: Pipeline,
  inputOverride: string | undefined,
  /** A re-run reads its input exactly as the first run did (same source, format and dialect). */
  pinned?: Pick<JobInput, 'path' | 'format' | 'csv' | 'source'>,
): Promise<ResolvedJobSpec> {
  const steps = pipeline.steps as PipelineStep[];
  const source = steps.find((s) => s.type === 'source')?.config as SourceConfig | undefined;
  const sink = steps.find((s) => s.type === 'sink')?.config as SinkConfig | undefined;
  const transforms = steps
    .filter((s) => s.type === 'transform')
    .map((s) => s.config as TransformConfig);

  try {
    compileTransforms(transforms);
  } catch (error) {
    if (error instanceof TransformConfigError) throw invalid(error.message);
    throw error;
  }

  const choice = await chooseInput(context, source, inputOverride, pinned);
  const csv = pinned?.csv ?? { ...DEFAULT_CSV_OPTIONS, ...source?.csv };
  const input =
    choice.kind === 'table'
      ? await tableInput(context, choice)
      : choice.kind === 'object'
        ? await objectInput(context, choice, (pinned?.format as Format) ?? choice.format, csv)
        : await fileInput(context, choice, (pinned?.format as Format) ?? choice.format, csv);
  const output = await resolveOutput(context, sink, input);
  return {
    steps,
    errorPolicy: pipeline.errorPolicy ?? DEFAULT_ERROR_POLICY,
    input,
    output,
  };
}

async function chooseInput(
  context: SubmissionContext,
  source: SourceConfig | undefined,
  inputOverride: string | undefined,
  pinned: Pick<JobInput, 'path' | 'source'> | undefined,
): Promise<InputChoice> {
  const pinnedSource = pinned?.source;
  if (pinned && pinnedSource && pinnedSource.kind !== 'file') {
    const ref = await resolveRef(context, { ref: pinnedSource.dataSourceId });
    return pinnedSource.kind === 'object'
      ? { kind: 'object', ref, key: pinnedSource.key }
      : {
          kind: 'table',
          ref,
          table: pinnedSource.table,
          splitKey: pinnedSource.splitKey ?? undefined,
        };
  }
  const sourceFormat = source?.format;
  if (inputOverride !== undefined) {
    const s3 = /^s3:\/\/([^/?#]+)\/([^?#]+)$/i.exec(inputOverride);
    if (s3) {
      const [, bucket = '', key = ''] = s3;
      const ref = await resolveRef(context, { bucket, key });
      // The key is checked like a step's object under the data source's prefix: no '..' out of it.
      const own = ref.key ?? '';
      const relative = own === '' || own.endsWith('/') ? key.slice(own.length) : undefined;
      guardSync(() => objectKeyOf(s3RefConfig(ref), relative), 'input');
      return { kind: 'object', ref, key, format: formatOfPath(key) ?? sourceFormat };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(inputOverride)) {
      throw invalid(
        `input '${inputOverride}': give a path under the data root or an s3://bucket/key object`,
      );
    }
    return {
      kind: 'file',
      path: inputOverride,
      format: formatOfPath(inputOverride) ?? sourceFormat,
    };
  }
  if (source === undefined) {
    throw invalid(
      "the pipeline has no source step, so the job must name its 'input' (a path under the data root or s3://bucket/key)",
    );
  }
  if (!namesDataSource(source)) {
    return { kind: 'file', path: source.path, format: sourceFormat ?? formatOfPath(source.path) };
  }
  const ref = await resolveRef(context, { ref: source.datasource });
  const where = placeIn(ref, source, 'source');
  switch (where.kind) {
    case 'file':
      return { kind: 'file', path: where.path, format: sourceFormat ?? formatOfPath(where.path) };
    case 'object':
      return {
        kind: 'object',
        ref,
        key: where.key,
        format: sourceFormat ?? formatOfPath(where.key),
      };
    case 'table':
      return { kind: 'table', ref, table: where.table, splitKey: source.splitKey };
  }
}

/**
 * What a step names inside its data source, checked against the data
 * source's driver: a table (PostgreSQL, MySQL), a collection (MongoDB), an
 * object (S3) or nothing (a file data source names its file).
 */
function placeIn(
  ref: DataSourceRef,
  step: { table?: string; collection?: string; object?: string; path?: string },
  role: 'source' | 'sink',
):
  | { kind: 'file'; path: string }
  | { kind: 'object'; key: string }
  | { kind: 'table'; table: string } {
  const wanted = WANTED_FIELD[ref.driver];
  const given = (['table', 'collection', 'object', 'path'] as const).filter(
    (f) => step[f] !== undefined,
  );
  const stray = given.filter((f) => f !== wanted);
  const what = `the ${role} step's data source '${ref.name}' (${ref.driver})`;
  if (stray.length > 0) {
    throw invalid(`${what} has no ${stray.map((f) => `'${f}'`).join(' or ')}; name a '${wanted}'`);
  }
  switch (ref.driver) {
    case 'file':
      return { kind: 'file', path: fileUnder(ref, step.path, what) };
    case 's3':
      return {
        kind: 'object',
        key: guardSync(() => objectKeyOf(s3RefConfig(ref), step.object), role),
      };
    default: {
      const table = step[wanted as 'table' | 'collection'];
      if (table === undefined) throw invalid(`${what} needs a '${wanted}'`);
      return { kind: 'table', table };
    }
  }
}

/** The field a step fills in for each driver. */
const WANTED_FIELD = {
  postgres: 'table',
  mysql: 'table',
  mongodb: 'collection',
  s3: 'object',
  file: 'path',
} as const;

/**
 * The file a step means in a file data source: the data source's own file,
 * or `path` under the directory it names (ending in '/'). The result is a
 * data-root path, resolved and confined like any other.
 */
function fileUnder(ref: DataSourceRef, path: string | undefined, what: string): string {
  const own = ref.path ?? '';
  if (path === undefined) {
    if (own.endsWith('/'))
      throw invalid(`${what} names the directory '${own}': name a 'path' in it`);
    return own;
  }
  if (!own.endsWith('/')) {
    throw invalid(`${what} names the file '${own}'; only a directory data source takes a 'path'`);
  }
  return `${own}${path.replace(/^\/+/, '')}`;
}

async function fileInput(
  context: SubmissionContext,
  choice: { path: string },
  format: Format | undefined,
  csv: JobInput['csv'],
): Promise<JobInput> {
  const { dataRoot } = context;
  const chosen = format ?? 'csv';
  const file = await guard(() => resolveInputFile(dataRoot, choice.path), 'input', dataRoot);
  const header = await guard(
    () => readHeader(file.path, { format: chosen, csv }),
    `input '${choice.path}'`,
    dataRoot,
  );
  return {
    path: choice.path,
    format: chosen,
    source: { kind: 'file' },
    csv,
    columns: header.columns,
    dataStart: header.dataStart,
    firstDataLine: header.firstDataLine,
    bytesTotal: file.size,
    mtimeMs: file.mtimeMs,
  };
}

async function objectInput(
  context: SubmissionContext,
  choice: { ref: DataSourceRef; key: string },
  format: Format | undefined,
  csv: JobInput['csv'],
): Promise<JobInput> {
  const chosen = format ?? 'csv';
  const name = `s3://${choice.ref.bucket ?? ''}/${choice.key}`;
  const access = { policy: context.policy, timeoutMs: context.timeoutMs };
  const config = await context.dataSources.open(context.workspaceId, choice.ref.id);
  const object = await guard(() => statS3Object(config, choice.key, access), `input '${name}'`);
  const header = await guard(
    () => readHeader(s3ByteSource(config, object, access), { format: chosen, csv }),
    `input '${name}'`,
  );
  return {
    path: name,
    format: chosen,
    source: {
      kind: 'object',
      dataSourceId: choice.ref.id,
      bucket: object.bucket,
      key: object.key,
      etag: object.etag,
    },
    csv,
    columns: header.columns,
    dataStart: header.dataStart,
    firstDataLine: header.firstDataLine,
    bytesTotal: object.size,
    mtimeMs: 0,
  };
}

async function tableInput(
  context: SubmissionContext,
  choice: { ref: DataSourceRef; table: string; splitKey?: string },
): Promise<JobInput> {
  const driver = choice.ref.driver as 'postgres' | 'mysql' | 'mongodb';
  const config = await context.dataSources.open(context.workspaceId, choice.ref.id);
  const table = await guard(
    () =>
      inspectTable(
        config,
        { driver, table: choice.table, splitKey: choice.splitKey ?? null },
        { policy: context.policy, timeoutMs: context.timeoutMs },
      ),
    `input table '${choice.table}' of data source '${choice.ref.name}'`,
  );
  return {
    path: choice.table,
    format: 'table',
    source: {
      kind: 'table',
      dataSourceId: choice.ref.id,
      driver,
      table: choice.table,
      splitKey: table.splitKey,
    },
    csv: DEFAULT_CSV_OPTIONS,
    columns: table.columns,
    dataStart: 0,
    firstDataLine: 1,
    bytesTotal: 0,
    mtimeMs: 0,
  };
}

async function resolveOutput(
  context: SubmissionContext,
  sink: SinkConfig | undefined,
  input: JobInput,
): Promise<JobOutput> {
  if (!sink) return { kind: 'result-store' };
  if ('target' in sink) return { kind: 'collection', target: sink.target };
  const where = namesDataSource(sink)
    ? await (async () => {
        const ref = await resolveRef(context, { ref: sink.datasource });
        return { ref, place: placeIn(ref, sink, 'sink') };
      })()
    : { ref: undefined, place: { kind: 'file' as const, path: sink.path } };
  const { ref, place } = where;
  const source = input.source ?? { kind: 'file' };
  switch (place.kind) {
    case 'file': {
      const { dataRoot } = context;
      const resolved = await guard(
        () => resolveDataPath(dataRoot, place.path),
        'sink path',
        dataRoot,
      );
      if (source.kind === 'file' && resolved === (await resolveDataPath(dataRoot, input.path))) {
        throw invalid(
          `the sink path '${place.path}' is the job's input; write the output elsewhere`,
        );
      }
      return {
        kind: 'file',
        path: place.path,
        format: sink.format ?? formatOfPath(place.path) ?? 'csv',
      };
    }
    case 'object': {
      const bucket = ref?.bucket ?? '';
      if (source.kind === 'object' && source.bucket === bucket && source.key === place.key) {
        throw invalid(
          `the sink object 's3://${bucket}/${place.key}' is the job's input; write elsewhere`,
        );
      }
      return {
        kind: 'object',
        dataSourceId: ref?.id ?? '',
        bucket,
        key: place.key,
        format: sink.format ?? formatOfPath(place.key) ?? 'csv',
      };
    }
    case 'table': {
      const id = ref?.id ?? '';
      const driver = ref?.driver as 'postgres' | 'mysql' | 'mongodb';
      guardSync(() => checkTableName(driver, place.table), 'sink');
      // The commit markers live next to the rows; the sink must not write into them.
      if (driver !== 'mongodb' && place.table.split('.').pop() === COMMIT_MARKERS) {
        throw invalid(
          `sink: '${COMMIT_MARKERS}' holds CloudFlow's commit markers; name another table`,
        );
      }
      if (source.kind === 'table' && source.dataSourceId === id && source.table === place.table) {
        throw invalid(`the sink table '${place.table}' is the job's input; write elsewhere`);
      }
      return {
        kind: 'table',
        dataSourceId: id,
        driver,
        table: place.table,
      };
    }
  }
}

/** The broker's answer; its 4001/404 for a missing or ambiguous data source is the job's 4001. */
async function resolveRef(
  context: SubmissionContext,
  lookup: DataSourceLookup,
): Promise<DataSourceRef> {
  try {
    return await context.dataSources.resolve(context.workspaceId, lookup);
  } catch (error) {
    if (error instanceof AppError && error.code === ErrorCode.NotFound) {
      throw invalid(
        `data source ${'ref' in lookup ? `'${lookup.ref}' ` : ''}was not found in this workspace`,
      );
    }
    throw error;
  }
}

/** Enough of an S3 data source's connection to place an object under its prefix. */
function s3RefConfig(ref: DataSourceRef): ConnectionConfig {
  return { driver: 's3', bucket: ref.bucket, key: ref.key, options: {} };
}

function formatOfPath(path: string): Format | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  return undefined;
}

/**
 * Runs a check of the input or output, turning what the user can fix into
 * 400/4001 and what may pass (an unreachable data source) into 503.
 */
async function guard<T>(work: () => Promise<T>, what: string, root?: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw explain(error, what, root);
  }
}

function guardSync<T>(work: () => T, what: string): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof ConnectorError) throw explain(error, what, undefined);
    throw error;
  }
}

function explain(error: unknown, what: string, root: string | undefined): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof DataPathError) return invalid(error.message);
  if (error instanceof ConnectorError) {
    return error.permanent
      ? invalid(`${what}: ${error.message}`)
      : AppError.unavailable(`${what}: ${error.message}`);
  }
  if (error instanceof Error && !isInfrastructureError(error)) {
    return invalid(`${what}: ${root ? error.message.replaceAll(root, '') : error.message}`);
  }
  return error;
}

function invalid(details: string): AppError {
  return new AppError(ErrorCode.InvalidPipelineConfig, details);
}
