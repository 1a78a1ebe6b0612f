import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { UsageError } from './cli-error.js';

/** One event read from a file, with the line it started on (for error messages). */
export interface FileEvent {
  readonly line: number;
  readonly raw: unknown;
}

/**
 * Reads NDJSON (one JSON object per line) or CSV (a header row of field names; columns
 * named `payload.x` go into payload; numbers stay strings and are parsed by validation).
 * The format is chosen by extension (.csv, .ndjson/.jsonl/.json), else by the first byte.
 */
export async function readEventFile(path: string): Promise<{ events: FileEvent[]; errors: { line: number; message: string }[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const csv = /\.csv$/i.test(path) || (!/\.(nd)?jsonl?$|\.json$/i.test(path) && !text.trimStart().startsWith('{'));
  return csv ? parseCsv(text) : parseNdjson(text);
}

function parseNdjson(text: string): { events: FileEvent[]; errors: { line: number; message: string }[] } {
  const events: FileEvent[] = [];
  const errors: { line: number; message: string }[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '') return;
    try {
      events.push({ line: i + 1, raw: JSON.parse(line) as unknown });
    } catch (err) {
      errors.push({ line: i + 1, message: `not valid JSON: ${(err as Error).message}` });
    }
  });
  return { events, errors };
}

function parseCsv(text: string): { events: FileEvent[]; errors: { line: number; message: string }[] } {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse<(typeof records)[number]>(text, { columns: true, skip_empty_lines: true, trim: true, info: true, bom: true });
  } catch (err) {
    const e = err as Error & { lines?: number };
    return { events: [], errors: [{ line: e.lines ?? 0, message: `CSV: ${e.message}` }] };
  }
  const events = records.map(({ record, info }) => {
    const event: Record<string, unknown> = {};
    const payload: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(record)) {
      if (value === '') continue;
      if (column.startsWith('payload.')) payload[column.slice(8)] = value;
      else event[column] = value;
    }
    if (Object.keys(payload).length > 0) event.payload = payload;
    return { line: info.lines, raw: event };
  });
  return { events, errors: [] };
}
