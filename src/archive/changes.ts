import type { Stats } from 'node:fs';
import type { Change } from '../kernel/storage';
import { abs, joinRel, lstatOrNull, parentRel, sortedChildren, type Tree } from './tree';
import type { WhiteoutFormat } from './whiteouts';

/** One difference between a layer and its parent; `rel` has no leading slash. */
export interface LayerChange {
  rel: string;
  kind: 0 | 1 | 2;
  /** A deletion implied by an opaque directory (exported as its `.wh..wh..opq` marker). */
  byOpaque?: boolean;
  /** A directory whose lower content is hidden (export writes an opaque marker). */
  opaque?: boolean;
}

/**
 * The differences between a layer and its parent, with Docker's `ChangesDirs` semantics:
 * a path only in the layer is added (1), a path only in the parent is deleted (2) (a deleted
 * directory is one entry), a path in both is modified (0) when its type, mode, owner or device
 * differ or, for non-directories, its size or mtime; every directory above a change is listed
 * as modified unless it was added. Sorted by path.
 *
 * `upper` is where the layer's entries live: the whole layer (`full` format) or an overlay
 * upper dir, whose unlisted entries are the parent's. `lower` is the parent's merged view,
 * or null for a base layer.
 */
export async function layerChanges(upper: Tree, lower: Tree | null, format: WhiteoutFormat): Promise<LayerChange[]> {
  const found = new Map<string, LayerChange>();
  const visitDir = async (rel: string, lowerIsDir: boolean): Promise<void> => {
    const children = await sortedChildren(upper.fs, abs(upper, rel));
    if (lowerIsDir && lower && (await format.isOpaque(upper, rel))) {
      const byOpaque = format.name === 'overlay';
      if (byOpaque && rel !== '') found.set(rel, { ...(found.get(rel) ?? { rel, kind: 0 }), opaque: true });
      const present = new Set(children);
      for (const name of await sortedChildren(lower.fs, abs(lower, rel))) {
        if (!present.has(name)) found.set(joinRel(rel, name), { rel: joinRel(rel, name), kind: 2, byOpaque });
      }
    }
    for (const name of children) {
      const child = joinRel(rel, name);
      const u = await upper.fs.lstat(abs(upper, child));
      const l = lowerIsDir && lower ? await lstatOrNull(lower.fs, abs(lower, child)) : null;
      if (format.isWhiteout(u)) {
        if (l && !format.isWhiteout(l)) found.set(child, { rel: child, kind: 2 });
        continue;
      }
      if (!l) found.set(child, { rel: child, kind: 1 });
      else if (statDifferent(l, u)) found.set(child, { rel: child, kind: 0 });
      if (u.isDirectory()) await visitDir(child, !!l?.isDirectory());
    }
  };
  await visitDir('', lower !== null);
  for (const c of [...found.values()]) {
    for (let d = parentRel(c.rel); d !== '' && !found.has(d); d = parentRel(d)) found.set(d, { rel: d, kind: 0 });
  }
  return [...found.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Docker's statDifferent: directories ignore size and mtime (children change them). */
function statDifferent(a: Stats, b: Stats): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  if (b.isDirectory()) return false;
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs;
}

export function asDockerChanges(changes: LayerChange[]): Change[] {
  return changes.map((c) => ({ Path: `/${c.rel}`, Kind: c.kind }));
}

/** The size of the files a diff carries: regular files added or modified, each inode once. */
export async function changesSize(tree: Tree, changes: LayerChange[]): Promise<number> {
  const seen = new Set<number>();
  let size = 0;
  for (const c of changes) {
    if (c.kind === 2) continue;
    const st = await tree.fs.lstat(abs(tree, c.rel));
    if (!st.isFile()) continue;
    if (st.nlink > 1) {
      if (seen.has(st.ino)) continue;
      seen.add(st.ino);
    }
    size += st.size;
  }
  return size;
}
