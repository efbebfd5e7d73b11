import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors';
import type { Change, MountedFs, StorageDriver } from '../kernel/storage';
import { changesSize, layerChanges, asDockerChanges, type LayerChange } from './changes';
import { applyLayerAtomically } from './copy-tree';
import { exportLayer } from './export-layer';
import { LAYER_ID_PATTERN, type Tree } from './tree';
import type { WhiteoutFormat } from './whiteouts';

/**
 * What every storage driver shares: the layer graph (ids and parents), mount reference
 * counts, one lock for changes to the graph, the errors of the StorageDriver contract, and
 * diff/changes/applyDiff/diffSize in terms of a layer's own tree (`upperTree`) and its
 * parent's mounted view. A driver supplies where layers live and how they are mounted.
 *
 * `diff`, `changes` and `diffSize` take the layer's own parent (null for a base layer);
 * another parent is refused with InvalidParameter. `applyDiff` on a mounted layer is refused
 * with Conflict: the tree is swapped under the mount.
 */
/** What `storeLayer` returns when the layer is written and only its flush to disk is pending. */
export interface DeferredDurability {
  durable: Promise<void>;
}

export abstract class LayerDriver implements StorageDriver {
  abstract readonly name: string;
  protected abstract readonly format: WhiteoutFormat;
  private readonly parents = new Map<string, string | null>();
  /** Mounted layers; `touched` once handed out by `get` (written to, for all we know). */
  private readonly mounts = new Map<string, { count: number; fs: MountedFs; touched: boolean }>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(protected readonly log?: Logger) {}

  /** Write the new layer `id` to storage (it shows `parent`'s content). */
  protected abstract storeLayer(id: string, parent: string | null): Promise<void | DeferredDurability>;
  /** Delete `id` from storage (it is unmounted and has no children). */
  protected abstract deleteLayer(id: string): Promise<void>;
  /**
   * Delete `id` while it is still mounted (a container's layer removed right after its process
   * ended): by default unmount, then delete. A driver may detach the layer at once and finish
   * both in the background; `cleanup` waits for that.
   */
  protected async deleteMountedLayer(id: string): Promise<void> {
    await this.unmount(id);
    await this.deleteLayer(id);
  }
  protected abstract mount(id: string, parent: string | null): Promise<MountedFs>;
  protected abstract unmount(id: string): Promise<void>;
  /** Where the layer's own entries live: its whole tree, or its overlay upper dir. */
  protected abstract upperTree(id: string): Tree;
  abstract status(): Promise<[string, string][]>;

  /** Called when the content of `id` may have changed: after applyDiff, and when the last `get` is put. */
  protected async contentChanged(_id: string): Promise<void> {}

  /** For subclasses loading their state: make `id` known. */
  protected register(id: string, parent: string | null): void {
    this.parents.set(id, parent);
  }

  protected layerIds(): string[] {
    return [...this.parents.keys()];
  }

  protected parentOf(id: string): string | null {
    this.mustExist(id);
    return this.parents.get(id) ?? null;
  }

  async exists(id: string): Promise<boolean> {
    return this.parents.has(id);
  }

  /**
   * Resolves once the layer is complete on disk. A driver whose layer is usable as soon as it is
   * written and only waits for its flush to disk (`DeferredDurability`) lets the next operation
   * (a child's create) run during that flush: a container's two layers flush together.
   */
  async create(id: string, parent: string | null): Promise<void> {
    await (await this.createUsable(id, parent)).durable;
  }

  async createUsable(id: string, parent: string | null): Promise<{ durable: Promise<void> }> {
    const stored = await this.serial(async () => {
      if (!LAYER_ID_PATTERN.test(id)) throw new InvalidParameterError(`invalid layer id "${id}": use letters, digits, '_' and '-'`);
      if (this.parents.has(id)) throw new ConflictError(`layer ${id} already exists`);
      if (parent !== null && !this.parents.has(parent)) throw new NotFoundError(`parent layer ${parent} of ${id} does not exist`);
      const r = await this.storeLayer(id, parent);
      this.parents.set(id, parent);
      return r;
    });
    const durable = (async () => {
      if (!stored) return;
      try {
        await stored.durable;
      } catch (e) {
        // Not on disk: the layer goes (a child made meanwhile keeps it; its own create fails too).
        await this.remove(id).catch(() => undefined);
        throw e;
      }
    })().then(() => this.log?.debug({ layer: id, parent }, 'layer created'));
    durable.catch(() => undefined); // a caller that never waits for it does not leave it unhandled
    return { durable };
  }

