/**
 * Fan-out of a container's stdout/stderr to any number of attached clients.
 *
 * Policy (the container is never slowed down by a client):
 * - The broadcaster reads its sources in flowing mode and never waits on a subscriber:
 *   `write()` hands each chunk to every subscriber's `write()` and returns at once.
 * - A subscriber that does not keep up accumulates bytes in its own writable buffer. When
 *   that buffer (`writableLength`) goes over `maxBufferedBytes` (default 1 MiB) the
 *   subscriber is dropped: detached and destroyed, so its client sees the connection close
 *   rather than a silent gap in the output. Its `done` promise resolves with `'dropped'`.
 *   (dockerd instead blocks the container on a slow attach client; we prefer to lose the
 *   client, never the container's progress. The log driver is fed separately and loses nothing.)
 * - A subscriber whose writable closes or errors is removed (`'closed'`).
 * - `end()` (the container's output is over) ends every subscriber's writable unless it was
 *   attached with `end: false` (`'ended'`); `subscription.detach()` removes one (`'detached'`).
 */
import type { Readable, Writable } from 'node:stream';
import { encodeFrames } from './stdcopy';

export type OutputStream = 'stdout' | 'stderr';

export interface AttachOptions {
  /** Which streams this subscriber receives. */
  stdout: boolean;
  stderr: boolean;
  /** Frame chunks with stdcopy headers (no TTY); raw bytes otherwise (TTY, WebSocket). */
  multiplex?: boolean;
  /** End the writable when the broadcaster ends (default true). */
  end?: boolean;
}

export type DetachReason = 'ended' | 'dropped' | 'closed' | 'detached';

export interface Subscription {
  /** Stop sending to this subscriber (its writable is left open). */
  detach(): void;
  /** Resolves once the subscriber is gone, telling why. */
  readonly done: Promise<DetachReason>;
}

export interface BroadcasterOptions {
  /** A subscriber with more than this many bytes queued is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Told about every dropped subscriber (for a log line). */
  onDrop?: (info: { bufferedBytes: number }) => void;
}

interface Subscriber {
  target: Writable;
  opts: AttachOptions;
  finish(reason: DetachReason): void;
}

export class Broadcaster {
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxBuffered: number;
  private ended = false;

  constructor(private readonly options: BroadcasterOptions = {}) {
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  }

  /** Number of attached subscribers. */
  get size(): number {
    return this.subscribers.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Send the container's output on `stream` to `target` from now on. Attaching to an ended
   * broadcaster ends `target` at once (unless `end: false`) and resolves `done` with 'ended'.
   */
  attach(target: Writable, opts: AttachOptions): Subscription {
    let resolveDone!: (r: DetachReason) => void;
    const done = new Promise<DetachReason>((r) => (resolveDone = r));
    const onGone = () => sub.finish('closed');
    const sub: Subscriber = {
      target,
      opts,
      finish: (reason) => {
        if (!this.subscribers.delete(sub)) return;
        target.off('close', onGone);
        target.off('error', onGone);
        resolveDone(reason);
      },
    };
    if (this.ended) {
      if (opts.end !== false) target.end();
      resolveDone('ended');
      return { detach: () => undefined, done };
    }
    this.subscribers.add(sub);
    target.on('close', onGone);
    target.on('error', onGone);
    return { detach: () => sub.finish('detached'), done };
  }

  /** Hand `chunk` to every subscriber of `stream`, dropping the ones that fall behind. */
  write(stream: OutputStream, chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    let framed: Buffer[] | undefined;
    for (const sub of [...this.subscribers]) {
      if (!sub.opts[stream]) continue;
      const { target } = sub;
      if (target.destroyed || target.writableEnded) {
        sub.finish('closed');
        continue;
      }
      if (sub.opts.multiplex) {
        framed ??= encodeFrames(stream, chunk);
        for (const part of framed) target.write(part);
      } else {
        target.write(chunk);
      }
      if (target.writableLength > this.maxBuffered) this.drop(sub);
    }
  }

  /** The output is over: end (or release) every subscriber; later writes are ignored. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const sub of [...this.subscribers]) {
      sub.finish('ended');
      if (sub.opts.end !== false && !sub.target.destroyed) sub.target.end();
    }
  }

  /**
   * Read `stdout` and `stderr` (either may be absent) in flowing mode into the broadcaster;
   * ends it when both sources have ended or closed. Resolves then.
   */
  consume(sources: { stdout?: Readable; stderr?: Readable }): Promise<void> {
    const one = (stream: OutputStream, src: Readable | undefined) =>
      new Promise<void>((resolve) => {
        if (!src) return resolve();
        src.on('data', (chunk: Buffer | string) => this.write(stream, typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
        src.once('end', () => resolve());
        src.once('close', () => resolve());
        src.once('error', () => resolve());
      });
    return Promise.all([one('stdout', sources.stdout), one('stderr', sources.stderr)]).then(() => this.end());
  }

  private drop(sub: Subscriber) {
    const bufferedBytes = sub.target.writableLength;
    sub.finish('dropped');
    this.options.onDrop?.({ bufferedBytes });
    sub.target.destroy();
  }
}
