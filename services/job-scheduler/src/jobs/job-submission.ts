import { extname } from 'node:path';
import {
  AppError,
  DEFAULT_ERROR_POLICY,
  ErrorCode,
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
import type { JobInput } from '@cloudflow/job-store';
import { isInfrastructureError } from '../execution/infrastructure-error';

/** What a job will run, worked out (and checked) before it is accepted. */
export interface ResolvedJobSpec {
  steps: PipelineStep[];
  errorPolicy: NonNullable<Pipeline['errorPolicy']>;
  input: JobInput;
  output: JobOutput;
}

/**
 * Turns a pipeline plus the job's `input` into the job's input and output,
 * refusing with 4001 anything that could not run: no input, a path outside
 * the data root or missing, an unreadable header, a bad expression.
 */
export async function resolveJobSpec(
  dataRoot: string,
  pipeline: Pipeline,
  inputOverride: string | undefined,
  /** A re-run reads its input exactly as the first run did. */
  pinnedFormat?: Pick<JobInput, 'format' | 'csv'>,
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

  const userPath = inputOverride ?? source?.path;
  if (userPath === undefined) {
    throw invalid(
      "the pipeline has no source step, so the job must name its 'input' (a path under the data root)",
    );
  }
  if (/^s3:\/\//i.test(userPath)) {
    throw invalid(
      `input '${userPath}': S3 inputs need an S3 data source, which this deployment does not have yet; use a path under the data root`,
    );
  }
  const format: Format =
    pinnedFormat?.format ??
    (inputOverride !== undefined
      ? (formatOfPath(inputOverride) ?? source?.format ?? 'csv')
      : (source?.format ?? formatOfPath(userPath) ?? 'csv'));
  const csv = pinnedFormat?.csv ?? { ...DEFAULT_CSV_OPTIONS, ...source?.csv };

  const file = await guard(() => resolveInputFile(dataRoot, userPath), 'input', dataRoot);
  const header = await guard(
    () => readHeader(file.path, { format, csv }),
    `input '${userPath}'`,
    dataRoot,
  );
  const output = await resolveOutput(dataRoot, sink, file.path);
  return {
    steps,
    errorPolicy: pipeline.errorPolicy ?? DEFAULT_ERROR_POLICY,
    input: {
      path: userPath,
      format,
      csv,
      columns: header.columns,
      dataStart: header.dataStart,
      firstDataLine: header.firstDataLine,
      bytesTotal: file.size,
      mtimeMs: file.mtimeMs,
    },
    output,
  };
}

async function resolveOutput(
  dataRoot: string,
  sink: SinkConfig | undefined,
  inputPath: string,
): Promise<JobOutput> {
  if (!sink) return { kind: 'result-store' };
  if ('target' in sink) return { kind: 'collection', target: sink.target };
  const resolved = await guard(() => resolveDataPath(dataRoot, sink.path), 'sink path', dataRoot);
  if (resolved === inputPath) {
    throw invalid(`the sink path '${sink.path}' is the job's input; write the output elsewhere`);
  }
  return { kind: 'file', path: sink.path, format: sink.format ?? formatOfPath(sink.path) ?? 'csv' };
}

function formatOfPath(path: string): Format | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  return undefined;
}

async function guard<T>(work: () => Promise<T>, what: string, root: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DataPathError) throw invalid(error.message);
    if (error instanceof Error && !isInfrastructureError(error)) {
      throw invalid(`${what}: ${error.message.replaceAll(root, '')}`);
    }
    throw error;
  }
}

function invalid(details: string): AppError {
  return new AppError(ErrorCode.InvalidPipelineConfig, details);
}
