import { mkdtemp, readFile, readdir, rm, writeFile, appendFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidParameterError, NotImplementedError } from '../errors';
import { createLogDriver, validateLogConfig, type LogDriver, type LogEntry, type ReadOptions } from './index';
import { encodeJsonLogLine } from './json-line';
import { readJsonFileLog } from './json-file-reader';
import { parseJsonFileOptions } from './json-file';

const ID = 'c0ffee';
let dir: string;
const drivers: LogDriver[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsdocker-logs-'));
});
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
  await rm(dir, { recursive: true, force: true });
});

function driver(opts: Record<string, string> = {}, extra: { labels?: Record<string, string>; env?: string[] } = {}) {
  const d = createLogDriver('json-file', opts, { dir, id: ID, ...extra });
  drivers.push(d);
  return d;
}

const S = 1_000_000_000n;
const text = (entries: LogEntry[]) => entries.map((e) => `${e.stream}:${e.line.toString()}`);

async function collect(d: LogDriver, opts: ReadOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of d.read(opts)) out.push(e);
  return out;
}

/** Write lines `prefix0..prefix{n-1}` on stdout at times 1s, 2s, ... */
async function writeLines(d: LogDriver, n: number, prefix = 'line', startSecond = 1) {
  for (let i = 0; i < n; i++) d.write('stdout', Buffer.from(`${prefix}${i}\n`), BigInt(startSecond + i) * S);
  await d.flush();
}

describe('json-file options', () => {
  it('rejects unknown keys and bad values with dockerd messages', () => {
    expect(() => validateLogConfig('json-file', { foo: '1' })).toThrow("unknown log opt 'foo' for json-file log driver");
    expect(() => validateLogConfig('syslog', {})).toThrow("logger: no log driver named 'syslog' is registered");
    expect(() => validateLogConfig('none', { anything: 'x' })).not.toThrow();
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'max-size': '1x' }, "failed to initialize logging driver: invalid size: '1x'"],
      [{ 'max-size': '0' }, 'failed to initialize logging driver: max-size must be a positive number'],
      [{ 'max-file': '0', 'max-size': '1k' }, 'failed to initialize logging driver: max-file cannot be less than 1'],
      [{ 'max-file': 'x' }, 'failed to initialize logging driver: strconv.Atoi: parsing "x": invalid syntax'],
      [{ compress: 'true' }, 'failed to initialize logging driver: compress cannot be true when max-file is less than 2 or max-size is not set'],
    ];
    for (const [opts, msg] of cases) {
      expect(() => parseJsonFileOptions(opts)).toThrow(InvalidParameterError);
      expect(() => parseJsonFileOptions(opts)).toThrow(msg);
    }
    expect(() => parseJsonFileOptions({ compress: 'true', 'max-size': '1k', 'max-file': '2' })).toThrow(NotImplementedError);
  });

  it('reads max-size with decimal units as go-units FromHumanSize does', () => {
    expect(parseJsonFileOptions({ 'max-size': '1m', 'max-file': '3' })).toEqual({ maxSize: 1_000_000, maxFiles: 3 });
    expect(parseJsonFileOptions({ 'max-size': '10k' })).toEqual({ maxSize: 10_000, maxFiles: 1 });
    expect(parseJsonFileOptions({})).toEqual({ maxSize: undefined, maxFiles: 1 });
  });
});

