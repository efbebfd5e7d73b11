import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HostFs } from '../kernel/host-fs';
import { applyLayer } from './apply-layer';
import { ALL_META, DIR_EARLY_META, SYMLINK_META, applyMeta, readMeta } from './metadata';
import { abs, devMajor, devMinor, joinRel, lstatOrNull, sortedChildren, type Tree } from './tree';
import type { WhiteoutFormat } from './whiteouts';

/**
 * Copy `src` into `dst` (created; its parent must exist) keeping types, modes, owners, times,
 * attributes, hard links and device numbers. With `hardlinkFiles` regular files are linked
 * instead of copied (both trees must be on the same HostFs): a cheap clone for a caller that
 * never writes to an existing file in place.
 */
export async function copyTree(src: Tree, dst: Tree, opts: { hardlinkFiles?: boolean } = {}): Promise<void> {
  const inodes = new Map<number, string>();
  const dirs: { path: string; meta: Awaited<ReturnType<typeof readMeta>> }[] = [];
  const copy = async (rel: string): Promise<void> => {
    const from = abs(src, rel);
    const to = abs(dst, rel);
    const st = await src.fs.lstat(from);
    const meta = await readMeta(src.fs, from, st);
    if (st.isDirectory()) {
      await dst.fs.mkdir(to, { mode: 0o700 });
      await applyMeta(dst.fs, to, meta, DIR_EARLY_META);
      dirs.push({ path: to, meta });
      for (const name of await sortedChildren(src.fs, from)) await copy(joinRel(rel, name));
      return;
    }
    if (st.isFile() && opts.hardlinkFiles) return dst.fs.link(from, to);
    if (st.nlink > 1 && !st.isSymbolicLink()) {
      const first = inodes.get(st.ino);
      if (first !== undefined) return dst.fs.link(abs(dst, first), to);
      inodes.set(st.ino, rel);
    }
    if (st.isSymbolicLink()) {
      await dst.fs.symlink(await src.fs.readlink(from), to);
      return applyMeta(dst.fs, to, meta, SYMLINK_META);
    }
    if (st.isFile()) await pipeline(src.fs.createReadStream(from), dst.fs.createWriteStream(to, { mode: 0o600 }));
    else if (st.isFIFO()) await dst.fs.mknod(to, 'fifo', meta.mode);
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await dst.fs.mknod(to, st.isCharacterDevice() ? 'char' : 'block', meta.mode, devMajor(st.rdev), devMinor(st.rdev));
    } else return; // sockets belong to running processes, not to layers
    await applyMeta(dst.fs, to, meta, ALL_META);
  };
  await copy('');
  for (const { path, meta } of dirs.reverse()) {
    await dst.fs.chmod(path, meta.mode);
    await dst.fs.lutimes(path, meta.mtime, meta.mtime);
  }
}

const STAGING = '.applying-';
const REPLACED = '.replaced-';

/**
 * `applyLayer` with all-or-nothing effect: the tar is applied to a hard-linked clone of the
 * tree (the applier replaces files rather than writing into them, so the original is never
 * touched) and the clone is swapped in by rename only when the whole tar applied. On failure
 * the tree is exactly as before. `recoverStagedApplies` finishes or undoes an interrupted swap.
 */
export async function applyLayerAtomically(tree: Tree, source: Readable, format: WhiteoutFormat): Promise<number> {
  const tag = randomBytes(4).toString('hex');
  const staging: Tree = { fs: tree.fs, root: `${tree.root}${STAGING}${tag}` };
  let size: number;
  try {
    await copyTree(tree, staging, { hardlinkFiles: true });
    size = await applyLayer(staging, source, format);
  } catch (e) {
    source.destroy();
    await tree.fs.rm(staging.root, { recursive: true, force: true });
    throw e;
  }
  const replaced = `${tree.root}${REPLACED}${tag}`;
  await tree.fs.rename(tree.root, replaced);
  await tree.fs.rename(staging.root, tree.root);
  await tree.fs.rm(replaced, { recursive: true, force: true });
  return size;
}

/** After a crash: in `dir`, drop unfinished clones and put back a tree caught mid-swap. */
export async function recoverStagedApplies(fs: HostFs, dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const m = /^(.+)\.(applying|replaced)-[0-9a-f]{8}$/.exec(name);
    if (!m) continue;
    const target = posix.join(dir, m[1]!);
    if (m[2] === 'replaced' && !(await lstatOrNull(fs, target))) await fs.rename(posix.join(dir, name), target);
    else await fs.rm(posix.join(dir, name), { recursive: true, force: true });
  }
}
