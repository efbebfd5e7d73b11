import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidParameterError } from '../errors';
import { formatTimeFilter, parseGoDuration, parseOptionalTimeFilter, parseTimeFilter, parseUnixTimestamp } from './time-filter';
import { formatRfc3339Nano, formatRfc3339NanoFixed, fromDate, nowNs, parseRfc3339Nano } from './timestamp';

const S = 1_000_000_000n;
const NOW = 1_700_000_000_987_654_321n;
/** The daemon's local offset at NOW, as the parser uses it for zone-less dates. */
const LOCAL_OFFSET_NS = BigInt(-new Date(Number(NOW / 1_000_000n)).getTimezoneOffset()) * 60n * S;

describe('timestamps', () => {
  it('formats like Go: RFC3339Nano trims zeros, RFC3339NanoFixed keeps nine digits', () => {
    expect(formatRfc3339Nano(1_764_356_940_416_966_648n)).toBe('2025-11-28T19:09:00.416966648Z');
    expect(formatRfc3339Nano(1_764_356_940_416_900_000n)).toBe('2025-11-28T19:09:00.4169Z');
    expect(formatRfc3339Nano(1_764_356_940_000_000_000n)).toBe('2025-11-28T19:09:00Z');
    expect(formatRfc3339NanoFixed(1_764_356_940_416_900_000n)).toBe('2025-11-28T19:09:00.416900000Z');
    expect(formatRfc3339NanoFixed(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('parses RFC 3339 back to the same nanosecond (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 253_402_300_799_999_999_999n }), (t) => {
        expect(parseRfc3339Nano(formatRfc3339Nano(t))).toBe(t);
        expect(parseRfc3339Nano(formatRfc3339NanoFixed(t))).toBe(t);
      }),
    );
    expect(parseRfc3339Nano('2020-01-01T01:00:00+01:00')).toBe(1_577_836_800n * S);
    expect(parseRfc3339Nano('not a time')).toBeUndefined();
  });

  it('nowNs follows the wall clock and increases', () => {
    const a = nowNs();
    const b = nowNs();
    expect(b).toBeGreaterThan(a);
    const wall = fromDate(new Date());
    expect(wall - b < 50_000_000n && b - wall < 50_000_000n).toBe(true);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['10m', 600n * S],
    ['1h30m', 5400n * S],
    ['1.5h', 5400n * S],
    ['300ms', 300_000_000n],
    ['2us', 2000n],
    ['1µs', 1000n],
    ['-1h', -3600n * S],
    ['.5s', 500_000_000n],
    ['0', 0n],
  ])('%s', (text, ns) => expect(parseGoDuration(text)).toBe(ns));

  it.each(['', '10', 'm', '1d', '1h-30m', '1.2.3s', '.s'])('%j is not a duration', (text) => expect(parseGoDuration(text)).toBeUndefined());
});

describe('parseTimeFilter', () => {
  it('reads durations relative to now, truncated to seconds as the docker CLI does', () => {
    expect(parseTimeFilter('10m', 'since', NOW)).toBe((1_700_000_000n - 600n) * S);
    expect(parseTimeFilter('1h', 'until', NOW)).toBe((1_700_000_000n - 3600n) * S);
  });

  it('reads Unix timestamps with fractions scaled to nanoseconds (dockerd)', () => {
    expect(parseTimeFilter('1700000000.123456789', 'since', NOW)).toBe(1_700_000_000_123_456_789n);
    expect(parseTimeFilter('1700000000.5', 'since', NOW)).toBe(1_700_000_000_500_000_000n);
    expect(parseTimeFilter('1700000000', 'since', NOW)).toBe(1_700_000_000n * S);
    expect(parseTimeFilter('0', 'since', NOW)).toBe(0n);
    expect(parseTimeFilter('-5', 'since', NOW)).toBe(-5n * S);
    expect(parseUnixTimestamp('1.1234567891')).toBe(S + 123_456_789n);
  });

  it('reads RFC 3339 dates with a zone exactly', () => {
    expect(parseTimeFilter('2020-01-01T00:00:00Z', 'since', NOW)).toBe(1_577_836_800n * S);
    expect(parseTimeFilter('2020-01-01T00:00:00.25Z', 'since', NOW)).toBe(1_577_836_800n * S + 250_000_000n);
    expect(parseTimeFilter('2020-01-01T02:00:00+02:00', 'since', NOW)).toBe(1_577_836_800n * S);
    expect(parseTimeFilter('2020-01-01T01+01:00', 'since', NOW)).toBe(1_577_836_800n * S);
    expect(parseTimeFilter('2020-01-01T00:30Z', 'since', NOW)).toBe(1_577_838_600n * S);
    expect(parseTimeFilter('2020-01-01Z', 'since', NOW)).toBe(1_577_836_800n * S);
    expect(parseTimeFilter('2020-01-01-01:00', 'since', NOW)).toBe(1_577_840_400n * S);
  });

  it('reads zone-less dates in the local zone', () => {
    const midnightUtc = 1_577_836_800n * S;
    expect(parseTimeFilter('2020-01-01', 'since', NOW)).toBe(midnightUtc - LOCAL_OFFSET_NS);
    expect(parseTimeFilter('2020-01-01T00:00:00', 'since', NOW)).toBe(midnightUtc - LOCAL_OFFSET_NS);
    expect(parseTimeFilter('2020-01-01T00:00:00.000000001', 'since', NOW)).toBe(midnightUtc - LOCAL_OFFSET_NS + 1n);
    expect(parseTimeFilter('2020-01-01T05', 'since', NOW)).toBe(midnightUtc + 5n * 3600n * S - LOCAL_OFFSET_NS);
  });

  it.each(['abc', '2020-13-01', '2020-02-30', '2020-01-01T25:00:00Z', '2020-01-01T00:00:00z', '1.2.3', '10x', ''])(
    'rejects %j with an InvalidParameterError naming the field',
    (text) => {
      expect(() => parseTimeFilter(text, 'since', NOW)).toThrow(InvalidParameterError);
      expect(() => parseTimeFilter(text, 'since', NOW)).toThrow(`invalid value for "since"`);
    },
  );

  it('round-trips the CLI wire form (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_000_000_000n * S }), (t) => {
        expect(parseTimeFilter(formatTimeFilter(t), 'until', NOW)).toBe(t);
      }),
    );
    expect(formatTimeFilter(1_700_000_000_000_000_001n)).toBe('1700000000.000000001');
  });

  it('treats empty optional values as no bound', () => {
    expect(parseOptionalTimeFilter(undefined, 'since')).toBeUndefined();
    expect(parseOptionalTimeFilter('', 'since')).toBeUndefined();
    expect(parseOptionalTimeFilter('5', 'since')).toBe(5n * S);
  });
});
