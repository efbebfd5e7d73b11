import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { applyLayer, FullCopyDriver, fullTreeFormat, LAYER_ID_PATTERN } from '../../src/archive';
import type { HostFs } from '../../src/kernel/host-fs';
import { nodeHostFs } from '../../src/kernel/node-host-fs';
import { memfsHostFs } from './memfs-host-fs';

interface LayerRecord {
  parent: string | null;
}

/**
 * The fake backend's graph driver: every layer is a full in-memory tree (one memfs volume
 * holds them all, laid out like vfs), copied from its parent at `create`. Memory grows with
 * each layer, which suits the small images an emulator serves.
 *
 * Persistence, so a restarted daemon finds its layers: under `home` on `disk`,
 * `<id>.json` ({ parent }) is written when the layer is created and `<id>.tar` (the layer's
 * diff against its parent) after `applyDiff`, after the last `put` of a `get`, and for layers
 * still mounted at `cleanup` — each atomically. Writes through a mount that was never put
 * back are lost if the process dies. `createMemfsDriver` on the same home loads every layer
 * back into memory, parents first, by applying those tars.
 */
export class MemfsDriver extends FullCopyDriver {
  private loading = false;

  constructor(
    private readonly disk: HostFs,
    private readonly diskHome: string,
    log?: Logger,
  ) {
    super('memfs', memfsHostFs(), '/', log);
  }

  async load(): Promise<this> {
    await this.disk.mkdir(this.diskHome, { recursive: true, mode: 0o700 });
    await this.open();
    const records = new Map<string, LayerRecord>();
    for (const name of await this.disk.readdir(this.diskHome)) {
      const id = name.endsWith('.json') ? name.slice(0, -5) : '';
      if (!LAYER_ID_PATTERN.test(id)) continue;
      records.set(id, JSON.parse((await this.disk.readFile(this.file(id, 'json'))).toString()) as LayerRecord);
    }
    this.loading = true;
    try {
      const loaded = new Set<string>();
      const loadOne = async (id: string): Promise<void> => {
        if (loaded.has(id)) return;
        loaded.add(id);
        const { parent } = records.get(id)!;
        if (parent !== null) {
          if (!records.has(parent)) {
            this.log?.warn({ layer: id, parent }, 'memfs layer skipped: its parent is missing on disk');
            return;
          }
          await loadOne(parent);
          if (!(await this.exists(parent))) return;
        }
        await this.create(id, parent);
        const tar = this.file(id, 'tar');
        if (await this.disk.exists(tar)) await applyLayer(this.upperTree(id), this.disk.createReadStream(tar), fullTreeFormat);
      };
      for (const id of records.keys()) await loadOne(id);
    } finally {
      this.loading = false;
    }
    return this;
  }

  private file(id: string, ext: 'json' | 'tar'): string {
    return posix.join(this.diskHome, `${id}.${ext}`);
  }

  protected override async storeLayer(id: string, parent: string | null): Promise<void> {
    await super.storeLayer(id, parent);
    if (!this.loading) await this.disk.writeFileAtomic(this.file(id, 'json'), JSON.stringify({ parent } satisfies LayerRecord));
  }

  protected override async deleteLayer(id: string): Promise<void> {
    await this.disk.rm(this.file(id, 'json'), { force: true });
    await this.disk.rm(this.file(id, 'tar'), { force: true });
    await super.deleteLayer(id);
  }

  protected override async contentChanged(id: string): Promise<void> {
    if (this.loading) return;
    await this.disk.writeFileAtomic(this.file(id, 'tar'), await collect(await this.exportOwnDiff(id)));
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A memfs driver whose layers persist under `home` (on the real disk unless `disk` says otherwise). */
export async function createMemfsDriver(home: string, log?: Logger, disk: HostFs = nodeHostFs()): Promise<MemfsDriver> {
  return new MemfsDriver(disk, home, log).load();
}
