import type { Stats } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/** The kinds of special file `mknod` makes. */
export type SpecialFileKind = 'fifo' | 'char' | 'block';

/**
 * The file operations the daemon needs on a filesystem it does not own outright: its state
 * under `-g`/`--exec-root`, a container's root, a layer. The Linux backend hands out
 * `node:fs/promises` on real paths; the fake hands out an in-memory volume with the same
 * signatures and the same error codes (`ENOENT`, `EEXIST`, `ENOTDIR`, `EISDIR`, `ENOTEMPTY`).
 * Contract:
 * - paths are absolute within the filesystem;
 * - `writeFileAtomic` leaves either the old content or the new, never a mix, even on a crash;
 * - errors carry the POSIX `code` of the failure;
 * - the `l`-prefixed operations and `readlink`, `listXattrs`, `setXattr` act on a symbolic
 *   link itself, never on what it points to;
 * - `symlink`, `link`, `mknod` and `createWriteStream` fail with `EEXIST` when the path exists;
 * - `listXattrs` returns every extended attribute of the entry (an empty record where the
 *   filesystem has none); `setXattr` fails with `ENOTSUP` where attributes are not supported.
 */
export interface HostFs {
  readFile(path: string): Promise<Buffer>;
  writeFileAtomic(path: string, data: string | Uint8Array, mode?: number): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean; mode?: number }): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<Stats>;
  lstat(path: string): Promise<Stats>;
  rm(path: string, opts?: { recursive?: boolean; force?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  exists(path: string): Promise<boolean>;
  readlink(path: string): Promise<string>;
  /** Create `path` as a symbolic link whose content is `target` (not resolved). */
  symlink(target: string, path: string): Promise<void>;
  /** Create `path` as a hard link to the existing non-directory `existing`. */
  link(existing: string, path: string): Promise<void>;
  lchown(path: string, uid: number, gid: number): Promise<void>;
  lutimes(path: string, atime: Date, mtime: Date): Promise<void>;
  /** Create a fifo or device node; `mode` holds the permission bits only. */
  mknod(path: string, kind: SpecialFileKind, mode: number, major?: number, minor?: number): Promise<void>;
  createReadStream(path: string): Readable;
  /** A new file opened for writing (fails with EEXIST if `path` exists). */
  createWriteStream(path: string, opts?: { mode?: number }): Writable;
  listXattrs(path: string): Promise<Record<string, Buffer>>;
  setXattr(path: string, name: string, value: Uint8Array): Promise<void>;
}
