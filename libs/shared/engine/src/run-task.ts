import { emptyTaskCounts, type ErrorPolicy, type TaskCounts } from '@cloudflow/contracts';
import { readRange } from './formats/read-range';
import type { ByteSource } from './formats/byte-source';
import {
  RowRejected,
  type ByteRange,
  type InputFormat,
  type RecordBatch,
  type Rejection,
  type Row,
  type RowTransform,
} from './model';
import { FilePartSink, type RejectSink, type RowSink } from './sinks';

/**
 * A task that cannot succeed by being retried (bad data beyond the policy,
 * bad configuration). The scheduler fails the job at once.
 */
export class PermanentTaskError extends Error {
  override readonly name = 'PermanentTaskError';
}

/** Rows from any reader through the transforms into a sink. */
export interface RowTask {
  batches: AsyncIterable<RecordBatch>;
  transform: RowTransform;
  sink: RowSink;
  rejects: RejectSink;
  policy: ErrorPolicy;
  /** Rows already rejected by the job's other committed tasks, for `maxRejected`. */
  rejectedElsewhere?: number;
  signal?: AbortSignal;
  onProgress?: (counts: Readonly<TaskCounts>) => void;
}

/** A byte range of a file or object, read as CSV or JSON Lines. */
export interface RangeTask extends Omit<RowTask, 'batches'> {
  /** Resolved path of the input file, or the object to read. */
  source: string | ByteSource;
  range: ByteRange;
  input: InputFormat;
  columns: string[] | null;
  batchRows?: number;
  /** A longer record is rejected rather than buffered (bounds memory). */
  maxRecordBytes?: number;
}

export function runRangeTask(task: RangeTask): Promise<TaskCounts> {
  return runRowTask({
    ...task,
    batches: readRange(task.source, task.range, task.input, task.columns, {
      batchRows: task.batchRows,
      maxRecordBytes: task.maxRecordBytes,
      signal: task.signal,
    }),
  });
}

/**
 * Streams one task's rows through the transforms into the sink: one batch of
 * rows in memory at a time, whatever the input size. Commits the sink only
 * when the whole task went through; on any failure the sink is aborted.
 */
export async function runRowTask(task: RowTask): Promise<TaskCounts> {
  const counts = emptyTaskCounts();
  const { transform, sink, policy } = task;
  try {
    for await (const batch of task.batches) {
      task.signal?.throwIfAborted();
      const rejected: Rejection[] = batch.malformed.slice();
      const out: Row[] = [];
      const outLines: number[] = [];
      const { rows, lines } = batch;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as Row;
        const line = lines[i] as number;
        const result = transform(row);
        if (result === null) continue;
        if (result instanceof RowRejected) {
          rejected.push({ line, reason: result.reason, row });
        } else {
          out.push(result);
          outLines.push(line);
        }
      }
      if (sink instanceof FilePartSink && out.length > 0) {
        moveMisfitsToRejected(sink, out, outLines, rejected);
      }
      counts.rowsRead += rows.length + batch.malformed.length;
      counts.bytesRead += batch.bytes;
      if (rejected.length > 0) {
        counts.rowsRejected += rejected.length;
        enforcePolicy(policy, rejected, counts.rowsRejected + (task.rejectedElsewhere ?? 0));
        await task.rejects.write(rejected);
      }
      if (out.length > 0) {
        await sink.write(out, outLines);
        counts.rowsWritten += out.length;
      }
      task.onProgress?.(counts);
    }
    task.signal?.throwIfAborted();
    await sink.commit();
    return counts;
  } catch (error) {
    await sink.abort().catch(() => undefined);
    throw error;
  }
}

function enforcePolicy(policy: ErrorPolicy, rejected: Rejection[], totalRejected: number): void {
  const first = rejected.reduce((a, b) => (b.line < a.line ? b : a));
  if (policy.mode === 'fail') {
    throw new PermanentTaskError(
      `line ${first.line}: ${first.reason} (the pipeline's errorPolicy is 'fail'; set it to 'skip' to route such rows to the rejected output)`,
    );
  }
  if (policy.maxRejected !== undefined && totalRejected > policy.maxRejected) {
    throw new PermanentTaskError(
      `more than ${policy.maxRejected} rows rejected (errorPolicy.maxRejected); among them line ${first.line}: ${first.reason}`,
    );
  }
}

function moveMisfitsToRejected(
  sink: FilePartSink,
  out: Row[],
  outLines: number[],
  rejected: Rejection[],
): void {
  const misfits = sink.misfits(out);
  if (misfits.size === 0) return;
  let kept = 0;
  for (let i = 0; i < out.length; i++) {
    const row = out[i] as Row;
    const line = outLines[i] as number;
    const reason = misfits.get(i);
    if (reason !== undefined) {
      rejected.push({ line, reason, row });
    } else {
      out[kept] = row;
      outLines[kept] = line;
      kept++;
    }
  }
  out.length = kept;
  outLines.length = kept;
}
