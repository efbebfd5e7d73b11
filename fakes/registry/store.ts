import { randomBytes, randomUUID } from 'node:crypto';
import { sha256Digest, type Digest } from './digest';

/**
 * The emulated registry's state, all in memory:
 * - blobs: one content-addressed pool (`digest → bytes`), linked into repositories; a blob
 *   is visible in a repository only once linked there (by an upload, a mount or a seed),
 *   as in distribution;
 * - manifests per repository, addressed by digest, with tags pointing at digests;
 * - blob uploads in progress;
 * - user accounts and the bearer/refresh tokens issued to them.
 * The store trusts its callers: validation (names, digests, manifest references) is the
 * handlers' job. Nothing is ever garbage-collected.
 */
export class RegistryStore {
  private readonly blobs = new Map<Digest, Uint8Array>();
  private readonly repositories = new Map<string, Repository>();
  private readonly uploads = new Map<string, BlobUpload>();
  private readonly users = new Map<string, string>();
  private readonly tokens = new Map<string, TokenGrant>();
  private readonly refreshTokens = new Map<string, string>();

  // ---- blobs ----

  /** Stores `bytes` (idempotent) and links them into `repository`; returns their digest. */
  putBlob(repository: string, bytes: Uint8Array): Digest {
    const digest = sha256Digest(bytes);
    if (!this.blobs.has(digest)) this.blobs.set(digest, bytes);
    this.repository(repository, true).blobs.add(digest);
    return digest;
  }

  /** The blob's bytes when it is linked into `repository`. */
  getBlob(repository: string, digest: string): Uint8Array | undefined {
    if (!this.repository(repository)?.blobs.has(digest as Digest)) return undefined;
    return this.blobs.get(digest as Digest);
  }

  /** Links an already stored blob into `repository` (a cross-repository mount); false when unknown. */
  linkBlob(repository: string, digest: string): boolean {
    if (!this.blobs.has(digest as Digest)) return false;
    this.repository(repository, true).blobs.add(digest as Digest);
    return true;
  }

  /** Unlinks the blob from `repository`; false when it was not linked. */
  unlinkBlob(repository: string, digest: string): boolean {
    return this.repository(repository)?.blobs.delete(digest as Digest) ?? false;
  }

  // ---- manifests and tags ----

  /** Stores a manifest under its digest, and tags it when `tag` is given. */
  putManifest(repository: string, mediaType: string, bytes: Uint8Array, tag?: string): StoredManifest {
    const repo = this.repository(repository, true);
    const manifest: StoredManifest = { digest: sha256Digest(bytes), mediaType, bytes };
    repo.manifests.set(manifest.digest, manifest);
    if (tag !== undefined) repo.tags.set(tag, manifest.digest);
    return manifest;
  }

  /** The manifest `reference` (a tag or a digest) names in `repository`. */
  getManifest(repository: string, reference: string): StoredManifest | undefined {
    const repo = this.repository(repository);
    if (!repo) return undefined;
    const digest = repo.tags.get(reference) ?? (reference as Digest);
    return repo.manifests.get(digest);
  }

  /**
   * Deletes by digest (the manifest and every tag pointing at it) or by tag (the tag
   * only). False when nothing was found.
   */
  deleteManifest(repository: string, reference: string): boolean {
    const repo = this.repository(repository);
    if (!repo) return false;
    if (repo.tags.delete(reference)) return true;
    if (!repo.manifests.delete(reference as Digest)) return false;
    for (const [tag, digest] of repo.tags) if (digest === reference) repo.tags.delete(tag);
    return true;
  }

  /** The repository's tags, sorted; undefined when the repository does not exist. */
  listTags(repository: string): string[] | undefined {
    const repo = this.repository(repository);
    return repo ? [...repo.tags.keys()].sort() : undefined;
  }

  /** Every repository name, sorted. */
  listRepositories(): string[] {
    return [...this.repositories.keys()].sort();
  }

  hasRepository(repository: string): boolean {
    return this.repositories.has(repository);
  }

