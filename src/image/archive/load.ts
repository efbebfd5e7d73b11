/**
 * `docker load` (POST /images/load): an archive in dockerd's `docker save` format
 * (manifest.json) or an OCI image layout (index.json → manifests → config and layers, layers
 * plain or gzip), as written by Docker 25+, buildx, skopeo or this daemon's save.
 *
 * The upload is unpacked into `<graph>/tmp/load-*` (see extract.ts for what is refused), every
 * manifest and config is read and checked, and only then are layers registered, in order, each
 * verified against the config's diff IDs (and, for OCI blobs, their descriptor digests). A
 * failure anywhere removes the layers and images this load added, so nothing partial is left;
 * tags are applied last. Output is dockerd's: `{"stream":"Loaded image: busybox:latest\n"}`,
 * and, unless quiet, its "Loading layer" progress.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError } from '../../errors';
import { MEDIA } from '../../registry/session';
import { randomId } from '../../util/atomic';
import { chainIds, DigestingStream, DigestMismatchError, isDigest, sha256, type Digest } from '../digest';
import { checkImageConfig, type ImageConfig } from '../image-config';
import { hostPlatform, platformMatches, platformString } from '../platform';
import { progressReporter, type ProgressSink } from '../progress';
import { familiarString, parseReference, withDefaultTag, type Reference } from '../reference';
import { decompressor, fileCompression } from './compression';
import { publishImageEvent, type ArchiveDeps } from './deps';
import { extractArchive, parseArchiveJson, readArchiveFile, resolveMember } from './extract';

/** One image of the archive, checked and ready to register. */
interface LoadItem {
  id: Digest;
  raw: Buffer;
  config: ImageConfig;
  /** Layer files, bottom first, with the blob digest to verify (OCI descriptors). */
  layers: { file: string; blobDigest?: Digest }[];
  tags: Reference[];
}

