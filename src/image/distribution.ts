import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { InvalidParameterError, NotFoundError, UnauthorizedError, UnavailableError } from '../errors';
import type { EventBus } from '../events/events';
import type { AuthConfig } from '../registry/auth';
import { lookupEndpoints } from '../registry/endpoints';
import type { RegistryRules } from '../registry/registry-config';
import { MEDIA, RepositorySession } from '../registry/session';
import { readBody, type RegistryTransport } from '../registry/transport';
import { randomId } from '../util/atomic';
import type { BlobSources } from './blob-sources';
import { assertDigest, chainIds, DigestMismatchError, isDigest, sha256, type Digest } from './digest';
import { checkImageConfig, type ImageConfig } from './image-config';
import type { ImageService } from './image-service';
import { hostPlatform, platformMatches, platformString, type Platform } from './platform';
import { progressReporter, type ProgressSink } from './progress';
import { familiarName, familiarString, nameOnly, parseReference, registryHost, remoteName, repositoryName, withDefaultTag, withTag, type Reference } from './reference';

export interface DistributionDeps {
  images: ImageService;
  transport: RegistryTransport;
  rules: RegistryRules;
  certsDir: string;
  /** Scratch space for downloads (under the graph root); emptied at start. */
  tmpDir: string;
  events: EventBus;
  log: Logger;
  /** Where pulled layers came from (read by push for "Layer already exists" and mounts). */
  blobSources?: BlobSources;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  urls?: string[];
}

interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

const ACCEPT = [MEDIA.dockerList, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.ociManifest].join(', ');
const MAX_PARALLEL_DOWNLOADS = 3;

/** The reference a pull asks for: `fromImage` plus the `tag` query (a tag or a digest). */
export function pullReference(fromImage: string, tag: string | undefined): Reference {
  const ref = parseReference(fromImage);
  if (!tag) return ref;
  if (/^[a-z0-9]+:[a-f0-9]{32,}$/.test(tag)) return { ...nameOnly(ref), digest: tag };
  return withTag(ref, tag);
}

function notFoundMessage(ref: Reference): string {
  return `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`;
}

/**
 * Registry pulls and pushes (the seed's "registry" part): manifest lists and OCI indexes with
 * platform selection, schema 2 and OCI manifests, layers verified by digest while they stream,
 * parallel downloads resumed with Range where the registry allows.
 */
export class Distribution {
  constructor(private readonly d: DistributionDeps) {}

  async cleanTmp(): Promise<void> {
    await rm(this.d.tmpDir, { recursive: true, force: true });
    await mkdir(this.d.tmpDir, { recursive: true, mode: 0o700 });
  }

  private async session(ref: Reference, creds: AuthConfig, actions: ('pull' | 'push')[]): Promise<RepositorySession> {
    const endpoints = await lookupEndpoints(registryHost(ref), this.d.rules, this.d.certsDir);
    return new RepositorySession(endpoints, remoteName(ref), this.d.transport, creds, actions, this.d.certsDir);
  }

