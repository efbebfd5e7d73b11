/**
 * One line of a json-file log, byte for byte as dockerd 20.10 writes it
 * (daemon/logger/jsonfilelog/jsonlog/jsonlogbytes.go):
 *
 *   {"log":"hello\n","stream":"stdout","attrs":{"k":"v"},"time":"2026-11-28T19:09:00.416966648Z"}\n
 *
 * `log` is the raw bytes as a JSON string: `"` and `\` backslash-escaped, `\n` and `\r` as
 * such, other control bytes and `<`, `>`, `&` as `\u00XX`, each invalid UTF-8 byte as
 * `\ufffd`, U+2028/U+2029 escaped. `attrs` (absent when empty) is Go's encoding/json of a
 * map (keys sorted). `time` is RFC3339Nano in UTC.
 */
import type { LogEntry, LogStream } from './types';
import { formatRfc3339Nano, parseRfc3339Nano, type NanoTime } from './timestamp';

const HEX = '0123456789abcdef';

/** Does `b` need escaping in Docker's log string? (ASCII only.) */
function needsEscape(b: number): boolean {
  return b < 0x20 || b === 0x22 || b === 0x5c || b === 0x3c || b === 0x3e || b === 0x26;
}

/** Length of the valid UTF-8 sequence at `i` (Go's utf8.DecodeRune rules), 0 when invalid. */
function utf8SequenceLength(s: Buffer, i: number): number {
  const b0 = s[i]!;
  const cont = (k: number) => i + k < s.length && (s[i + k]! & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const b1 = s[i + 1]!;
    if (b0 === 0xe0 && b1 < 0xa0) return 0; // overlong
    if (b0 === 0xed && b1 >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const b1 = s[i + 1]!;
    if (b0 === 0xf0 && b1 < 0x90) return 0; // overlong
    if (b0 === 0xf4 && b1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/**
 * Docker's ffjsonWriteJSONBytesAsString: `bytes` as a quoted JSON string. `goStdlib` selects
 * encoding/json's flavour instead (used for attrs): `\t` stays `\t` there, while the log
 * writer spells it `\u0009`.
 */
export function jsonStringFromBytes(bytes: Buffer, goStdlib = false): string {
  let out = '"';
  let start = 0;
  const flush = (end: number) => {
    if (start < end) out += bytes.toString('utf8', start, end);
  };
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (!needsEscape(b)) {
        i++;
        continue;
      }
      flush(i);
      if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
      else if (b === 0x0a) out += '\\n';
      else if (b === 0x0d) out += '\\r';
      else if (b === 0x09 && goStdlib) out += '\\t';
      else out += `\\u00${HEX[b >> 4]}${HEX[b & 0xf]}`;
      start = ++i;
      continue;
    }
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      flush(i);
      out += '\\ufffd';
      start = ++i;
      continue;
    }
    // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
    if (len === 3 && b === 0xe2 && bytes[i + 1] === 0x80 && (bytes[i + 2] === 0xa8 || bytes[i + 2] === 0xa9)) {
      flush(i);
      out += bytes[i + 2] === 0xa8 ? '\\u2028' : '\\u2029';
      start = i += 3;
      continue;
    }
    i += len;
  }
  flush(bytes.length);
  return `${out}"`;
}

/** Go's encoding/json of a map[string]string: keys sorted, HTML-safe escaping. */
function attrsJson(attrs: Record<string, string>): string {
  const keys = Object.keys(attrs).sort();
  const str = (s: string) => jsonStringFromBytes(Buffer.from(s), true);
  return `{${keys.map((k) => `${str(k)}:${str(attrs[k]!)}`).join(',')}}`;
}

/** The bytes of one json-file line (with its trailing newline). */
export function encodeJsonLogLine(msg: { stream: LogStream; line: Buffer; time: NanoTime; attrs?: Record<string, string> }): Buffer {
  const parts: string[] = [];
  if (msg.line.length > 0) parts.push(`"log":${jsonStringFromBytes(msg.line)}`);
  parts.push(`"stream":"${msg.stream}"`);
  if (msg.attrs && Object.keys(msg.attrs).length > 0) parts.push(`"attrs":${attrsJson(msg.attrs)}`);
  parts.push(`"time":"${formatRfc3339Nano(msg.time)}"`);
  return Buffer.from(`{${parts.join(',')}}\n`);
}

/** Parse one json-file line (without its newline); undefined when it is not a valid entry. */
export function decodeJsonLogLine(text: Buffer | string): LogEntry | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { log, stream, time, attrs } = raw as { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  if (typeof time !== 'string') return undefined;
  const t = parseRfc3339Nano(time);
  if (t === undefined) return undefined;
  const entry: LogEntry = { stream, time: t, line: Buffer.from(typeof log === 'string' ? log : '', 'utf8') };
  if (attrs && typeof attrs === 'object') entry.attrs = attrs as Record<string, string>;
  return entry;
}
