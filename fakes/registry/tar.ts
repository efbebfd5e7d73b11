import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

/** One entry of a layer tar; `path` is relative to the root, without a leading `/`. */
export type TarEntry =
  | { path: string; type: 'directory'; mode: number }
  | { path: string; type: 'file'; mode: number; content: string }
  | { path: string; type: 'symlink'; target: string };

/** The mtime of every entry: fixed, so the same entries always give the same bytes. */
export const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

/**
 * A deterministic tar of `entries`: sorted by path, fixed mtimes, owned by root (0:0).
 * Later duplicates of a path replace earlier ones.
 */
export async function buildTar(entries: readonly TarEntry[]): Promise<Uint8Array> {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of sorted) {
    const header = { name: entry.path, mtime: FIXED_MTIME, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    if (entry.type === 'directory') pack.entry({ ...header, name: `${entry.path}/`, type: 'directory', mode: entry.mode });
    else if (entry.type === 'symlink') pack.entry({ ...header, type: 'symlink', linkname: entry.target, mode: 0o777 });
    else pack.entry({ ...header, type: 'file', mode: entry.mode }, entry.content);
  }
  pack.finalize();
  await collected;
  return new Uint8Array(Buffer.concat(chunks));
}

/** gzip with fixed settings (no name, zero mtime in the header), so output depends only on input. */
export function gzip(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes, { level: 9 }));
}
