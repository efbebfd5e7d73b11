import type { Stats } from 'node:fs';
import { abs, lstatOrNull, joinRel, sortedChildren, type Tree } from './tree';

/** Tar-level markers (AUFS style, what Docker writes in every layer tar). */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/**
 * How a layer's deletions are stored on disk.
 * - `full`: the tree is the whole layer content (vfs, the memfs fake): a whiteout deletes, an
 *   opaque marker deletes the directory's children that the same tar did not add.
 * - `overlay`: the tree is an overlay upper dir: a whiteout is a 0:0 character device, an
 *   opaque directory carries `trusted.overlay.opaque=y`.
 */
export interface WhiteoutFormat {
  readonly name: 'full' | 'overlay';
  /** Record that `rel` is deleted (it may or may not exist in the tree). */
  whiteout(tree: Tree, rel: string, owner: { uid: number; gid: number }): Promise<void>;
  /** Make the directory `rel` hide everything below it that `added` (this tar's paths) lacks. */
  opaque(tree: Tree, rel: string, added: ReadonlySet<string>): Promise<void>;
  /** Whether this on-disk entry is a deletion marker. */
  isWhiteout(st: Stats): boolean;
  /** Whether the directory hides its lower counterpart (always true for `full` trees). */
  isOpaque(tree: Tree, rel: string): Promise<boolean>;
}

async function removeUnlisted(tree: Tree, rel: string, keep: ReadonlySet<string>): Promise<void> {
  for (const name of await sortedChildren(tree.fs, abs(tree, rel))) {
    const child = joinRel(rel, name);
    if (!keep.has(child)) await tree.fs.rm(abs(tree, child), { recursive: true, force: true });
    else if ((await tree.fs.lstat(abs(tree, child))).isDirectory()) await removeUnlisted(tree, child, keep);
  }
}

export const fullTreeFormat: WhiteoutFormat = {
  name: 'full',
  async whiteout(tree, rel) {
    await tree.fs.rm(abs(tree, rel), { recursive: true, force: true });
  },
  opaque: removeUnlisted,
  isWhiteout: () => false,
  isOpaque: async () => true,
};

export const overlayFormat: WhiteoutFormat = {
  name: 'overlay',
  async whiteout(tree, rel, owner) {
    const path = abs(tree, rel);
    await tree.fs.rm(path, { recursive: true, force: true });
    await tree.fs.mknod(path, 'char', 0, 0, 0);
    await tree.fs.lchown(path, owner.uid, owner.gid);
  },
  async opaque(tree, rel) {
    await tree.fs.setXattr(abs(tree, rel), OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
  },
  isWhiteout: (st) => st.isCharacterDevice() && st.rdev === 0,
  async isOpaque(tree, rel) {
    const st = await lstatOrNull(tree.fs, abs(tree, rel));
    if (!st?.isDirectory()) return false;
    const value = (await tree.fs.listXattrs(abs(tree, rel)))[OVERLAY_OPAQUE_XATTR];
    return value?.toString() === 'y';
  },
};

/** Extended attributes that belong to the layer's content (not overlayfs bookkeeping). */
export function isContentXattr(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && name !== 'security.selinux';
}
