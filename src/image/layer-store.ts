import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { NotFoundError, SystemError } from '../errors';
import type { StorageDriver } from '../kernel';
import { randomId, syncDir, writeAtomic } from '../util/atomic';
import { DigestingStream, sha256, type Digest } from './digest';

/** One read-only layer of the graph, keyed by chain ID (image spec). */
export interface LayerRecord {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  /** The storage driver's id for this layer's filesystem. */
  cacheId: string;
  /** Size of the layer's content (the driver's applyDiff answer). */
  size: number;
  /** The layer as a gzip blob kept beside it (for push and save). */
  compressed: { digest: Digest; size: number };
}

/**
 * The layer store: layer metadata under `<root>/sha256/<chain>/` in Docker's layerdb habit,
 * filesystems in the storage driver, and each layer's gzip blob beside its metadata so that
 * save and push reproduce the exact bytes (the diff ID and the registry digest).
 *
 * Crash safety: a layer is built in `<root>/tmp/<random>/` (with an `intent` file naming its
 * driver id) and renamed into place only when complete. At load, leftovers are removed with
 * their driver layers, so a kill at any moment leaves no half layer.
 */
export class LayerStore {
  private readonly layers = new Map<Digest, LayerRecord>();

  constructor(
    private readonly root: string,
    readonly driver: StorageDriver,
    private readonly log: Logger,
  ) {}

  async load(): Promise<void> {
    await mkdir(join(this.root, 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
    for (const t of await readdir(join(this.root, 'tmp'))) {
      const dir = join(this.root, 'tmp', t);
      const intent = await readFile(join(dir, 'intent'), 'utf8').catch(() => '');
      if (intent && (await this.driver.exists(intent))) await this.driver.remove(intent).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      this.log.info({ dir }, 'removed an unfinished layer left by an earlier run');
    }
    for (const hex of await readdir(join(this.root, 'sha256'))) {
      const dir = join(this.root, 'sha256', hex);
      try {
        const rec = JSON.parse(await readFile(join(dir, 'layer.json'), 'utf8')) as LayerRecord;
        if (!(await this.driver.exists(rec.cacheId))) throw new Error(`driver layer ${rec.cacheId} is missing`);
        this.layers.set(rec.chainId, rec);
      } catch (e) {
        this.log.warn({ err: e, dir }, 'dropping a damaged layer record');
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  get(chainId: Digest): LayerRecord | undefined {
    return this.layers.get(chainId);
  }

  has(chainId: Digest): boolean {
    return this.layers.has(chainId);
  }

  all(): LayerRecord[] {
    return [...this.layers.values()];
  }

  /** Total size of a chain: the layer and its parents. */
  chainSize(chainId: Digest): number {
    let size = 0;
    for (let l = this.layers.get(chainId); l; l = l.parent ? this.layers.get(l.parent) : undefined) size += l.size;
    return size;
  }

  private dir(chainId: Digest): string {
    return join(this.root, 'sha256', chainId.slice(7));
  }

  blobPath(chainId: Digest): string {
    return join(this.dir(chainId), 'layer.tar.gz');
  }

  /**
   * Register a layer on top of `parent` from its tar (uncompressed, or a verified gzip file).
   * Returns the existing record when the same chain is already stored (nothing is duplicated).
   */
  async register(
    parent: Digest | null,
    source: { tar: Readable } | { gzipFile: string; digest: Digest },
    expectedDiffId?: Digest,
  ): Promise<LayerRecord> {
    if (parent && !this.layers.has(parent)) throw new NotFoundError(`parent layer ${parent} not found`);
    const tmp = join(this.root, 'tmp', randomId(8));
    await mkdir(tmp, { recursive: true });
    const cacheId = randomId();
    await writeFile(join(tmp, 'intent'), cacheId);
    const parentCache = parent ? this.layers.get(parent)!.cacheId : null;
    try {
      await this.driver.create(cacheId, parentCache);
      const digesting = new DigestingStream(expectedDiffId);
      let size: number;
      let compressed: { digest: Digest; size: number };
      if ('tar' in source) {
        // One pass: hash, apply, and keep a gzip copy.
        const toDriver = new PassThrough();
        const toBlob = new PassThrough();
        digesting.pipe(toDriver);
        digesting.pipe(toBlob);
        // pipe() does not pass errors on: a bad or failing source must stop both readers too
        // (closed without an error of their own: the source's error is the one reported).
        digesting.once('error', () => {
          toDriver.destroy();
          toBlob.destroy();
        });
        const blobDigest = new DigestingStream();
        const [applied] = await Promise.all([
          this.driver.applyDiff(cacheId, parentCache, toDriver),
          pipeline(toBlob, createGzip(), blobDigest, createWriteStream(join(tmp, 'layer.tar.gz'))),
          pipeline(source.tar, digesting),
        ]);
        size = applied;
        compressed = { digest: blobDigest.digest, size: blobDigest.bytes };
      } else {
        const gunzip = createGunzip();
        const applying = this.driver.applyDiff(cacheId, parentCache, digesting);
        await Promise.all([pipeline(createReadStream(source.gzipFile), gunzip, digesting), applying]);
        size = await applying;
        await rename(source.gzipFile, join(tmp, 'layer.tar.gz'));
        compressed = { digest: source.digest, size: (await stat(join(tmp, 'layer.tar.gz'))).size };
      }
      const diffId = digesting.digest;
      const chainId = parent ? sha256(`${parent} ${diffId}`) : diffId;
      const existing = this.layers.get(chainId);
      if (existing) {
        await this.driver.remove(cacheId);
        await rm(tmp, { recursive: true, force: true });
        return existing;
      }
      const rec: LayerRecord = { chainId, diffId, parent, cacheId, size, compressed };
      await writeAtomic(join(tmp, 'layer.json'), JSON.stringify(rec));
      await rm(join(tmp, 'intent'));
      await rename(tmp, this.dir(chainId));
      await syncDir(join(this.root, 'sha256'));
      this.layers.set(chainId, rec);
      return rec;
    } catch (e) {
      if (await this.driver.exists(cacheId).catch(() => false)) await this.driver.remove(cacheId).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** The layer's exact uncompressed tar (its sha256 is the diff ID). */
  tar(chainId: Digest): Readable {
    const rec = this.layers.get(chainId);
    if (!rec) throw new NotFoundError(`layer ${chainId} not found`);
    const out = createReadStream(this.blobPath(chainId)).pipe(createGunzip());
    return out;
  }

  /** The layer's gzip blob (its sha256 is `compressed.digest`). */
  gzip(chainId: Digest): Readable {
    if (!this.layers.has(chainId)) throw new NotFoundError(`layer ${chainId} not found`);
    return createReadStream(this.blobPath(chainId));
  }

  /** Remove a layer no image or container uses; the caller decides that (see ImageStore). */
  async remove(chainId: Digest): Promise<void> {
    const rec = this.layers.get(chainId);
    if (!rec) return;
    if (this.all().some((l) => l.parent === chainId)) throw new SystemError(`layer ${chainId} still has children`);
    // Metadata first: a crash after this leaves only an orphan driver layer, never a record without data.
    const grave = join(this.root, 'tmp', `rm-${randomId(8)}`);
    await rename(this.dir(chainId), grave);
    await writeFile(join(grave, 'intent'), rec.cacheId);
    this.layers.delete(chainId);
    await this.driver.remove(rec.cacheId).catch((e: unknown) => this.log.warn({ err: e, chainId }, 'could not remove the driver layer'));
    await rm(grave, { recursive: true, force: true });
  }
}