describe('json-file writer', () => {
  it('writes <id>-json.log lines exactly as dockerd, cutting lines itself', async () => {
    const d = driver();
    d.write('stdout', Buffer.from('hel'), 1n * S);
    d.write('stdout', Buffer.from('lo\nwor'), 2n * S);
    d.write('stderr', Buffer.from('err\n'), 3n * S + 5n);
    await d.close();
    const lines = (await readFile(join(dir, `${ID}-json.log`), 'utf8')).split('\n');
    expect(lines[0]).toBe('{"log":"hello\\n","stream":"stdout","time":"1970-01-01T00:00:02Z"}');
    expect(lines[1]).toBe('{"log":"err\\n","stream":"stderr","time":"1970-01-01T00:00:03.000000005Z"}');
    // close() stores the unterminated rest as a partial line (no \n in "log"), as dockerd does at EOF.
    expect(lines[2]).toMatch(/^\{"log":"wor","stream":"stdout","time":"\d{4}-[^"]+Z"\}$/);
    expect(lines.slice(3)).toEqual(['']);
  });

  it('accepts a Date as the time (millisecond precision)', async () => {
    const d = driver();
    d.write('stdout', Buffer.from('x\n'), new Date(Date.UTC(2020, 0, 1, 0, 0, 0, 250)));
    await d.flush();
    expect(await readFile(join(dir, `${ID}-json.log`), 'utf8')).toBe('{"log":"x\\n","stream":"stdout","time":"2020-01-01T00:00:00.25Z"}\n');
  });

  it('records attrs from the labels/env options', async () => {
    const d = driver({ labels: 'a,missing', 'env-regex': '^FO' }, { labels: { a: '1', b: '2' }, env: ['FOO=bar', 'X=y'] });
    await writeLines(d, 1);
    const content = await readFile(join(dir, `${ID}-json.log`), 'utf8');
    expect(content).toContain('"attrs":{"FOO":"bar","a":"1"}');
    expect((await collect(d))[0]!.attrs).toEqual({ FOO: 'bar', a: '1' });
  });

  it('rotates at max-size keeping max-file files, and reads across them', async () => {
    const d = driver({ 'max-size': '200', 'max-file': '3' });
    await writeLines(d, 30);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual([`${ID}-json.log`, `${ID}-json.log.1`, `${ID}-json.log.2`]);
    // Rotation happens before a write once the file has reached max-size: at most one line over.
    for (const f of files) expect((await readFile(join(dir, f))).length).toBeLessThan(200 + 80);
    const all = text(await collect(d));
    const kept = all.length;
    expect(kept).toBeGreaterThan(3);
    expect(all).toEqual(Array.from({ length: kept }, (_, i) => `stdout:line${30 - kept + i}\n`));
    expect(text(await collect(d, { tail: 5 }))).toEqual(all.slice(-5));
    expect(text(await collect(d, { tail: 1000 }))).toEqual(all);
  });

  it('max-file 1 truncates the file instead of keeping old ones', async () => {
    const d = driver({ 'max-size': '100' });
    await writeLines(d, 10);
    expect(await readdir(dir)).toEqual([`${ID}-json.log`]);
    // ~66 bytes a line: rotation before the third line, so two are left.
    expect(text(await collect(d))).toEqual(['stdout:line8\n', 'stdout:line9\n']);
  });

  it('appends to an existing log when the container starts again', async () => {
    const first = driver();
    await writeLines(first, 2, 'a');
    await first.close();
    const second = driver();
    await writeLines(second, 1, 'b', 10);
    expect(text(await collect(second))).toEqual(['stdout:a0\n', 'stdout:a1\n', 'stdout:b0\n']);
  });

  it('reports write failures to onError without throwing', async () => {
    const errors: Error[] = [];
    const d = createLogDriver('json-file', {}, { dir: join(dir, 'file-not-dir'), id: ID, onError: (e) => errors.push(e) });
    await writeFile(join(dir, 'file-not-dir'), 'x');
    d.write('stdout', Buffer.from('x\n'));
    await d.flush();
    expect(errors).toHaveLength(1);
  });
});

describe('json-file reader', () => {
  it('applies tail before the stream choice, then since and until (dockerd order)', async () => {
    const d = driver();
    d.write('stdout', Buffer.from('o1\n'), 1n * S);
    d.write('stderr', Buffer.from('e2\n'), 2n * S);
    d.write('stdout', Buffer.from('o3\n'), 3n * S);
    d.write('stderr', Buffer.from('e4\n'), 4n * S);
    await d.flush();
    expect(text(await collect(d, { tail: 2, stderr: false }))).toEqual(['stdout:o3\n']);
    expect(text(await collect(d, { stdout: false }))).toEqual(['stderr:e2\n', 'stderr:e4\n']);
    expect(text(await collect(d, { since: 2n * S, until: 3n * S }))).toEqual(['stderr:e2\n', 'stdout:o3\n']);
    expect(text(await collect(d, { tail: 0 }))).toEqual([]);
    expect(text(await collect(d, { tail: -1 }))).toEqual(['stdout:o1\n', 'stderr:e2\n', 'stdout:o3\n', 'stderr:e4\n']);
    expect((await collect(d, { tail: 1 }))[0]!.time).toBe(4n * S);
  });

  it('gives back long lines as their 16 KiB pieces and skips torn lines', async () => {
    const d = driver();
    d.write('stdout', Buffer.concat([Buffer.alloc(20000, 120), Buffer.from('\n')]), 7n * S);
    await d.flush();
    await appendFile(join(dir, `${ID}-json.log`), '{"log":"torn\n' + encodeJsonLogLine({ stream: 'stdout', line: Buffer.from('ok\n'), time: 8n * S }).toString());
    const got = await collect(d);
    expect(got.map((e) => [e.line.length, e.time])).toEqual([
      [16384, 7n * S],
      [20000 - 16384 + 1, 7n * S],
      [3, 8n * S],
    ]);
  });

  it('returns nothing for a container that has not logged yet', async () => {
    expect(await collect(driver())).toEqual([]);
  });

  it('follows new lines across rotations and ends when the container stops', async () => {
    const d = driver({ 'max-size': '150', 'max-file': '20' });
    await writeLines(d, 2, 'old');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const it = d.read({ tail: 1, follow: true, stopped })[Symbol.asyncIterator]();
    const seen = [((await it.next()).value as LogEntry).line.toString().trim()];
    // The follower is suspended: ~70 bytes a line, these writes rotate the file three times
    // before it looks again, so it must walk the rotated files in order.
    for (let i = 0; i < 8; i++) d.write('stdout', Buffer.from(`new${i}\n`), BigInt(100 + i) * S);
    await d.flush();
    expect((await readdir(dir)).length).toBeGreaterThan(3);
    for (let r = await it.next(); !r.done; r = await it.next()) {
      seen.push(r.value.line.toString().trim());
      if (seen.length === 9) {
        await d.close();
        stop();
      }
    }
    expect(seen).toEqual(['old1', ...Array.from({ length: 8 }, (_, i) => `new${i}`)]);
  });

  it('a follower yields what is left when the container stops, then ends', async () => {
    const d = driver();
    await writeLines(d, 1, 'a');
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const it = d.read({ follow: true, stopped })[Symbol.asyncIterator]();
    expect((await it.next()).value.line.toString()).toBe('a0\n');
    const pending = it.next();
    d.write('stdout', Buffer.from('last\n'), 50n * S);
    await d.flush();
    stop();
    expect((await pending).value.line.toString()).toBe('last\n');
    expect((await it.next()).done).toBe(true);
  });

  it('a follower stops at once on abort', async () => {
    const d = driver();
    await writeLines(d, 1);
    const ac = new AbortController();
    const it = d.read({ follow: true, signal: ac.signal })[Symbol.asyncIterator]();
    await it.next();
    const next = it.next();
    ac.abort();
    expect((await next).done).toBe(true);
  });

  it('follow stops at the first entry after until', async () => {
    const d = driver();
    const until = BigInt(Date.now() + 3_600_000) * 1_000_000n;
    const it = d.read({ follow: true, until })[Symbol.asyncIterator]();
    const first = it.next();
    d.write('stdout', Buffer.from('in\n'), until - 1n);
    d.write('stdout', Buffer.from('out\n'), until + 1n);
    d.write('stdout', Buffer.from('never\n'), until - 1n);
    expect((await first).value.line.toString()).toBe('in\n');
    expect((await it.next()).done).toBe(true);
  });

  it('follows a file written by another process (no in-process hints), including its rotation', async () => {
    const path = join(dir, `${ID}-json.log`);
    const line = (s: string, t: bigint) => encodeJsonLogLine({ stream: 'stdout', line: Buffer.from(`${s}\n`), time: t });
    await writeFile(path, line('first', 1n * S));
    const ac = new AbortController();
    const it = readJsonFileLog(path, { follow: true, signal: ac.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value.line.toString()).toBe('first\n');
    const second = it.next();
    await appendFile(path, line('second', 2n * S));
    expect((await second).value.line.toString()).toBe('second\n');
    const third = it.next();
    await appendFile(path, line('third', 3n * S));
    await rename(path, `${path}.1`);
    await writeFile(path, line('fourth', 4n * S));
    expect((await third).value.line.toString()).toBe('third\n');
    expect((await it.next()).value.line.toString()).toBe('fourth\n');
    ac.abort();
    expect((await it.next()).done).toBe(true);
  });
});

describe('none driver', () => {
  it('stores nothing and refuses to read with dockerd error', async () => {
    const d = createLogDriver('none', {}, { dir, id: ID });
    d.write('stdout', Buffer.from('x\n'));
    await d.close();
    expect(d.readable).toBe(false);
    expect(() => d.read({})).toThrow(NotImplementedError);
    expect(() => d.read({})).toThrow('configured logging driver does not support reading');
    expect(await readdir(dir)).toEqual([]);
  });
});
