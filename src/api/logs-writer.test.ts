import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../errors';
import type { LogEntry } from '../logs/types';
import { formatLogEntry, parseLogsQuery, queryBool, writeLogEntries } from './logs-writer';

const T = 1_795_892_943_952_193_483n; // 2026-11-28T19:09:03.952193483Z
const entry = (stream: 'stdout' | 'stderr', line: string, time = T, attrs?: Record<string, string>): LogEntry => ({ stream, line: Buffer.from(line), time, attrs });

describe('formatLogEntry', () => {
  it('frames entries without TTY, with the timestamp prefix dockerd sends (observed bytes)', () => {
    expect(Buffer.concat(formatLogEntry(entry('stdout', 'partial', 1_795_892_943_991_814_639n), { tty: false, timestamps: true }))).toEqual(
      Buffer.from('\x01\x00\x00\x00\x00\x00\x00\x262026-11-28T19:09:03.991814639Z partial', 'latin1'),
    );
    expect(Buffer.concat(formatLogEntry(entry('stderr', 'e\n'), { tty: false }))).toEqual(Buffer.from('\x02\x00\x00\x00\x00\x00\x00\x02e\n', 'latin1'));
  });

  it('keeps nine fraction digits and writes raw bytes with a TTY', () => {
    expect(Buffer.concat(formatLogEntry(entry('stdout', 'x\r\n', 1_000_000_000_500_000_000n), { tty: true, timestamps: true })).toString()).toBe(
      '2001-09-09T01:46:40.500000000Z x\r\n',
    );
  });

  it('puts details (sorted attrs) after the timestamp', () => {
    const e = entry('stdout', 'x\n', T, { b: '2', a: '1' });
    expect(Buffer.concat(formatLogEntry(e, { tty: true, timestamps: true, details: true })).toString()).toBe('2026-11-28T19:09:03.952193483Z a=1,b=2 x\n');
    expect(Buffer.concat(formatLogEntry(entry('stdout', 'y\n'), { tty: true, details: true })).toString()).toBe(' y\n');
  });
});

describe('writeLogEntries', () => {
  async function* gen(n: number) {
    for (let i = 0; i < n; i++) yield entry('stdout', `${i}\n`);
  }

  it('writes every entry and waits for a slow target', async () => {
    const chunks: Buffer[] = [];
    let release!: () => void;
    const target = new Writable({
      highWaterMark: 4,
      write(chunk, _e, cb) {
        chunks.push(chunk);
        if (chunks.length === 2) release = cb;
        else cb();
      },
    });
    const done = writeLogEntries(gen(5), target, { tty: true });
    await new Promise((r) => setImmediate(r));
    expect(chunks.length).toBe(2); // held by backpressure
    release();
    expect(await done).toBe(5);
    expect(Buffer.concat(chunks).toString()).toBe('0\n1\n2\n3\n4\n');
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await writeLogEntries(gen(3), new PassThrough(), { tty: false }, ac.signal)).toBe(0);
  });
});

describe('parseLogsQuery', () => {
  it('reads the query as dockerd does', () => {
    expect(parseLogsQuery({ stdout: '1', tail: '10', timestamps: 'true', since: '1700000000.5' })).toEqual({
      stdout: true,
      stderr: false,
      follow: false,
      timestamps: true,
      details: false,
      tail: 10,
      since: 1_700_000_000_500_000_000n,
      until: undefined,
    });
    for (const t of ['all', 'abc', '-3', '']) expect(parseLogsQuery({ stderr: 'yes', tail: t }).tail).toBe(-1);
    expect(parseLogsQuery({ stdout: '1', tail: '0' }).tail).toBe(0);
  });

  it('needs a stream and a valid time', () => {
    expect(() => parseLogsQuery({})).toThrow(new InvalidParameterError('Bad parameters: you must choose at least one stream'));
    expect(() => parseLogsQuery({ stdout: 'false', stderr: '0' })).toThrow(InvalidParameterError);
    expect(() => parseLogsQuery({ stdout: '1', until: 'soon' })).toThrow('invalid value for "until"');
  });

  it('reads booleans like httputils.BoolValue', () => {
    for (const f of [undefined, '', '0', 'no', 'FALSE', ' none ']) expect(queryBool(f)).toBe(false);
    for (const t of ['1', 'true', 'yes', 'x']) expect(queryBool(t)).toBe(true);
  });
});
