import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { isContentXattr } from '../../src/archive';
import type { MountedFs } from '../../src/kernel/storage';

/** One member of a test layer tar; `body` makes a regular file. */
export interface Member {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  body?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

export const T0 = new Date('2020-01-02T03:04:05Z');

export const dir = (name: string, extra: Partial<Member> = {}): Member => ({ name: `${name}/`, type: 'directory', mode: 0o755, ...extra });
export const file = (name: string, body: string, extra: Partial<Member> = {}): Member => ({ name, type: 'file', body, mode: 0o644, ...extra });
export const whiteout = (path: string): Member => {
  const i = path.lastIndexOf('/');
  return file(`${path.slice(0, i + 1)}.wh.${path.slice(i + 1)}`, '');
};
export const opaque = (dirPath: string): Member => file(`${dirPath}/.wh..wh..opq`, '');

/** A layer tar as a stream; `truncateAt` cuts the bytes short (a broken upload). */
export async function tarOf(members: Member[], opts: { truncateAt?: number } = {}): Promise<Readable> {
  const pack = tar.pack();
  for (const m of members) {
    const body = Buffer.from(m.body ?? '');
    const pax = m.xattrs ? Object.fromEntries(Object.entries(m.xattrs).map(([k, v]) => [`SCHILY.xattr.${k}`, v])) : undefined;
    pack.entry({
      name: m.name,
      type: m.type ?? 'file',
      size: m.type === 'file' || m.type === undefined ? body.length : 0,
      mode: m.mode ?? 0o644,
      uid: m.uid ?? 0,
      gid: m.gid ?? 0,
      mtime: m.mtime ?? T0,
      linkname: m.linkname,
      devmajor: m.devmajor,
      devminor: m.devminor,
      pax,
    }, m.type === 'file' || m.type === undefined ? body : Buffer.alloc(0));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  const all = Buffer.concat(chunks);
  return Readable.from([opts.truncateAt === undefined ? all : all.subarray(0, opts.truncateAt)]);
}

export interface EntrySnapshot {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs?: number;
  size?: number;
  sha?: string;
  link?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  /** For hard-linked files: the first path (in walk order) with the same inode. */
  sameAs?: string;
}

/** Everything observable about a tree, for comparing two layers (inode numbers aside). */
export async function snapshot(m: MountedFs, opts: { xattrs?: boolean } = {}): Promise<Record<string, EntrySnapshot>> {
  const out: Record<string, EntrySnapshot> = {};
  const inodes = new Map<number, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await m.fs.readdir(rel ? `${m.root}/${rel}` : m.root)).sort()) {
      const child = rel ? `${rel}/${name}` : name;
      const path = `${m.root}/${child}`;
      const st = await m.fs.lstat(path);
      const e: EntrySnapshot = { type: kind(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (opts.xattrs) {
        const xs = Object.entries(await m.fs.listXattrs(path)).filter(([k]) => isContentXattr(k));
        if (xs.length) e.xattrs = Object.fromEntries(xs.map(([k, v]) => [k, v.toString()]));
      }
      if (st.isFile()) {
        e.size = st.size;
        e.mtimeMs = st.mtimeMs;
        e.sha = createHash('sha256').update(await m.fs.readFile(path)).digest('hex');
        if (st.nlink > 1) {
          const first = inodes.get(st.ino);
          if (first) e.sameAs = first;
          else inodes.set(st.ino, child);
        }
      } else if (st.isSymbolicLink()) {
        e.link = await m.fs.readlink(path);
        e.mode = 0;
      } else if (!st.isDirectory()) {
        e.rdev = st.rdev;
        e.mtimeMs = st.mtimeMs;
      }
      out[`/${child}`] = e;
      if (st.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return out;
}

function kind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  return 'other';
}

export async function readText(m: MountedFs, path: string): Promise<string> {
  return (await m.fs.readFile(`${m.root}${path}`)).toString();
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Names of the members of a tar, in order. */
export async function tarNames(buf: Buffer): Promise<string[]> {
  const names: string[] = [];
  const ex = tar.extract();
  Readable.from([buf]).pipe(ex);
  for await (const e of ex) {
    names.push(e.header.name);
    e.resume();
  }
  return names;
}
