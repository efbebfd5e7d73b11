/**
 * Cutting a stream of output into log messages the way dockerd's log copier does
 * (daemon/logger/copier.go, 16 KiB buffer):
 * - every `\n`-terminated line is one message (the newline not included; `partial: false`);
 * - a line that reaches 16 KiB without a newline is cut into 16 KiB pieces, each a message
 *   with `partial: true`; the rest up to the newline is a final `partial: false` message;
 * - all pieces of one line carry the time of the first piece; a whole line carries the time
 *   of the chunk that completed it;
 * - at the end of the output, an unterminated rest is one `partial: true` message.
 */
import type { NanoTime } from './timestamp';

/** dockerd's copier buffer size: the longest message a line becomes. */
export const MAX_MESSAGE_BYTES = 16 * 1024;

export interface Message {
  line: Buffer;
  /** True when the line goes on in a later message (or the output ended without a newline). */
  partial: boolean;
  time: NanoTime;
}

export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Time of the first piece of a line already cut, while the line goes on. */
  private partialTime: NanoTime | undefined;

  constructor(private readonly maxBytes = MAX_MESSAGE_BYTES) {}

  /** The messages completed by `chunk`, read at `time`. */
  push(chunk: Buffer, time: NanoTime): Message[] {
    const out: Message[] = [];
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const nl = buf.subarray(0, this.maxBytes).indexOf(0x0a);
      if (nl >= 0) {
        out.push({ line: buf.subarray(0, nl), partial: false, time: this.partialTime ?? time });
        this.partialTime = undefined;
        buf = buf.subarray(nl + 1);
      } else if (buf.length >= this.maxBytes) {
        this.partialTime ??= time;
        out.push({ line: buf.subarray(0, this.maxBytes), partial: true, time: this.partialTime });
        buf = buf.subarray(this.maxBytes);
      } else break;
    }
    // Copy so that the caller's chunk is not retained beyond this call.
    this.pending = Buffer.from(buf);
    return out;
  }

  /** The output is over: the unterminated rest, if any, as a partial message. */
  end(time: NanoTime): Message[] {
    if (this.pending.length === 0) return [];
    const msg: Message = { line: this.pending, partial: true, time: this.partialTime ?? time };
    this.pending = Buffer.alloc(0);
    this.partialTime = undefined;
    return [msg];
  }
}
