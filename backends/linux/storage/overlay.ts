import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { LayerDriver, LAYER_ID_PATTERN, overlayFormat, recoverStagedApplies, type DeferredDurability, type Tree } from '../../../src/archive';
import { InvalidParameterError, SystemError, UnavailableError } from '../../../src/errors';
import type { HostFs } from '../../../src/kernel/host-fs';
import { nodeHostFs } from '../../../src/kernel/node-host-fs';
import type { MountedFs } from '../../../src/kernel/storage';
import { RETIRED_PREFIX, retireDir, retiredRemovals, sweepRetired } from '../../../src/util/retire';
import { MNT_DETACH, mountFs, unmountFs } from '../host-helper';
import { mountsUnder } from '../mountinfo';

const run = promisify(execFile);
const LINK_DIR = 'l';
const SHORT_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `stat -f` names of the filesystems Docker reports as "Backing Filesystem". */
const BACKING_NAMES: Record<string, string> = { 'ext2/ext3': 'extfs', xfs: 'xfs', btrfs: 'btrfs', tmpfs: 'tmpfs', zfs: 'zfs' };

/**
 * Docker's overlay2 layout under `home`:
 * `<id>/diff` the layer's own entries (the overlay upper dir), `<id>/link` its short name,
 * `l/<short>` → `../<id>/diff`, `<id>/lower` the parent chain as `l/<short>:l/<short>...`
 * (nearest first), `<id>/work` and `<id>/merged` for mounting, `<id>/parent` the parent id
 * (written last: a layer without it was never completed and is dropped at open).
 * A layer without a parent is "mounted" as its diff dir; others by mount(2) of overlay with
 * paths relative to `home` so the options stay short (host-helper.ts). Whiteouts are 0:0
 * character devices, opaque directories carry trusted.overlay.opaque=y; `diff` and `changes`
 * read the upper dir.
 */
export class OverlayDriver extends LayerDriver {
  readonly name = 'overlay2';
  protected readonly format = overlayFormat;
  private readonly fs: HostFs = nodeHostFs();
  private readonly extraOpts = existsSync('/sys/module/overlay/parameters/index') ? ',index=off' : '';

  constructor(
    private readonly home: string,
    log?: Logger,
  ) {
    super(log);
  }

  async open(): Promise<this> {
    await fsp.mkdir(join(this.home, LINK_DIR), { recursive: true, mode: 0o700 });
    // A crash during a background removal (deleteMountedLayer) may have left a mount in a
    // retired layer: it goes before the sweep, which must never delete through a mount.
    for (const m of mountsUnder(this.home).filter((p) => p.slice(this.home.length + 1).startsWith(RETIRED_PREFIX))) {
      await unmountFs(m, MNT_DETACH).catch((e: Error) => this.log?.warn({ err: e, mount: m }, 'cannot unmount a retired layer'));
    }
    // Never deleted through a mount: a retired layer still mounted (its unmount failed) stays.
    const stillMounted = new Set(mountsUnder(this.home).map((p) => p.slice(this.home.length + 1).split('/')[0]));
    await sweepRetired(this.home, (name) => stillMounted.has(name));
    for (const id of await fsp.readdir(this.home)) {
      if (!LAYER_ID_PATTERN.test(id) || id === LINK_DIR) continue;
      const parent = await fsp.readFile(join(this.home, id, 'parent'), 'utf8').catch(() => undefined);
      if (parent === undefined) {
        await this.deleteLayer(id);
        continue;
      }
      await recoverStagedApplies(this.fs, join(this.home, id));
      this.register(id, parent || null);
    }
    return this;
  }

