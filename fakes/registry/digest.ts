import { createHash } from 'node:crypto';

/** A content digest in the registry's `algorithm:hex` form, e.g. `sha256:9f86d0...`. */
export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** The sha256 digest of `bytes`, in `sha256:<hex>` form. */
export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** True when `value` is a well-formed sha256 digest (the only algorithm the emulator stores). */
export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}
