import type { InputFormatName, JobInputSource, KeyRange } from '@cloudflow/contracts';
import { s3ByteSource, type DataSourceClient, type NetworkPolicy } from '@cloudflow/connectors';
import { fileByteSource, type ByteSource } from './formats/byte-source';
import { resolveSubmittedInput } from './data-root';
import type { CsvOptions, InputFormat } from './model';

/** What a service needs to read a job's input from wherever it lives. */
export interface InputAccess {
  /** The workspace's data root (see workspaceDataRoot). */
  dataRoot: string;
  workspaceId: string;
  dataSources: DataSourceClient;
  policy: NetworkPolicy;
  timeoutMs: number;
}

/**
 * The bytes of a file or object input, exactly as they were at submission:
 * a file changed since is refused (size and mtime), an object is read only
 * in the version (ETag) the job was planned on.
 */
export async function openByteInput(
  input: { path: string; source?: JobInputSource; bytesTotal: number; mtimeMs: number },
  access: InputAccess,
): Promise<ByteSource> {
  const source = input.source ?? { kind: 'file' };
  switch (source.kind) {
    case 'file':
      return fileByteSource(await resolveSubmittedInput(access.dataRoot, input.path, input));
    case 'object': {
      const config = await access.dataSources.open(access.workspaceId, source.dataSourceId);
      return s3ByteSource(
        config,
        { bucket: source.bucket, key: source.key, size: input.bytesTotal, etag: source.etag },
        { policy: access.policy, timeoutMs: access.timeoutMs },
      );
    }
    case 'table':
      throw new Error(`input '${input.path}' is a table, not a file or object`);
  }
}

/** How a file or object input is parsed; a table input has no text format. */
export function textFormatOf(input: {
  path: string;
  format: InputFormatName;
  csv: CsvOptions;
}): InputFormat {
  if (input.format === 'table') {
    throw new Error(`input '${input.path}' is a table, not a file or object`);
  }
  return { format: input.format, csv: input.csv };
}

/** A planned key range as the ledger and Kafka carry it: bounds as JSON text. */
export function encodeKeyRange(range: {
  after: unknown;
  upTo: unknown;
  firstLine: number;
  rows: number;
}): KeyRange {
  return {
    after: range.after === null ? null : JSON.stringify(range.after),
    upTo: range.upTo === null ? null : JSON.stringify(range.upTo),
    firstLine: range.firstLine,
    rows: range.rows,
  };
}

export function decodeKeyRange(range: KeyRange): {
  after: unknown;
  upTo: unknown;
  firstLine: number;
  rows: number;
} {
  return {
    after: range.after === null ? null : (JSON.parse(range.after) as unknown),
    upTo: range.upTo === null ? null : (JSON.parse(range.upTo) as unknown),
    firstLine: range.firstLine,
    rows: range.rows,
  };
}
