import { readFile } from 'node:fs/promises';
import { ConflictError, NotFoundError } from '../errors';
import { writeAtomic } from '../util/atomic';
import type { Digest } from './digest';
import { familiarName, familiarString, nameOnly, parseReference, type Reference } from './reference';

/**
 * Tags and digests pointing at image IDs, kept in `repositories.json` in Docker's format
 * ({"Repositories": {"busybox": {"busybox:latest": "sha256:..."}}}), written atomically.
 */
export class ReferenceStore {
  /** familiar repo name → familiar reference → image ID */
  private repos: Record<string, Record<string, Digest>> = {};

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as { Repositories?: Record<string, Record<string, Digest>> };
      this.repos = data.Repositories ?? {};
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.repos = {};
    }
  }

  private async save(): Promise<void> {
    await writeAtomic(this.file, JSON.stringify({ Repositories: this.repos }), 0o600);
  }

  /** The image a tag or digest reference points at. */
  get(ref: Reference): Digest | undefined {
    return this.repos[familiarName(ref)]?.[familiarString(ref)];
  }

  /**
   * Point `ref` (a tag or a digest reference) at `id`. Moving an existing tag is allowed only
   * with `force` for digest references (a digest names one image forever).
   */
  async add(ref: Reference, id: Digest, opts: { force?: boolean } = {}): Promise<void> {
    if (!ref.tag && !ref.digest) throw new Error('reference has neither tag nor digest');
    const repo = familiarName(ref);
    const key = familiarString(ref);
    const current = this.repos[repo]?.[key];
    if (current === id) return;
    if (current && ref.digest && !opts.force) throw new ConflictError(`Cannot overwrite digest ${ref.digest}`);
    this.repos[repo] = { ...(this.repos[repo] ?? {}), [key]: id };
    await this.save();
  }

  async delete(ref: Reference): Promise<Digest> {
    const repo = familiarName(ref);
    const key = familiarString(ref);
    const id = this.repos[repo]?.[key];
    if (!id) throw new NotFoundError(`No such image: ${key}`);
    delete this.repos[repo]![key];
    if (Object.keys(this.repos[repo]!).length === 0) delete this.repos[repo];
    await this.save();
    return id;
  }

  /** Every reference to `id`, parsed. */
  referencesTo(id: Digest): Reference[] {
    const out: Reference[] = [];
    for (const refs of Object.values(this.repos)) for (const [k, v] of Object.entries(refs)) if (v === id) out.push(parseReference(k));
    return out;
  }

  all(): { ref: Reference; id: Digest }[] {
    const out: { ref: Reference; id: Digest }[] = [];
    for (const refs of Object.values(this.repos)) for (const [k, v] of Object.entries(refs)) out.push({ ref: parseReference(k), id: v });
    return out;
  }

  /** References in the repository of `ref` (any tag or digest). */
  inRepository(ref: Reference): { ref: Reference; id: Digest }[] {
    const repo = familiarName(nameOnly(ref));
    return Object.entries(this.repos[repo] ?? {}).map(([k, v]) => ({ ref: parseReference(k), id: v }));
  }
}
