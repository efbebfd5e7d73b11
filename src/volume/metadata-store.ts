import { posix } from 'node:path';
import type { HostFs } from '../kernel/host-fs';

/** What dockerd keeps in its volumes/metadata.db for a volume, beside the driver's own state. */
export interface VolumeMetadata {
  Driver: string;
  /** As the client gave them: null when it gave none, `{}` when it gave an empty map. */
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  /** Created without a name (by a container's anonymous volume or a create with no Name). */
  Anonymous: boolean;
}

interface MetadataFile {
  Volumes: Record<string, VolumeMetadata>;
}

/**
 * Volume metadata in one JSON file (`<graph>/volumes/metadata.json`), written atomically
 * after every change: a crash leaves the previous or the next state, never a torn file.
 * Writes are queued so concurrent changes never lose one another.
 */
export class VolumeMetadataStore {
  private entries = new Map<string, VolumeMetadata>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly fs: HostFs,
    private readonly root: string,
  ) {}

  get path(): string {
    return posix.join(this.root, 'metadata.json');
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = (await this.fs.readFile(this.path)).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const file = JSON.parse(text) as Partial<MetadataFile>;
    this.entries = new Map(Object.entries(file.Volumes ?? {}));
  }

  get(name: string): VolumeMetadata | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  async set(name: string, meta: VolumeMetadata): Promise<void> {
    const before = this.entries.get(name);
    this.entries.set(name, meta);
    await this.flush().catch((e) => {
      if (before) this.entries.set(name, before);
      else this.entries.delete(name);
      throw e;
    });
  }

  async delete(names: string[]): Promise<void> {
    const removed = names.flatMap((n) => {
      const m = this.entries.get(n);
      this.entries.delete(n);
      return m ? [[n, m] as const] : [];
    });
    if (removed.length === 0) return;
    await this.flush().catch((e) => {
      for (const [n, m] of removed) this.entries.set(n, m);
      throw e;
    });
  }

  private flush(): Promise<void> {
    const next = this.writing.then(() => {
      const file: MetadataFile = { Volumes: Object.fromEntries(this.entries) };
      return this.fs.writeFileAtomic(this.path, JSON.stringify(file), 0o600);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
