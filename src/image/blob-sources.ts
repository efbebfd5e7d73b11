import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAtomic } from '../util/atomic';
import type { Digest } from './digest';

/** Where a layer's blob is known to live: its digest in one repository (`host/path`). */
export interface BlobSource {
  /** The blob's digest on the registry. */
  Digest: Digest;
  /** Fully qualified repository name: `127.0.0.1:5000/tiny`, `docker.io/library/busybox`. */
  SourceRepository: string;
}

/** Kept per layer; older entries are dropped beyond this (Docker keeps 50 as well). */
const MAX_SOURCES = 50;

/**
 * Docker's distribution metadata (`<root>/v2metadata-by-diffid/sha256/<diffid hex>`): for each
 * layer (by diff ID), the registry blobs it was pulled from or pushed to. Push uses it to skip
 * uploads ("Layer already exists") and to mount blobs from another repository of the same
 * registry. Entries are hints: a registry may have deleted a blob since, so callers verify.
 */
export class BlobSources {
  constructor(private readonly root: string) {}

  private file(diffId: Digest): string {
    return join(this.root, 'v2metadata-by-diffid', 'sha256', diffId.slice(7));
  }

  async get(diffId: Digest): Promise<BlobSource[]> {
    try {
      const list = JSON.parse(await readFile(this.file(diffId), 'utf8')) as unknown;
      return Array.isArray(list) ? (list as BlobSource[]).filter((e) => typeof e?.Digest === 'string' && typeof e?.SourceRepository === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Records (most recent first) that `digest` holds layer `diffId` in `repository`. */
  async add(diffId: Digest, digest: Digest, repository: string): Promise<void> {
    const current = await this.get(diffId);
    const rest = current.filter((e) => !(e.Digest === digest && e.SourceRepository === repository));
    const next = [{ Digest: digest, SourceRepository: repository }, ...rest].slice(0, MAX_SOURCES);
    await writeAtomic(this.file(diffId), JSON.stringify(next), 0o600);
  }

  /** Forgets that `repository` holds `digest` (the registry said it does not). */
  async remove(diffId: Digest, digest: Digest, repository: string): Promise<void> {
    const current = await this.get(diffId);
    const next = current.filter((e) => !(e.Digest === digest && e.SourceRepository === repository));
    if (next.length !== current.length) await writeAtomic(this.file(diffId), JSON.stringify(next), 0o600);
  }
}

/** The registry host of a fully qualified repository name (`127.0.0.1:5000/tiny` → `127.0.0.1:5000`). */
export function repositoryRegistry(repository: string): string {
  return repository.slice(0, repository.indexOf('/'));
}

/** The repository path on its registry (`127.0.0.1:5000/a/b` → `a/b`). */
export function repositoryPath(repository: string): string {
  return repository.slice(repository.indexOf('/') + 1);
}