  async status(): Promise<[string, string][]> {
    return [
      ['Backing Filesystem', await backingFilesystem(this.home)],
      ['Supports d_type', 'true'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ];
  }

  protected upperTree(id: string): Tree {
    return { fs: this.fs, root: join(this.home, id, 'diff') };
  }

  protected async storeLayer(id: string, parent: string | null): Promise<DeferredDurability> {
    if (id === LINK_DIR) throw new InvalidParameterError(`layer id "${id}" is reserved by the overlay2 driver`);
    const dir = join(this.home, id);
    const short = shortId();
    try {
      // Small metadata calls on the daemon's own disk take microseconds: made synchronously, they
      // spare a thread-pool round trip each (~0.1 ms, more under load) on every container's
      // create. Only the completion marker, written with fsync, goes to the pool, and the layer
      // is usable as a parent meanwhile (a container's layer and its -init layer flush together).
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.mkdirSync(join(dir, 'diff'), { mode: 0o755 });
      fs.chmodSync(join(dir, 'diff'), 0o755);
      fs.symlinkSync(`../${id}/diff`, join(this.home, LINK_DIR, short));
      fs.writeFileSync(join(dir, 'link'), short);
      if (parent) {
        fs.mkdirSync(join(dir, 'work'), { mode: 0o700 });
        fs.writeFileSync(join(dir, 'lower'), this.lowerChain(parent));
      }
    } catch (e) {
      await this.deleteLayer(id);
      throw e;
    }
    return { durable: this.fs.writeFileAtomic(join(dir, 'parent'), parent ?? '') };
  }

  /** The `lower` file of a child of `parent`: the parent's link, then the parent's own chain. */
  private lowerChain(parent: string): string {
    const link = `${LINK_DIR}/${fs.readFileSync(join(this.home, parent, 'link'), 'utf8').trim()}`;
    const below = readIfThere(join(this.home, parent, 'lower'));
    return below ? `${link}:${below.trim()}` : link;
  }

  /** The link goes, the directory is renamed aside and deleted in the background (util/retire). */
  protected async deleteLayer(id: string): Promise<void> {
    await this.retireLayer(id);
  }

  private async retireLayer(id: string, before?: (aside: string) => Promise<void>): Promise<void> {
    const dir = join(this.home, id);
    const short = readIfThere(join(dir, 'link')).trim();
    if (short) fs.rmSync(join(this.home, LINK_DIR, short), { force: true });
    await retireDir(dir, { before });
  }

  /**
   * A mounted layer (a container's, removed right after its process ended) is renamed aside at
   * once; its unmount (1–3 ms through the helper here) and the deletion follow in the background.
   * `cleanup` (daemon stop) waits for them; `open` finishes what a crash left.
   */
  protected override async deleteMountedLayer(id: string): Promise<void> {
    await this.retireLayer(id, (aside) => this.detach(join(aside, 'merged')));
  }

  /**
   * Unmount detached (MNT_DETACH), as dockerd's overlay2 does: a process that still holds the
   * mount (one left in a shared pid namespace, a `docker cp` reader) cannot keep it in the mount
   * table, and the layer can still go; the kernel frees it after its last user.
   */
  private async detach(merged: string): Promise<void> {
    await unmountFs(merged, MNT_DETACH).catch((e: NodeJS.ErrnoException) => {
      // EINVAL: not mounted (a layer that was only read, or unmounted before a restart).
      if (e.code !== 'EINVAL' && e.code !== 'ENOENT') throw new SystemError(`error unmounting ${merged}: ${e.message}`, { cause: e });
    });
  }

  override async cleanup(): Promise<void> {
    await super.cleanup();
    await retiredRemovals();
  }

  protected async mount(id: string, parent: string | null): Promise<MountedFs> {
    if (parent === null) return this.upperTree(id);
    const lower = fs.readFileSync(join(this.home, id, 'lower'), 'utf8').trim();
    const merged = join(this.home, id, 'merged');
    fs.mkdirSync(merged, { recursive: true, mode: 0o700 });
    // Still mounted from before a daemon restart (its container kept running): use it.
    if (isMountPointSync(merged)) return { fs: this.fs, root: merged };
    const opts = `lowerdir=${lower},upperdir=${id}/diff,workdir=${id}/work${this.extraOpts}`;
    await mountFs('overlay', 'overlay', `${id}/merged`, opts, this.home).catch((e: Error) => {
      throw new SystemError(`error creating overlay mount to ${merged}: ${e.message}`, { cause: e });
    });
    return { fs: this.fs, root: merged };
  }

  protected async unmount(id: string): Promise<void> {
    const merged = join(this.home, id, 'merged');
    await this.detach(merged);
    try {
      fs.rmdirSync(merged);
    } catch {
      /* not there */
    }
  }

}

function shortId(): string {
  const bytes = randomBytes(26);
  return [...bytes].map((b) => SHORT_ID_CHARS[b % SHORT_ID_CHARS.length]).join('');
}

function readIfThere(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isMountPointSync(path: string): boolean {
  const self = fs.statSync(path, { throwIfNoEntry: false });
  const parent = fs.statSync(join(path, '..'), { throwIfNoEntry: false });
  return Boolean(self && parent && self.dev !== parent.dev);
}

/** Whether `path` is the root of a mount: an overlay mount has a device of its own. */
async function isMountPoint(path: string): Promise<boolean> {
  const [self, parent] = await Promise.all([fsp.stat(path).catch(() => undefined), fsp.stat(join(path, '..')).catch(() => undefined)]);
  return Boolean(self && parent && self.dev !== parent.dev);
}

async function backingFilesystem(path: string): Promise<string> {
  const { stdout } = await run('stat', ['-f', '-c', '%T', path]);
  const name = stdout.trim();
  return BACKING_NAMES[name] ?? name;
}

/**
 * Why overlay cannot serve layers under `home`, or undefined when it can: the kernel must list
 * overlay, `home` must not itself be on overlayfs, and a test mount with two lower layers and a
 * 0:0 whiteout must work (that needs root and the python3 helper for mknod).
 */
export async function overlayUnavailableReason(home: string): Promise<string | undefined> {
  if (process.platform !== 'linux') return `the host is ${process.platform}, not Linux`;
  if (process.getuid?.() !== 0) return 'overlay mounts need root';
  const filesystems = await fsp.readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/\boverlay$/m.test(filesystems)) return 'the kernel has no overlay filesystem (not in /proc/filesystems)';
  await fsp.mkdir(home, { recursive: true, mode: 0o700 });
  const backing = await backingFilesystem(home).catch(() => 'unknown');
  if (backing === 'overlayfs') return `${home} is on overlayfs, which cannot hold overlay upper dirs`;
  const dir = await fsp.mkdtemp(join(home, 'check-overlay-'));
  const fs = nodeHostFs();
  try {
    for (const d of ['lower1', 'lower2', 'upper', 'work', 'merged']) await fsp.mkdir(join(dir, d));
    await fs.mknod(join(dir, 'lower2', 'gone'), 'char', 0, 0, 0);
    await mountFs('overlay', 'overlay', 'merged', 'lowerdir=lower1:lower2,upperdir=upper,workdir=work', dir);
    await unmountFs(join(dir, 'merged'));
    return undefined;
  } catch (e) {
    return `a test overlay mount failed: ${(e as Error).message}`;
  } finally {
    if (await isMountPoint(join(dir, 'merged'))) await unmountFs(join(dir, 'merged')).catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The overlay2 driver under `home`; fails with Unavailable when overlay does not work there. */
export async function createOverlayDriver(home: string, log?: Logger): Promise<OverlayDriver> {
  const reason = await overlayUnavailableReason(home);
  if (reason) throw new UnavailableError(`driver not supported: overlay2: ${reason}`);
  return new OverlayDriver(home, log).open();
}
