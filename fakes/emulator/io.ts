import type { Readable, Writable } from 'node:stream';

/**
 * The emulator's file descriptions. A process reads an `Input` and writes a `Sink`; both are
 * shared by every process that inherited the descriptor, so `while read l; do ...; done`
 * and the commands in its body consume one stream in order, as with a real fd.
 */

/** Where bytes come from: `read` resolves with the next chunk, or null at end of file. */
export interface Source {
  read(): Promise<Buffer | null>;
}

/** Where bytes go. `write` resolves when the sink can take more (backpressure). */
export interface Sink {
  /** Set on a terminal's output (what `test -t 1` asks). */
  readonly isTerminal?: boolean;
  write(data: Buffer): Promise<void>;
  /** Flushes and releases the sink; further writes fail. */
  close(): Promise<void>;
}

/** Thrown by a write whose reader is gone; the writer dies of SIGPIPE. */
export class BrokenPipeError extends Error {
  readonly code = 'EPIPE';
  constructor() {
    super('Broken pipe');
  }
}

/** A readable file description with a pushback buffer, so line reads never lose bytes. */
export class Input {
  /** Whether this is a terminal (the shell then prompts and runs interactively). */
  isTerminal = false;
  private pending: Buffer[] = [];
  private eof = false;

  constructor(private readonly source: Source) {}

  /** The next chunk, or null at end of file. */
  async read(): Promise<Buffer | null> {
    const buffered = this.pending.shift();
    if (buffered) return buffered;
    if (this.eof) return null;
    const chunk = await this.source.read();
    if (chunk === null) this.eof = true;
    return chunk;
  }

  /** Puts bytes back to be read first. */
  unread(chunk: Buffer): void {
    if (chunk.length > 0) this.pending.unshift(chunk);
  }

  /** The next line without its newline; null at end of file; a last unterminated line counts. */
  async readLine(): Promise<string | null> {
    const parts: Buffer[] = [];
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return parts.length > 0 ? Buffer.concat(parts).toString() : null;
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        parts.push(chunk);
        continue;
      }
      parts.push(chunk.subarray(0, nl));
      this.unread(chunk.subarray(nl + 1));
      return Buffer.concat(parts).toString();
    }
  }

  /** Everything up to end of file. */
  async readAll(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let c = await this.read(); c !== null; c = await this.read()) parts.push(c);
    return Buffer.concat(parts);
  }
}

/** A source that is at end of file from the start (`/dev/null`, a closed stdin). */
export const EMPTY_SOURCE: Source = { read: async () => null };

/** A source over bytes already in memory (a file's content, a here-document). */
export function bufferSource(data: Buffer | string): Source {
  let left: Buffer | null = Buffer.from(data);
  return {
    async read() {
      const out = left && left.length > 0 ? left : null;
      left = null;
      return out;
    },
  };
}

/** A source over a Node stream (the daemon's attach/stdin stream). */
export function streamSource(stream: Readable): Source {
  let ended = false;
  let failed = false;
  const mark = (): void => {
    ended = true;
  };
  stream.once('end', mark);
  stream.once('close', mark);
  stream.once('error', () => {
    failed = true;
    ended = true;
  });
  return {
    async read() {
      for (;;) {
        const chunk: unknown = stream.read();
        if (chunk !== null) return Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        if (ended || failed || stream.readableEnded || stream.destroyed) return null;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            stream.off('readable', done);
            stream.off('end', done);
            stream.off('close', done);
            stream.off('error', done);
            resolve();
          };
          stream.on('readable', done);
          stream.on('end', done);
          stream.on('close', done);
          stream.on('error', done);
        });
      }
    },
  };
}

/** Discards everything (`/dev/null`). */
export const NULL_SINK: Sink = { write: async () => {}, close: async () => {} };

/**
 * A sink over a Node stream. Writes wait for `drain`; a destroyed or ended stream makes
 * writes fail with EPIPE. `close` does not end the stream: its owner does.
 */
export function streamSink(stream: Writable): Sink {
  return {
    async write(data) {
      if (stream.destroyed || stream.writableEnded) throw new BrokenPipeError();
      if (stream.write(data)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    },
    close: async () => {},
  };
}

/** Writes `\n` as `\r\n`, as a terminal's ONLCR output setting does. */
export function onlcrSink(inner: Sink): Sink {
  return {
    isTerminal: true,
    write: (data) => inner.write(Buffer.from(data.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1')),
    close: () => inner.close(),
  };
}

/**
 * An in-memory pipe with a bounded buffer: a writer blocks when 64 KiB are waiting, a reader
 * blocks until data or end of file. Closing the read end makes pending and later writes fail
 * with EPIPE, as `yes | head -1` needs.
 */
export class Pipe implements Source, Sink {
  private chunks: Buffer[] = [];
  private size = 0;
  private writeClosed = false;
  private readClosed = false;
  private wakeReader: (() => void) | null = null;
  private wakeWriters: (() => void)[] = [];

  constructor(private readonly capacity = 64 * 1024) {}

  private writes = 0;

  async write(data: Buffer): Promise<void> {
    // Reader and writer could otherwise hand chunks back and forth in microtasks forever
    // (yes | cat), starving timers and I/O: yield to the event loop now and then.
    if (++this.writes % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    while (!this.readClosed && this.size >= this.capacity) {
      await new Promise<void>((resolve) => this.wakeWriters.push(resolve));
    }
    if (this.readClosed || this.writeClosed) throw new BrokenPipeError();
    if (data.length === 0) return;
    this.chunks.push(data);
    this.size += data.length;
    this.wake();
  }

  async read(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.size -= chunk.length;
        for (const w of this.wakeWriters.splice(0)) w();
        return chunk;
      }
      if (this.writeClosed || this.readClosed) return null;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  /** The writer is done: the reader sees end of file after the buffered data. */
  async close(): Promise<void> {
    this.writeClosed = true;
    this.wake();
  }

  /** The reader is gone: writers get EPIPE. */
  closeRead(): void {
    this.readClosed = true;
    this.chunks = [];
    this.size = 0;
    for (const w of this.wakeWriters.splice(0)) w();
    this.wake();
  }

  private wake(): void {
    const w = this.wakeReader;
    this.wakeReader = null;
    w?.();
  }
}

/** Collects everything written, for command substitution and tests. */
export class BufferSink implements Sink {
  private parts: Buffer[] = [];
  async write(data: Buffer): Promise<void> {
    this.parts.push(data);
  }
  async close(): Promise<void> {}
  text(): string {
    return Buffer.concat(this.parts).toString();
  }
}
