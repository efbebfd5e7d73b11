/**
 * Docker's multiplexed stream framing ("stdcopy"), used on attach, exec and logs answers
 * when the container has no TTY.
 *
 * A frame is an 8-byte header followed by the payload:
 *
 *   [stream, 0, 0, 0, size (uint32 big endian)] payload(size bytes)
 *
 * `stream` is 0 stdin (written to stdout by the daemon), 1 stdout, 2 stderr, 3 systemErr
 * (a daemon error message; a client stops reading and reports it). Every write by the daemon
 * becomes one frame; an empty write produces no frame (as dockerd's StdWriter does).
 */
import { Transform, Writable, type TransformCallback } from 'node:stream';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEM_ERR = 3;
export type StreamId = typeof STDIN | typeof STDOUT | typeof STDERR | typeof SYSTEM_ERR;
export type StreamName = 'stdin' | 'stdout' | 'stderr' | 'systemErr';

export const HEADER_SIZE = 8;
/** The largest payload one frame can carry (uint32 size field). */
export const MAX_FRAME_PAYLOAD = 0xffff_ffff;

const ID_BY_NAME: Readonly<Record<StreamName, StreamId>> = { stdin: STDIN, stdout: STDOUT, stderr: STDERR, systemErr: SYSTEM_ERR };
const NAME_BY_ID: readonly StreamName[] = ['stdin', 'stdout', 'stderr', 'systemErr'];

export function streamId(stream: StreamName | StreamId): StreamId {
  return typeof stream === 'number' ? stream : ID_BY_NAME[stream];
}

/** The 8-byte header of a frame carrying `size` bytes on `stream`. */
export function frameHeader(stream: StreamName | StreamId, size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > MAX_FRAME_PAYLOAD) throw new RangeError(`stdcopy: frame size ${size} out of range`);
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = streamId(stream);
  header.writeUInt32BE(size, 4);
  return header;
}

/**
 * Encode `payload` as frames on `stream` (one frame unless it exceeds MAX_FRAME_PAYLOAD).
 * An empty payload encodes to no bytes.
 */
export function encodeFrames(stream: StreamName | StreamId, payload: Buffer | string): Buffer[] {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_FRAME_PAYLOAD) {
    const part = data.subarray(at, at + MAX_FRAME_PAYLOAD);
    out.push(frameHeader(stream, part.length), part);
  }
  return out;
}

/** One frame as a single buffer (header + payload); convenient for tests and small messages. */
export function encodeFrame(stream: StreamName | StreamId, payload: Buffer | string): Buffer {
  return Buffer.concat(encodeFrames(stream, payload));
}

/**
 * The daemon side: `muxWriter(target)` gives one Writable per stream, each of which frames
 * what is written to it and writes the frame to `target`. The per-stream writables never end
 * `target` (several streams share it); end it yourself when all output is done.
 * Backpressure is passed through: a stream's write callback waits for `target`'s drain.
 */
export interface MuxWriter {
  stdout: Writable;
  stderr: Writable;
  /** Stdin echoed back by the daemon (stream 0). */
  stdin: Writable;
  /** Write a systemErr frame (stream 3) with `message`: the client reports it and stops. */
  systemError(message: string): void;
}

export function muxWriter(target: NodeJS.WritableStream): MuxWriter {
  const make = (stream: StreamName) =>
    new Writable({
      write(chunk: Buffer, _enc, callback) {
        writeFramed(target, stream, chunk, callback);
      },
      writev(chunks, callback) {
        writeFramed(target, stream, Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
      },
    });
  return {
    stdout: make('stdout'),
    stderr: make('stderr'),
    stdin: make('stdin'),
    systemError(message: string) {
      writeFramed(target, 'systemErr', Buffer.from(message), () => undefined);
    },
  };
}

function writeFramed(target: NodeJS.WritableStream, stream: StreamName, chunk: Buffer, callback: (err?: Error | null) => void) {
  if (chunk.length === 0) return callback();
  const frames = encodeFrames(stream, chunk);
  let ok = true;
  for (const part of frames) ok = target.write(part) && ok;
  if (ok) callback();
  else target.once('drain', () => callback());
}

/** A frame read back by the client side. */
export interface Frame {
  stream: StreamName;
  payload: Buffer;
}

/** The daemon sent a systemErr frame: dockerd's stdcopy reports `error from daemon in stream: <msg>`. */
export class DaemonStreamError extends Error {
  constructor(readonly daemonMessage: string) {
    super(`error from daemon in stream: ${daemonMessage}`);
    this.name = 'DaemonStreamError';
  }
}

/** A header whose stream byte is not 0..3 (dockerd's message: `Unrecognized input header: N`). */
export class BadFrameError extends Error {
  constructor(readonly streamByte: number) {
    super(`Unrecognized input header: ${streamByte}`);
    this.name = 'BadFrameError';
  }
}

/**
 * Incremental decoder: feed it bytes in any chunking, it returns the complete frames.
 * Throws BadFrameError on an unknown stream byte (and stays failed). `pending` tells how many
 * bytes of an incomplete frame it holds (non-zero at end of input means a truncated stream).
 */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private size = 0;
  private failed: BadFrameError | undefined;

  get pending(): number {
    return this.size;
  }

  push(chunk: Buffer): Frame[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.buffered.push(chunk);
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.size < HEADER_SIZE) break;
      const head = this.peek(HEADER_SIZE);
      const id = head[0]!;
      const name = NAME_BY_ID[id];
      if (name === undefined) throw (this.failed = new BadFrameError(id));
      const length = head.readUInt32BE(4);
      if (this.size < HEADER_SIZE + length) break;
      const whole = this.take(HEADER_SIZE + length);
      frames.push({ stream: name, payload: whole.subarray(HEADER_SIZE) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.buffered[0]!.length < n) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return out;
  }
}

/**
 * A Transform from multiplexed bytes to Frame objects (object mode on the readable side).
 * Errors with BadFrameError, with DaemonStreamError on a systemErr frame, and with an Error
 * on a truncated final frame.
 */
export function demuxStream(): Transform {
  const decoder = new FrameDecoder();
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _enc, callback: TransformCallback) {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        return callback(e as Error);
      }
      for (const f of frames) {
        if (f.stream === 'systemErr') return callback(new DaemonStreamError(f.payload.toString()));
        this.push(f);
      }
      callback();
    },
    flush(callback) {
      callback(decoder.pending > 0 ? new Error(`stdcopy: stream ended inside a frame (${decoder.pending} bytes left)`) : null);
    },
  });
}

/**
 * dockerd's StdCopy: read multiplexed `source` to its end, writing stdout (and stdin echo)
 * payloads to `stdout` and stderr payloads to `stderr`. Resolves with the byte counts written;
 * rejects with DaemonStreamError / BadFrameError as above.
 */
export async function stdCopy(
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  source: AsyncIterable<Buffer | string>,
): Promise<{ stdout: number; stderr: number }> {
  const decoder = new FrameDecoder();
  const written = { stdout: 0, stderr: 0 };
  for await (const chunk of source) {
    for (const f of decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) {
      if (f.stream === 'systemErr') throw new DaemonStreamError(f.payload.toString());
      const isErr = f.stream === 'stderr';
      const target = isErr ? stderr : stdout;
      if (!target.write(f.payload)) await new Promise((r) => target.once('drain', r));
      written[isErr ? 'stderr' : 'stdout'] += f.payload.length;
    }
  }
  if (decoder.pending > 0) throw new Error(`stdcopy: stream ended inside a frame (${decoder.pending} bytes left)`);
  return written;
}