  remove(id: string): Promise<void> {
    return this.serial(async () => {
      this.mustExist(id);
      const child = [...this.parents].find(([, p]) => p === id)?.[0];
      if (child !== undefined) throw new ConflictError(`layer ${id} is the parent of layer ${child}`);
      if (this.mounts.delete(id)) await this.deleteMountedLayer(id);
      else await this.deleteLayer(id);
      this.parents.delete(id);
      this.log?.debug({ layer: id }, 'layer removed');
    });
  }

  get(id: string): Promise<MountedFs> {
    return this.acquire(id, true);
  }

  put(id: string): Promise<void> {
    return this.serial(async () => {
      this.mustExist(id);
      const m = this.mounts.get(id);
      if (!m) return;
      if (--m.count > 0) return;
      this.mounts.delete(id);
      await this.unmount(id);
      if (m.touched) await this.contentChanged(id);
    });
  }

  private acquire(id: string, touch: boolean): Promise<MountedFs> {
    return this.serial(async () => {
      this.mustExist(id);
      const m = this.mounts.get(id);
      if (m) {
        m.count++;
        m.touched ||= touch;
        return m.fs;
      }
      const fs = await this.mount(id, this.parents.get(id) ?? null);
      this.mounts.set(id, { count: 1, fs, touched: touch });
      return fs;
    });
  }

  /** The number of outstanding `get`s of `id` (0 when unmounted). */
  mountCount(id: string): number {
    return this.mounts.get(id)?.count ?? 0;
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    return asDockerChanges(await this.layerChanges(id, parent));
  }

  async diff(id: string, parent: string | null): Promise<Readable> {
    return exportLayer(this.upperTree(id), await this.layerChanges(id, parent));
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    return changesSize(this.upperTree(id), await this.layerChanges(id, parent));
  }

  applyDiff(id: string, parent: string | null, tar: Readable): Promise<number> {
    return this.serial(async () => {
      this.checkParent(id, parent);
      if (this.mounts.has(id)) throw new ConflictError(`layer ${id} is mounted; a diff is applied to unmounted layers only`);
      const size = await applyLayerAtomically(this.upperTree(id), tar, this.format);
      await this.contentChanged(id);
      return size;
    });
  }

  cleanup(): Promise<void> {
    return this.serial(async () => {
      for (const [id, m] of [...this.mounts]) {
        this.mounts.delete(id);
        await this.unmount(id);
        if (m.touched) await this.contentChanged(id);
      }
    });
  }

  private async layerChanges(id: string, parent: string | null): Promise<LayerChange[]> {
    this.checkParent(id, parent);
    if (parent === null) return layerChanges(this.upperTree(id), null, this.format);
    return this.withParentView(parent, (lower) => layerChanges(this.upperTree(id), lower, this.format));
  }

  /** Run `fn` on the parent's merged content; by default the parent is mounted meanwhile. */
  protected async withParentView<T>(parent: string, fn: (lower: Tree) => Promise<T>): Promise<T> {
    const lower = await this.acquire(parent, false);
    try {
      return await fn(lower);
    } finally {
      await this.put(parent);
    }
  }

  /** The layer tar of `id` against its parent, without taking the lock (for `contentChanged`). */
  protected async exportOwnDiff(id: string): Promise<Readable> {
    return exportLayer(this.upperTree(id), await this.layerChanges(id, this.parentOf(id)));
  }

  private checkParent(id: string, parent: string | null): void {
    const actual = this.parentOf(id);
    if (parent !== actual) throw new InvalidParameterError(`layer ${id} has parent ${actual ?? '(none)'}, not ${parent ?? '(none)'}`);
  }

  private mustExist(id: string): void {
    if (!this.parents.has(id)) throw new NotFoundError(`layer ${id} does not exist`);
  }

  /** Run `fn` after every earlier graph or mount change has finished. */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
