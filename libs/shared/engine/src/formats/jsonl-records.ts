/** JSON Lines: one JSON object per line. */
import { type Row } from '../model';
import { BadRecord, type BlockParser, type Outcome, terminatorLength } from './record-block';

export class JsonlRecords implements BlockParser {
  parse(block: Buffer, ends: readonly number[]): Outcome[] {
    const out: Outcome[] = new Array<Outcome>(ends.length);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i] as number;
      const stop = end - terminatorLength(block, start, end);
      out[i] = stop === start ? null : parseLine(block.toString('utf8', start, stop));
      start = end;
    }
    return out;
  }
}

function parseLine(text: string): Outcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (text.trim() === '') return null; // whitespace-only line: blank, like an empty one
    return new BadRecord(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Row;
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return new BadRecord(`expected a JSON object, found ${kind}`);
}
