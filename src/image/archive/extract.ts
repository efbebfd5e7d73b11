/**
 * Unpack an uploaded archive (`docker load`) into a fresh directory, refusing anything that
 * could reach outside it, and resolve the paths its manifests name.
 *
 * Refused with InvalidParameter: absolute member names, names climbing above the root, members
 * whose path goes through a symlink of the archive, symlinks with absolute targets or climbing
 * out from their directory, hard links to anything but an earlier regular file, device and fifo
 * members, a malformed or truncated tar. Only files, directories, symlinks and hard links are
 * created, with private modes; ownership and times are not kept (nothing runs from here).
 */
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, readFile, realpath, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { checkSymlinkTarget, memberRelPath } from '../../archive/member-path';
import { InvalidParameterError, isDockerError } from '../../errors';

type Entry = tar.ExtractEvents['entry'][1];

/** Extract `source` (a plain tar) into the empty directory `dir`. */
export async function extractArchive(source: Readable, dir: string): Promise<void> {
  const extract = tar.extract();
  const symlinks = new Set<string>();
  let current: Entry | undefined;
  // A source that ends or fails in the middle of a member must also end that member's copy.
  const feeding = pipeline(source, extract).catch((e: unknown) => {
    current?.destroy(e as Error);
    return e;
  });
  const it = extract[Symbol.asyncIterator]() as AsyncIterator<Entry>;
  try {
    for (;;) {
      let step: IteratorResult<Entry>;
      try {
        step = await it.next();
      } catch (e) {
        throw malformed(e);
      }
      if (step.done) break;
      current = step.value;
      try {
        await extractEntry(current, dir, symlinks);
      } catch (e) {
        throw malformed((await Promise.race([feeding, undefined])) ?? e);
      }
      current = undefined;
    }
  } catch (e) {
    source.destroy();
    extract.destroy();
    await feeding;
    throw e;
  }
  const fed = await feeding;
  if (fed) throw malformed(fed);
}

function malformed(e: unknown): Error {
  if (isDockerError(e)) return e as Error;
  return new InvalidParameterError(`invalid tar archive: ${(e as Error).message}`);
}

async function extractEntry(entry: Entry, dir: string, symlinks: Set<string>): Promise<void> {
  const h = entry.header;
  const rel = memberRelPath(h.name, 'archive member');
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join('/');
    if (symlinks.has(ancestor)) throw new InvalidParameterError(`archive member "${h.name}" goes through the symlink "${ancestor}"`);
  }
  const path = join(dir, rel);
  const replace = async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOTDIR' || e.code === 'EEXIST' ? new InvalidParameterError(`archive member "${h.name}" is below a non-directory`) : e;
    });
    const old = await lstat(path).catch(() => undefined);
    if (old?.isDirectory()) throw new InvalidParameterError(`archive member "${h.name}" would replace a directory`);
    if (old) await rm(path);
    symlinks.delete(rel);
  };
  switch (h.type) {
    case 'directory':
      entry.resume();
      if (rel === '') return;
      if ((await lstat(path).catch(() => undefined))?.isDirectory()) return;
      await replace();
      await mkdir(path, { mode: 0o700 });
      return;
    case 'file':
    case 'contiguous-file':
      if (rel === '') throw new InvalidParameterError(`archive member "${h.name}" names the archive root`);
      await replace();
      // The member may have failed while the directory was made (the archive ended early).
      if (entry.destroyed) throw new InvalidParameterError(`invalid tar archive: member "${h.name}" is truncated`);
      await pipeline(entry, createWriteStream(path, { mode: 0o600 }));
      return;
    case 'symlink': {
      entry.resume();
      const target = h.linkname ?? '';
      if (target.startsWith('/')) throw new InvalidParameterError(`invalid symlink "${rel}" -> "${target}": absolute targets point outside of the archive`);
      checkSymlinkTarget(rel, target);
      await replace();
      await symlink(target, path);
      symlinks.add(rel);
      return;
    }
    case 'link': {
      entry.resume();
      const targetRel = memberRelPath(h.linkname ?? '', `hard link "${rel}" target`);
      const target = join(dir, targetRel);
      const st = await lstat(target).catch(() => undefined);
      if (!st?.isFile() || [...symlinks].some((s) => targetRel.startsWith(`${s}/`))) {
        throw new InvalidParameterError(`hard link "${rel}" -> "${h.linkname}": the target is not an earlier regular file of the archive`);
      }
      await replace();
      await link(target, path);
      return;
    }
    default:
      entry.resume();
      throw new InvalidParameterError(`archive member "${h.name}" has unsupported type ${h.type}`);
  }
}

/**
 * The regular file an archive path names (from manifest.json or a blob digest), resolved
 * inside `dir`: symlinks are followed but must not lead out of it.
 */
export async function resolveMember(dir: string, name: string, what: string): Promise<string> {
  if (typeof name !== 'string' || name === '') throw new InvalidParameterError(`invalid archive: ${what} has no path`);
  let rel: string;
  try {
    rel = memberRelPath(name, what);
  } catch {
    throw new InvalidParameterError(`invalid archive: ${what} "${name}" is outside of the archive`);
  }
  const root = await realpath(dir);
  let real: string;
  try {
    real = await realpath(join(dir, rel));
  } catch {
    throw new InvalidParameterError(`invalid archive: ${what} "${name}" is missing from the archive`);
  }
  if (!real.startsWith(root + sep)) throw new InvalidParameterError(`invalid archive: ${what} "${name}" resolves outside of the archive`);
  if (!(await stat(real)).isFile()) throw new InvalidParameterError(`invalid archive: ${what} "${name}" is not a regular file`);
  return real;
}

/** Read a small JSON file of the archive (a manifest, an index, a config), size-capped. */
export async function readArchiveFile(path: string, what: string, max = 32 * 1024 * 1024): Promise<Buffer> {
  if ((await stat(path)).size > max) throw new InvalidParameterError(`invalid archive: ${what} is larger than ${max} bytes`);
  return readFile(path);
}

/** Parse JSON from the archive, with an error naming the file. */
export function parseArchiveJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (e) {
    throw new InvalidParameterError(`invalid archive: ${what} is not valid JSON: ${(e as Error).message}`);
  }
}
