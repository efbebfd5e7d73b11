import { posix } from 'node:path';
import type { Logger } from 'pino';
import type { HostFs } from '../kernel/host-fs';
import type { MountedFs } from '../kernel/storage';
import { copyTree, recoverStagedApplies } from './copy-tree';
import { LayerDriver, type DeferredDurability } from './layer-driver';
import { LAYER_ID_PATTERN, type Tree } from './tree';
import { fullTreeFormat } from './whiteouts';

/**
 * Layers as full directory trees, each a complete copy of its parent made at `create`
 * (Docker's vfs): slow to create and large, but needs nothing from the kernel. Works on any
 * HostFs, so it backs both the Linux `vfs` driver and the in-memory fake.
 *
 * On `fs` under `home`: `dir/<id>/` is the layer's root, `parents/<id>` names its parent
 * (empty for a base layer) and is written last, so a layer without it was never completed
 * and is dropped when the driver opens. Mounting is only reference counting.
 */
export class FullCopyDriver extends LayerDriver {
  protected readonly format = fullTreeFormat;

  constructor(
    readonly name: string,
    protected readonly fs: HostFs,
    protected readonly home: string,
    log?: Logger,
  ) {
    super(log);
  }

  /** Create the directories if needed and load the layers found there. */
  async open(): Promise<this> {
    await this.fs.mkdir(this.path('dir'), { recursive: true, mode: 0o700 });
    await this.fs.mkdir(this.path('parents'), { recursive: true, mode: 0o700 });
    await recoverStagedApplies(this.fs, this.path('dir'));
    const complete = new Set(await this.fs.readdir(this.path('parents')));
    for (const id of complete) {
      if (!LAYER_ID_PATTERN.test(id)) continue;
      const parent = (await this.fs.readFile(this.path('parents', id))).toString();
      this.register(id, parent || null);
    }
    for (const id of await this.fs.readdir(this.path('dir'))) {
      if (!complete.has(id)) await this.fs.rm(this.path('dir', id), { recursive: true, force: true });
    }
    return this;
  }

  async status(): Promise<[string, string][]> {
    return [];
  }

  protected path(...parts: string[]): string {
    return posix.join(this.home, ...parts);
  }

  protected upperTree(id: string): Tree {
    return { fs: this.fs, root: this.path('dir', id) };
  }

  /** A parent's tree is always there to read: no mount needed (and no lock taken). */
  protected override async withParentView<T>(parent: string, fn: (lower: Tree) => Promise<T>): Promise<T> {
    return fn(this.upperTree(parent));
  }

  protected async storeLayer(id: string, parent: string | null): Promise<void | DeferredDurability> {
    const root = this.upperTree(id);
    try {
      if (parent) await copyTree(this.upperTree(parent), root);
      else {
        await this.fs.mkdir(root.root, { mode: 0o755 });
        await this.fs.chmod(root.root, 0o755);
      }
      await this.fs.writeFileAtomic(this.path('parents', id), parent ?? '');
    } catch (e) {
      await this.fs.rm(root.root, { recursive: true, force: true });
      throw e;
    }
  }

  protected async deleteLayer(id: string): Promise<void> {
    await this.fs.rm(this.path('parents', id), { force: true });
    await this.fs.rm(this.path('dir', id), { recursive: true, force: true });
  }

  protected async mount(id: string): Promise<MountedFs> {
    return this.upperTree(id);
  }

  protected async unmount(): Promise<void> {}
}
