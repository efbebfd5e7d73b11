import type { Readable } from 'node:stream';
import type { HostFs } from './host-fs';

/** One entry of `changes`: Docker's kind numbers (0 modified, 1 added, 2 deleted). */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** A mounted layer or container filesystem: `fs` rooted so that `root` is the layer's `/`. */
export interface MountedFs {
  fs: HostFs;
  root: string;
}

/**
 * The graph driver: layered filesystems for images and containers (the seed's graphdriver).
 * Contract (each sentence is a case in the StorageDriver suite):
 * - `create(id, parent)` fails with Conflict when `id` exists and with NotFound when `parent`
 *   is given and does not exist; a new layer shows exactly its parent's content.
 * - `get(id)` mounts and returns the layer's filesystem; calls are counted, and the layer stays
 *   mounted until `put` has been called as many times as `get`. `get` of a missing id fails
 *   with NotFound.
 * - `remove(id)` fails with NotFound when `id` does not exist and with Conflict when another
 *   layer has it as parent; it unmounts a layer left mounted.
 * - `applyDiff(id, parent, tar)` applies a layer tar (whiteouts `.wh.NAME` delete, `.wh..wh..opq`
 *   makes a directory opaque) and returns the size of the applied content; a member that would
 *   escape the layer is refused with InvalidParameter and nothing is left applied.
 * - `diff(id, parent)` returns a tar that `applyDiff` on `parent` turns into `id`; `changes`
 *   lists the same differences; `diffSize` is the size of the files in `diff`.
 * - State survives a daemon restart: a new driver on the same root sees the same layers.
 */
export interface StorageDriver {
  readonly name: string;
  create(id: string, parent: string | null, opts?: { storageOpt?: Record<string, string> }): Promise<void>;
  /**
   * As `create`, but resolves as soon as the layer can be used (mounted, made a parent), with
   * `durable` resolving once it is on disk too (the same moment for a driver that cannot tell
   * the two apart). A caller that writes its own record of the layer lets both flush together.
   */
  createUsable(id: string, parent: string | null): Promise<{ durable: Promise<void> }>;
  remove(id: string): Promise<void>;
  get(id: string): Promise<MountedFs>;
  put(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  /** Rows for `/info`'s DriverStatus, e.g. [['Backing Filesystem', 'extfs']]. */
  status(): Promise<[string, string][]>;
  diff(id: string, parent: string | null): Promise<Readable>;
  changes(id: string, parent: string | null): Promise<Change[]>;
  applyDiff(id: string, parent: string | null, tar: Readable): Promise<number>;
  diffSize(id: string, parent: string | null): Promise<number>;
  /** Unmount everything and release resources; the layers stay on disk. */
  cleanup(): Promise<void>;
}
