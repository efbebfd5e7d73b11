import { posix } from 'node:path';
import type { Logger } from 'pino';
import { ConflictError, InvalidParameterError, NotFoundError, isDockerError } from '../errors';
import type { EventBus } from '../events/events';
import type { ContainerSpec, HostFs, StorageDriver } from '../kernel';
import type { VolumeService } from '../volume/volume-service';
import type { ContainerRecord, HostConfig, MountPoint, MountSpec } from './container';
import { parseBind } from './create-config';

/** What the container side needs of the volume service. */
export type MountVolumes = Pick<VolumeService, 'create' | 'ref' | 'unref' | 'remove' | 'mount' | 'unmount' | 'copyImageContent'>;

/** One mount a container asks for, before its volume exists. */
export interface MountRequest {
  point: MountPoint;
  /** Seed a volume from the image's content at the destination (Docker's copy-on-first-use). */
  copy: boolean;
  /** For a volume to create: its driver options and labels (`Mounts[].VolumeOptions`). */
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
  /** A `Mounts` bind: its source must exist (a legacy `-v` bind source is made instead). */
  mustExist?: boolean;
}

const BIND_PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];

/** `path` normalised, without a trailing slash. */
const tidy = (path: string) => posix.normalize(path).replace(/(.)\/+$/, '$1');