export async function loadImages(deps: ArchiveDeps, body: Readable, opts: { quiet: boolean; progress: ProgressSink }): Promise<void> {
  const dir = join(deps.tmpDir, `load-${randomId(8)}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await extractArchive(body, dir);
    const items = await readArchive(dir);
    await commit(deps, items, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The archive's images, from manifest.json when present (dockerd prefers it), else index.json. */
export async function readArchive(dir: string): Promise<LoadItem[]> {
  const has = (name: string) => stat(join(dir, name)).then(() => true, () => false);
  let items: LoadItem[];
  if (await has('manifest.json')) items = await readDockerManifest(dir);
  else if (await has('index.json')) items = await readOciLayout(dir);
  else if (await has('repositories')) throw new InvalidParameterError('invalid archive: the pre-1.10 format (repositories without manifest.json) is not supported');
  else throw new InvalidParameterError('invalid archive: neither manifest.json (docker save) nor index.json (OCI image layout) was found');
  // The same image named twice (several tags in an OCI index) is one item.
  const byId = new Map<Digest, LoadItem>();
  for (const it of items) {
    const seen = byId.get(it.id);
    if (!seen) byId.set(it.id, it);
    else for (const t of it.tags) if (!seen.tags.some((s) => familiarString(s) === familiarString(t))) seen.tags.push(t);
  }
  return [...byId.values()];
}

function checkConfig(raw: Buffer, what: string): ImageConfig {
  const config = parseArchiveJson(raw, what);
  try {
    checkImageConfig(config);
  } catch (e) {
    throw new InvalidParameterError(`invalid archive: ${what}: ${(e as Error).message}`);
  }
  const os = config.os ?? '';
  if (os !== '' && os !== 'linux') throw new InvalidParameterError(`cannot load ${os} image on linux`);
  return config;
}

function repoTag(text: unknown): Reference {
  let ref: Reference | undefined;
  try {
    ref = typeof text === 'string' ? parseReference(text) : undefined;
  } catch {
    ref = undefined;
  }
  if (!ref?.tag || ref.digest) throw new InvalidParameterError(`invalid tag ${JSON.stringify(text)}`);
  return ref;
}

async function readDockerManifest(dir: string): Promise<LoadItem[]> {
  const manifest = parseArchiveJson(await readArchiveFile(join(dir, 'manifest.json'), 'manifest.json'), 'manifest.json');
  if (!Array.isArray(manifest)) throw new InvalidParameterError('invalid archive: manifest.json is not a JSON array');
  const items: LoadItem[] = [];
  for (const [n, entry] of manifest.entries()) {
    const m = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (!m || typeof m !== 'object' || typeof m.Config !== 'string' || !Array.isArray(m.Layers)) {
      throw new InvalidParameterError(`invalid archive: manifest.json entry ${n} needs a Config path and a Layers list`);
    }
    if (m.RepoTags !== undefined && m.RepoTags !== null && !Array.isArray(m.RepoTags)) throw new InvalidParameterError(`invalid archive: manifest.json entry ${n}: RepoTags is not a list`);
    const configFile = await resolveMember(dir, m.Config, 'config');
    const raw = await readArchiveFile(configFile, `config "${m.Config}"`);
    const config = checkConfig(raw, `config "${m.Config}"`);
    if (config.rootfs.diff_ids.length !== m.Layers.length) {
      throw new InvalidParameterError(`invalid manifest, layers length mismatch: expected ${m.Layers.length}, got ${config.rootfs.diff_ids.length}`);
    }
    const layers = [];
    for (const l of m.Layers) layers.push({ file: await resolveMember(dir, l as string, 'layer') });
    const tags = ((m.RepoTags as unknown[] | null | undefined) ?? []).map(repoTag);
    items.push({ id: sha256(raw), raw, config, layers, tags });
  }
  return items;
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const MANIFEST_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);

async function blob(dir: string, desc: Descriptor | undefined, what: string): Promise<{ digest: Digest; file: string }> {
  const d = desc?.digest;
  if (typeof d !== 'string' || !isDigest(d)) throw new InvalidParameterError(`invalid archive: ${what} has an unsupported or invalid digest ${JSON.stringify(d)}`);
  return { digest: d, file: await resolveMember(dir, `blobs/sha256/${d.slice(7)}`, `${what} blob`) };
}

/** A small blob, read and verified against its digest. */
async function verifiedBlob(dir: string, desc: Descriptor | undefined, what: string): Promise<Buffer> {
  const { digest, file } = await blob(dir, desc, what);
  const data = await readArchiveFile(file, `${what} ${digest}`);
  if (sha256(data) !== digest) throw new InvalidParameterError(`invalid archive: ${what} ${digest} does not match its digest`);
  return data;
}

async function readOciLayout(dir: string): Promise<LoadItem[]> {
  const layoutFile = join(dir, 'oci-layout');
  if (await stat(layoutFile).then(() => true, () => false)) {
    const layout = parseArchiveJson(await readArchiveFile(await resolveMember(dir, 'oci-layout', 'oci-layout'), 'oci-layout'), 'oci-layout') as { imageLayoutVersion?: unknown };
    if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
      throw new InvalidParameterError(`invalid archive: unsupported OCI image layout version ${JSON.stringify(layout?.imageLayoutVersion)}`);
    }
  }
  const index = parseArchiveJson(await readArchiveFile(await resolveMember(dir, 'index.json', 'index.json'), 'index.json'), 'index.json') as { manifests?: Descriptor[] };
  if (!Array.isArray(index?.manifests)) throw new InvalidParameterError('invalid archive: index.json has no manifests list');
  const items: LoadItem[] = [];
  for (const top of index.manifests) {
    let desc = top;
    if (INDEX_TYPES.has(desc.mediaType ?? '')) {
      const nested = parseArchiveJson(await verifiedBlob(dir, desc, 'index'), `index ${desc.digest}`) as { manifests?: Descriptor[] };
      const want = hostPlatform();
      const pick = (nested.manifests ?? []).find((m) => MANIFEST_TYPES.has(m.mediaType ?? '') && platformMatches(want, m.platform ?? {}));
      if (!pick) throw new InvalidParameterError(`invalid archive: no manifest for ${platformString(want)} in index ${desc.digest}`);
      desc = pick;
    } else if (!MANIFEST_TYPES.has(desc.mediaType ?? '')) {
      throw new InvalidParameterError(`invalid archive: index.json entry ${desc.digest} has unsupported media type ${JSON.stringify(desc.mediaType)}`);
    }
    const manifest = parseArchiveJson(await verifiedBlob(dir, desc, 'manifest'), `manifest ${desc.digest}`) as { config?: Descriptor; layers?: Descriptor[] };
    if (!manifest?.config || !Array.isArray(manifest.layers)) throw new InvalidParameterError(`invalid archive: manifest ${desc.digest} needs a config and a layers list`);
    const raw = await verifiedBlob(dir, manifest.config, 'config');
    const config = checkConfig(raw, `config ${manifest.config.digest}`);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new InvalidParameterError(`invalid manifest, layers length mismatch: expected ${manifest.layers.length}, got ${config.rootfs.diff_ids.length}`);
    }
    const layers = [];
    for (const l of manifest.layers) {
      if (/zstd/.test(l.mediaType ?? '')) throw new InvalidParameterError(`invalid archive: layer ${l.digest} is zstd-compressed (${l.mediaType}), which is not supported`);
      const b = await blob(dir, l, 'layer');
      layers.push({ file: b.file, blobDigest: b.digest });
    }
    items.push({ id: sha256(raw), raw, config, layers, tags: ociTags(top.annotations ?? {}) });
  }
  return items;
}

/** Tags from an index descriptor: containerd's full name first, else a full reference in ref.name. */
function ociTags(annotations: Record<string, string>): Reference[] {
  for (const name of [annotations['io.containerd.image.name'], annotations['org.opencontainers.image.ref.name']]) {
    // A bare ref.name ("latest") names no repository: the image is loaded untagged.
    if (!name || !/[:/]/.test(name)) continue;
    try {
      const ref = withDefaultTag(parseReference(name));
      if (ref.tag && !ref.digest) return [ref];
    } catch {
      continue;
    }
  }
  return [];
}

/** A layer file as a plain tar stream: blob digest checked, gzip inflated, progress counted. */
function layerStream(file: string, blobDigest: Digest | undefined, gzip: boolean, report: ((n: number, final?: boolean) => void) | undefined): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      report?.(seen);
      cb(null, chunk);
    },
    flush(cb) {
      report?.(seen, true);
      cb();
    },
  });
  const out = new PassThrough();
  const stages = [createReadStream(file), ...(blobDigest ? [new DigestingStream(blobDigest)] : []), counter, ...(gzip ? [decompressor('gzip', 'layer')!] : []), out];
  pipeline(stages).catch((e: unknown) => out.destroy(e as Error));
  return out;
}

async function commit(deps: ArchiveDeps, items: LoadItem[], opts: { quiet: boolean; progress: ProgressSink }): Promise<void> {
  const { images } = deps;
  const newChains: Digest[] = [];
  const newImages: Digest[] = [];
  try {
    for (const item of items) {
      const chains = chainIds(item.config.rootfs.diff_ids);
      for (const [i, layer] of item.layers.entries()) {
        if (images.layers.has(chains[i]!)) continue;
        const diffId = item.config.rootfs.diff_ids[i]!;
        const size = (await stat(layer.file)).size;
        const kind = await fileCompression(layer.file);
        const gzip = decompressor(kind, `layer ${i} of image ${item.id}`) !== null;
        const report = opts.quiet ? undefined : progressReporter(opts.progress, diffId.slice(7, 19), 'Loading layer', size);
        try {
          const rec = await images.layers.register(i === 0 ? null : chains[i - 1]!, { tar: layerStream(layer.file, layer.blobDigest, gzip, report) }, diffId);
          newChains.push(rec.chainId);
        } catch (e) {
          throw layerError(e, i, diffId);
        }
      }
    }
    for (const item of items) {
      if (images.images.get(item.id)) continue;
      await images.images.create(item.raw);
      newImages.push(item.id);
    }
  } catch (e) {
    await rollback(deps, newChains, newImages).catch((err: unknown) => deps.log.error({ err }, 'could not undo a failed load'));
    throw e;
  }
  await announce(deps, items, opts.progress);
}

function layerError(e: unknown, i: number, diffId: Digest): unknown {
  if (!(e instanceof DigestMismatchError) || !e.message.includes(diffId)) return e;
  const got = /got (sha256:[a-f0-9]{64})/.exec(e.message)?.[1];
  return new InvalidParameterError(`invalid diffID for layer ${i}: expected "${diffId}"${got ? `, got "${got}"` : ''}`);
}

/** Remove what a failed load added: its images, then its layers that nothing else stands on. */
async function rollback(deps: ArchiveDeps, newChains: Digest[], newImages: Digest[]): Promise<void> {
  const { images } = deps;
  for (const id of [...newImages].reverse()) await images.images.delete(id);
  const used = new Set<Digest>(images.users.chainsInUse());
  for (const img of images.images.all()) for (const c of img.chain) used.add(c);
  for (const c of [...newChains].reverse()) {
    if (used.has(c) || images.layers.all().some((l) => l.parent === c)) continue;
    await images.layers.remove(c);
  }
}

/** Tags, messages and events, as dockerd's tarexporter writes them. */
async function announce(deps: ArchiveDeps, items: LoadItem[], progress: ProgressSink): Promise<void> {
  const { refs } = deps.images;
  let idLines = '';
  let refCount = 0;
  for (const item of items) {
    idLines += `Loaded image ID: ${item.id}\n`;
    // dockerd counts the references of the last image only: an untagged last image lists every ID.
    refCount = 0;
    for (const tag of item.tags) {
      const prev = refs.get(tag);
      if (prev && prev !== item.id) progress({ stream: `The image ${familiarString(tag)} already exists, renaming the old one with ID ${prev} to empty string\n` });
      await refs.add(tag, item.id, { force: true });
      progress({ stream: `Loaded image: ${familiarString(tag)}\n` });
      refCount++;
    }
    publishImageEvent(deps, item.id, 'load');
  }
  if (refCount === 0 && idLines) progress({ stream: idLines });
}
