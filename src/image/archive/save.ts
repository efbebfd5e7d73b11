/**
 * `docker save` (GET /images/{name}/get, GET /images/get?names=...): a tar stream that is at
 * once dockerd 20.10's format and an OCI image layout (as Docker 25+ writes):
 *
 *   blobs/sha256/<hex>        config, layers (uncompressed tars) and OCI manifests
 *   <v1 id>/VERSION, json     legacy per-layer metadata ("1.0", the v1 json)
 *   <v1 id>/layer.tar         a symlink to ../blobs/sha256/<diff id>, so a layer is written once
 *   <config hex>.json         the config, as dockerd names it
 *   index.json, oci-layout    the OCI layout: one manifest descriptor per tag
 *   manifest.json             [{Config, RepoTags, Layers}] in dockerd's order
 *   repositories              {"busybox":{"latest":"<v1 id>"}}
 *
 * Names are resolved (and refused with NotFound) before any byte is produced. The tar is built
 * while it is read: each layer is read twice (once to learn its size for the tar header, once
 * to copy it), nothing is buffered beyond one tar block.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { NotFoundError } from '../../errors';
import type { Digest } from '../digest';
import { sha256 } from '../digest';
import type { ImageRecord } from '../image-store';
import { MEDIA } from '../../registry/session';
import { familiarName, familiarString, isImageIdLike, parseReference, referenceString, withDefaultTag, type Reference } from '../reference';
import type { ArchiveDeps } from './deps';
import { publishImageEvent } from './deps';
import { goJson, goJsonLine, goTime, sortedKeys } from './go-json';
import { v1Layers } from './legacy-v1';

/** An image to save and the tags it is saved with. */
export interface SaveItem {
  img: ImageRecord;
  tags: Reference[];
}

/**
 * Resolve `docker save` names as dockerd does: an ID (full or prefix) saves the image without
 * tags, `repo:tag` saves it with that tag, `repo@digest` without tags, a bare repository name
 * every tag of the repository. Images come out in the order first named.
 */
export function resolveSaveNames(deps: ArchiveDeps, names: string[]): SaveItem[] {
  const { images } = deps;
  const items = new Map<Digest, SaveItem>();
  const add = (img: ImageRecord, tag?: Reference) => {
    const item = items.get(img.id) ?? { img, tags: [] };
    items.set(img.id, item);
    if (tag?.tag && !tag.digest && !item.tags.some((t) => familiarString(t) === familiarString(tag))) item.tags.push(tag);
  };
  for (const name of names) {
    const notFound = () => new NotFoundError(`No such image: ${name}`);
    if (isImageIdLike(name)) {
      add(images.resolve(name));
      continue;
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(name);
    } catch {
      ref = undefined;
    }
    if (ref && !ref.tag && !ref.digest) {
      const inRepo = images.refs.inRepository(ref);
      for (const r of inRepo) add(images.images.get(r.id) ?? failMissing(r.id), r.ref);
      if (inRepo.length > 0) continue;
    } else if (ref) {
      const id = images.refs.get(ref);
      if (id) {
        add(images.images.get(id) ?? failMissing(id), ref);
        continue;
      }
    }
    const byId = images.tryResolve(name);
    if (!byId) throw notFound();
    add(byId, ref?.tag ? withDefaultTag(ref) : undefined);
  }
  return [...items.values()];
}

function failMissing(id: Digest): never {
  throw new NotFoundError(`No such image: ${id}`);
}

/** The tar of `names` as a stream; throws NotFound before streaming when a name is unknown. */
export async function saveImages(deps: ArchiveDeps, names: string[]): Promise<Readable> {
  const items = resolveSaveNames(deps, names);
  const pack = tar.pack();
  const out = new SaveStream();
  pack.pipe(out);
  out.on('close', () => pack.destroy());
  // The pack fails with "Writable stream closed" when `out` goes first; that is the cancellation itself.
  pack.on('error', () => undefined);
  writeArchive(deps, items, new TarWriter(pack, () => out.destroyed)).then(
    () => pack.finalize(),
    (e: unknown) => {
      if (!out.destroyed) deps.log.warn({ err: e }, 'image save failed while streaming');
      out.destroy(e as Error);
    },
  );
  return out;
}

/**
 * The archive as the route sees it. The route pipes it into the response: when the client goes
 * away first, the response closes and the stream is destroyed, so that the layer reads stop;
 * when writing fails midway, the response is torn down (the client sees a broken transfer, as
 * with dockerd) instead of the error going unhandled.
 */
class SaveStream extends PassThrough {
  override pipe<T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T {
    const d = dest as unknown as NodeJS.EventEmitter & { destroy?: () => void };
    d.once('close', () => {
      if (!this.readableEnded) this.destroy();
    });
    this.once('error', () => d.destroy?.());
    return super.pipe(dest, opts);
  }
}

const EPOCH = new Date(0);
type HeaderArg = Parameters<tar.Pack['entry']>[0];

/** Writes tar entries into a pack, waiting for each to be consumed. */
class TarWriter {
  constructor(
    private readonly pack: tar.Pack,
    private readonly cancelled: () => boolean,
  ) {}

  private check(): void {
    if (this.cancelled()) throw new Error('save cancelled: the reader went away');
  }

