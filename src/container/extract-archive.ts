import { createReadStream, createWriteStream } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { ALL_META, SYMLINK_META, applyMeta, mtimeFromPax, xattrsFromPax, type EntryMeta } from '../archive/metadata';
import { lstatOrNull } from '../archive/tree';
import { InvalidParameterError, isDockerError } from '../errors';
import type { HostFs } from '../kernel/host-fs';

type Entry = tar.ExtractEvents['entry'][1];
type Header = tar.Header;

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse. */
  noOverwriteDirNonDir: boolean;
  /** Owner of every extracted entry instead of the tar's own uid/gid. */
  owner?: { uid: number; gid: number };
}

const SUPPORTED = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'fifo', 'character-device', 'block-device']);

/** dockerd reports extraction failures from its re-exec'd helper with this prefix. */
const tarError = (msg: string) => new InvalidParameterError(`Error processing tar file(exit status 1): ${msg}`);

/**
 * Extract the tar in the host file `tarFile` into the directory `dest` of a container
 * filesystem (`fs`, a chroot view: links resolve inside the container), as `docker cp` into a
 * container does (dockerd's archive.Untar into the container's root).
 *
 * The tar is read twice: first every member is checked, then it is applied, so a tar that
 * would be refused leaves nothing behind. Refused with InvalidParameter (dockerd's words): a
 * member whose name climbs out of `dest` ("is outside of"), a relative symlink or a hard link
 * pointing outside `dest`, a hard link to nothing, an unsupported member type, a malformed or
 * truncated tar, and with `noOverwriteDirNonDir` a directory replacing a non-directory or the
 * reverse. Absolute member names are taken relative to `dest`; absolute symlink targets are
 * kept (they resolve inside the container). An existing path is replaced, except a directory
 * that the tar also has as a directory, which is kept and takes the tar's metadata.
 */
export async function extractArchive(fs: HostFs, dest: string, tarFile: string, opts: ExtractOptions): Promise<void> {
  await forEachMember(tarFile, new Validator(fs, dest, opts));
  const applier = new Applier(fs, dest, opts);
  await forEachMember(tarFile, applier);
  await applier.finish();
}

interface MemberVisitor {
  visit(h: Header, entry: Entry): Promise<void>;
}

async function forEachMember(tarFile: string, visitor: MemberVisitor): Promise<void> {
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(tarFile), extract);
  try {
    for await (const entry of extract) {
      try {
        await visitor.visit(entry.header, entry);
      } finally {
        entry.resume();
      }
    }
    await feeding;
  } catch (e) {
    extract.destroy();
    await feeding.catch(() => undefined);
    if (isDockerError(e) || (e as NodeJS.ErrnoException).code?.startsWith('E')) throw e;
    throw tarError((e as Error).message);
  }
}

/** The member's path inside the container, or a refusal when it climbs out of `dest`. */
function memberPath(dest: string, name: string): string {
  const path = joinMember(dest, name);
  if (!within(dest, path)) throw tarError(`${JSON.stringify(posix.normalize(name).replace(/\/$/, ''))} is outside of ${JSON.stringify(dest)}`);
  return path;
}

