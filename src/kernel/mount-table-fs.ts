import { posix } from 'node:path';
import { Writable } from 'node:stream';
import { chrootFs, resolveInRoot } from './chroot-fs';
import type { HostFs } from './host-fs';

/** One filesystem shown at `target` of the combined view (a bind, a volume's data, a tmpfs). */
export interface FsMount {
  /** Absolute path in the combined view. */
  target: string;
  fs: HostFs;
  /** The entry of `fs` shown at `target`: a directory, or a file for a file bind. */
  root: string;
  /** Writes anywhere under `target` fail with EROFS. */
  readonly: boolean;
}

function fsError(code: string, text: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path });
}

const erofs = (syscall: string, path: string) => fsError('EROFS', 'read-only file system', syscall, path);
const ebusy = (syscall: string, path: string) => fsError('EBUSY', 'resource busy or locked', syscall, path);
const exdev = (syscall: string, path: string) => fsError('EXDEV', 'cross-device link not permitted', syscall, path);

const normal = (p: string) => {
  const n = posix.normalize(posix.resolve('/', p));
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
};
const under = (p: string, target: string) => target === '/' || p === target || p.startsWith(`${target}/`);

/**
 * A mount table: one HostFs whose paths go to the mount with the longest `target` that holds
 * them (`/` must be one of the mounts: the container's root). Like the kernel's VFS:
 * - paths are taken literally (no link is followed across mounts here: wrap the table in
 *   `chrootFs(table, '/')`, as `mountAll` does, so links resolve over the combined view);
 * - every write under a read-only mount fails with EROFS;
 * - `rename` and `link` between two mounts fail with EXDEV;
 * - removing or renaming a mount point, or a directory holding one, fails with EBUSY (the
 *   kernel would first empty the mounted filesystem; this table refuses instead).
 */
export function mountTableFs(mounts: readonly FsMount[]): HostFs {
  const table = [...mounts].map((m) => ({ ...m, target: normal(m.target) })).sort((a, b) => b.target.length - a.target.length);
  if (!table.some((m) => m.target === '/')) throw new Error('mount table: no filesystem mounted at /');
  const find = (p: string) => {
    const path = normal(p);
    const m = table.find((x) => under(path, x.target))!;
    return { m, path, real: m.target === path ? m.root : posix.join(m.root, m.target === '/' ? path : path.slice(m.target.length)) };
  };
  const read = (p: string) => {
    const { m, real } = find(p);
    return { fs: m.fs, real };
  };
  const write = (syscall: string, p: string) => {
    const { m, real } = find(p);
    if (m.readonly) throw erofs(syscall, p);
    return { fs: m.fs, real, m };
  };
  /** Refuse to remove or move a mount point or a directory that holds one. */
  const notBusy = (syscall: string, p: string) => {
    const path = normal(p);
    if (table.some((m) => m.target !== '/' && under(m.target, path))) throw ebusy(syscall, p);
  };
  const sameMount = (syscall: string, a: string, b: string) => {
    const from = write(syscall, a);
    const to = write(syscall, b);
    if (from.m !== to.m) throw exdev(syscall, a);
    return [from, to] as const;
  };

  return {
    readFile: async (p) => {
      const r = read(p);
      return r.fs.readFile(r.real);
    },
    writeFileAtomic: async (p, d, mode) => {
      const w = write('open', p);
      return w.fs.writeFileAtomic(w.real, d, mode);
    },
    mkdir: async (p, o) => {
      const w = write('mkdir', p);
      return w.fs.mkdir(w.real, o);
    },
    readdir: async (p) => {
      const r = read(p);
      return r.fs.readdir(r.real);
    },
    stat: async (p) => {
      const r = read(p);
      return r.fs.stat(r.real);
    },
    lstat: async (p) => {
      const r = read(p);
      return r.fs.lstat(r.real);
    },
    rm: async (p, o) => {
      const w = write('rm', p);
      notBusy('rm', p);
      return w.fs.rm(w.real, o);
    },
    rename: async (a, b) => {
      const [from, to] = sameMount('rename', a, b);
      notBusy('rename', a);
      notBusy('rename', b);
      return from.fs.rename(from.real, to.real);
    },
    chmod: async (p, mode) => {
      const w = write('chmod', p);
      return w.fs.chmod(w.real, mode);
    },
    exists: async (p) => {
      const r = read(p);
      return r.fs.exists(r.real);
    },
    readlink: async (p) => {
      const r = read(p);
      return r.fs.readlink(r.real);
    },
    symlink: async (t, p) => {
      const w = write('symlink', p);
      return w.fs.symlink(t, w.real);
    },
    link: async (e, p) => {
      const [from, to] = sameMount('link', e, p);
      return from.fs.link(from.real, to.real);
    },
    lchown: async (p, u, g) => {
      const w = write('lchown', p);
      return w.fs.lchown(w.real, u, g);
    },
    lutimes: async (p, a, m) => {
      const w = write('lutimes', p);
      return w.fs.lutimes(w.real, a, m);
    },
    mknod: async (p, k, mode, maj, min) => {
      const w = write('mknod', p);
      return w.fs.mknod(w.real, k, mode, maj, min);
    },
    createReadStream(p) {
      const r = read(p);
      return r.fs.createReadStream(r.real);
    },
    createWriteStream(p, o) {
      try {
        const w = write('open', p);
        return w.fs.createWriteStream(w.real, o);
      } catch (e) {
        const failed = new Writable({ write: (_c, _e, cb) => cb(e as Error) });
        process.nextTick(() => failed.destroy(e as Error));
        return failed;
      }
    },
    listXattrs: async (p) => {
      const r = read(p);
      return r.fs.listXattrs(r.real);
    },
    setXattr: async (p, n, v) => {
      const w = write('setxattr', p);
      return w.fs.setXattr(w.real, n, v);
    },
  };
}

/**
 * A container's view: `root` at `/` and `mounts` over it, in order (a later mount may sit
 * inside an earlier one), as an OCI runtime sets them up. Each target is resolved within the
 * view built so far (links followed, `..` stopping at `/`), and a missing mount point is made
 * there first: a directory, or an empty file when the mounted root is a file. The result
 * resolves links over the combined view (chrootFs of the table).
 */
export async function mountAll(root: Omit<FsMount, 'target'>, mounts: readonly FsMount[]): Promise<HostFs> {
  const done: FsMount[] = [{ ...root, target: '/' }];
  for (const m of mounts) {
    const table = mountTableFs(done);
    const target = await resolveInRoot(table, '/', m.target, true);
    const isFile = !(await m.fs.stat(m.root)).isDirectory();
    const existing = await table.lstat(target).catch(() => undefined);
    if (!existing) {
      if (isFile) {
        await table.mkdir(posix.dirname(target), { recursive: true, mode: 0o755 });
        await table.writeFileAtomic(target, '', 0o644);
      } else await table.mkdir(target, { recursive: true, mode: 0o755 });
    }
    done.push({ ...m, target });
  }
  return chrootFs(mountTableFs(done), '/');
}
