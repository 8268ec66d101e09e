export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  type KeyRange,
  type ResolvedTableSpec,
  type Row as TableRow,
  type TableSinkOptions,
  type TableAccess,
  type TableBatch,
  type TableDriver,
  type TableRowSink,
  type TableShape,
  type TableSpec,
} from './model';
export { inspectTable, planKeyRanges, readKeyRange } from './tables';
export { SqlTableSink, COMMIT_MARKERS } from './sql-table-sink';
export { MongoCollectionSink } from './mongo-collection-sink';
export { checkTableName } from './names';