function within(dir: string, path: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** `dest` joined with a member name, without the trailing slash of a directory member. */
function joinMember(dest: string, name: string): string {
  const path = posix.join(dest, name);
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

const isDirType = (h: Header) => h.type === 'directory';

class Validator implements MemberVisitor {
  /** Paths the tar has created so far: true for directories. */
  private readonly seen = new Map<string, boolean>();

  constructor(
    private readonly fs: HostFs,
    private readonly dest: string,
    private readonly opts: ExtractOptions,
  ) {}

  async visit(h: Header): Promise<void> {
    if (!SUPPORTED.has(h.type ?? '')) throw tarError(`unhandled tar header type ${String(h.type)} for ${JSON.stringify(h.name)}`);
    const path = memberPath(this.dest, h.name);
    if (h.type === 'symlink') {
      const linkname = h.linkname ?? '';
      if (linkname === '') throw tarError(`symlink ${JSON.stringify(path)} has an empty target`);
      if (!within(this.dest, posix.join(posix.dirname(path), linkname))) throw tarError(`invalid symlink ${JSON.stringify(path)} -> ${JSON.stringify(linkname)}`);
    }
    if (h.type === 'link') await this.checkHardLink(path, h.linkname ?? '');
    if (this.opts.noOverwriteDirNonDir && path !== this.dest) {
      const existingIsDir = this.seen.get(path) ?? (await lstatOrNull(this.fs, path))?.isDirectory();
      if (existingIsDir === true && !isDirType(h)) throw tarError(`cannot overwrite directory ${JSON.stringify(path)} with non-directory ${JSON.stringify(this.dest)}`);
      if (existingIsDir === false && isDirType(h)) throw tarError(`cannot overwrite non-directory ${JSON.stringify(path)} with directory ${JSON.stringify(this.dest)}`);
    }
    this.seen.set(path, isDirType(h));
  }

  private async checkHardLink(path: string, linkname: string): Promise<void> {
    const target = posix.join(this.dest, linkname);
    if (linkname === '' || !within(this.dest, target)) throw tarError(`invalid hardlink ${JSON.stringify(path)} -> ${JSON.stringify(linkname)}`);
    const known = this.seen.get(target);
    const isFile = known !== undefined ? !known : (await lstatOrNull(this.fs, target).catch(() => null))?.isDirectory() === false;
    if (!isFile) throw tarError(`hard link ${JSON.stringify(path)} -> ${JSON.stringify(linkname)}: the target is not a file`);
  }
}

class Applier implements MemberVisitor {
  /** Directory metadata is applied last, deepest first, so adding children cannot change it. */
  private readonly dirs: { path: string; meta: EntryMeta }[] = [];

  constructor(
    private readonly fs: HostFs,
    private readonly dest: string,
    private readonly opts: ExtractOptions,
  ) {}

  async visit(h: Header, entry: Entry): Promise<void> {
    const path = joinMember(this.dest, h.name);
    const fs = this.fs;
    if (path === this.dest) return; // the extraction point itself is kept as it is
    const existing = await lstatOrNull(fs, path);
    if (existing && !(existing.isDirectory() && isDirType(h))) await fs.rm(path, { recursive: true, force: true });
    await fs.mkdir(posix.dirname(path), { recursive: true, mode: 0o755 });
    const meta: EntryMeta = {
      mode: (h.mode ?? 0o644) & 0o7777,
      uid: this.opts.owner?.uid ?? h.uid ?? 0,
      gid: this.opts.owner?.gid ?? h.gid ?? 0,
      mtime: mtimeFromPax(h.pax as Record<string, string> | undefined) ?? h.mtime ?? new Date(0),
      xattrs: xattrsFromPax(h.pax as Record<string, string> | undefined),
    };
    switch (h.type) {
      case 'directory':
        if (!existing?.isDirectory()) await fs.mkdir(path, { mode: 0o700 });
        await fs.lchown(path, meta.uid, meta.gid);
        this.dirs.push({ path, meta });
        return;
      case 'file':
      case 'contiguous-file':
        await pipeline(entry, fs.createWriteStream(path, { mode: 0o600 }));
        return applyMeta(fs, path, meta, ALL_META);
      case 'symlink':
        await fs.symlink(h.linkname!, path);
        return applyMeta(fs, path, meta, SYMLINK_META);
      case 'link':
        return fs.link(posix.join(this.dest, h.linkname!), path);
      default: {
        const kind = h.type === 'fifo' ? 'fifo' : h.type === 'character-device' ? 'char' : 'block';
        await fs.mknod(path, kind, meta.mode, h.devmajor ?? 0, h.devminor ?? 0);
        return applyMeta(fs, path, meta, ALL_META);
      }
    }
  }

  async finish(): Promise<void> {
    for (const { path, meta } of this.dirs.reverse()) {
      const st = await lstatOrNull(this.fs, path);
      if (!st?.isDirectory()) continue;
      await this.fs.chmod(path, meta.mode);
      await this.fs.lutimes(path, meta.mtime, meta.mtime);
    }
  }
}

/** Spool a request body to `file` so it can be read twice. */
export async function spool(body: Readable, file: string): Promise<void> {
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
}
