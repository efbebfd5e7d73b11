/**
 * Detach keys: the key sequence that, typed on an attached stdin, detaches the client from the
 * container instead of reaching the process (Docker's `--detach-keys`, `detachKeys` query
 * parameter, `detachKeys` in the client config).
 *
 * Spec syntax (moby/term ToBytes): a comma-separated list of keys, each either a single
 * character (taken as its first byte), `ctrl-<c>` with c one of `@ a-z [ \ ] ^ _`
 * (lower case only, as Docker), or `DEL` (127). Anything else fails with Docker's message.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { InvalidParameterError } from '../errors';

/** Docker's default: ctrl-p then ctrl-q. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_KEYS = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * The bytes of a detach-key spec. Throws InvalidParameterError with dockerd's message
 * `Invalid detach keys (<spec>) provided` (HTTP 400 on attach). An empty spec means
 * "use the default" and gives the default's bytes.
 */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return parseDetachKeys(DEFAULT_DETACH_KEYS);
  const codes: number[] = [];
  for (const key of spec.split(',')) {
    const code = keyCode(key);
    if (code === undefined) throw new InvalidParameterError(`Invalid detach keys (${spec}) provided`);
    codes.push(code);
  }
  return Buffer.from(codes);
}

function keyCode(key: string): number | undefined {
  if (key.length === 1) return Buffer.from(key)[0];
  if (key === 'DEL') return 127;
  if (key.length === 6 && key.startsWith('ctrl-')) {
    const at = CTRL_KEYS.indexOf(key[5]!);
    return at >= 0 ? at : undefined;
  }
  return undefined;
}

export interface DetachOptions {
  /**
   * `true` (default, Docker's rule): the sequence is recognised only when it arrives as
   * separate one-byte reads, i.e. typed keystrokes; bytes inside a larger chunk (pasted or
   * piped data) always pass through, so binary stdin never detaches by accident.
   * `false`: recognise the sequence anywhere in the byte stream, whatever the chunking.
   */
  keystrokesOnly?: boolean;
}

/**
 * A Transform between the client's stdin and the process's stdin. Bytes pass through
 * unchanged, except that a (possibly) started detach sequence is held back until it is either
 * completed (then swallowed) or broken (then released in order). When the sequence completes
 * the transform emits `'detach'` once, ends its output (the process's stdin sees EOF only if
 * the caller pipes with end:true; attach usually pipes with end:false) and ignores further
 * input. An empty key list disables detaching.
 */
export class DetachKeysTransform extends Transform {
  private matched = 0;
  private detached = false;
  private readonly keystrokesOnly: boolean;

  constructor(
    private readonly keys: Buffer,
    opts: DetachOptions = {},
  ) {
    super();
    this.keystrokesOnly = opts.keystrokesOnly ?? true;
  }

  /** Whether the detach sequence has been typed. */
  get hasDetached(): boolean {
    return this.detached;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.detached) return callback();
    if (this.keys.length === 0) return callback(null, chunk);
    if (this.keystrokesOnly && chunk.length !== 1) {
      this.release();
      return callback(null, chunk);
    }
    const out: number[] = [];
    let plainFrom = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (this.matched === 0 && chunk[i] !== this.keys[0]) continue;
      // Flush the plain run before this byte, then let the matcher decide about it.
      if (i > plainFrom) this.pushOut(out, chunk.subarray(plainFrom, i));
      plainFrom = i + 1;
      if (this.feed(chunk[i]!, out)) {
        this.pushOut(out);
        return this.detach(callback);
      }
    }
    if (plainFrom < chunk.length) this.pushOut(out, chunk.subarray(plainFrom));
    else this.pushOut(out);
    callback();
  }

  /**
   * Advance the matcher by one byte; bytes proven not to start the sequence go to `out`.
   * On a mismatch the held bytes are replayed from their second byte on, so the first
   * occurrence of the sequence is found even when it overlaps a false start (ctrl-p ctrl-p
   * ctrl-q detaches; Docker's own proxy would not, a difference in its favour).
   * Returns true when the whole sequence has been seen.
   */
  private feed(byte: number, out: number[]): boolean {
    if (byte === this.keys[this.matched]) {
      this.matched++;
      return this.matched === this.keys.length;
    }
    if (this.matched === 0) {
      out.push(byte);
      return false;
    }
    const replay = [...this.keys.subarray(1, this.matched), byte];
    out.push(this.keys[0]!);
    this.matched = 0;
    return replay.some((b) => this.feed(b, out));
  }

  /** Push the bytes collected in `out` (then `extra`), keeping the order of the input. */
  private pushOut(out: number[], extra?: Buffer) {
    if (out.length > 0) this.push(Buffer.from(out.splice(0)));
    if (extra && extra.length > 0) this.push(extra);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.detached) this.release();
    callback();
  }

  private release() {
    if (this.matched === 0) return;
    this.push(Buffer.from(this.keys.subarray(0, this.matched)));
    this.matched = 0;
  }

  private detach(callback: TransformCallback) {
    this.detached = true;
    this.matched = 0;
    callback();
    this.emit('detach');
    this.push(null);
  }
}
