import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { InvalidParameterError } from '../errors';

export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

export function assertDigest(s: string, what = 'digest'): Digest {
  if (!isDigest(s)) throw new InvalidParameterError(`invalid ${what}: ${JSON.stringify(s)}`);
  return s;
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** sha256(A + ' ' + B) chain IDs as in the image spec. */
export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

export class DigestMismatchError extends InvalidParameterError {}

/**
 * A pass-through stream that hashes what flows through it. With `expected`, the stream fails
 * at its end when the content does not match, so a consumer never commits bad content.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private result: Digest | undefined;

  constructor(private readonly expected?: Digest) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    if (this.expected && this.result !== this.expected) {
      cb(new DigestMismatchError(`filesystem layer verification failed for digest ${this.expected}: got ${this.result}`));
      return;
    }
    cb();
  }

  get digest(): Digest {
    if (!this.result) throw new Error('digest read before the stream ended');
    return this.result;
  }
}
