/**
 * The json-file log driver (Docker's default): `<dir>/<id>-json.log`, one JSON object per
 * message (see json-line.ts), lines cut as dockerd's copier cuts them (line-splitter.ts).
 *
 * Options (validated as dockerd does, same messages):
 * - `max-size`: rotate when the file has reached this size (go-units FromHumanSize: decimal,
 *   `10m` = 10,000,000 bytes). Checked before each message, so a file may exceed it by one
 *   message. Unset: never rotate.
 * - `max-file` (default 1): files kept. Rotation renames `.log` to `.log.1`, `.1` to `.2` ...
 *   dropping `.log.<max-file - 1>`; with 1 the file is truncated instead.
 * - `labels`, `labels-regex`, `env`, `env-regex`: container labels / env vars recorded in
 *   each line's `attrs`. `tag` is accepted and unused, as in dockerd's json-file.
 * - `compress`: accepted when false; `true` is refused (NotImplementedError) because rotated
 *   files are kept uncompressed here.
 */
import { EventEmitter } from 'node:events';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError, NotImplementedError } from '../errors';
import { parseBytes, parseBool } from '../config/validate';
import { encodeJsonLogLine } from './json-line';
import { readJsonFileLog } from './json-file-reader';
import { LineSplitter } from './line-splitter';
import { fromDate, nowNs, type NanoTime } from './timestamp';
import type { LogContext, LogDriver, LogEntry, LogOptions, LogStream, ReadOptions } from './types';

const KNOWN_OPTIONS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);

export interface JsonFileConfig {
  /** Rotate at this many bytes; undefined: never. */
  maxSize?: number;
  maxFiles: number;
}

/** dockerd's ValidateLogOpt for json-file: only known keys (checked at container create). */
export function validateJsonFileOptions(opts: LogOptions): void {
  for (const key of Object.keys(opts)) {
    if (!KNOWN_OPTIONS.has(key)) throw new InvalidParameterError(`unknown log opt '${key}' for json-file log driver`);
  }
}

