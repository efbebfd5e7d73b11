import { open } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError } from '../../errors';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** How many leading bytes {@link detectCompression} needs. */
export const MAGIC_BYTES = 6;

/** The compression of a stream from its first bytes (archive.DetectCompression's magic numbers). */
export function detectCompression(head: Buffer): Compression {
  const starts = (...bytes: number[]) => head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/** The stream that turns `kind` into a plain tar, or null for a plain tar; refuses what Node cannot inflate. */
export function decompressor(kind: Compression, what: string): Transform | null {
  if (kind === 'none') return null;
  if (kind === 'gzip') return createGunzip();
  throw new InvalidParameterError(`${what} is ${kind}-compressed: only plain and gzip-compressed tar archives are supported`);
}

/** The compression of a file on disk. */
export async function fileCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await fh.read(head, 0, MAGIC_BYTES, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
