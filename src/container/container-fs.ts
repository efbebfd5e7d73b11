import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ForbiddenError, InvalidParameterError, NotFoundError } from '../errors';
import type { EventBus } from '../events/events';
import { goTime } from '../image/archive/go-json';
import { chrootFs, resolveInRoot } from '../kernel/chroot-fs';
import type { HostFs } from '../kernel/host-fs';
import type { MountedFs, StorageDriver } from '../kernel/storage';
import type { ContainerRecord } from './container';
import type { ContainerStore } from './container-store';
import { extractArchive, spool } from './extract-archive';
import { packTree } from './tree-tar';
import { lookupOwner } from './user-lookup';

/** The `X-Docker-Container-Path-Stat` object (Docker's ContainerPathStat). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits plus Go's type and set-id bits. */
  mode: number;
  mtime: string;
  /** For a symlink: its target fully resolved inside the container; '' otherwise. */
  linkTarget: string;
}

export interface ContainerFsDeps {
  store: Pick<ContainerStore, 'get'>;
  storage: StorageDriver;
  events: EventBus;
  /** Host scratch directory for spooling uploads (created when needed). */
  tmpDir: string;
}

export interface ExtractRequest {
  noOverwriteDirNonDir: boolean;
  /** Give every extracted entry the container user's uid/gid. */
  copyUIDGID: boolean;
}

/** Publish a container event with dockerd's attributes: labels, image, name, and `extra`. */
export function publishContainerEvent(events: EventBus, rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
  events.publish('container', action, rec.ID, { ...rec.Config.Labels, image: rec.ImageName, name: rec.Name.slice(1), ...extra });
}

/**
 * A container's filesystem seen from the API (`docker cp` both ways, `docker export`), on
 * running and stopped containers alike: the container's read-write layer is mounted for the
 * operation (storage.get/put, so it stays mounted while a running container holds it). Paths
 * are container paths: symlinks resolve inside the container's root, never outside it.
 * Volumes and bind mounts are not consulted: the paths are read from the container's layer.
 */
export class ContainerFs {
  constructor(private readonly d: ContainerFsDeps) {}

  /** HEAD /containers/{id}/archive: the path's stat. NotFound when it does not exist. */
  async stat(ref: string, path: string): Promise<PathStat> {
    const rec = this.d.store.get(ref);
    return this.mounted(rec, async (m) => (await this.locate(rec, m, path)).stat);
  }

  /**
   * GET /containers/{id}/archive: a tar of the path named by its base name (a directory with
   * its content; `dir/.` names the content `./...`), and its stat. The layer stays mounted
   * until the tar has been read or abandoned. Publishes `archive-path`.
   */
  async archive(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const rec = this.d.store.get(ref);
    const m = await this.d.storage.get(rec.RWLayer);
    try {
      const { stat, hostPath } = await this.locate(rec, m, path);
      const tar = packTree(m.fs, hostPath, stat.name === '/' ? '.' : stat.name, () => void this.d.storage.put(rec.RWLayer).catch(() => undefined));
      publishContainerEvent(this.d.events, rec, 'archive-path');
      return { stat, tar };
    } catch (e) {
      await this.d.storage.put(rec.RWLayer).catch(() => undefined);
      throw e;
    }
  }

