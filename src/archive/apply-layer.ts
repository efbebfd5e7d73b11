import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

type Entry = tar.ExtractEvents['entry'][1];
type Header = tar.Header;
import { InvalidParameterError, isDockerError } from '../errors';
import { checkSymlinkTarget, memberRelPath } from './member-path';
import { ALL_META, DIR_EARLY_META, SYMLINK_META, applyMeta, mtimeFromPax, xattrsFromPax, type EntryMeta } from './metadata';

type Pax = Record<string, string> | null | undefined;
import { abs, baseName, lstatOrNull, parentRel, joinRel, type Tree } from './tree';
import { OPAQUE_MARKER, WHITEOUT_META_PREFIX, WHITEOUT_PREFIX, type WhiteoutFormat } from './whiteouts';

/**
 * Apply an uncompressed layer tar onto `tree` (Docker's UnpackLayer) and return the applied
 * size: the sum of the regular files' sizes.
 * - An existing path is replaced, except a directory that the tar also has as a directory,
 *   which is kept and takes the tar's metadata.
 * - `.wh.NAME` deletes NAME, `.wh..wh..opq` makes its directory opaque (per `format`); other
 *   `.wh..wh.*` entries are AUFS bookkeeping and skipped.
 * - Missing parent directories are created 0755 root:root.
 * - Refused with InvalidParameter: absolute names, names or hard-link targets that climb out of
 *   the tree, relative symlinks pointing outside, any member whose path goes through a symlink
 *   (it could lead anywhere), hard links to missing files or directories, unknown member types,
 *   a truncated or malformed tar. This function is not atomic: see `applyLayerAtomically`.
 */
export async function applyLayer(tree: Tree, source: Readable, format: WhiteoutFormat): Promise<number> {
  const applier = new LayerApplier(tree, format);
  const extract = tar.extract();
  let sourceError: unknown;
  const feeding = pipeline(source, extract).catch((e: unknown) => {
    sourceError = asTarError(e);
    applier.abort(sourceError);
  });
  try {
    for await (const entry of iterate(extract)) await applier.apply(entry);
  } catch (e) {
    source.destroy();
    extract.destroy();
    await feeding;
    // Our own refusal wins; otherwise a broken tar explains a failed write better than the write.
    throw isDockerError(e) ? e : (sourceError ?? e);
  }
  await feeding;
  if (sourceError) throw sourceError;
  await applier.finish();
  return applier.size;
}

/** Parse errors become InvalidParameter; errors of our own (fs, validation) pass through. */
async function* iterate(extract: tar.Extract): AsyncGenerator<Entry> {
  const it = extract[Symbol.asyncIterator]();
  for (;;) {
    let step: IteratorResult<Entry>;
    try {
      step = await it.next();
    } catch (e) {
      throw asTarError(e);
    }
    if (step.done) return;
    yield step.value;
  }
}

async function* entryChunks(entry: Entry): AsyncGenerator<Uint8Array> {
  for await (const chunk of entry) yield chunk as Uint8Array;
}

function asTarError(e: unknown): unknown {
  if (isDockerError(e) || (e as NodeJS.ErrnoException).code?.startsWith('E')) return e;
  return new InvalidParameterError(`invalid layer tar: ${(e as Error).message}`, { cause: e });
}

class LayerApplier {
  size = 0;
  /** Paths this tar created (for opaque directories). */
  private readonly added = new Set<string>();
  /** Directories known to be real directories (not symlinks) in the tree. */
  private readonly verifiedDirs = new Set<string>(['']);
  /** Directory metadata is applied last, deepest first, so adding children cannot change it. */
  private readonly dirs: { rel: string; meta: EntryMeta }[] = [];

  constructor(
    private readonly tree: Tree,
    private readonly format: WhiteoutFormat,
  ) {}

  private current: Entry | undefined;

  async apply(entry: Entry): Promise<void> {
    this.current = entry;
    try {
      await this.applyEntry(entry);
    } finally {
      this.current = undefined;
      entry.resume();
    }
  }

  /** The tar broke off: fail the entry being written instead of waiting for its end. */
  abort(err: unknown): void {
    this.current?.destroy(err as Error);
  }