  /** POST /images/create?fromImage=: pull one tag or digest (or every tag when `allTags`). */
  async pull(ref: Reference, opts: { creds: AuthConfig; platform?: Platform; progress: ProgressSink; signal?: AbortSignal; allTags?: boolean }): Promise<void> {
    if (opts.allTags && !ref.tag && !ref.digest) {
      const s = await this.session(ref, opts.creds, ['pull']);
      const res = await s.request('GET', 'tags/list');
      if (res.status !== 200) await s.fail(res, notFoundMessage(ref));
      const tags = (JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] }).tags ?? [];
      for (const t of tags) await this.pullOne(withTag(ref, t), opts, s);
      opts.progress({ status: `Status: Downloaded newer images for ${familiarName(ref)}` });
      return;
    }
    await this.pullOne(withDefaultTag(ref), opts);
  }

  private async pullOne(ref: Reference, opts: { creds: AuthConfig; platform?: Platform; progress: ProgressSink; signal?: AbortSignal }, existing?: RepositorySession): Promise<void> {
    const s = existing ?? (await this.session(ref, opts.creds, ['pull']));
    const want = opts.platform ?? hostPlatform();
    const refText = familiarString(ref);
    const tagOrDigest = ref.digest ?? ref.tag!;

    // 1. The manifest (a list/index is resolved to the wanted platform).
    let res = await s.request('GET', `manifests/${tagOrDigest}`, { headers: { accept: ACCEPT } });
    if (res.status === 404) {
      const body = (await readBody(res).catch(() => Buffer.alloc(0))).toString('utf8');
      if (/NAME_UNKNOWN/.test(body)) throw new NotFoundError(notFoundMessage(ref));
      throw new NotFoundError(`manifest for ${refText} not found: manifest unknown: manifest unknown`);
    }
    if (res.status === 401 || res.status === 403) {
      await readBody(res).catch(() => undefined);
      throw new UnauthorizedError(notFoundMessage(ref));
    }
    if (res.status !== 200) await s.fail(res, `error pulling ${refText}`);
    let body = await readBody(res);
    const topDigest = (ref.digest as Digest | undefined) ?? ((res.headers['docker-content-digest'] as Digest | undefined) ?? sha256(body));
    if (sha256(body) !== topDigest) throw new DigestMismatchError(`manifest verification failed for digest ${topDigest}`);
    let manifest = JSON.parse(body.toString('utf8')) as Manifest;
    opts.progress({ status: `Pulling from ${remoteName(ref)}`, id: tagOrDigest });
    let mediaType = manifest.mediaType ?? res.headers['content-type'] ?? '';
    if (mediaType === MEDIA.dockerList || mediaType === MEDIA.ociIndex || manifest.manifests) {
      const pick = (manifest.manifests ?? []).find((m) => platformMatches(want, m.platform ?? {}));
      if (!pick) throw new NotFoundError(`no matching manifest for ${platformString(want)} in the manifest list entries`);
      res = await s.request('GET', `manifests/${pick.digest}`, { headers: { accept: ACCEPT } });
      if (res.status !== 200) await s.fail(res, `error pulling ${refText}`);
      body = await readBody(res);
      if (sha256(body) !== pick.digest) throw new DigestMismatchError(`manifest verification failed for digest ${pick.digest}`);
      manifest = JSON.parse(body.toString('utf8')) as Manifest;
      mediaType = manifest.mediaType ?? pick.mediaType;
    }
    if (manifest.schemaVersion !== 2 || !manifest.config || !manifest.layers) {
      throw new InvalidParameterError(`unsupported manifest format for ${refText} (schema ${manifest.schemaVersion}, ${mediaType})`);
    }

    // 2. The config.
    const cres = await s.request('GET', `blobs/${manifest.config.digest}`);
    if (cres.status !== 200) await s.fail(cres, `error pulling config of ${refText}`);
    const configRaw = await readBody(cres, 16 * 1024 * 1024);
    if (sha256(configRaw) !== manifest.config.digest) throw new DigestMismatchError(`image config verification failed for digest ${manifest.config.digest}`);
    const config = JSON.parse(configRaw.toString('utf8')) as ImageConfig;
    checkImageConfig(config);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new InvalidParameterError(`layers from manifest don't match image configuration`);
    }
    if (config.os && config.os !== want.os) throw new InvalidParameterError(`image operating system "${config.os}" cannot be used on this platform`);
    const imageId = sha256(configRaw);
    const alreadyHad = this.d.images.images.get(imageId);

    // 3. The layers: download what is missing (in parallel), then register in order.
    const chains = chainIds(config.rootfs.diff_ids);
    const layers = manifest.layers;
    const files: (string | undefined)[] = [];
    try {
      const missing: number[] = [];
      for (let i = 0; i < layers.length; i++) {
        const id = layers[i]!.digest.slice(7, 19);
        if (this.d.images.layers.has(chains[i]!)) opts.progress({ status: 'Already exists', progressDetail: {}, id });
        else {
          opts.progress({ status: 'Pulling fs layer', progressDetail: {}, id });
          missing.push(i);
        }
      }
      let next = 0;
      const worker = async () => {
        while (next < missing.length) {
          const i = missing[next++]!;
          files[i] = await this.download(s, layers[i]!, opts.progress, opts.signal);
        }
      };
      await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_DOWNLOADS, missing.length) }, worker));
      for (const i of missing) {
        const l = layers[i]!;
        const id = l.digest.slice(7, 19);
        const parent = i === 0 ? null : chains[i - 1]!;
        const size = (await stat(files[i]!)).size;
        opts.progress({ status: 'Extracting', progressDetail: { current: 0, total: size }, id });
        const gz = l.mediaType !== MEDIA.ociLayer;
        await this.d.images.layers.register(
          parent,
          gz ? { gzipFile: files[i]!, digest: assertDigest(l.digest) } : { tar: createReadStream(files[i]!) },
          config.rootfs.diff_ids[i],
        );
        opts.progress({ status: 'Pull complete', progressDetail: {}, id });
      }
      await this.d.images.images.create(configRaw);
      for (let i = 0; i < layers.length; i++) {
        const blob = layers[i]!.digest;
        if (isDigest(blob)) await this.d.blobSources?.add(config.rootfs.diff_ids[i]!, blob, repositoryName(ref)).catch((err: unknown) => this.d.log.warn({ err }, 'could not record a layer source'));
      }
    } catch (e) {
      for (const f of files) if (f) await rm(f, { force: true });
      await this.d.images.releaseLayers().catch(() => undefined);
      throw e;
    } finally {
      for (const f of files) if (f) await rm(f, { force: true }).catch(() => undefined);
    }
    const tagRef = ref.tag ? ref : undefined;
    if (tagRef) await this.d.images.refs.add(tagRef, imageId, { force: true });
    await this.d.images.refs.add({ ...nameOnly(ref), digest: topDigest }, imageId, { force: true });
    opts.progress({ status: `Digest: ${topDigest}` });
    const upToDate = alreadyHad && tagRef && this.d.images.refs.get(tagRef) === imageId && alreadyHad;
    opts.progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${refText}` });
    this.d.events.publish('image', 'pull', familiarString(ref), { name: familiarString(ref) });
  }

  /** Download one blob to a temp file, verifying its digest; resumes with Range after a dropped connection. */
  private async download(s: RepositorySession, l: Descriptor, progress: ProgressSink, signal?: AbortSignal): Promise<string> {
    const id = l.digest.slice(7, 19);
    const file = join(this.d.tmpDir, `download-${randomId(8)}`);
    const hash = createHash('sha256');
    let have = 0;
    const report = progressReporter(progress, id, 'Downloading', l.size);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new UnavailableError('pull cancelled');
      const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
      try {
        const res = await s.request('GET', `blobs/${l.digest}`, { headers });
        if (res.status === 200 && have > 0) {
          // The registry ignored the range: start over.
          have = 0;
          hash.destroy();
          return this.restart(file, s, l, progress, signal);
        }
        if (res.status !== 200 && res.status !== 206) await s.fail(res, `error pulling layer ${l.digest}`);
        const out = createWriteStream(file, { flags: have > 0 ? 'a' : 'w' });
        const counter = async function* (src: Readable) {
          for await (const chunk of src) {
            hash.update(chunk as Buffer);
            have += (chunk as Buffer).length;
            report(have);
            yield chunk;
          }
        };
        await pipeline(res.body, counter, out);
        if (have < l.size) throw Object.assign(new Error(`unexpected EOF after ${have} of ${l.size} bytes`), { code: 'ECONNRESET' });
        break;
      } catch (e) {
        const transient = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE'].includes((e as NodeJS.ErrnoException).code ?? '');
        if (!transient || attempt >= 4) {
          await rm(file, { force: true });
          throw e;
        }
        s.current; // same endpoint
      }
    }
    report(have, true);
    progress({ status: 'Verifying Checksum', progressDetail: {}, id });
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== l.digest) {
      await rm(file, { force: true });
      throw new DigestMismatchError(`filesystem layer verification failed for digest ${l.digest}`);
    }
    progress({ status: 'Download complete', progressDetail: {}, id });
    return file;
  }

  private async restart(file: string, s: RepositorySession, l: Descriptor, progress: ProgressSink, signal?: AbortSignal): Promise<string> {
    await rm(file, { force: true });
    return this.download(s, l, progress, signal);
  }
}