  /**
   * PUT /containers/{id}/archive: extract a tar into the directory `path` (see
   * extractArchive for what is refused). Forbidden on a read-only rootfs; NotFound when the
   * path does not exist; InvalidParameter when it is not a directory. Publishes `extract-to-dir`.
   */
  async extract(ref: string, path: string, body: Readable, opts: ExtractRequest): Promise<void> {
    const rec = this.d.store.get(ref);
    checkPath(path);
    if (rec.HostConfig.ReadonlyRootfs) throw new ForbiddenError('container rootfs is marked read-only');
    await mkdir(this.d.tmpDir, { recursive: true, mode: 0o700 });
    const tarFile = join(this.d.tmpDir, `put-archive-${randomBytes(8).toString('hex')}.tar`);
    try {
      await this.mounted(rec, async (m) => {
        const fs = chrootFs(m.fs, m.root);
        const dest = await resolveInRoot(m.fs, m.root, posix.join('/', path), true);
        const st = await fs.stat(dest).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') throw notFound(rec, path);
          if (e.code === 'ENOTDIR') throw notADirectory();
          throw e;
        });
        if (!st.isDirectory()) throw notADirectory();
        const owner = opts.copyUIDGID ? await lookupOwner(fs, rec.Config.User) : undefined;
        await spool(body, tarFile);
        await extractArchive(fs, dest, tarFile, { noOverwriteDirNonDir: opts.noOverwriteDirNonDir, owner });
      });
    } finally {
      await rm(tarFile, { force: true });
    }
    publishContainerEvent(this.d.events, rec, 'extract-to-dir');
  }

  /** GET /containers/{id}/export: the whole filesystem as a tar. Publishes `export`. */
  async export(ref: string): Promise<Readable> {
    const rec = this.d.store.get(ref);
    const m = await this.d.storage.get(rec.RWLayer);
    const tar = packTree(m.fs, m.root, null, () => void this.d.storage.put(rec.RWLayer).catch(() => undefined));
    publishContainerEvent(this.d.events, rec, 'export');
    return tar;
  }

  private async mounted<T>(rec: ContainerRecord, fn: (m: MountedFs) => Promise<T>): Promise<T> {
    const m = await this.d.storage.get(rec.RWLayer);
    try {
      return await fn(m);
    } finally {
      await this.d.storage.put(rec.RWLayer).catch(() => undefined);
    }
  }

  /**
   * Docker's ResolvePath + StatPath: the directory part of the path is resolved inside the
   * container; the last element is not followed unless the path ends in `/` (or `/.`).
   */
  private async locate(rec: ContainerRecord, m: MountedFs, path: string): Promise<{ stat: PathStat; hostPath: string }> {
    checkPath(path);
    const abs = preserveTrailingDotOrSeparator(posix.join('/', path), path);
    const cut = abs.lastIndexOf('/') + 1;
    const dir = await resolveInRoot(m.fs, m.root, abs.slice(0, cut), true);
    const resolved = posix.join(dir, abs.slice(cut));
    const hostPath = posix.join(m.root, resolved);
    const st = await lstatIn(m.fs, hostPath, rec, path);
    if (abs.endsWith('/') && !st.isDirectory()) throw notADirectory(`lstat ${abs}: not a directory`);
    const linkTarget = st.isSymbolicLink() ? await resolveInRoot(m.fs, m.root, abs, true) : '';
    const name = abs === '/' ? '/' : posix.basename(abs.replace(/\/+$/, '')) || '/';
    return { stat: { name: abs.endsWith('/.') ? '.' : name, size: st.size, mode: goFileMode(st), mtime: goTime(st.mtime.toISOString()), linkTarget }, hostPath };
  }
}

function checkPath(path: string): void {
  if (!path) throw new InvalidParameterError('bad parameter: pathcannot be empty');
}

async function lstatIn(fs: HostFs, hostPath: string, rec: ContainerRecord, path: string): Promise<Stats> {
  try {
    return await fs.lstat(hostPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(rec, path);
    if (code === 'ENOTDIR') throw notADirectory(`lstat ${path}: not a directory`);
    throw e;
  }
}

const notFound = (rec: ContainerRecord, path: string) => new NotFoundError(`Could not find the file ${path} in container ${rec.Name.slice(1)}`);
const notADirectory = (msg = 'extraction point is not a directory') => new InvalidParameterError(msg);

/** Keep the trailing `/` or `/.` of `original` that path.join removed (Docker's helper). */
function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  if (original.endsWith('/.') && !cleaned.endsWith('/.')) return cleaned === '/' ? '/.' : `${cleaned}/.`;
  if (original.endsWith('/') && !cleaned.endsWith('/')) return `${cleaned}/`;
  return cleaned;
}

const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, namedPipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

/** A stat's mode as Go's os.FileMode (what dockerd puts in the stat header). */
export function goFileMode(st: Stats): number {
  // Linux gives every symlink 0777 (an in-memory fs may not).
  let mode = st.isSymbolicLink() ? 0o777 : st.mode & 0o777;
  if (st.mode & 0o4000) mode += GO_MODE.setuid;
  if (st.mode & 0o2000) mode += GO_MODE.setgid;
  if (st.mode & 0o1000) mode += GO_MODE.sticky;
  if (st.isDirectory()) mode += GO_MODE.dir;
  else if (st.isSymbolicLink()) mode += GO_MODE.symlink;
  else if (st.isFIFO()) mode += GO_MODE.namedPipe;
  else if (st.isSocket()) mode += GO_MODE.socket;
  else if (st.isCharacterDevice()) mode += GO_MODE.device + GO_MODE.charDevice;
  else if (st.isBlockDevice()) mode += GO_MODE.device;
  return mode;
}
