import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError } from '../errors';
import { writeAtomic } from '../util/atomic';
import { retireDir, sweepRetired } from '../util/retire';
import type { ContainerRecord } from './container';

/**
 * Containers on disk in Docker's habit: `<graph>/containers/<id>/config.v2.json` and
 * `hostconfig.json`, written atomically; names and ID prefixes resolved in memory.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  /** What hostconfig.json holds on disk, per container (it rarely changes after create). */
  private readonly hostConfigs = new Map<string, string>();
  /** Each record's writes run one after another, in the order they were asked for. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Records deleted while a write of theirs was still on its way: it must not land. */
  private readonly gone = new Set<string>();

  constructor(
    readonly root: string,
    private readonly log: Logger,
  ) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  async load(): Promise<ContainerRecord[]> {
    await mkdir(this.root, { recursive: true, mode: 0o710 });
    await sweepRetired(this.root);
    for (const id of await readdir(this.root)) {
      try {
        const rec = JSON.parse(await readFile(join(this.root, id, 'config.v2.json'), 'utf8')) as ContainerRecord;
        const hostConfig = await readFile(join(this.root, id, 'hostconfig.json'), 'utf8');
        rec.HostConfig = JSON.parse(hostConfig) as ContainerRecord['HostConfig'];
        this.byId.set(rec.ID, rec);
        this.hostConfigs.set(rec.ID, JSON.stringify(rec.HostConfig));
      } catch (e) {
        this.log.warn({ err: e, id }, 'skipping a container directory that cannot be read');
      }
    }
    return this.all();
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** By full ID, name (with or without `/`), or unique ID prefix. */
  find(ref: string): ContainerRecord | undefined {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    for (const c of this.byId.values()) if (c.Name === `/${name}`) return c;
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = this.all().filter((c) => c.ID.startsWith(ref));
      if (matches.length > 1) throw new ConflictError(`multiple IDs found with provided prefix: ${ref}`);
      return matches[0];
    }
    return undefined;
  }

  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw new NotFoundError(`No such container: ${ref}`);
    return c;
  }

  nameTaken(name: string): ContainerRecord | undefined {
    for (const c of this.byId.values()) if (c.Name === `/${name}`) return c;
    return undefined;
  }

  /** Persist a record (new or changed). hostconfig.json is rewritten only when it changed. */
  async save(rec: ContainerRecord): Promise<void> {
    await this.write(rec, 'now');
  }

  /**
   * Persist a runtime transition (started, exited): as `save`, except that the directory flush
   * finishes in the background (see `writeAtomic`). A power loss before it leaves the previous
   * state, which the restart path handles as it handles any container that was running.
   */
  async checkpoint(rec: ContainerRecord): Promise<void> {
    await this.write(rec, 'later');
  }

  private write(rec: ContainerRecord, dirSync: 'now' | 'later'): Promise<void> {
    const before = this.writing.get(rec.ID);
    const done = (before ? before.catch(() => undefined).then(() => this.writeNow(rec, dirSync)) : this.writeNow(rec, dirSync)).finally(() => {
      if (this.writing.get(rec.ID) === done) this.writing.delete(rec.ID);
    });
    this.writing.set(rec.ID, done);
    return done;
  }

  private async writeNow(rec: ContainerRecord, dirSync: 'now' | 'later'): Promise<void> {
    if (this.gone.has(rec.ID)) return;
    try {
      await this.writeFiles(rec, dirSync);
    } catch (e) {
      // Its directory was renamed aside meanwhile (delete): nothing to keep.
      if (!this.gone.has(rec.ID)) throw e;
    }
  }

  private async writeFiles(rec: ContainerRecord, dirSync: 'now' | 'later'): Promise<void> {
    const dir = this.dir(rec.ID);
    const { HostConfig, ...rest } = rec;
    const hostConfig = JSON.stringify(HostConfig);
    if (this.hostConfigs.get(rec.ID) !== hostConfig) {
      // Synchronously, as the start of each write: nothing runs between the `gone` check and it.
      mkdirSync(dir, { recursive: true, mode: 0o710 });
      await Promise.all([writeAtomic(join(dir, 'hostconfig.json'), hostConfig, 0o600, { dirSync }), writeAtomic(join(dir, 'config.v2.json'), JSON.stringify(rest), 0o600, { dirSync })]);
      this.hostConfigs.set(rec.ID, hostConfig);
    } else {
      await writeAtomic(join(dir, 'config.v2.json'), JSON.stringify(rest), 0o600, { dirSync });
    }
    if (!this.gone.has(rec.ID)) this.byId.set(rec.ID, rec);
  }

  /** Forget a container; its directory (logs included) is renamed aside and deleted in the background. */
  async delete(id: string): Promise<void> {
    // A write still on its way (a start's checkpoint) is not waited for: its directory goes aside
    // with the tmp file in it, so its rename finds nothing, and writes queued behind it are
    // skipped; none recreates the directory.
    const pending = this.writing.get(id);
    if (pending) {
      this.gone.add(id);
      void pending.finally(() => this.gone.delete(id)).catch(() => undefined);
    }
    this.byId.delete(id);
    this.hostConfigs.delete(id);
    await retireDir(this.dir(id));
  }
}
