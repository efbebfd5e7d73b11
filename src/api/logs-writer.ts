/**
 * The body of `GET /containers/{id}/logs` (and of attach's `logs=1` replay): log entries as
 * dockerd 20.10 writes them.
 * - No TTY: each entry is one stdcopy frame on its stream. With a TTY: the raw bytes.
 * - `timestamps=1`: each entry is prefixed with its time in RFC3339NanoFixed (nine digits)
 *   and a space; `details=1`: with its attrs as `k=v,k2=v2` (sorted) and a space, after the time.
 * - dockerd 20.10 (API 1.41) sends no Content-Type on this answer; API 1.42+ names
 *   `application/vnd.docker.multiplexed-stream` or `raw-stream` (see streamContentType in hijack.ts).
 */
import type { Writable } from 'node:stream';
import { InvalidParameterError } from '../errors';
import type { LogEntry, ReadOptions } from '../logs/types';
import { formatRfc3339NanoFixed } from '../logs/timestamp';
import { parseOptionalTimeFilter } from '../logs/time-filter';
import { encodeFrames } from '../streams/stdcopy';

export interface LogsFormat {
  /** The container has a TTY: raw bytes instead of frames. */
  tty: boolean;
  timestamps?: boolean;
  details?: boolean;
}

/** The bytes one entry becomes on the wire. */
export function formatLogEntry(entry: LogEntry, format: LogsFormat): Buffer[] {
  const prefix: string[] = [];
  if (format.timestamps) prefix.push(`${formatRfc3339NanoFixed(entry.time)} `);
  if (format.details) {
    const attrs = entry.attrs ?? {};
    prefix.push(`${Object.keys(attrs).sort().map((k) => `${k}=${attrs[k]}`).join(',')} `);
  }
  const payload = prefix.length > 0 ? Buffer.concat([Buffer.from(prefix.join('')), entry.line]) : entry.line;
  return format.tty ? [payload] : encodeFrames(entry.stream, payload);
}

/**
 * Write `entries` to `target` with backpressure (waits for drain), until they end, `signal`
 * aborts or `target` closes. Does not end `target`. Resolves with the number of entries written.
 */
export async function writeLogEntries(entries: AsyncIterable<LogEntry>, target: Writable, format: LogsFormat, signal?: AbortSignal): Promise<number> {
  let count = 0;
  for await (const entry of entries) {
    if (signal?.aborted || target.destroyed) break;
    let ok = true;
    for (const part of formatLogEntry(entry, format)) ok = target.write(part) && ok;
    count++;
    if (!ok) await drained(target, signal);
  }
  return count;
}

function drained(target: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      target.off('drain', done);
      target.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    target.on('drain', done);
    target.on('close', done);
    signal?.addEventListener('abort', done);
  });
}

/** dockerd's httputils.BoolValue: anything but empty, 0, no, false, none (case-insensitive) is true. */
export function queryBool(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  return !(v === '' || v === '0' || v === 'no' || v === 'false' || v === 'none');
}

export interface LogsQuery extends Required<Pick<ReadOptions, 'stdout' | 'stderr' | 'follow'>> {
  since?: bigint;
  until?: bigint;
  /** -1 for all. */
  tail: number;
  timestamps: boolean;
  details: boolean;
}

/**
 * The query of `GET /containers/{id}/logs`, as dockerd reads it: `tail` is a number or
 * anything else for all (`all`, garbage, negatives); at least one of stdout/stderr
 * ("Bad parameters: you must choose at least one stream", 400); since/until per time-filter.ts.
 */
export function parseLogsQuery(q: Record<string, string | undefined>, now?: bigint): LogsQuery {
  const stdout = queryBool(q.stdout);
  const stderr = queryBool(q.stderr);
  if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
  const tailText = (q.tail ?? '').trim();
  const tail = /^[+-]?\d+$/.test(tailText) ? Math.max(-1, Number(tailText)) : -1;
  return {
    stdout,
    stderr,
    follow: queryBool(q.follow),
    timestamps: queryBool(q.timestamps),
    details: queryBool(q.details),
    tail,
    since: parseOptionalTimeFilter(q.since, 'since', now),
    until: parseOptionalTimeFilter(q.until, 'until', now),
  };
}
