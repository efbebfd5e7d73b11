/**
 * `since` / `until` values of `docker logs` (and `docker events`).
 *
 * Decision: one parser serves the CLI and the API. It accepts everything the docker CLI
 * accepts (timetypes.GetTimestamp), in this order:
 * 1. a Go duration (`10m`, `1h30m`, `1.5h`, `300ms`), meaning that long before `now`,
 *    truncated to whole seconds as the CLI does (`"0"` is not a duration: it is the epoch);
 * 2. an RFC 3339 date or date-time, possibly shortened (`2006-01-02`, `2006-01-02T15`,
 *    `2006-01-02T15:04`, `2006-01-02T15:04:05`, with or without a fraction); with a zone
 *    (`Z`, `+07:00`) it is exact, without one it is in the daemon's local zone (its offset at
 *    `now`, as Go's FixedZone(reference.Zone()) does);
 * 3. a Unix timestamp with an optional fraction of up to nine digits (`1700000000.123456789`),
 *    which is the only form dockerd's API itself accepts: the CLI converts the others first.
 * The API accepting the CLI's forms too is a deliberate superset (curl users can write
 * `since=10m`). A value none of these parse is an InvalidParameterError (HTTP 400; dockerd
 * answers 500 with a strconv message there) that names the parameter.
 */
import { InvalidParameterError } from '../errors';
import { nowNs, type NanoTime } from './timestamp';

const NS = { ns: 1n, us: 1_000n, µs: 1_000n, μs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n } as const;
const NS_PER_S = 1_000_000_000n;

/** Go's time.ParseDuration in nanoseconds; undefined when `text` is not a duration. */
export function parseGoDuration(text: string): bigint | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0n;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return undefined;
  let total = 0n;
  for (const [, num, unit] of m[2]!.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    const scale = NS[unit as keyof typeof NS];
    const [int = '', frac = ''] = num!.split('.');
    total += BigInt(int || '0') * scale;
    if (frac) total += (BigInt(frac) * scale) / 10n ** BigInt(frac.length);
  }
  return m[1] === '-' ? -total : total;
}

/**
 * Parse a since/until value into nanoseconds since the epoch. `field` names the parameter in
 * the error. `now` is the reference for durations and for the local zone.
 */
export function parseTimeFilter(value: string, field: string, now: NanoTime = nowNs()): NanoTime {
  const fail = () => new InvalidParameterError(`invalid value for "${field}": failed to parse value as time or duration: "${value}"`);
  const trimmed = value.trim();
  const duration = trimmed === '0' ? undefined : parseGoDuration(trimmed);
  if (duration !== undefined) return floorDiv(now - duration, NS_PER_S) * NS_PER_S;
  const date = parseDockerDate(trimmed, now);
  if (date !== undefined) return date;
  if (trimmed.includes('-') && !/^[+-]?\d+(\.\d+)?$/.test(trimmed)) throw fail();
  const unix = parseUnixTimestamp(trimmed);
  if (unix === undefined) throw fail();
  return unix;
}

/** An optional filter value: empty or absent means "no bound". */
export function parseOptionalTimeFilter(value: string | undefined, field: string, now?: NanoTime): NanoTime | undefined {
  return value === undefined || value === '' ? undefined : parseTimeFilter(value, field, now);
}

/** The wire form the docker CLI sends: `<seconds>.<nine digits>`. */
export function formatTimeFilter(t: NanoTime): string {
  const s = floorDiv(t, NS_PER_S);
  return `${s}.${(t - s * NS_PER_S).toString().padStart(9, '0')}`;
}

/** dockerd's timetypes.ParseTimestamps: `seconds[.fraction]`, the fraction scaled to nanoseconds. */
export function parseUnixTimestamp(text: string): NanoTime | undefined {
  const m = /^([+-]?\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const seconds = BigInt(m[1]!);
  const frac = m[2] ?? '';
  const ns = frac === '' ? 0n : BigInt(frac.slice(0, 9).padEnd(9, '0'));
  return seconds * NS_PER_S + ns;
}

/** Layout choice of timetypes.GetTimestamp, then a strict parse of that layout. */
function parseDockerDate(value: string, now: NanoTime): NanoTime | undefined {
  const local = !(/[zZ+]/.test(value) || count(value, '-') === 3);
  let time: string;
  if (value.includes('.')) time = 'T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?';
  else if (value.includes('T')) {
    let colons = count(value, ':');
    if (!local && !/[zZ]/.test(value) && colons > 0) colons--;
    time = colons === 0 ? 'T\\d{2}' : colons === 1 ? 'T\\d{2}:\\d{2}' : 'T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,9})?';
  } else time = '';
  const zone = local ? '' : '(Z|[+-]\\d{2}:\\d{2})';
  const m = new RegExp(`^(\\d{4})-(\\d{2})-(\\d{2})(${time})${zone}$`).exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hh = 0, mi = 0, ss = 0] = (m[4]!.match(/\d{2}/g) ?? []).map(Number);
  const frac = /\.(\d+)/.exec(m[4]!)?.[1] ?? '';
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || hh > 23 || mi > 59 || ss > 59) return undefined;
  const utcMs = Date.UTC(y, mo - 1, d, hh, mi, ss);
  const offsetMin = local ? -new Date(Number(now / 1_000_000n)).getTimezoneOffset() : zoneOffsetMinutes(m[5]!);
  return (BigInt(utcMs) - BigInt(offsetMin) * 60_000n) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
}

function zoneOffsetMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function count(s: string, c: string): number {
  return s.split(c).length - 1;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}
