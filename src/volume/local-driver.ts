import { posix } from 'node:path';
import type { Logger } from 'pino';
import { ConflictError, InvalidParameterError, NotFoundError, NotImplementedError } from '../errors';
import type { HostFs } from '../kernel/host-fs';
import { lstatOrNull } from '../archive/tree';

/** The driver every daemon has; other names would be plugins, which this daemon does not load. */
export const LOCAL_DRIVER = 'local';

/** How a `local` volume with `type`/`device`/`o` options is mounted on its data directory. */
export interface MountConfig {
  type: string;
  device: string;
  /** The `o` option as given (comma-separated mount options), possibly empty. */
  options: string;
}

/**
 * Mounts for `local` volumes that carry `type`/`device`/`o` options (tmpfs, bind, nfs ...).
 * Absent where the daemon cannot mount (the fake backend, a daemon not running as root):
 * such volumes can then be created and inspected but not used.
 */
export interface VolumeMounter {
  mount(config: MountConfig, target: string): Promise<void>;
  unmount(target: string): Promise<void>;
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The driver options `local` accepts (dockerd 20.10's validOpts). */
const VALID_OPTIONS = new Set(['type', 'device', 'o', 'size']);
/** An option that needs others beside it (dockerd 20.10's mandatoryOpts). */
const REQUIRED_WITH: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device'] };

/** Docker's rule for `local` volume names; the message is dockerd's, without its "create <name>: " prefix. */
export function validateLocalName(name: string): void {
  if (name.length === 1) throw new InvalidParameterError('volume name is too short, names should be at least two alphanumeric characters');
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidParameterError(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

/** Docker's checks on `local` driver options, in dockerd's order and words (without the prefix). */
export function validateLocalOptions(opts: Record<string, string>): void {
  for (const key of Object.keys(opts)) {
    if (!VALID_OPTIONS.has(key)) throw new InvalidParameterError(`invalid option: ${JSON.stringify(key)}`);
  }
  // `size` needs project quotas on the backing filesystem (xfs with pquota); none are managed here.
  if (opts.size !== undefined && opts.size !== '0') throw new InvalidParameterError('quota size requested but no quota support');
  for (const [key, needed] of Object.entries(REQUIRED_WITH)) {
    if (opts[key] === undefined) continue;
    for (const other of needed) {
      if (opts[other] === undefined) throw new InvalidParameterError(`missing required option: ${JSON.stringify(other)}`);
    }
  }
}

function mountConfigOf(opts: Record<string, string>): MountConfig | undefined {
  if (opts.type === undefined && opts.device === undefined) return undefined;
  return { type: opts.type ?? '', device: opts.device ?? '', options: opts.o ?? '' };
}

/** dockerd's opts.json beside `_data` (its field names, so an operator reads the same file). */
interface OptsFile {
  MountType: string;
  MountOpts: string;
  MountDevice: string;
  Quota: { Size: number };
}

/**
 * The `local` volume driver: each volume is `<root>/<name>/_data` (root is `<graph>/volumes`),
 * with dockerd's modes (0701 for the volume directory, 0755 for `_data`) and, for a volume
 * with mount options, `<root>/<name>/opts.json`. Contract:
 * - `create` of an existing name leaves it as it is;
 * - a volume with mount options is mounted on its first `mount` and unmounted on the last
 *   `unmount`; without a mounter that first `mount` fails with NotImplemented;
 * - `remove` fails with Conflict while the volume has active mounts;
 * - `list` after a restart finds every volume directory that has a `_data`.
 */
export class LocalDriver {
  private readonly mounts = new Map<string, Set<string>>();

  constructor(
    private readonly fs: HostFs,
    readonly root: string,
    private readonly log: Logger,
    private readonly mounter?: VolumeMounter,
  ) {}

  /** Make the root and answer the names of the volumes already on disk. */
  async load(): Promise<string[]> {
    await this.fs.mkdir(this.root, { recursive: true, mode: 0o701 });
    const names: string[] = [];
    for (const name of await this.fs.readdir(this.root)) {
      if (!NAME_PATTERN.test(name)) continue;
      const st = await lstatOrNull(this.fs, this.dataPath(name));
      if (st?.isDirectory()) names.push(name);
    }
    return names.sort();
  }

  dataPath(name: string): string {
    return posix.join(this.root, name, '_data');
  }

  async exists(name: string): Promise<boolean> {
    return (await lstatOrNull(this.fs, this.dataPath(name)))?.isDirectory() ?? false;
  }

  /** Create the volume's directories (and opts.json); options must have been validated. */
  async create(name: string, opts: Record<string, string>): Promise<void> {
    validateLocalName(name);
    const dir = posix.join(this.root, name);
    const existed = await lstatOrNull(this.fs, dir);
    try {
      await this.fs.mkdir(dir, { mode: 0o701 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      await this.fs.chmod(dir, 0o701);
      await this.fs.mkdir(this.dataPath(name), { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      const mount = mountConfigOf(opts);
      if (mount) {
        const file: OptsFile = { MountType: mount.type, MountOpts: mount.options, MountDevice: mount.device, Quota: { Size: 0 } };
        await this.fs.writeFileAtomic(posix.join(dir, 'opts.json'), JSON.stringify(file), 0o600);
      }
    } catch (e) {
      if (!existed) await this.fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }

  /** The volume's mount options as dockerd's opts.json keeps them, or undefined for a plain volume. */
  async mountConfig(name: string): Promise<MountConfig | undefined> {
    let text: Buffer;
    try {
      text = await this.fs.readFile(posix.join(this.root, name, 'opts.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const file = JSON.parse(text.toString('utf8')) as Partial<OptsFile>;
    return { type: file.MountType ?? '', device: file.MountDevice ?? '', options: file.MountOpts ?? '' };
  }

  /** Docker's CreatedAt: the change time of the volume's directory. */
  async createdAt(name: string): Promise<Date> {
    try {
      return (await this.fs.stat(posix.join(this.root, name))).ctime;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`get ${name}: no such volume`);
      throw e;
    }
  }

  /** Make the data available under `ref` and answer its path; mounts on the first reference. */
  async mount(name: string, ref: string): Promise<string> {
    const path = this.dataPath(name);
    const active = this.mounts.get(name) ?? new Set<string>();
    if (active.size === 0) {
      const config = await this.mountConfig(name);
      if (config) {
        if (!this.mounter) {
          throw new NotImplementedError(`mount ${name}: the local driver's mount options (type, device, o) need the Linux backend running as root`);
        }
        if (!config.device) throw new InvalidParameterError(`mount ${name}: missing device in volume options`);
        await this.mounter.mount(config, path);
        this.log.debug({ volume: name, type: config.type }, 'mounted volume');
      }
    }
    active.add(ref);
    this.mounts.set(name, active);
    return path;
  }

  /** Drop `ref`; unmounts when it was the last one. Unknown refs are ignored. */
  async unmount(name: string, ref: string): Promise<void> {
    const active = this.mounts.get(name);
    if (!active?.delete(ref) || active.size > 0) return;
    this.mounts.delete(name);
    if (await this.mountConfig(name)) await this.mounter?.unmount(this.dataPath(name));
  }

  activeMounts(name: string): number {
    return this.mounts.get(name)?.size ?? 0;
  }

  async remove(name: string): Promise<void> {
    if (this.activeMounts(name) > 0) throw new ConflictError(`remove ${name}: volume has active mounts`);
    await this.fs.rm(posix.join(this.root, name), { recursive: true, force: true });
  }

  /**
   * Bytes of the volume's data as Docker counts them (`directory.Size`): the sizes of every
   * entry but directories, a hard-linked inode once.
   */
  async size(name: string): Promise<number> {
    const seen = new Set<number>();
    const walk = async (dir: string): Promise<number> => {
      let total = 0;
      for (const child of await this.fs.readdir(dir)) {
        const path = posix.join(dir, child);
        const st = await lstatOrNull(this.fs, path);
        if (!st) continue;
        if (st.isDirectory()) {
          total += await walk(path);
          continue;
        }
        if (st.nlink > 1) {
          if (seen.has(st.ino)) continue;
          seen.add(st.ino);
        }
        total += st.size;
      }
      return total;
    };
    return walk(this.dataPath(name));
  }

  /** Unmount whatever is still mounted (daemon shutdown). */
  async close(): Promise<void> {
    for (const name of [...this.mounts.keys()]) {
      const refs = [...(this.mounts.get(name) ?? [])];
      for (const ref of refs) await this.unmount(name, ref).catch((err) => this.log.warn({ err, volume: name }, 'unmount failed'));
    }
  }
}