  dir(name: string, mtime = EPOCH): Promise<void> {
    return this.put({ name, type: 'directory', mode: 0o755, mtime });
  }

  file(name: string, data: string | Buffer, mtime = EPOCH): Promise<void> {
    return this.put({ name, type: 'file', mode: 0o644, mtime }, Buffer.from(data));
  }

  symlink(name: string, target: string, mtime = EPOCH): Promise<void> {
    return this.put({ name, type: 'symlink', linkname: target, mode: 0o777, mtime });
  }

  async stream(name: string, size: number, source: Readable, mtime = EPOCH): Promise<void> {
    this.check();
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name, type: 'file', mode: 0o644, size, mtime, uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve()));
      pipeline(source, entry).catch(reject);
    });
  }

  private put(header: HeaderArg, data = Buffer.alloc(0)): Promise<void> {
    this.check();
    return new Promise((resolve, reject) => {
      this.pack.entry({ uid: 0, gid: 0, ...header }, data, (err) => (err ? reject(err) : resolve()));
    });
  }
}

async function byteCount(source: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of source) n += (chunk as Buffer).length;
  return n;
}

interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
}

/** A layer's exact tar, with read errors reported on the stream (not thrown elsewhere). */
function layerTar(deps: ArchiveDeps, chain: Digest): Readable {
  const gunzip = createGunzip();
  pipeline(deps.images.layers.gzip(chain), gunzip).catch((e: unknown) => gunzip.destroy(e as Error));
  return gunzip;
}

async function writeArchive(deps: ArchiveDeps, items: SaveItem[], w: TarWriter): Promise<void> {
  const blobs = new Map<Digest, number>(); // written blobs and their sizes
  const v1Dirs = new Set<string>();
  const manifest: Record<string, unknown>[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: Descriptor[] = [];
  const manifestBlobs: { digest: Digest; bytes: Buffer }[] = [];

  await w.dir('blobs/');
  await w.dir('blobs/sha256/');
  for (const { img, tags } of items) {
    const created = new Date(goTime(img.config.created));
    const mtime = Number.isNaN(created.getTime()) ? EPOCH : created;
    const layers = v1Layers(img.config);
    const layerDescs: Descriptor[] = [];
    for (const [i, l] of layers.entries()) {
      const chain = img.chain[i]!;
      if (!blobs.has(l.diffId)) {
        const size = await byteCount(layerTar(deps, chain));
        await w.stream(`blobs/sha256/${l.diffId.slice(7)}`, size, layerTar(deps, chain), mtime);
        blobs.set(l.diffId, size);
      }
      layerDescs.push({ mediaType: MEDIA.ociLayer, digest: l.diffId, size: blobs.get(l.diffId)! });
      if (v1Dirs.has(l.id)) continue;
      v1Dirs.add(l.id);
      await w.dir(`${l.id}/`, mtime);
      await w.file(`${l.id}/VERSION`, '1.0', mtime);
      await w.file(`${l.id}/json`, l.json, mtime);
      await w.symlink(`${l.id}/layer.tar`, `../blobs/sha256/${l.diffId.slice(7)}`, mtime);
    }
    const configHex = img.id.slice(7);
    if (!blobs.has(img.id)) {
      await w.file(`blobs/sha256/${configHex}`, img.raw, mtime);
      await w.file(`${configHex}.json`, img.raw, mtime);
      blobs.set(img.id, img.raw.length);
    }

    const oci = Buffer.from(
      goJson({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: img.id, size: img.raw.length },
        layers: layerDescs,
      }),
    );
    const ociDigest = sha256(oci);
    if (!manifestBlobs.some((m) => m.digest === ociDigest)) manifestBlobs.push({ digest: ociDigest, bytes: oci });
    const desc = { mediaType: MEDIA.ociManifest, digest: ociDigest, size: oci.length };
    if (tags.length === 0) index.push(desc);
    for (const t of tags) {
      index.push({ ...desc, annotations: { 'io.containerd.image.name': referenceString(t), 'org.opencontainers.image.ref.name': t.tag! } });
      (repositories[familiarName(t)] ??= {})[t.tag!] = layers[layers.length - 1]?.id ?? '';
    }
    const parent = img.parent && items.some((x) => x.img.id === img.parent) ? { Parent: img.parent } : {};
    manifest.push({ Config: `${configHex}.json`, RepoTags: tags.length ? tags.map(familiarString) : null, Layers: layers.map((l) => `${l.id}/layer.tar`), ...parent });
    publishImageEvent(deps, img.id, 'save');
  }
  for (const m of manifestBlobs) if (!blobs.has(m.digest)) await w.file(`blobs/sha256/${m.digest.slice(7)}`, m.bytes);
  await w.file('index.json', goJson({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index }));
  await w.file('oci-layout', goJson({ imageLayoutVersion: '1.0.0' }));
  await w.file('manifest.json', goJsonLine(manifest));
  const sortedRepos = sortedKeys(Object.fromEntries(Object.entries(repositories).map(([k, v]) => [k, sortedKeys(v)])));
  if (Object.keys(sortedRepos).length > 0) await w.file('repositories', goJsonLine(sortedRepos));
}
