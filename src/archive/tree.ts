import { posix } from 'node:path';
import type { Stats } from 'node:fs';
import type { HostFs } from '../kernel/host-fs';

/**
 * A directory tree on some HostFs: a layer's content, an overlay upper dir, a mounted rootfs.
 * Paths inside a tree are "rel" paths: no leading slash, `''` is the tree's root.
 */
export interface Tree {
  fs: HostFs;
  root: string;
}

export function abs(tree: Tree, rel: string): string {
  return rel ? posix.join(tree.root, rel) : tree.root;
}

export function joinRel(parent: string, name: string): string {
  return parent ? `${parent}/${name}` : name;
}

export function parentRel(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export function baseName(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** `lstat`, or null when the path (or one of its parents) does not exist. */
export async function lstatOrNull(fs: HostFs, path: string): Promise<Stats | null> {
  try {
    return await fs.lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** Directory entries in byte order, so parents always come before their children. */
export async function sortedChildren(fs: HostFs, path: string): Promise<string[]> {
  return (await fs.readdir(path)).sort();
}

/** Linux's dev_t encoding (glibc `gnu_dev_makedev`), also used by the in-memory fs. */
export function makedev(major: number, minor: number): number {
  // Arithmetic, not bit shifts: the result needs more than 32 bits.
  return (major & 0xfff) * 0x100 + (minor & 0xff) + (minor & 0xfff00) * 0x1000 + Math.floor(major / 0x1000) * 0x1000 * 2 ** 32;
}

export function devMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

export function devMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

/** Layer ids become directory names: keep them to safe characters. */
export const LAYER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
