import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { writeAtomic } from '../util/atomic';
import type { HostFs } from './host-fs';
import { listXattrsViaHelper, mknodViaHelper, setXattrViaHelper } from './node-fs-helper';

/**
 * HostFs over the real filesystem (node:fs), used for the daemon's own state by both backends
 * and for layer trees by the Linux storage drivers. `mknod` and the xattr calls go through a
 * python3 helper process (see node-fs-helper.ts): Node has no such syscalls.
 */
export function nodeHostFs(): HostFs {
  return {
    readFile: (p) => fsp.readFile(p),
    writeFileAtomic: (p, data, mode = 0o600) => writeAtomic(p, data, mode),
    mkdir: async (p, opts) => {
      await fsp.mkdir(p, opts);
    },
    readdir: (p) => fsp.readdir(p),
    stat: (p) => fsp.stat(p),
    lstat: (p) => fsp.lstat(p),
    rm: (p, opts) => fsp.rm(p, opts),
    rename: (a, b) => fsp.rename(a, b),
    chmod: (p, m) => fsp.chmod(p, m),
    exists: (p) =>
      fsp.access(p).then(
        () => true,
        () => false,
      ),
    readlink: (p) => fsp.readlink(p),
    symlink: (target, p) => fsp.symlink(target, p),
    link: (existing, p) => fsp.link(existing, p),
    lchown: (p, uid, gid) => fsp.lchown(p, uid, gid),
    lutimes: (p, atime, mtime) => fsp.lutimes(p, atime, mtime),
    mknod: (p, kind, mode, major, minor) => mknodViaHelper(p, kind, mode, major, minor),
    createReadStream: (p) => createReadStream(p),
    createWriteStream: (p, opts) => createWriteStream(p, { flags: 'wx', mode: opts?.mode ?? 0o644 }),
    listXattrs: (p) => listXattrsViaHelper(p),
    setXattr: (p, name, value) => setXattrViaHelper(p, name, value),
  };
}
