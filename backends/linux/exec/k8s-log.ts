import { closeSync, openSync, readSync, statSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import type { PassThrough } from 'node:stream';

/** How much the tail reads before it lets the event loop run (a long backlog, e.g. after a restart). */
const YIELD_EVERY = 1024 * 1024;

/** Where a reader of a conmon log stopped: the file's inode and the byte offset in it. */
export interface LogPosition {
  ino: number;
  offset: number;
}

/**
 * Follows a log file that conmon writes in the CRI "k8s-file" format and turns it back into the
 * process's byte streams. Each line is `<RFC3339Nano time> <stdout|stderr> <P|F> <content>`:
 * `F` ends a line of the process's output (a newline follows), `P` is a partial line (no newline).
 *
 * conmon replaces the file when it reaches `--log-size-max` (write `<path>.tmp`, rename over):
 * at end of file the tailer checks the path's inode and moves on to the new file. The position
 * can be saved (`positionFile`) so that a new daemon resumes where the old one stopped.
 */
export class K8sLogTailer {
  private fd: number | undefined;
  private ino = -1;
  private offset = 0;
  /** The bytes of a line not ended yet (lines are split as bytes: a UTF-8 character never contains a newline byte). */
  private partial: Buffer = Buffer.alloc(0);
  private watcher: FSWatcher | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly sinks: { stdout: PassThrough; stderr: PassThrough | null },
    private readonly positionFile?: string,
    start?: LogPosition,
  ) {
    if (start) {
      this.ino = start.ino;
      this.offset = start.offset;
    }
  }

  /**
   * Start following: read what is there and every change after. Does not wait for the reading:
   * the sinks may have no reader yet (the process can have written more than their buffers hold
   * before anyone attached), and waiting for their drain here would wait forever.
   */
  async start(): Promise<void> {
    this.watcher = watch(this.path, () => this.kick());
    this.watcher.on('error', () => undefined);
    this.watcher.unref();
    this.kick();
  }

  private kick(): void {
    if (this.closed) return;
    void this.pump().catch(() => undefined);
  }

  /** Read to the current end of the log (across a rotation). Concurrent calls coalesce. */
  pump(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.readAvailable();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /**
   * The file is the daemon's own, on local disk and mostly in the page cache: stat, open and
   * read are made synchronously (a thread-pool round trip each cost ~0.5 ms here, five of them
   * between a container's exit and its end of output), with a turn of the event loop after
   * every `YIELD_EVERY` bytes.
   */
  private async readAvailable(): Promise<void> {
    let sinceYield = 0;
    for (;;) {
      if (this.fd === undefined) {
        const st = statSync(this.path, { throwIfNoEntry: false });
        if (!st) return; // not created yet
        this.fd = openSync(this.path, 'r');
        if (st.ino !== this.ino) {
          this.ino = st.ino;
          this.offset = 0;
        }
      }
      const buf = Buffer.allocUnsafe(64 * 1024);
      const bytesRead = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (bytesRead > 0) {
        this.offset += bytesRead;
        await this.emit(buf.subarray(0, bytesRead));
        this.scheduleSave();
        sinceYield += bytesRead;
        if (sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          await new Promise((r) => setImmediate(r));
          if (this.fd === undefined) return; // closed meanwhile
        }
        continue;
      }
      // At the end: has conmon rotated the file?
      const cur = statSync(this.path, { throwIfNoEntry: false });
      if (cur && cur.ino !== this.ino) {
        this.closeFile();
        continue;
      }
      return;
    }
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = undefined;
  }

  private async emit(chunk: Buffer): Promise<void> {
    const data = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    let waitOut = false;
    let waitErr = false;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      const line = data.subarray(start, nl);
      start = nl + 1;
      // time stream tag content
      const a = line.indexOf(0x20);
      const b = line.indexOf(0x20, a + 1);
      const c = line.indexOf(0x20, b + 1);
      if (a < 0 || b < 0) continue;
      const stream = line.subarray(a + 1, b).toString('latin1');
      const tag = (c < 0 ? line.subarray(b + 1) : line.subarray(b + 1, c)).toString('latin1');
      const content = c < 0 ? Buffer.alloc(0) : line.subarray(c + 1);
      const out = tag === 'P' ? content : Buffer.concat([content, NEWLINE]);
      const sink = stream === 'stderr' ? (this.sinks.stderr ?? this.sinks.stdout) : this.sinks.stdout;
      if (!sink.write(out)) {
        if (sink === this.sinks.stdout) waitOut = true;
        else waitErr = true;
      }
    }
    this.partial = Buffer.from(data.subarray(start));
    // Back-pressure: a slow reader slows the tail, never the container (conmon keeps writing the file).
    if (waitOut) await drained(this.sinks.stdout);
    if (waitErr && this.sinks.stderr) await drained(this.sinks.stderr);
  }

  private scheduleSave(): void {
    if (!this.positionFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.savePosition();
    }, 250);
    this.saveTimer.unref();
  }

  async savePosition(): Promise<void> {
    if (!this.positionFile) return;
    // Save only whole lines: a resumed reader must start at a line boundary.
    const pos: LogPosition = { ino: this.ino, offset: this.offset - this.partial.length };
    try {
      writeFileSync(this.positionFile, JSON.stringify(pos)); // a few bytes: no round trip
    } catch {
      /* the directory went (the container was removed) */
    }
  }

  /** Read everything left, end both streams and stop following. */
  async finish(): Promise<void> {
    await this.pump();
    this.closed = true;
    this.watcher?.close();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.savePosition();
    this.closeFile();
    this.sinks.stdout.end();
    this.sinks.stderr?.end();
  }

  /** Stop following without ending the streams (the driver is going away; the log stays). */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.reading?.catch(() => undefined);
    await this.savePosition();
    this.closeFile();
  }
}

const NEWLINE = Buffer.from('\n');

function drained(s: PassThrough): Promise<void> {
  if (!s.writableNeedDrain || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.once('drain', done);
    s.once('close', done);
  });
}
