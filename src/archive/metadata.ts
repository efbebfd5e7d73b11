import type { Stats } from 'node:fs';
import type { HostFs } from '../kernel/host-fs';
import { isContentXattr } from './whiteouts';

/** The ownership, mode, times and attributes a layer entry carries besides its content. */
export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  xattrs: Record<string, Buffer>;
}

export async function readMeta(fs: HostFs, path: string, st: Stats): Promise<EntryMeta> {
  const all = await fs.listXattrs(path);
  const xattrs = Object.fromEntries(Object.entries(all).filter(([k]) => isContentXattr(k)));
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, xattrs };
}

/**
 * Apply ownership, attributes, mode and times in the order that keeps each step effective:
 * chown clears set-id bits, so chmod follows it; symlinks have no mode of their own.
 */
export async function applyMeta(fs: HostFs, path: string, meta: EntryMeta, opts: { mode: boolean; times: boolean }): Promise<void> {
  await fs.lchown(path, meta.uid, meta.gid);
  for (const [name, value] of Object.entries(meta.xattrs)) await fs.setXattr(path, name, value);
  if (opts.mode) await fs.chmod(path, meta.mode);
  if (opts.times) await fs.lutimes(path, meta.mtime, meta.mtime);
}

export const ALL_META = { mode: true, times: true } as const;
/** Symlinks have no mode of their own. */
export const SYMLINK_META = { mode: false, times: true } as const;
/** Directories get mode and times after their children are in place. */
export const DIR_EARLY_META = { mode: false, times: false } as const;

const PAX_XATTR = 'SCHILY.xattr.';

export function xattrsFromPax(pax: Record<string, string> | null | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(pax ?? {})) if (k.startsWith(PAX_XATTR)) out[k.slice(PAX_XATTR.length)] = Buffer.from(v, 'utf8');
  return out;
}

/**
 * PAX records for the attributes. tar-stream encodes PAX values as UTF-8 text, so a value that
 * is not valid UTF-8 (a binary `security.capability`) does not survive a round trip.
 */
export function xattrsToPax(xattrs: Record<string, Buffer>): Record<string, string> | undefined {
  const names = Object.keys(xattrs).sort();
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((n) => [PAX_XATTR + n, xattrs[n]!.toString('utf8')]));
}

/** A PAX `mtime` record (seconds with a fraction), more precise than the ustar field. */
export function mtimeFromPax(pax: Record<string, string> | null | undefined): Date | undefined {
  const v = pax?.mtime;
  if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  return new Date(Math.round(parseFloat(v) * 1000));
}

/** The PAX records for an entry: sub-second mtime and extended attributes. */
export function paxRecords(meta: EntryMeta): Record<string, string> | undefined {
  const ms = meta.mtime.getTime();
  const records: Record<string, string> = { ...xattrsToPax(meta.xattrs) };
  if (ms % 1000 !== 0) records.mtime = (ms / 1000).toFixed(3);
  return Object.keys(records).length ? records : undefined;
}
