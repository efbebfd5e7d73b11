/**
 * `POST /images/{name}/push`: uploads an image's layers, config and a schema 2 manifest to its
 * registry, with Docker's JSON-lines progress (measured against dockerd 20.10):
 *
 *   {"status":"The push refers to repository [127.0.0.1:5000/x]"}
 *   {"status":"Preparing","progressDetail":{},"id":"<diff id, 12 hex>"}      every layer, top first
 *   {"status":"Waiting",...}                                                 beyond 5 parallel uploads
 *   {"status":"Pushing","progressDetail":{"current":..,"total":..},"progress":"[==> ]",...}
 *   {"status":"Pushed" | "Layer already exists" | "Mounted from <repo path>",...}
 *   {"status":"<tag>: digest: sha256:... size: N"}
 *   {"progressDetail":{},"aux":{"Tag":"<tag>","Digest":"sha256:...","Size":N}}
 *
 * For each layer the blob is looked up first (HEAD: "Layer already exists"); then, when the
 * daemon knows the same blob in another repository of the same registry (BlobSources, filled
 * by pulls and pushes), it is mounted from there; otherwise uploaded: in one PUT when small,
 * in PATCH chunks with Content-Range when larger than `chunkThreshold`. A name without a tag
 * pushes every tag of the repository. The pushed manifest digest becomes a RepoDigest.
 */
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { InvalidParameterError, NotFoundError, UnavailableError } from '../errors';
import type { EventBus } from '../events/events';
import type { AuthConfig } from '../registry/auth';
import { openRepository, type RegistryAccess } from '../registry/registry-access';
import { registryFailure } from '../registry/registry-errors';
import { MEDIA, type RepositorySession } from '../registry/session';
import { readBody, type RegistryResponse } from '../registry/transport';
import { repositoryPath, repositoryRegistry, type BlobSources } from './blob-sources';
import { sha256, type Digest } from './digest';
import type { ImageService } from './image-service';
import type { LayerRecord } from './layer-store';
import { progressReporter, type ProgressSink } from './progress';
import { familiarName, familiarString, nameOnly, parseReference, registryHost, remoteName, repositoryName, withTag, type Reference } from './reference';

export interface PushDeps extends RegistryAccess {
  images: ImageService;
  blobSources: BlobSources;
  events: EventBus;
  log: Logger;
  /** Blobs larger than this go up in chunks (default 4 MB). */
  chunkThreshold?: number;
  /** Size of each PATCH (default 4 MB). */
  chunkSize?: number;
  /** Layers uploaded at once (dockerd's --max-concurrent-uploads, default 5). */
  maxConcurrentUploads?: number;
}

