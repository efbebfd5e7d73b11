import { posix } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { HostFs } from './host-fs';

const MAX_LINKS = 40;

function eloop(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ELOOP: too many symbolic links encountered, '${path}'`), { code: 'ELOOP' });
}

/**
 * Resolve `path` as seen from inside a container whose `/` is `root` of `base`: symbolic links
 * (absolute or relative) are followed within that root and `..` stops at it, as the kernel does
 * after chroot/pivot_root. `followLast` also follows a link in the final component. A missing
 * component ends the resolution: the rest of the path is taken literally. Returns the resolved
 * path inside the container (absolute, normalised); fails with ELOOP after 40 links.
 */
export async function resolveInRoot(base: HostFs, root: string, path: string, followLast: boolean): Promise<string> {
  const parts = posix.normalize(posix.resolve('/', path)).split('/').filter(Boolean);
  let cur = '/';
  let hops = 0;
  while (parts.length) {
    const name = parts.shift()!;
    if (name === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, name);
    const isLast = parts.length === 0;
    if (isLast && !followLast) return next;
    let st;
    try {
      st = await base.lstat(posix.join(root, next));
    } catch {
      return posix.join(next, ...parts);
    }
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    if (++hops > MAX_LINKS) throw eloop(path);
    const target = await base.readlink(posix.join(root, next));
    parts.unshift(...target.split('/').filter(Boolean));
    cur = target.startsWith('/') ? '/' : cur;
  }
  return cur;
}

/**
 * A HostFs seen from inside a container: `/` is `root` of `base`, and symbolic links (absolute
 * or relative) resolve within that root (see resolveInRoot). Operations that follow links
 * resolve the whole path; `l*` operations resolve only the parent.
 */
export function chrootFs(base: HostFs, root: string): HostFs {
  const real = (p: string) => posix.join(root, p);
  const resolve = (p: string, followLast: boolean) => resolveInRoot(base, root, p, followLast);
  const follow = async (p: string) => real(await resolve(p, true));
  const noFollow = async (p: string) => real(await resolve(p, false));

  return {
    readFile: async (p) => base.readFile(await follow(p)),
    writeFileAtomic: async (p, d, m) => base.writeFileAtomic(await follow(p), d, m),
    mkdir: async (p, o) => base.mkdir(await noFollow(p), o),
    readdir: async (p) => base.readdir(await follow(p)),
    stat: async (p) => base.stat(await follow(p)),
    lstat: async (p) => base.lstat(await noFollow(p)),
    rm: async (p, o) => base.rm(await noFollow(p), o),
    rename: async (a, b) => base.rename(await noFollow(a), await noFollow(b)),
    chmod: async (p, m) => base.chmod(await follow(p), m),
    exists: async (p) => base.exists(await follow(p)),
    readlink: async (p) => base.readlink(await noFollow(p)),
    symlink: async (t, p) => base.symlink(t, await noFollow(p)),
    link: async (e, p) => base.link(await follow(e), await noFollow(p)),
    lchown: async (p, u, g) => base.lchown(await noFollow(p), u, g),
    lutimes: async (p, a, m) => base.lutimes(await noFollow(p), a, m),
    mknod: async (p, k, m, maj, min) => base.mknod(await noFollow(p), k, m, maj, min),
    createReadStream(p) {
      const out = new PassThrough();
      follow(p).then(
        (rp) => {
          if (out.destroyed) return;
          const inner = base.createReadStream(rp);
          inner.on('error', (e) => out.destroy(e));
          // A reader that stops early (destroys `out`) must close the file too, or its
          // descriptor (and, in memory, the file's contents) stays held.
          out.once('close', () => inner.destroy());
          inner.pipe(out);
        },
        (e: Error) => out.destroy(e),
      );
      return out;
    },
    createWriteStream(p, o) {
      // Finishes only when the real file has been written, so callers can act on it next.
      const inner = follow(p).then((rp) => {
        const w = base.createWriteStream(rp, o);
        w.on('error', (e) => out.destroy(e));
        return w;
      });
      const out = new Writable({
        write(chunk, _enc, cb) {
          inner.then((w) => (w.write(chunk) ? cb() : w.once('drain', () => cb())), cb);
        },
        final(cb) {
          inner.then((w) => {
            w.end();
            finished(w).then(() => cb(), cb);
          }, cb);
        },
        destroy(err, cb) {
          inner.then((w) => w.destroy(), () => undefined).finally(() => cb(err));
        },
      });
      return out;
    },
    listXattrs: async (p) => base.listXattrs(await noFollow(p)),
    setXattr: async (p, n, v) => base.setXattr(await noFollow(p), n, v),
  };
}
