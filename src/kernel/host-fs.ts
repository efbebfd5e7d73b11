import type { Stats } from 'node:fs';

/**
 * The file operations the daemon needs on a filesystem it does not own outright: its state
 * under `-g`/`--exec-root`, a container's root, a layer. The Linux backend hands out
 * `node:fs/promises` on real paths; the fake hands out an in-memory volume with the same
 * signatures and the same error codes (`ENOENT`, `EEXIST`, `ENOTDIR`, `EISDIR`, `ENOTEMPTY`).
 * Contract:
 * - paths are absolute within the filesystem;
 * - `writeFileAtomic` leaves either the old content or the new, never a mix, even on a crash;
 * - errors carry the POSIX `code` of the failure.
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
}
