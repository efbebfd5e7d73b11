import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { HostFs } from '../../src/kernel/host-fs';
import { EMPTY_SOURCE, NULL_SINK, bufferSource, type Sink, type Source } from './io';

/** POSIX error texts as busybox prints them (`strerror`). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
  ELOOP: 'Symbolic link loop',
  EXDEV: 'Invalid cross-device link',
  ENOTSUP: 'Not supported',
  EBUSY: 'Resource busy',
  EROFS: 'Read-only file system',
};

/** An error with a POSIX code, like the ones HostFs throws. */
export class FsError extends Error {
  constructor(readonly code: string, path: string) {
    super(`${code}: ${path}`);
  }
}

/** `strerror` of a filesystem failure. */
export function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && ERRNO_TEXT[code]) || (err instanceof Error ? err.message : String(err));
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An absolute, normalised path for `path` seen from `cwd`. */
export function absPath(cwd: string, path: string): string {
  return posix.resolve(cwd, path);
}

export async function statOrNull(fs: HostFs, path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(path);
  } catch {
    return null;
  }
}

export async function lstatOrNull(fs: HostFs, path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.lstat(path);
  } catch {
    return null;
  }
}

/** Follows symbolic links on the last component of `path` (up to 40, then ELOOP). */
export async function followLinks(fs: HostFs, path: string): Promise<string> {
  let current = path;
  for (let i = 0; i < 40; i++) {
    const st = await lstatOrNull(fs, current);
    if (!st?.isSymbolicLink()) return current;
    current = posix.resolve(posix.dirname(current), await fs.readlink(current));
  }
  throw new FsError('ELOOP', path);
}

/** The first `n` bytes of a file (without reading a large binary whole). */
export async function readHead(fs: HostFs, path: string, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = fs.createReadStream(path);
    const parts: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      stream.destroy();
      resolve(Buffer.concat(parts).subarray(0, n));
    };
    stream.on('data', (chunk: Buffer) => {
      parts.push(Buffer.from(chunk));
      size += chunk.length;
      if (size >= n) finish();
    });
    stream.once('end', finish);
    stream.once('error', reject);
  });
}

/** Device files every container has, emulated without device nodes. */
export function deviceSource(path: string): Source | undefined {
  switch (path) {
    case '/dev/null':
      return EMPTY_SOURCE;
    case '/dev/zero':
      return { read: async () => Buffer.alloc(16384) };
    case '/dev/random':
    case '/dev/urandom':
      return { read: async () => randomBytes(16384) };
    default:
      return undefined;
  }
}

/** Opens a file for reading: its whole content as a source; devices are emulated. */
export async function openRead(fs: HostFs, path: string): Promise<Source> {
  const device = deviceSource(path);
  if (device) return device;
  const real = await followLinks(fs, path);
  const st = await fs.stat(real);
  if (st.isDirectory()) throw new FsError('EISDIR', path);
  return bufferSource(await fs.readFile(real));
}

/**
 * Opens a file for writing (`>`: truncate, `>>`: append), creating it with mode 0644.
 * HostFs writes whole files, so the sink keeps the content and rewrites the file at most
 * once per event-loop turn; readers (`tail -f`, `cat`) see each flushed state.
 */
export async function openWrite(fs: HostFs, path: string, append: boolean): Promise<Sink> {
  if (path === '/dev/null') return NULL_SINK;
  const real = await followLinks(fs, path);
  const st = await statOrNull(fs, real);
  if (st?.isDirectory()) throw new FsError('EISDIR', path);
  const parent = await statOrNull(fs, posix.dirname(real));
  if (!parent) throw new FsError('ENOENT', path);
  if (!parent.isDirectory()) throw new FsError('ENOTDIR', path);
  const mode = st ? st.mode & 0o7777 : 0o644;
  let content = append && st ? await fs.readFile(real) : Buffer.alloc(0);
  let flushing: Promise<void> | null = null;
  let dirty = false;
  const flush = (): Promise<void> => {
    if (flushing) return flushing;
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      dirty = false;
      try {
        await fs.writeFileAtomic(real, content, mode);
      } finally {
        flushing = null;
      }
      if (dirty) await flush();
    });
    return flushing;
  };
  await fs.writeFileAtomic(real, content, mode);
  return {
    async write(data) {
      content = Buffer.concat([content, data]);
      dirty = true;
      void flush().catch(() => {});
    },
    async close() {
      if (flushing) await flushing;
      if (dirty) await flush();
    },
  };
}
