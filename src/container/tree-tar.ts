import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { paxRecords, readMeta } from '../archive/metadata';
import { devMajor, devMinor } from '../archive/tree';
import type { HostFs } from '../kernel/host-fs';

type HeaderArg = Parameters<tar.Pack['entry']>[0];

/**
 * A tar of the tree at `path` on `fs` (Docker's TarWithOptions as `docker cp` and `docker
 * export` use it), produced as the consumer reads it. Links are not followed; entries come
 * parents first, children in byte order; files sharing an inode after the first are hard links;
 * sockets are left out. `name` is the name of the root entry (its children are `name/child`);
 * `null` leaves the root out and names the children relative to it (a whole filesystem).
 * `onEnd` runs once when the tar is finished, fails, or is abandoned by its reader.
 */
export function packTree(fs: HostFs, path: string, name: string | null, onEnd: () => void = () => undefined): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      onEnd();
    }
  };
  out.once('close', end);
  out.once('end', end);
  pack.pipe(out);
  const writer = new TreeWriter(pack, fs);
  writer.write(path, name).then(
    () => pack.finalize(),
    (e: unknown) => {
      out.destroy(e as Error);
      end();
    },
  );
  return out;
}

class TreeWriter {
  private readonly firstPathOfInode = new Map<number, string>();

  constructor(
    private readonly pack: tar.Pack,
    private readonly fs: HostFs,
  ) {}

  async write(path: string, name: string | null): Promise<void> {
    const st = await this.fs.lstat(path);
    if (name !== null) await this.entry(path, name, st);
    if (st.isDirectory()) await this.children(path, name);
  }

  private async children(dir: string, name: string | null): Promise<void> {
    for (const child of (await this.fs.readdir(dir)).sort()) {
      const path = posix.join(dir, child);
      const childName = name === null ? child : `${name}/${child}`;
      const st = await this.fs.lstat(path);
      await this.entry(path, childName, st);
      if (st.isDirectory()) await this.children(path, childName);
    }
  }

  private async entry(path: string, name: string, st: Stats): Promise<void> {
    const meta = await readMeta(this.fs, path, st);
    const header: HeaderArg = { name, mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: meta.mtime, pax: paxRecords(meta) };
    if (st.isDirectory()) return this.add({ ...header, name: name.endsWith('/') ? name : `${name}/`, type: 'directory' });
    if (st.isSymbolicLink()) return this.add({ ...header, mode: 0o777, type: 'symlink', linkname: await this.fs.readlink(path) });
    if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character-device' : 'block-device';
      return this.add({ ...header, type, devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
    }
    if (!st.isFile()) return;
    if (st.nlink > 1) {
      const first = this.firstPathOfInode.get(st.ino);
      if (first !== undefined) return this.add({ ...header, type: 'link', linkname: first });
      this.firstPathOfInode.set(st.ino, name);
    }
    return this.add({ ...header, type: 'file', size: st.size }, this.fs.createReadStream(path));
  }

  private add(header: HeaderArg, body?: Readable): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pipeline(body, this.pack.entry(header, done)).catch(reject);
      else this.pack.entry(header, Buffer.alloc(0), done);
    });
  }
}