/** A mount path as dockerd keeps it: absolute, cleaned, never `/`. */
function cleanDestination(path: string, type: string): string {
  if (!path.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "${type}": invalid mount path: '${path}' mount path must be absolute`);
  const clean = tidy(path);
  if (clean === '/') throw new InvalidParameterError(`invalid mount config for type "${type}": invalid specification: destination can't be '/'`);
  return clean;
}

function point(type: MountPoint['Type'], fields: { name?: string; source: string; destination: string; mode: string; rw: boolean; propagation: string }): MountPoint {
  return {
    Type: type,
    ...(type === 'volume' ? { Name: fields.name ?? '' } : {}),
    Source: fields.source,
    Destination: fields.destination,
    ...(type === 'volume' ? { Driver: 'local' } : {}),
    Mode: fields.mode,
    RW: fields.rw,
    Propagation: fields.propagation,
  };
}

/** A `-v` entry of `HostConfig.Binds`: a host path bind, a named volume, or (`/path` alone) an anonymous volume. */
function bindRequest(spec: string): MountRequest {
  const b = parseBind(spec);
  const opts = b.mode ? b.mode.split(',') : [];
  const destination = cleanDestination(b.target, b.source.startsWith('/') ? 'bind' : 'volume');
  if (b.source.startsWith('/')) {
    const propagation = opts.find((o) => BIND_PROPAGATIONS.includes(o)) ?? 'rprivate';
    return { point: point('bind', { source: tidy(b.source), destination, mode: b.mode, rw: !b.readonly, propagation }), copy: false };
  }
  return { point: point('volume', { name: b.source, source: '', destination, mode: b.mode || 'z', rw: !b.readonly, propagation: '' }), copy: !opts.includes('nocopy') };
}

/** One entry of `HostConfig.Mounts` (`--mount`), with dockerd's checks of the fields per type. */
function mountRequest(m: MountSpec): MountRequest {
  const type = m.Type;
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw new InvalidParameterError(`invalid mount config: mount type unknown: "${type}"`);
  const misplaced = (['BindOptions', 'VolumeOptions', 'TmpfsOptions'] as const).find((f) => m[f] && f.toLowerCase() !== `${type}options`);
  if (misplaced) throw new InvalidParameterError(`invalid mount config for type "${type}": field ${misplaced} must not be specified`);
  const destination = cleanDestination(m.Target, type);
  const rw = !m.ReadOnly;
  if (type === 'tmpfs') {
    if (m.Source) throw new InvalidParameterError('invalid mount config for type "tmpfs": field Source must not be specified');
    return { point: point('tmpfs', { source: '', destination, mode: '', rw, propagation: '' }), copy: false };
  }
  if (type === 'bind') {
    const source = m.Source ?? '';
    if (!source) throw new InvalidParameterError('invalid mount config for type "bind": field Source must not be empty');
    if (!source.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
    const propagation = typeof m.BindOptions?.Propagation === 'string' && m.BindOptions.Propagation ? m.BindOptions.Propagation : 'rprivate';
    if (!BIND_PROPAGATIONS.includes(propagation)) throw new InvalidParameterError(`invalid mount config for type "bind": invalid propagation mode: ${propagation}`);
    return { point: point('bind', { source: tidy(source), destination, mode: '', rw, propagation }), copy: false, mustExist: true };
  }
  const vo = m.VolumeOptions ?? {};
  const driverConfig = (vo.DriverConfig ?? {}) as { Name?: string; Options?: Record<string, string> };
  const req: MountRequest = { point: point('volume', { name: m.Source ?? '', source: '', destination, mode: 'z', rw, propagation: '' }), copy: !vo.NoCopy };
  if (driverConfig.Name) req.point.Driver = driverConfig.Name;
  if (driverConfig.Options && Object.keys(driverConfig.Options).length) req.driverOpts = driverConfig.Options;
  if (vo.Labels) req.labels = vo.Labels as Record<string, string>;
  return req;
}

/**
 * The mounts of a new container, in dockerd's order and with its rules: the mount points of
 * `VolumesFrom` containers (`name[:ro|rw]`; `rw` never upgrades a read-only one), then
 * `Binds`, then `Mounts` (these two override what came from other containers; a destination
 * given twice among them is `Duplicate mount point: /path`), then an anonymous volume for each
 * path of `Volumes` (the image's and the request's) not mounted yet.
 */
export function planMounts(hc: HostConfig, volumes: Record<string, unknown> | null, volumesFrom: (ref: string) => ContainerRecord): MountRequest[] {
  const plan = new Map<string, MountRequest>();
  for (const entry of (hc.VolumesFrom as string[] | null | undefined) ?? []) {
    const [ref = '', mode = ''] = entry.split(':');
    if (mode && !['ro', 'rw'].includes(mode)) throw new InvalidParameterError(`invalid mode for volumes-from: ${mode}`);
    for (const mp of volumesFrom(ref).MountPoints) {
      plan.set(mp.Destination, { point: { ...mp, Mode: '', RW: mp.RW && mode !== 'ro' }, copy: false });
    }
  }
  const explicit = new Set<string>();
  const requests = [...(hc.Binds ?? []).map(bindRequest), ...(hc.Mounts ?? []).map(mountRequest)];
  for (const req of requests) {
    const dest = req.point.Destination;
    if (explicit.has(dest)) throw new InvalidParameterError(`Duplicate mount point: ${dest}`);
    explicit.add(dest);
    plan.set(dest, req);
  }
  for (const path of Object.keys(volumes ?? {})) {
    const dest = cleanDestination(path, 'volume');
    if (!plan.has(dest)) plan.set(dest, { point: point('volume', { name: '', source: '', destination: dest, mode: '', rw: true, propagation: '' }), copy: true });
  }
  return [...plan.values()];
}

/** Destinations of the volumes the user named (`-v name:/x`, `--mount source=name`): `rm -v` keeps those. */
function namedDestinations(hc: HostConfig): Set<string> {
  const out = new Set<string>();
  for (const b of hc.Binds ?? []) {
    const { source, target } = parseBind(b);
    if (source && !source.startsWith('/')) out.add(tidy(target));
  }
  for (const m of hc.Mounts ?? []) if (m.Type === 'volume' && m.Source) out.add(tidy(m.Target));
  return out;
}

/** tmpfs options of `Mounts[].TmpfsOptions` or of `HostConfig.Tmpfs` as mount(8) options. */
function tmpfsOptions(o: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  if (typeof o?.SizeBytes === 'number' && o.SizeBytes > 0) out.push(`size=${o.SizeBytes}`);
  if (typeof o?.Mode === 'number' && o.Mode > 0) out.push(`mode=${(o.Mode & 0o7777).toString(8)}`);
  return out;
}

export interface ContainerMountsDeps {
  volumes: MountVolumes;
  /** The host's filesystem, where bind sources live. */
  hostFs: HostFs;
  storage: StorageDriver;
  events: EventBus;
  log: Logger;
  /** A container by id or name (NotFound otherwise), for `VolumesFrom`. */
  container(ref: string): ContainerRecord;
}

/**
 * A container's binds, volumes and tmpfs mounts over its life. Contract:
 * - `create` validates the request (nothing is left behind on failure), creates the volumes it
 *   names (on demand) and the anonymous ones, takes a reference on each for the container,
 *   and seeds each volume from the image's content at its destination (unless `nocopy`, or
 *   the volume is not empty) as dockerd 20.10 does at create;
 * - `start` answers the spec's mounts, mounting the volumes (and making a missing legacy
 *   `-v` bind source directory); `stopped` releases those mounts;
 * - `remove` releases the container's references, and with `removeVolumes` removes its
 *   anonymous volumes (ones still used by another container are kept silently);
 * - `restore` takes the references again at daemon start (they live in memory).
 */
export class ContainerMounts {
  constructor(private readonly d: ContainerMountsDeps) {}

  async create(id: string, rwLayer: string, hc: HostConfig, volumes: Record<string, unknown> | null): Promise<MountPoint[]> {
    const plan = planMounts(hc, volumes, (ref) => this.d.container(ref));
    for (const req of plan) {
      if (req.mustExist && !(await this.d.hostFs.exists(req.point.Source))) {
        throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${req.point.Source}`);
      }
    }
    const created: string[] = [];
    const points: MountPoint[] = [];
    try {
      for (const req of plan) {
        const mp = { ...req.point };
        if (mp.Type === 'volume') {
          const anonymous = !mp.Name;
          const info = await this.d.volumes.create({ Name: mp.Name || undefined, Driver: mp.Driver, DriverOpts: req.driverOpts ?? null, Labels: req.labels ?? null }, { anonymous });
          if (anonymous) created.push(info.Name);
          this.d.volumes.ref(info.Name, id);
          Object.assign(mp, { Name: info.Name, Source: info.Mountpoint, Driver: info.Driver });
        }
        points.push(mp);
      }
      await this.seed(rwLayer, plan, points);
      return points;
    } catch (e) {
      for (const mp of points) if (mp.Type === 'volume') this.d.volumes.unref(mp.Name!, id);
      for (const name of created) await this.d.volumes.remove(name).catch(() => undefined);
      throw e;
    }
  }

  private async seed(rwLayer: string, plan: MountRequest[], points: MountPoint[]): Promise<void> {
    const wanted = points.filter((mp, i) => mp.Type === 'volume' && plan[i]!.copy);
    if (wanted.length === 0) return;
    const rootfs = await this.d.storage.get(rwLayer);
    try {
      for (const mp of wanted) await this.d.volumes.copyImageContent(mp.Name!, rootfs, mp.Destination);
    } finally {
      await this.d.storage.put(rwLayer);
    }
  }

  /** The spec's mounts for a start, parents before children; volumes are mounted for the container. */
  async start(rec: ContainerRecord): Promise<ContainerSpec['mounts']> {
    const out: ContainerSpec['mounts'] = [];
    const mounted: string[] = [];
    try {
      for (const mp of rec.MountPoints) {
        const readonly = !mp.RW;
        if (mp.Type === 'volume') {
          const source = await this.d.volumes.mount(mp.Name!, rec.ID);
          mounted.push(mp.Name!);
          this.d.events.publish('volume', 'mount', mp.Name!, { driver: mp.Driver ?? 'local', container: rec.ID, destination: mp.Destination, 'read/write': String(mp.RW), propagation: mp.Propagation });
          out.push({ type: 'volume', source, destination: mp.Destination, readonly });
        } else if (mp.Type === 'bind') {
          await this.bindSource(rec.HostConfig, mp);
          out.push({ type: 'bind', source: mp.Source, destination: mp.Destination, readonly, options: [mp.Propagation || 'rprivate'] });
        } else {
          const spec = rec.HostConfig.Mounts?.find((m) => m.Type === 'tmpfs' && tidy(m.Target) === mp.Destination);
          out.push({ type: 'tmpfs', source: 'tmpfs', destination: mp.Destination, readonly, options: tmpfsOptions(spec?.TmpfsOptions) });
        }
      }
      for (const [dest, opts] of Object.entries(rec.HostConfig.Tmpfs ?? {})) {
        out.push({ type: 'tmpfs', source: 'tmpfs', destination: tidy(dest), readonly: false, options: opts ? opts.split(',') : [] });
      }
    } catch (e) {
      for (const name of mounted) await this.d.volumes.unmount(name, rec.ID).catch(() => undefined);
      throw e;
    }
    const depth = (p: string) => p.split('/').length;
    return out.sort((a, b) => depth(a.destination) - depth(b.destination));
  }

  /** A legacy `-v /host:/x` source is made when missing (dockerd does at start); a `Mounts` one must exist. */
  private async bindSource(hc: HostConfig, mp: MountPoint): Promise<void> {
    if (await this.d.hostFs.exists(mp.Source)) return;
    const fromMounts = hc.Mounts?.some((m) => m.Type === 'bind' && tidy(m.Source ?? '') === mp.Source);
    if (fromMounts) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${mp.Source}`);
    await this.d.hostFs.mkdir(mp.Source, { recursive: true, mode: 0o755 });
  }

  /** After the container's process has exited (or failed to start): release its volume mounts. */
  async stopped(rec: ContainerRecord): Promise<void> {
    for (const mp of rec.MountPoints) {
      if (mp.Type !== 'volume') continue;
      await this.d.volumes.unmount(mp.Name!, rec.ID).catch((err: unknown) => this.d.log.warn({ err, id: rec.ID, volume: mp.Name }, 'could not unmount volume'));
      this.d.events.publish('volume', 'unmount', mp.Name!, { driver: mp.Driver ?? 'local', container: rec.ID });
    }
  }

  /** Drop the container's references; with `removeVolumes`, remove its anonymous volumes too (`docker rm -v`). */
  async remove(rec: ContainerRecord, removeVolumes: boolean): Promise<void> {
    const named = namedDestinations(rec.HostConfig);
    for (const mp of rec.MountPoints) {
      if (mp.Type !== 'volume') continue;
      this.d.volumes.unref(mp.Name!, rec.ID);
      if (!removeVolumes || named.has(mp.Destination)) continue;
      await this.d.volumes.remove(mp.Name!).catch((err: unknown) => {
        // In use by another container, or already gone: not an error of this removal.
        if (isDockerError(err) && (err instanceof ConflictError || err instanceof NotFoundError)) return;
        this.d.log.warn({ err, id: rec.ID, volume: mp.Name }, 'could not remove volume');
      });
    }
  }

  /** At daemon start: the container uses its volumes again. */
  restore(rec: ContainerRecord): void {
    for (const mp of rec.MountPoints) {
      if (mp.Type !== 'volume') continue;
      try {
        this.d.volumes.ref(mp.Name!, rec.ID);
      } catch (err) {
        this.d.log.warn({ err, id: rec.ID, volume: mp.Name }, 'a volume of the container is gone');
      }
    }
  }
}
