import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

type HeaderArg = Parameters<tar.Pack['entry']>[0];
import type { LayerChange } from './changes';
import { paxRecords, readMeta } from './metadata';
import { abs, baseName, devMajor, devMinor, joinRel, parentRel, type Tree } from './tree';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteouts';

/** Whiteout entries carry no time of their own: a fixed one keeps diffs reproducible. */
const MARKER_TIME = new Date(0);

/**
 * A layer tar of `changes` (Docker's ExportChanges): added and modified entries read from
 * `tree`, deletions as `.wh.NAME`, opaque directories as `DIR/.wh..wh..opq` (their implied
 * deletions are then not listed one by one). Files sharing an inode become hard links to the
 * first path written. The tar is produced as the consumer reads it.
 */
export function exportLayer(tree: Tree, changes: LayerChange[]): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  pack.pipe(out);
  writeEntries(pack, tree, changes).then(
    () => pack.finalize(),
    (e: unknown) => out.destroy(e as Error),
  );
  return out;
}

async function writeEntries(pack: tar.Pack, tree: Tree, changes: LayerChange[]): Promise<void> {
  const firstPathOfInode = new Map<number, string>();
  for (const c of changes) {
    if (c.kind === 2) {
      if (!c.byOpaque) await addEntry(pack, marker(joinRel(parentRel(c.rel), WHITEOUT_PREFIX + baseName(c.rel))));
      continue;
    }
    await addTreeEntry(pack, tree, c.rel, firstPathOfInode);
    if (c.opaque) await addEntry(pack, marker(joinRel(c.rel, OPAQUE_MARKER)));
  }
}

function marker(name: string): HeaderArg {
  return { name, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: MARKER_TIME };
}

async function addEntry(pack: tar.Pack, header: HeaderArg, body?: Readable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) pipeline(body, pack.entry(header, done)).catch(reject);
    else pack.entry(header, Buffer.alloc(0), done);
  });
}

async function addTreeEntry(pack: tar.Pack, tree: Tree, rel: string, firstPathOfInode: Map<number, string>): Promise<void> {
  const path = abs(tree, rel);
  const st = await tree.fs.lstat(path);
  const meta = await readMeta(tree.fs, path, st);
  const header: HeaderArg = {
    name: rel,
    mode: meta.mode,
    uid: meta.uid,
    gid: meta.gid,
    mtime: meta.mtime,
    pax: paxRecords(meta),
  };
  if (st.isDirectory()) return addEntry(pack, { ...header, name: `${rel}/`, type: 'directory' });
  if (st.isSymbolicLink()) return addEntry(pack, { ...header, type: 'symlink', linkname: await tree.fs.readlink(path) });
  if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
    const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character-device' : 'block-device';
    return addEntry(pack, { ...header, type, devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) });
  }
  if (!st.isFile()) return; // sockets are not carried in layers (as in Docker)
  if (st.nlink > 1) {
    const first = firstPathOfInode.get(st.ino);
    if (first !== undefined) return addEntry(pack, { ...header, type: 'link', linkname: first });
    firstPathOfInode.set(st.ino, rel);
  }
  return addEntry(pack, { ...header, type: 'file', size: st.size }, tree.fs.createReadStream(path));
}