export interface PushOptions {
  creds: AuthConfig;
  progress: ProgressSink;
  signal?: AbortSignal;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const MAX_MOUNT_CANDIDATES = 3;

/** The reference a push names: `name` (with or without a tag) and the `tag` query. */
export function pushReference(name: string, tag: string | undefined): Reference {
  const ref = parseReference(name);
  if (ref.digest) throw new InvalidParameterError('cannot push a digest reference');
  return tag ? withTag(nameOnly(ref), tag) : ref;
}

/** Pushes one tag, or every tag of the repository when `tag` is absent and `name` has none. */
export async function pushImage(deps: PushDeps, name: string, tag: string | undefined, opts: PushOptions): Promise<void> {
  const ref = pushReference(name, tag);
  opts.progress({ status: `The push refers to repository [${repositoryName(ref)}]` });
  const inRepo = deps.images.refs.inRepository(ref);
  if (inRepo.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  const targets: { ref: Reference; id: Digest }[] = [];
  if (ref.tag) {
    const id = deps.images.refs.get(ref);
    if (!id) throw new NotFoundError(`tag does not exist: ${familiarString(ref)}`);
    targets.push({ ref, id });
  } else {
    targets.push(...inRepo.filter((a) => a.ref.tag && !a.ref.digest).sort((a, b) => a.ref.tag!.localeCompare(b.ref.tag!)));
    if (targets.length === 0) throw new NotFoundError(`no tags to push for ${familiarName(ref)}`);
  }
  const session = await openRepository(deps, registryHost(ref), remoteName(ref), opts.creds, ['pull', 'push']);
  const pusher = new TagPusher(deps, session, repositoryName(ref), opts);
  for (const t of targets) await pusher.push(t.ref, t.id);
  deps.events.publish('image', 'push', familiarString(ref), { name: familiarName(ref) });
}

/** Pushes tags of one repository over one registry session. */
class TagPusher {
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(
    private readonly deps: PushDeps,
    private readonly s: RepositorySession,
    /** Fully qualified: `127.0.0.1:5000/tiny`. */
    private readonly repository: string,
    private readonly opts: PushOptions,
  ) {
    this.chunkThreshold = deps.chunkThreshold ?? DEFAULT_CHUNK;
    this.chunkSize = deps.chunkSize ?? DEFAULT_CHUNK;
  }

  private checkCancelled(): void {
    if (this.opts.signal?.aborted) throw new UnavailableError('push cancelled');
  }

  async push(ref: Reference, imageId: Digest): Promise<void> {
    const img = this.deps.images.images.get(imageId);
    if (!img) throw new NotFoundError(`No such image: ${imageId}`);
    const layers = img.chain.map((c) => {
      const rec = this.deps.images.layers.get(c);
      if (!rec) throw new NotFoundError(`layer ${c} of image ${imageId} is missing`);
      return rec;
    });
    const topFirst = [...layers].reverse();
    for (const l of topFirst) this.opts.progress({ status: 'Preparing', progressDetail: {}, id: shortId(l) });
    const limit = this.deps.maxConcurrentUploads ?? 5;
    for (const l of topFirst.slice(limit)) this.opts.progress({ status: 'Waiting', progressDetail: {}, id: shortId(l) });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < topFirst.length) await this.pushLayer(topFirst[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(limit, topFirst.length) }, worker));

    await this.pushConfig(imageId, img.raw);
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: MEDIA.dockerManifest,
          config: { mediaType: MEDIA.dockerConfig, size: img.raw.length, digest: imageId },
          layers: layers.map((l) => ({ mediaType: MEDIA.dockerLayer, size: l.compressed.size, digest: l.compressed.digest })),
        },
        null,
        3,
      ),
    );
    this.checkCancelled();
    const tag = ref.tag!;
    const res = await this.s.request('PUT', `manifests/${tag}`, { headers: { 'content-type': MEDIA.dockerManifest, 'content-length': String(manifest.length) }, body: manifest });
    if (res.status < 200 || res.status >= 300) throw await registryFailure(res);
    await drain(res);
    const digest = sha256(manifest);
    await this.deps.images.refs.add({ ...nameOnly(ref), digest }, imageId, { force: true });
    this.opts.progress({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
    this.opts.progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifest.length } });
  }

  private async pushLayer(l: LayerRecord): Promise<void> {
    this.checkCancelled();
    const id = shortId(l);
    const { digest } = l.compressed;
    if (await this.blobExists(digest)) {
      this.opts.progress({ status: 'Layer already exists', progressDetail: {}, id });
      await this.remember(l);
      return;
    }
    let upload: URL | undefined;
    for (const from of await this.mountCandidates(l)) {
      const res = await this.s.request('POST', `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
        headers: { 'content-length': '0' },
        scopes: [`repository:${from}:pull`],
      });
      if (res.status === 201) {
        await drain(res);
        this.opts.progress({ status: `Mounted from ${from}`, progressDetail: {}, id });
        await this.remember(l);
        return;
      }
      if (res.status !== 202) throw await registryFailure(res);
      // The registry could not mount and started an upload instead: use it.
      upload = this.location(res);
      await drain(res);
      await this.deps.blobSources.remove(l.diffId, digest, `${repositoryRegistry(this.repository)}/${from}`);
      break;
    }
    await this.uploadBlob(upload, l.compressed.size, () => this.deps.images.layers.gzip(l.chainId), digest, progressReporter(this.opts.progress, id, 'Pushing', l.compressed.size));
    this.opts.progress({ status: 'Pushed', progressDetail: {}, id });
    await this.remember(l);
  }

  private async pushConfig(imageId: Digest, raw: Buffer): Promise<void> {
    if (await this.blobExists(imageId)) return;
    await this.uploadBlob(undefined, raw.length, () => Readable.from([raw]), imageId, () => undefined);
  }

  private async blobExists(digest: Digest): Promise<boolean> {
    const res = await this.s.request('HEAD', `blobs/${digest}`);
    if (res.status === 200) {
      await drain(res);
      return true;
    }
    if (res.status === 404) {
      await drain(res);
      return false;
    }
    throw await registryFailure(res);
  }

  /** Repositories (paths) of this registry where the layer's blob is known, most recent first. */
  private async mountCandidates(l: LayerRecord): Promise<string[]> {
    const registry = repositoryRegistry(this.repository);
    const sources = await this.deps.blobSources.get(l.diffId);
    return sources
      .filter((e) => e.Digest === l.compressed.digest && e.SourceRepository !== this.repository && repositoryRegistry(e.SourceRepository) === registry)
      .slice(0, MAX_MOUNT_CANDIDATES)
      .map((e) => repositoryPath(e.SourceRepository));
  }

  private async remember(l: LayerRecord): Promise<void> {
    await this.deps.blobSources.add(l.diffId, l.compressed.digest, this.repository).catch((err: unknown) => this.deps.log.warn({ err }, 'could not record a layer source'));
  }

  private location(res: RegistryResponse): URL {
    const loc = res.headers.location;
    if (!loc) throw new UnavailableError(`the registry started an upload without a Location (status ${res.status})`);
    return new URL(loc, this.s.current.url);
  }

  private async startUpload(): Promise<URL> {
    const res = await this.s.request('POST', 'blobs/uploads/', { headers: { 'content-length': '0' } });
    if (res.status !== 202) throw await registryFailure(res);
    await drain(res);
    return this.location(res);
  }

  /** Uploads one blob (monolithic PUT when small, PATCH chunks otherwise) and checks the registry took it. */
  private async uploadBlob(started: URL | undefined, size: number, open: () => Readable, digest: Digest, report: (current: number, final?: boolean) => void): Promise<void> {
    let url = started ?? (await this.startUpload());
    report(0);
    let body: Buffer | (() => Readable) = Buffer.alloc(0);
    if (size <= this.chunkThreshold) {
      body = () => counted(open(), report);
    } else {
      let sent = 0;
      for await (const chunk of chunksOf(open(), this.chunkSize)) {
        this.checkCancelled();
        const res = await this.s.request('PATCH', url, {
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${sent + chunk.length - 1}`, 'content-length': String(chunk.length) },
          body: chunk,
        });
        if (res.status !== 202) throw await registryFailure(res);
        await drain(res);
        url = this.location(res);
        sent += chunk.length;
        report(sent);
      }
    }
    const put = new URL(url);
    put.searchParams.set('digest', digest);
    const length = typeof body === 'function' ? size : 0;
    const res = await this.s.request('PUT', put, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) }, body });
    if (res.status !== 201 && res.status !== 204) throw await registryFailure(res);
    await drain(res);
    report(size, true);
  }
}

/** Docker's layer id in push progress: the diff ID's first 12 hex digits. */
function shortId(l: LayerRecord): string {
  return l.diffId.slice(7, 19);
}

async function drain(res: RegistryResponse): Promise<void> {
  await readBody(res, 1024 * 1024).catch(() => undefined);
}

/** `src`, reporting the bytes read so far. */
function counted(src: Readable, report: (n: number) => void): Readable {
  return Readable.from(
    (async function* () {
      let n = 0;
      for await (const c of src) {
        n += (c as Buffer).length;
        report(n);
        yield c as Buffer;
      }
    })(),
  );
}

/** Cuts a stream into buffers of exactly `size` bytes (the last one shorter). */
async function* chunksOf(src: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const c of src) {
    let buf = c as Buffer;
    while (have + buf.length >= size) {
      const take = size - have;
      parts.push(buf.subarray(0, take));
      yield Buffer.concat(parts);
      parts = [];
      have = 0;
      buf = buf.subarray(take);
    }
    if (buf.length > 0) {
      parts.push(buf);
      have += buf.length;
    }
  }
  if (have > 0) yield Buffer.concat(parts);
}