  /** Search metadata (v1 search); set by seeding, defaulted otherwise. */
  setRepositoryInfo(repository: string, info: Partial<RepositoryInfo>): void {
    const repo = this.repository(repository, true);
    repo.info = { ...repo.info, ...info };
  }

  repositoryInfo(repository: string): RepositoryInfo | undefined {
    return this.repository(repository)?.info;
  }

  // ---- uploads ----

  startUpload(repository: string): BlobUpload {
    const upload: BlobUpload = { uuid: randomUUID(), repository, chunks: [], size: 0, startedAt: new Date() };
    this.uploads.set(upload.uuid, upload);
    return upload;
  }

  /** The upload `uuid` when it belongs to `repository`. */
  getUpload(repository: string, uuid: string): BlobUpload | undefined {
    const upload = this.uploads.get(uuid);
    return upload?.repository === repository ? upload : undefined;
  }

  appendUpload(upload: BlobUpload, chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    upload.chunks.push(chunk);
    upload.size += chunk.byteLength;
  }

  /** Removes the upload and returns its content, concatenated. */
  finishUpload(upload: BlobUpload): Uint8Array {
    this.uploads.delete(upload.uuid);
    return Buffer.concat(upload.chunks);
  }

  cancelUpload(upload: BlobUpload): void {
    this.uploads.delete(upload.uuid);
  }

  /** Number of uploads in progress (for tests checking that failures leave nothing behind). */
  get uploadsInProgress(): number {
    return this.uploads.size;
  }

  // ---- users and tokens ----

  addUser(username: string, password: string): void {
    this.users.set(username, password);
  }

  checkPassword(username: string, password: string): boolean {
    return this.users.has(username) && this.users.get(username) === password;
  }

  /** Issues an opaque bearer token carrying `grant`. */
  issueToken(grant: Omit<TokenGrant, 'issuedAt'>): { token: string; issuedAt: Date } {
    const token = `tsd.${randomBytes(24).toString('hex')}`;
    const issuedAt = new Date();
    this.tokens.set(token, { ...grant, issuedAt });
    return { token, issuedAt };
  }

  /** The grant behind `token`, when it exists and has not expired. */
  lookupToken(token: string, now = new Date()): TokenGrant | undefined {
    const grant = this.tokens.get(token);
    if (!grant) return undefined;
    if (now.getTime() >= grant.issuedAt.getTime() + grant.expiresInSeconds * 1000) {
      this.tokens.delete(token);
      return undefined;
    }
    return grant;
  }

  /** Issues a refresh token (Docker's "identity token") for `subject`. */
  issueRefreshToken(subject: string): string {
    const token = `tsd-refresh.${randomBytes(24).toString('hex')}`;
    this.refreshTokens.set(token, subject);
    return token;
  }

  refreshTokenSubject(token: string): string | undefined {
    return this.refreshTokens.get(token);
  }

  private repository(name: string, create: true): Repository;
  private repository(name: string, create?: boolean): Repository | undefined;
  private repository(name: string, create = false): Repository | undefined {
    let repo = this.repositories.get(name);
    if (!repo && create) {
      repo = { blobs: new Set(), manifests: new Map(), tags: new Map(), info: { ...DEFAULT_INFO } };
      this.repositories.set(name, repo);
    }
    return repo;
  }
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  bytes: Uint8Array;
}

export interface BlobUpload {
  uuid: string;
  repository: string;
  chunks: Uint8Array[];
  /** Bytes received so far. */
  size: number;
  startedAt: Date;
}

/** What the v1 search endpoint reports about a repository. */
export interface RepositoryInfo {
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

/** One `type:name:actions` access entry of a token (as in the Docker token spec). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenGrant {
  /** The account, or undefined for an anonymous token. */
  subject: string | undefined;
  access: AccessEntry[];
  issuedAt: Date;
  expiresInSeconds: number;
}

interface Repository {
  blobs: Set<Digest>;
  manifests: Map<Digest, StoredManifest>;
  tags: Map<string, Digest>;
  info: RepositoryInfo;
}

const DEFAULT_INFO: RepositoryInfo = { description: '', starCount: 0, isOfficial: false, isAutomated: false };