  private async applyEntry(entry: Entry): Promise<void> {
    const h = entry.header;
    const rel = memberRelPath(h.name);
    if (rel === '') return; // the root itself: the layer's root keeps its own metadata
    const base = baseName(rel);
    const dir = parentRel(rel);
    await this.ensureDir(dir, h.name);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.applyWhiteout(dir, base, h);
    const path = abs(this.tree, rel);
    const meta: EntryMeta = {
      mode: (h.mode ?? 0o644) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      mtime: mtimeFromPax(h.pax as Pax) ?? h.mtime ?? new Date(0),
      xattrs: xattrsFromPax(h.pax as Pax),
    };
    const existing = await lstatOrNull(this.tree.fs, path);
    if (existing && !(existing.isDirectory() && h.type === 'directory')) await this.removePath(rel);
    const fs = this.tree.fs;
    switch (h.type) {
      case 'directory':
        if (!existing?.isDirectory()) await fs.mkdir(path, { mode: 0o700 });
        this.verifiedDirs.add(rel);
        await applyMeta(fs, path, meta, DIR_EARLY_META);
        this.dirs.push({ rel, meta });
        break;
      case 'file':
      case 'contiguous-file':
        // Through its async iterator: Node's pipeline misses a streamx entry destroyed mid-way.
        await pipeline(entryChunks(entry), fs.createWriteStream(path, { mode: 0o600 }));
        this.size += h.size ?? 0;
        await applyMeta(fs, path, meta, ALL_META);
        break;
      case 'symlink':
        checkSymlinkTarget(rel, h.linkname ?? '');
        await fs.symlink(h.linkname!, path);
        await applyMeta(fs, path, meta, SYMLINK_META);
        break;
      case 'link':
        await fs.link(await this.hardLinkTarget(rel, h.linkname ?? ''), path);
        break;
      case 'fifo':
      case 'character-device':
      case 'block-device': {
        const kind = h.type === 'fifo' ? 'fifo' : h.type === 'character-device' ? 'char' : 'block';
        await fs.mknod(path, kind, meta.mode, h.devmajor ?? 0, h.devminor ?? 0);
        await applyMeta(fs, path, meta, ALL_META);
        break;
      }
      default:
        throw new InvalidParameterError(`tar member "${h.name}": unsupported type ${String(h.type)}`);
    }
    this.added.add(rel);
  }

  private async applyWhiteout(dir: string, base: string, h: Header): Promise<void> {
    if (base === OPAQUE_MARKER) return this.format.opaque(this.tree, dir, this.added);
    if (base.startsWith(WHITEOUT_META_PREFIX)) return;
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new InvalidParameterError(`tar member "${h.name}": bad whiteout name`);
    const rel = joinRel(dir, name);
    this.forget(rel);
    await this.format.whiteout(this.tree, rel, { uid: h.uid ?? 0, gid: h.gid ?? 0 });
  }

  /** Make sure every component of `dir` is a real directory, creating missing ones. */
  private async ensureDir(dir: string, member: string): Promise<void> {
    if (this.verifiedDirs.has(dir)) return;
    await this.ensureDir(parentRel(dir), member);
    const path = abs(this.tree, dir);
    const st = await lstatOrNull(this.tree.fs, path);
    if (!st) {
      await this.tree.fs.mkdir(path, { mode: 0o755 });
      await this.tree.fs.chmod(path, 0o755);
    } else if (st.isSymbolicLink()) {
      throw new InvalidParameterError(`tar member "${member}" goes through the symlink "/${dir}", which could lead outside of the layer`);
    } else if (!st.isDirectory()) {
      throw new InvalidParameterError(`tar member "${member}": "/${dir}" is not a directory`);
    }
    this.verifiedDirs.add(dir);
  }

  private async hardLinkTarget(rel: string, linkname: string): Promise<string> {
    const target = memberRelPath(linkname, `hard link "${rel}" target`);
    if (target === '') throw new InvalidParameterError(`hard link "${rel}" points to the layer root`);
    const dir = parentRel(target);
    if (!this.verifiedDirs.has(dir)) {
      // Only check: a link target's parents must already exist as real directories.
      for (let d = dir; d !== ''; d = parentRel(d)) {
        const st = await lstatOrNull(this.tree.fs, abs(this.tree, d));
        if (!st?.isDirectory()) throw new InvalidParameterError(`hard link "${rel}" -> "${linkname}": "/${d}" is not a directory in the layer`);
      }
    }
    const st = await lstatOrNull(this.tree.fs, abs(this.tree, target));
    if (!st || st.isDirectory() || this.format.isWhiteout(st)) {
      throw new InvalidParameterError(`hard link "${rel}" -> "${linkname}": the target is not a file in the layer`);
    }
    return abs(this.tree, target);
  }

  private async removePath(rel: string): Promise<void> {
    this.forget(rel);
    await this.tree.fs.rm(abs(this.tree, rel), { recursive: true, force: true });
  }

  private forget(rel: string): void {
    for (const d of this.verifiedDirs) if (d === rel || d.startsWith(`${rel}/`)) this.verifiedDirs.delete(d);
  }

  async finish(): Promise<void> {
    for (const { rel, meta } of this.dirs.reverse()) {
      const path = abs(this.tree, rel);
      const st = await lstatOrNull(this.tree.fs, path);
      if (!st?.isDirectory()) continue; // deleted or replaced later in the same tar
      await this.tree.fs.chmod(path, meta.mode);
      await this.tree.fs.lutimes(path, meta.mtime, meta.mtime);
    }
  }
}
