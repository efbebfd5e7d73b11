/**
 * The log driver contract. A container's output goes to exactly one driver (HostConfig
 * LogConfig.Type); `docker logs` reads it back when the driver can.
 */
import type { NanoTime } from './timestamp';

export type LogStream = 'stdout' | 'stderr';

/** One logged message as read back. */
export interface LogEntry {
  stream: LogStream;
  /** When the line (or, for a line split in pieces, its first piece) was read from the container. */
  time: NanoTime;
  /**
   * The bytes as logged: a complete line ends with its `\n` (as in Docker's message); a piece
   * of a line longer than 16 KiB, or the unterminated end of the output, does not.
   */
  line: Buffer;
  /** Extra attributes recorded with the line (the `labels`/`env` log options). */
  attrs?: Record<string, string>;
}

export interface ReadOptions {
  /** Only entries at or after this time. */
  since?: NanoTime;
  /** Only entries at or before this time; reading (and following) stops at the first later one. */
  until?: NanoTime;
  /**
   * The last N entries counted over both streams before the stdout/stderr choice is applied,
   * as dockerd does. Absent or negative: all. 0: none (with `follow`, only new entries).
   */
  tail?: number;
  /** Keep going with new entries after the existing ones. */
  follow?: boolean;
  /** Which streams to yield (both default to true). */
  stdout?: boolean;
  stderr?: boolean;
  /** Stop at once (the client went away). The iterator then just ends. */
  signal?: AbortSignal;
  /**
   * Settles when the container has stopped and its output has been flushed to the driver
   * (await `driver.close()` or `flush()` first): a follower then yields what remains and ends.
   */
  stopped?: Promise<unknown>;
}

export interface LogDriver {
  readonly name: string;
  /** Whether `read` works (false for `none`, as for Docker's non-reading drivers). */
  readonly readable: boolean;
  /**
   * Record a chunk of the container's output, as read from its pipe or TTY; the driver cuts
   * it into lines itself. `time` (nanoseconds, or a Date) defaults to now. Never blocks the
   * caller: writes are queued in order; a write failure is reported to the context's
   * `onError`, not thrown.
   */
  write(stream: LogStream, chunk: Buffer, time?: NanoTime | Date): void;
  /** Resolves when everything written so far is stored. */
  flush(): Promise<void>;
  /**
   * Read entries back. Throws NotImplementedError("configured logging driver does not
   * support reading") synchronously for a driver that cannot.
   */
  read(opts?: ReadOptions): AsyncIterable<LogEntry>;
  /** Store the unterminated rest of each stream (as a partial line), flush, release files. */
  close(): Promise<void>;
}

/** Where and for whom a driver logs. */
export interface LogContext {
  /** The container's directory: json-file writes `<dir>/<id>-json.log`. */
  dir: string;
  /** The full container id. */
  id: string;
  /** Container labels and environment (`KEY=value`), for the `labels`/`env` options. */
  labels?: Record<string, string>;
  env?: string[];
  /** Told about write failures (a full disk ...); the container keeps running. */
  onError?: (err: Error) => void;
}

export type LogOptions = Record<string, string>;
