/**
 * Nanosecond wall-clock times for logs. Docker stamps every log line with nanoseconds; a JS
 * Date has milliseconds only, so log times are `bigint` nanoseconds since the Unix epoch.
 */

export type NanoTime = bigint;

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
/** Re-anchor the monotonic clock on the wall clock when they differ by more than this. */
const MAX_DRIFT_NS = 2n * NS_PER_MS;

let anchor: bigint | undefined;

/**
 * Now, in nanoseconds: the wall clock (Date.now) refined with the monotonic high-resolution
 * clock, so that successive calls within a millisecond still differ and increase. If the wall
 * clock is stepped, the next call follows it.
 */
export function nowNs(): NanoTime {
  const hr = process.hrtime.bigint();
  const wall = BigInt(Date.now()) * NS_PER_MS;
  if (anchor === undefined) anchor = wall - hr;
  let t = anchor + hr;
  const drift = t - wall;
  if (drift > MAX_DRIFT_NS || drift < -MAX_DRIFT_NS) {
    anchor = wall - hr;
    t = wall;
  }
  return t;
}

export function fromDate(d: Date): NanoTime {
  return BigInt(d.getTime()) * NS_PER_MS;
}

export function toDate(t: NanoTime): Date {
  return new Date(Number(floorDiv(t, NS_PER_MS)));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function parts(t: NanoTime): { date: string; frac: string } {
  const seconds = floorDiv(t, NS_PER_S);
  const ns = t - seconds * NS_PER_S;
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return { date: iso.slice(0, 19), frac: ns.toString().padStart(9, '0') };
}

/** Go's time.RFC3339Nano in UTC: trailing zeros of the fraction trimmed, no dot when zero (json-file's `time`). */
export function formatRfc3339Nano(t: NanoTime): string {
  const { date, frac } = parts(t);
  const trimmed = frac.replace(/0+$/, '');
  return trimmed === '' ? `${date}Z` : `${date}.${trimmed}Z`;
}

/** Docker's RFC3339NanoFixed in UTC: always nine digits (the `timestamps=1` prefix of logs). */
export function formatRfc3339NanoFixed(t: NanoTime): string {
  const { date, frac } = parts(t);
  return `${date}.${frac}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parse an RFC 3339 time with up to nine fraction digits; undefined when malformed. */
export function parseRfc3339Nano(text: string): NanoTime | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let t = BigInt(ms) * NS_PER_MS + BigInt((frac ?? '').padEnd(9, '0') || '0');
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone!.startsWith('-') ? -1n : 1n;
    const offsetMin = BigInt(Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
    t -= sign * offsetMin * 60n * NS_PER_S;
  }
  return t;
}
