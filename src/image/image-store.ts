import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { NotFoundError } from '../errors';
import { writeAtomic } from '../util/atomic';
import { chainIds, sha256, type Digest } from './digest';
import { checkImageConfig, type ImageConfig } from './image-config';

export interface ImageRecord {
  id: Digest;
  config: ImageConfig;
  /** The exact config bytes (the ID is their sha256). */
  raw: Buffer;
  /** Chain IDs of the layers, bottom first. */
  chain: Digest[];
  parent: Digest | null;
  lastTagTime: string | null;
}

/**
 * Image configs, content-addressed under `<root>/content/sha256/<hex>`, with per-image metadata
 * (parent, last tag time) under `<root>/metadata/sha256/<hex>/` (Docker's imagedb habit).
 */
export class ImageStore {
  private readonly images = new Map<Digest, ImageRecord>();

  constructor(
    private readonly root: string,
    private readonly log: Logger,
  ) {}

  async load(): Promise<void> {
    const content = join(this.root, 'content', 'sha256');
    await mkdir(content, { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'metadata', 'sha256'), { recursive: true, mode: 0o700 });
    for (const hex of await readdir(content)) {
      if (hex.startsWith('.')) {
        await rm(join(content, hex), { force: true });
        continue;
      }
      try {
        const raw = await readFile(join(content, hex));
        if (sha256(raw) !== `sha256:${hex}`) throw new Error('content does not match its digest');
        const config = JSON.parse(raw.toString('utf8')) as unknown;
        checkImageConfig(config);
        const meta = join(this.root, 'metadata', 'sha256', hex);
        const parent = ((await readFile(join(meta, 'parent'), 'utf8').catch(() => '')) || null) as Digest | null;
        const lastTagTime = (await readFile(join(meta, 'lastUpdated'), 'utf8').catch(() => '')) || null;
        const id = `sha256:${hex}` as Digest;
        this.images.set(id, { id, config, raw, chain: chainIds(config.rootfs.diff_ids), parent, lastTagTime });
      } catch (e) {
        this.log.warn({ err: e, image: hex }, 'dropping a damaged image config');
        await rm(join(content, hex), { force: true });
      }
    }
  }

  get(id: Digest): ImageRecord | undefined {
    return this.images.get(id);
  }

  all(): ImageRecord[] {
    return [...this.images.values()];
  }

  /** Images whose ID starts with `prefix` (hex, without sha256:). */
  byPrefix(prefix: string): ImageRecord[] {
    return this.all().filter((i) => i.id.slice(7).startsWith(prefix));
  }

  /** Store a config (its layers must already be registered); returns the image, new or existing. */
  async create(raw: Buffer, parent: Digest | null = null): Promise<ImageRecord> {
    const config = JSON.parse(raw.toString('utf8')) as unknown;
    checkImageConfig(config);
    const id = sha256(raw);
    const existing = this.images.get(id);
    if (existing) return existing;
    await writeAtomic(join(this.root, 'content', 'sha256', id.slice(7)), raw, 0o600);
    if (parent) await writeAtomic(join(this.root, 'metadata', 'sha256', id.slice(7), 'parent'), parent);
    const rec: ImageRecord = { id, config, raw, chain: chainIds(config.rootfs.diff_ids), parent, lastTagTime: null };
    this.images.set(id, rec);
    return rec;
  }

  async touchTagTime(id: Digest, when: string): Promise<void> {
    const rec = this.images.get(id);
    if (!rec) throw new NotFoundError(`No such image: ${id}`);
    rec.lastTagTime = when;
    await writeAtomic(join(this.root, 'metadata', 'sha256', id.slice(7), 'lastUpdated'), when);
  }

  async delete(id: Digest): Promise<void> {
    if (!this.images.has(id)) return;
    await rm(join(this.root, 'content', 'sha256', id.slice(7)), { force: true });
    await rm(join(this.root, 'metadata', 'sha256', id.slice(7)), { recursive: true, force: true });
    this.images.delete(id);
  }

  children(id: Digest): ImageRecord[] {
    return this.all().filter((i) => i.parent === id);
  }
}
