import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Volume } from 'memfs';
import type { HostFs, SpecialFileKind } from '../../src/kernel/host-fs';
import { makedev } from '../../src/archive';

const TYPE_BITS: Record<SpecialFileKind, number> = { fifo: 0o010000, char: 0o020000, block: 0o060000 };

/** The memfs internals this adapter reaches into (memfs 4.x, pinned in package.json). */
interface MemNode {
  ino: number;
  mode: number;
  rdev: number;
  canRead(): boolean;
  canWrite(): boolean;
  canExecute(): boolean;
}
interface MemCore {
  createNode(mode: number): MemNode;
  getLinkOrThrow(path: string, funcName?: string): { getNode(): MemNode };
  inodes: Record<number, MemNode>;
  deleteNode(node: MemNode): void;
}

/**
 * HostFs over an in-memory memfs volume, for the fake backend's layers and container roots.
 * Beyond plain memfs:
 * - the caller is root: memfs checks permission bits even for uid 0, so every node of this
 *   volume grants access (as the Linux kernel does for root);
 * - `mknod` makes a node with the fifo/char/block type bits and `rdev` set (memfs has no
 *   mknod); such nodes cannot be opened, only stat'ed, linked, moved and removed;
 * - extended attributes live beside the nodes (a WeakMap keyed by inode), so they follow
 *   renames and hard links and vanish with the node;
 * - `rm` and `rename` free what they remove or replace: memfs 4.80's own `rm`/`rmdir` and
 *   `rename` unlink but leave the nodes (and file contents) in the volume's inode table, so
 *   removing a layer freed nothing.
 */
export function memfsHostFs(vol: Volume = new Volume()): HostFs & { readonly vol: Volume } {
  const core = (vol as unknown as { _core: MemCore })._core;
  const grantAll = (node: MemNode): MemNode => {
    node.canRead = node.canWrite = node.canExecute = () => true;
    return node;
  };
  const createNode = core.createNode.bind(core);
  core.createNode = (mode) => grantAll(createNode(mode));
  grantAll(core.getLinkOrThrow('/').getNode());
  const xattrs = new WeakMap<MemNode, Map<string, Buffer>>();
  const nodeOf = (path: string): MemNode => core.getLinkOrThrow(path, 'lstat').getNode();
  const p = vol.promises;

  /** Remove `path` (a tree with `recursive`) node by node, releasing every node memfs keeps. */
  async function removeTree(path: string, opts: { recursive?: boolean; force?: boolean }): Promise<void> {
    let node: MemNode;
    try {
      node = nodeOf(path);
    } catch (e) {
      if (opts.force && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const st = await p.lstat(path);
    if (!st.isDirectory()) {
      await p.unlink(path);
      return;
    }
    if (!opts.recursive) return p.rm(path, opts);
    for (const name of await p.readdir(path)) await removeTree(posix.join(path, String(name)), { recursive: true, force: true });
    await p.rmdir(path);
    if (core.inodes[node.ino] === node) core.deleteNode(node);
  }

  /** rename(2); a file it replaces is unlinked first, since memfs would keep its node. */
  async function replace(from: string, to: string): Promise<void> {
    const target = await p.lstat(to).catch(() => undefined);
    if (target && !target.isDirectory() && (await p.lstat(from)).isDirectory() === false) await p.unlink(to);
    await p.rename(from, to);
  }

  return {
    vol,
    readFile: async (path) => Buffer.from(await p.readFile(path)),
    async writeFileAtomic(path, data, mode = 0o600) {
      const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.${Math.random().toString(16).slice(2)}.tmp`);
      await p.writeFile(tmp, data, { mode });
      await replace(tmp, path);
    },
    mkdir: async (path, opts) => {
      await p.mkdir(path, opts);
    },
    readdir: async (path) => (await p.readdir(path)).map(String),
    stat: async (path) => (await p.stat(path)) as unknown as Stats,
    lstat: async (path) => (await p.lstat(path)) as unknown as Stats,
    rm: (path, opts) => removeTree(path, opts ?? {}),
    rename: (a, b) => replace(a, b),
    chmod: (path, mode) => p.chmod(path, mode),
    exists: async (path) => vol.existsSync(path),
    readlink: async (path) => String(await p.readlink(path)),
    symlink: (target, path) => p.symlink(target, path),
    link: (existing, path) => p.link(existing, path),
    lchown: (path, uid, gid) => p.lchown(path, uid, gid),
    lutimes: (path, atime, mtime) => p.lutimes(path, atime, mtime),
    async mknod(path, kind, mode, major = 0, minor = 0) {
      await p.writeFile(path, '', { flag: 'wx' });
      const node = nodeOf(path);
      node.mode = TYPE_BITS[kind] | (mode & 0o7777);
      node.rdev = makedev(major, minor);
    },
    createReadStream: (path) => vol.createReadStream(path) as unknown as Readable,
    createWriteStream: (path, opts) => vol.createWriteStream(path, { flags: 'wx', mode: opts?.mode ?? 0o644 }) as unknown as Writable,
    async listXattrs(path) {
      const attrs = xattrs.get(nodeOf(path));
      return attrs ? Object.fromEntries([...attrs].map(([k, v]) => [k, Buffer.from(v)])) : {};
    },
    async setXattr(path, name, value) {
      const node = nodeOf(path);
      const attrs = xattrs.get(node) ?? new Map<string, Buffer>();
      attrs.set(name, Buffer.from(value));
      xattrs.set(node, attrs);
    },
  };
}
