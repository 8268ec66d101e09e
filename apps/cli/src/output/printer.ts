import { once } from 'node:events';
import type { CliContext } from '../cli-context';
import { renderFields, renderTable, type Column } from './table';

/** Without a terminal size (a PTY made by `script`, say), assume the classic one. */
const FALLBACK_COLUMNS = 80;
const FALLBACK_ROWS = 24;

/**
 * Where a command's results go. Humans get aligned text cut to the terminal;
 * with `--json` stdout carries exactly one JSON document and nothing else.
 */
export class Printer {
  constructor(
    private readonly ctx: CliContext,
    readonly json: boolean,
  ) {}

  get isTerminal(): boolean {
    return this.ctx.stdout.isTTY === true;
  }

  /**
   * The width to fit: the terminal's, or COLUMNS when set; unlimited when
   * stdout is a pipe or a file, where cutting values would lose data.
   */
  get width(): number | undefined {
    const columns = Number(this.ctx.env['COLUMNS']);
    if (this.isTerminal)
      return this.ctx.stdout.columns || (columns > 0 ? columns : FALLBACK_COLUMNS);
    return columns > 0 ? columns : undefined;
  }

  get height(): number {
    return this.ctx.stdout.rows || FALLBACK_ROWS;
  }

  line(text = ''): void {
    this.ctx.stdout.write(`${text}\n`);
  }

  /** Writes with back-pressure, for output streamed a page at a time. */
  async write(text: string): Promise<void> {
    if (!this.ctx.stdout.write(text)) await once(this.ctx.stdout, 'drain');
  }

  /** A remark for the person (stderr), never mixed into data on stdout. */
  note(text: string): void {
    this.ctx.stderr.write(`${text}\n`);
  }

  document(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  table<T>(columns: Column<T>[], rows: T[], empty: string): void {
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    for (const line of renderTable(columns, rows, this.width)) this.line(line);
  }

  fields(fields: [string, unknown][]): void {
    for (const line of renderFields(fields, this.width)) this.line(line);
  }
}
