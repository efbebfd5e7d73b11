import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { copyTree } from '../archive/copy-tree';
import { applyMeta, readMeta } from '../archive/metadata';
import { lstatOrNull } from '../archive/tree';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError, isDockerError } from '../errors';
import type { EventBus } from '../events/events';
import type { HostFs } from '../kernel/host-fs';
import type { MountedFs } from '../kernel/storage';
import { LOCAL_DRIVER, LocalDriver, validateLocalName, validateLocalOptions, type VolumeMounter } from './local-driver';
import { VolumeMetadataStore, type VolumeMetadata } from './metadata-store';
import { LIST_FILTERS, PRUNE_FILTERS, checkFilterKeys, danglingWanted, matchLabels, matchName, type Filters } from './volume-filters';

/** Docker's `Volume` object (inspect, list, create). */
export interface VolumeInfo {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  /** Only in `GET /system/df`; absent elsewhere, as dockerd omits it. */
  UsageData?: { Size: number; RefCount: number };
}

/** The body of `POST /volumes/create`, already type-checked. */
export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface PruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

/**
 * Go's `time.RFC3339` for a time in the daemon's local zone: seconds, `Z` for UTC, else the
 * offset (dockerd formats volumes' CreatedAt this way).
 */
export function rfc3339Local(d: Date): string {
  const offsetMin = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + offsetMin * 60_000).toISOString().slice(0, 19);
  if (offsetMin === 0) return `${local}Z`;
  const abs = Math.abs(offsetMin);
  return `${local}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A HostFs that tolerates EPERM on chown: a daemon without root keeps the files as its own. */
function ownershipTolerant(fs: HostFs): HostFs {
  if (process.getuid?.() === 0) return fs;
  return {
    ...fs,
    lchown: (p, uid, gid) =>
      fs.lchown(p, uid, gid).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPERM') throw e;
      }),
  };
}

export interface VolumeServiceOptions {
  /** The filesystem holding the daemon's state (the kernel's HostFs). */
  fs: HostFs;
  /** `<graph>/volumes`. */
  root: string;
  events: EventBus;
  log: Logger;
  /** How `local` volumes with mount options get mounted; absent where the daemon cannot mount. */
  mounter?: VolumeMounter;
}

/**
 * Volumes: create, inspect, list, remove, prune over the `local` driver, plus what the
 * container service needs (in-use references, mounts, seeding from an image). Contract:
 * - `create` of an existing name answers the existing volume unchanged (and logs `create`
 *   again, as dockerd does); a driver other than `local` is NotFound (no plugins here);
 * - `remove` of a volume some container references is Conflict naming the containers, with
 *   or without `force`; `force` only makes a missing volume not an error;
 * - `prune` removes unreferenced `local` volumes without mount options (API < 1.42: named
 *   and anonymous; from 1.42 anonymous only unless `all`), logs one `prune` event and no
 *   `destroy` events, and refuses to run twice at once;
 * - references live in memory: the container service re-takes them when it loads containers.
 */
export class VolumeService {
  private readonly names = new Set<string>();
  private readonly refs = new Map<string, Set<string>>();
  private queue: Promise<unknown> = Promise.resolve();
  private pruning = false;

  private constructor(
    private readonly fs: HostFs,
    readonly driver: LocalDriver,
    private readonly meta: VolumeMetadataStore,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  /** Load the volumes under `root`; metadata of volumes whose directory is gone is dropped. */
  static async open(opts: VolumeServiceOptions): Promise<VolumeService> {
    const driver = new LocalDriver(opts.fs, opts.root, opts.log.child({ driver: LOCAL_DRIVER }), opts.mounter);
    const meta = new VolumeMetadataStore(opts.fs, opts.root);
    const service = new VolumeService(opts.fs, driver, meta, opts.events, opts.log);
    for (const name of await driver.load()) service.names.add(name);
    await meta.load();
    const stale = meta.names().filter((n) => !service.names.has(n));
    if (stale.length > 0) {
      opts.log.warn({ volumes: stale }, 'dropping metadata of volumes whose directory is gone');
      await meta.delete(stale);
    }
    return service;
  }

  /** Run changes one at a time, so that a create and a remove of one name never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  count(): number {
    return this.names.size;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /**
   * Create a volume, or answer the existing one of that name. Without a name (or with
   * `anonymous`) it is an anonymous volume: a random 64-hex name, pruned by API ≥ 1.42.
   */
  create(req: CreateVolumeRequest, opts: { anonymous?: boolean } = {}): Promise<VolumeInfo> {
    const name = req.Name || randomBytes(32).toString('hex');
    const driver = req.Driver || LOCAL_DRIVER;
    const prefixed = (e: unknown): never => {
      if (e instanceof InvalidParameterError) throw new InvalidParameterError(`create ${name}: ${e.message}`);
      throw e;
    };
    return this.exclusive(async () => {
      if (driver !== LOCAL_DRIVER) throw new NotFoundError(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      if (!this.names.has(name)) {
        try {
          validateLocalName(name);
          validateLocalOptions(req.DriverOpts ?? {});
        } catch (e) {
          prefixed(e);
        }
        await this.driver.create(name, req.DriverOpts ?? {});
        const meta: VolumeMetadata = { Driver: driver, Labels: req.Labels ?? null, Options: req.DriverOpts ?? null, Anonymous: !req.Name || Boolean(opts.anonymous) };
        try {
          await this.meta.set(name, meta);
        } catch (e) {
          await this.driver.remove(name).catch(() => undefined);
          throw e;
        }
        this.names.add(name);
        this.log.debug({ volume: name }, 'created volume');
      }
      this.events.publish('volume', 'create', name, { driver });
      return this.info(name);
    });
  }

  /** NotFound with dockerd's words when `name` is no volume. */
  private mustExist(name: string): void {
    if (!this.names.has(name)) throw new NotFoundError(`get ${name}: no such volume`);
  }

  private metaOf(name: string): VolumeMetadata {
    return this.meta.get(name) ?? { Driver: LOCAL_DRIVER, Labels: null, Options: null, Anonymous: false };
  }

  private async info(name: string): Promise<VolumeInfo> {
    const meta = this.metaOf(name);
    return {
      CreatedAt: rfc3339Local(await this.driver.createdAt(name)),
      Driver: meta.Driver,
      Labels: meta.Labels,
      Mountpoint: this.driver.dataPath(name),
      Name: name,
      Options: meta.Options,
      Scope: 'local',
    };
  }

  async inspect(name: string): Promise<VolumeInfo> {
    this.mustExist(name);
    return this.info(name);
  }

  /** `GET /volumes`: filters `dangling`, `driver`, `label`, `name`; Warnings is always null here. */
  async list(filters: Filters = {}): Promise<{ Volumes: VolumeInfo[]; Warnings: null }> {
    checkFilterKeys(filters, LIST_FILTERS);
    const dangling = filters.dangling ? danglingWanted(filters.dangling) : undefined;
    const selected = [...this.names].sort().filter((name) => {
      const meta = this.metaOf(name);
      if (filters.driver && !filters.driver.includes(meta.Driver)) return false;
      if (filters.name && !matchName(filters.name, name)) return false;
      if (!matchLabels(filters.label, meta.Labels)) return false;
      if (dangling !== undefined && (this.users(name).length === 0) !== dangling) return false;
      return true;
    });
    const Volumes: VolumeInfo[] = [];
    for (const name of selected) Volumes.push(await this.info(name));
    return { Volumes, Warnings: null };
  }

  /** `DELETE /volumes/{name}`: Conflict while referenced (even with force); force ignores a missing volume. */
  remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.exclusive(async () => {
      if (!this.names.has(name)) {
        if (opts.force) return;
        this.mustExist(name);
      }
      const users = this.users(name);
      if (users.length > 0) throw new ConflictError(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      const driver = this.metaOf(name).Driver;
      await this.drop(name);
      await this.meta.delete([name]);
      this.events.publish('volume', 'destroy', name, { driver });
    });
  }

  private async drop(name: string): Promise<void> {
    await this.driver.remove(name);
    this.names.delete(name);
    this.refs.delete(name);
  }

  /**
   * `POST /volumes/prune`: filters `label`, `label!`. `all` false (API ≥ 1.42 without the
   * `all` filter) limits it to anonymous volumes.
   */
  async prune(filters: Filters = {}, opts: { all: boolean } = { all: true }): Promise<PruneReport> {
    checkFilterKeys(filters, PRUNE_FILTERS);
    if (this.pruning) throw new ConflictError('a prune operation is already running');
    this.pruning = true;
    try {
      return await this.exclusive(async () => {
        const report: PruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
        for (const name of [...this.names].sort()) {
          const meta = this.metaOf(name);
          if (meta.Driver !== LOCAL_DRIVER || (meta.Options && Object.keys(meta.Options).length > 0)) continue;
          if (!opts.all && !meta.Anonymous) continue;
          if (!matchLabels(filters.label, meta.Labels)) continue;
          if (filters['label!']?.length && matchLabels(filters['label!'], meta.Labels)) continue;
          if (this.users(name).length > 0) continue;
          const size = await this.driver.size(name).catch((err) => {
            this.log.warn({ err, volume: name }, 'could not determine size of volume');
            return 0;
          });
          try {
            await this.drop(name);
          } catch (err) {
            this.log.warn({ err, volume: name }, 'could not remove volume');
            continue;
          }
          report.VolumesDeleted.push(name);
          report.SpaceReclaimed += size;
        }
        await this.meta.delete(report.VolumesDeleted);
        this.events.publish('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
        return report;
      });
    } finally {
      this.pruning = false;
    }
  }

  /** The volumes as `GET /system/df` shows them: local ones without mount options, with UsageData. */
  async usage(): Promise<VolumeInfo[]> {
    const out: VolumeInfo[] = [];
    for (const name of [...this.names].sort()) {
      const meta = this.metaOf(name);
      if (meta.Driver !== LOCAL_DRIVER || (meta.Options && Object.keys(meta.Options).length > 0)) continue;
      const size = await this.driver.size(name).catch(() => -1);
      out.push({ ...(await this.info(name)), UsageData: { Size: size, RefCount: this.users(name).length } });
    }
    return out;
  }

  /** Record that container `containerId` uses the volume (NotFound when there is no such volume). */
  ref(name: string, containerId: string): void {
    this.mustExist(name);
    const set = this.refs.get(name) ?? new Set<string>();
    set.add(containerId);
    this.refs.set(name, set);
  }

  /** Forget one container's use of the volume; unknown pairs are ignored. */
  unref(name: string, containerId: string): void {
    const set = this.refs.get(name);
    if (!set) return;
    set.delete(containerId);
    if (set.size === 0) this.refs.delete(name);
  }

  /** The ids of the containers using the volume, in the order they took it. */
  users(name: string): string[] {
    return [...(this.refs.get(name) ?? [])];
  }

  /** Make the volume's data available (mounting it if it has mount options) and answer its path. */
  async mount(name: string, mountId: string): Promise<string> {
    this.mustExist(name);
    return this.driver.mount(name, mountId);
  }

  async unmount(name: string, mountId: string): Promise<void> {
    await this.driver.unmount(name, mountId);
  }

  /**
   * Seed the volume from an image: copy the content of `path` in `source` (a container's root
   * view) into the volume, with modes, owners, times, links and special files, and give the
   * volume's data directory the mode and owner of `path` (Docker's copy on first mount).
   * Does nothing, answering false, when `path` is no directory in the image or the volume is
   * not empty, as Docker never overwrites data.
   */
  async copyImageContent(name: string, source: MountedFs, path: string): Promise<boolean> {
    this.mustExist(name);
    const from = posix.join(source.root, posix.resolve('/', path));
    const st = await lstatOrNull(source.fs, from);
    if (!st?.isDirectory()) return false;
    const mountId = `copy-${randomBytes(8).toString('hex')}`;
    const data = await this.mount(name, mountId);
    // One copyTree call keeps hard links between entries; it wants a new directory, so the copy
    // is staged inside the data directory (same filesystem, even when that is a mount) and
    // its entries moved up.
    const staging = posix.join(data, `.seeding-${randomBytes(4).toString('hex')}`);
    const moved: string[] = [];
    try {
      if ((await this.fs.readdir(data)).length > 0) return false;
      const dst = ownershipTolerant(this.fs);
      await copyTree({ fs: source.fs, root: from }, { fs: dst, root: staging });
      for (const child of await this.fs.readdir(staging)) {
        await this.fs.rename(posix.join(staging, child), posix.join(data, child));
        moved.push(posix.join(data, child));
      }
      await this.fs.rm(staging, { recursive: true });
      const meta = await readMeta(source.fs, from, st);
      await applyMeta(dst, data, { ...meta, xattrs: {} }, { mode: true, times: false });
      return true;
    } catch (e) {
      // Leave the volume empty, so that the next mount tries again.
      for (const p of [staging, ...moved]) await this.fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
      if (isDockerError(e)) throw e;
      throw new SystemError(`copy ${path} of the image into volume ${name}: ${(e as Error).message}`, { cause: e });
    } finally {
      await this.unmount(name, mountId);
    }
  }

  /** Unmount what is still mounted (daemon shutdown). */
  async close(): Promise<void> {
    await this.driver.close();
  }
}