/** The values, checked as dockerd checks them when it starts the driver. */
export function parseJsonFileOptions(opts: LogOptions): JsonFileConfig {
  validateJsonFileOptions(opts);
  const fail = (msg: string) => new InvalidParameterError(`failed to initialize logging driver: ${msg}`);
  let maxSize: number | undefined;
  if (opts['max-size'] !== undefined) {
    try {
      maxSize = parseBytes(opts['max-size'], 1000);
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (maxSize <= 0) throw fail('max-size must be a positive number');
  }
  let maxFiles = 1;
  if (opts['max-file'] !== undefined) {
    const text = opts['max-file'];
    if (!/^[+-]?\d+$/.test(text)) throw fail(`strconv.Atoi: parsing "${text}": invalid syntax`);
    maxFiles = Number(text);
    if (maxFiles < 1) throw fail('max-file cannot be less than 1');
  }
  if (opts.compress !== undefined) {
    const compress = parseBool(opts.compress);
    if (compress === undefined) throw fail(`strconv.ParseBool: parsing "${opts.compress}": invalid syntax`);
    if (compress && (maxFiles === 1 || maxSize === undefined)) throw fail('compress cannot be true when max-file is less than 2 or max-size is not set');
    if (compress) throw new NotImplementedError('the json-file log driver of this daemon does not compress rotated files (compress=true)');
  }
  return { maxSize, maxFiles };
}

/** dockerd's Info.ExtraAttributes: the `attrs` recorded with every line. */
export function extraAttributes(opts: LogOptions, ctx: Pick<LogContext, 'labels' | 'env'>): Record<string, string> {
  const extra: Record<string, string> = {};
  const labels = ctx.labels ?? {};
  const env = new Map<string, string>();
  for (const e of ctx.env ?? []) {
    const eq = e.indexOf('=');
    if (eq >= 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  const regex = (key: string) => {
    try {
      return new RegExp(opts[key]!);
    } catch (e) {
      throw new InvalidParameterError(`failed to initialize logging driver: invalid ${key} '${opts[key]}': ${(e as Error).message}`);
    }
  };
  for (const l of opts.labels ? opts.labels.split(',') : []) if (l in labels) extra[l] = labels[l]!;
  if (opts['labels-regex']) {
    const re = regex('labels-regex');
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra[k] = v;
  }
  for (const k of opts.env ? opts.env.split(',') : []) if (env.has(k)) extra[k] = env.get(k)!;
  if (opts['env-regex']) {
    const re = regex('env-regex');
    for (const [k, v] of env) if (re.test(k)) extra[k] = v;
  }
  return extra;
}

export class JsonFileLogger implements LogDriver {
  readonly name = 'json-file';
  readonly readable = true;
  /** The current log file. */
  readonly path: string;
  private readonly splitters: Record<LogStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  private readonly changes = new EventEmitter();
  private queue: Buffer[] = [];
  private draining: Promise<void> | undefined;
  private fh: FileHandle | undefined;
  private size = 0;
  private closed = false;

  constructor(
    private readonly config: JsonFileConfig,
    private readonly ctx: LogContext,
    private readonly attrs: Record<string, string> = {},
  ) {
    this.path = join(ctx.dir, `${ctx.id}-json.log`);
    this.changes.setMaxListeners(0);
  }

  write(stream: LogStream, chunk: Buffer, time: NanoTime | Date = nowNs()): void {
    if (this.closed || chunk.length === 0) return;
    const t = time instanceof Date ? fromDate(time) : time;
    for (const msg of this.splitters[stream].push(chunk, t)) this.enqueue(stream, msg.line, msg.partial, msg.time);
  }

  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  read(opts: ReadOptions = {}): AsyncIterable<LogEntry> {
    return readJsonFileLog(this.path, opts, {
      subscribe: (cb) => {
        this.changes.on('change', cb);
        return () => this.changes.off('change', cb);
      },
      isClosed: () => this.closed,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return this.flush();
    const now = nowNs();
    for (const stream of ['stdout', 'stderr'] as const) {
      for (const msg of this.splitters[stream].end(now)) this.enqueue(stream, msg.line, msg.partial, msg.time);
    }
    this.closed = true;
    await this.flush();
    // Everything is written: the descriptor's close goes on in the background (not one more
    // thread-pool round trip on the path from a container's exit to its `die`).
    const fh = this.fh;
    this.fh = undefined;
    void fh?.close().catch(() => undefined);
    this.changes.emit('change');
  }

  private enqueue(stream: LogStream, line: Buffer, partial: boolean, time: NanoTime) {
    const logged = partial ? line : Buffer.concat([line, Buffer.from('\n')]);
    this.queue.push(encodeJsonLogLine({ stream, line: logged, time, attrs: this.attrs }));
    this.draining ??= this.drain();
  }

  /** Write queued lines in order until the queue is empty; resets `draining` when done. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0);
        try {
          await this.writeBatch(batch);
        } catch (e) {
          this.ctx.onError?.(e as Error);
        }
        this.changes.emit('change');
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async writeBatch(batch: Buffer[]) {
    const fh = this.fh ?? (await this.openCurrent(false));
    let pending: Buffer[] = [];
    for (const line of batch) {
      if (this.config.maxSize !== undefined && this.size >= this.config.maxSize) {
        await writeAll(this.fh ?? fh, pending);
        pending = [];
        await this.rotate();
      }
      pending.push(line);
      this.size += line.length;
    }
    await writeAll(this.fh!, pending);
  }

  private async openCurrent(truncate: boolean): Promise<FileHandle> {
    await mkdir(this.ctx.dir, { recursive: true });
    this.fh = await open(this.path, truncate ? 'w' : 'a', 0o640);
    this.size = truncate ? 0 : (await this.fh.stat()).size;
    return this.fh;
  }

  /** dockerd's rotate: shift `.N` names up, the current file to `.1`, start a new file. */
  private async rotate() {
    await this.fh?.close();
    this.fh = undefined;
    const { maxFiles } = this.config;
    if (maxFiles >= 2) {
      await rm(`${this.path}.${maxFiles - 1}`, { force: true });
      for (let i = maxFiles - 1; i > 1; i--) await renameIfExists(`${this.path}.${i - 1}`, `${this.path}.${i}`);
      await renameIfExists(this.path, `${this.path}.1`);
    }
    await this.openCurrent(true);
    this.changes.emit('change');
  }
}

async function writeAll(fh: FileHandle, parts: Buffer[]) {
  if (parts.length === 0) return;
  const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  for (let at = 0; at < data.length; ) {
    const { bytesWritten } = await fh.write(data, at, data.length - at);
    at += bytesWritten;
  }
}

async function renameIfExists(from: string, to: string) {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Build the driver from its options (validated; errors are InvalidParameterError). */
export function createJsonFileLogger(opts: LogOptions, ctx: LogContext): JsonFileLogger {
  return new JsonFileLogger(parseJsonFileOptions(opts), ctx, extraAttributes(opts, ctx));
}
