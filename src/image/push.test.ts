import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type EmulatedRegistry, type RegistryAuthOptions, type RegistryServer } from '../../fakes/registry';
import { EventBus, type DockerEvent } from '../events/events';
import { RegistryRules } from '../registry/registry-config';
import { MEDIA } from '../registry/session';
import { nodeTransport } from '../registry/transport';
import { BlobSources } from './blob-sources';
import { chainIds, sha256, type Digest } from './digest';
import type { ImageRecord } from './image-store';
import type { ImageService } from './image-service';
import type { LayerRecord } from './layer-store';
import type { ProgressMessage } from './progress';
import { pushImage, type PushDeps } from './push';
import { parseReference } from './reference';
import { ReferenceStore } from './reference-store';

/**
 * Push against the emulated registry served on loopback (real sockets, node's transport).
 * The image side is a small in-test image: real ReferenceStore, layers as gzip files.
 */
describe('push', () => {
  let dir: string;
  let registry: EmulatedRegistry;
  let server: RegistryServer;
  let deps: PushDeps;
  let refs: ReferenceStore;
  let events: DockerEvent[];
  const layers = new Map<Digest, LayerRecord>();
  const images = new Map<Digest, ImageRecord>();
  const files = new Map<Digest, string>();

  async function serve(auth?: RegistryAuthOptions): Promise<void> {
    registry = await createEmulatedRegistry({ builtin: false, auth });
    server = await startRegistryServer({ registry });
  }

  /** An image of `sizes.length` layers of random content, tagged `tags` (`host/repo:tag` without host). */
  async function makeImage(sizes: number[], ...tags: string[]): Promise<ImageRecord> {
    const diffIds: Digest[] = [];
    const blobs: Buffer[] = [];
    for (const size of sizes) {
      const tar = randomBytes(size);
      const gz = gzipSync(tar, { level: 0 });
      const diffId = sha256(tar);
      diffIds.push(diffId);
      blobs.push(gz);
      const file = join(dir, `${diffId.slice(7)}.gz`);
      writeFileSync(file, gz);
      files.set(diffId, file);
    }
    const chain = chainIds(diffIds);
    chain.forEach((c, i) => {
      const gz = blobs[i]!;
      layers.set(c, { chainId: c, diffId: diffIds[i]!, parent: i ? chain[i - 1]! : null, cacheId: c.slice(7), size: sizes[i]!, compressed: { digest: sha256(gz), size: gz.length } });
    });
    const raw = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, created: new Date().toISOString() }));
    const img = { id: sha256(raw), config: JSON.parse(raw.toString()), raw, chain, parent: null, lastTagTime: null } as ImageRecord;
    images.set(img.id, img);
    for (const t of tags) await refs.add(parseReference(`${server.address}/${t}`), img.id);
    return img;
  }

  async function push(name: string, tag?: string, extra: Partial<PushDeps> = {}, creds = {}): Promise<ProgressMessage[]> {
    const out: ProgressMessage[] = [];
    await pushImage({ ...deps, ...extra }, `${server.address}/${name}`, tag, { creds, progress: (m) => out.push(m) });
    return out;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-push-'));
    refs = new ReferenceStore(join(dir, 'repositories.json'));
    layers.clear();
    images.clear();
    events = [];
    const bus = new EventBus();
    bus.subscribe((e) => events.push(e));
    const service = {
      refs,
      images: { get: (id: Digest) => images.get(id) },
      layers: { get: (c: Digest) => layers.get(c), gzip: (c: Digest) => createReadStream(files.get(layers.get(c)!.diffId)!) },
    } as unknown as ImageService;
    deps = { images: service, transport: nodeTransport({}), rules: new RegistryRules(), certsDir: join(dir, 'certs.d'), blobSources: new BlobSources(join(dir, 'distribution')), events: bus, log: pino({ level: 'silent' }) };
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pushes layers, config and a schema 2 manifest with Docker's progress messages", async () => {
    await serve();
    const img = await makeImage([3000, 2000], 'tiny:v1');
    const out = await push('tiny', 'v1');
    const [top, bottom] = [...img.chain].reverse().map((c) => layers.get(c)!.diffId.slice(7, 19));
    expect(out[0]).toEqual({ status: `The push refers to repository [${server.address}/tiny]` });
    expect(out.slice(1, 3)).toEqual([
      { status: 'Preparing', progressDetail: {}, id: top },
      { status: 'Preparing', progressDetail: {}, id: bottom },
    ]);
    expect(out.filter((m) => m.status === 'Pushed').map((m) => m.id).sort()).toEqual([top, bottom].sort());
    const pushing = out.filter((m) => m.status === 'Pushing' && m.id === top);
    expect(pushing[pushing.length - 1]!.progressDetail).toEqual({ current: layers.get(img.chain[1]!)!.compressed.size, total: layers.get(img.chain[1]!)!.compressed.size });

    const stored = registry.store.getManifest('tiny', 'v1')!;
    const digest = sha256(stored.bytes);
    expect(stored.mediaType).toBe(MEDIA.dockerManifest);
    const manifest = JSON.parse(Buffer.from(stored.bytes).toString()) as { config: { digest: string; size: number }; layers: { digest: string; mediaType: string }[] };
    expect(manifest.config).toEqual({ mediaType: MEDIA.dockerConfig, size: img.raw.length, digest: img.id });
    expect(manifest.layers.map((l) => l.digest)).toEqual(img.chain.map((c) => layers.get(c)!.compressed.digest));
    expect(Buffer.from(stored.bytes).toString()).toMatch(/^\{\n {3}"schemaVersion": 2,/);
    expect(out.slice(-2)).toEqual([
      { status: `v1: digest: ${digest} size: ${stored.bytes.length}` },
      { progressDetail: {}, aux: { Tag: 'v1', Digest: digest, Size: stored.bytes.length } },
    ]);
    expect(refs.referencesTo(img.id).map((r) => r.digest).filter(Boolean)).toEqual([digest]);
    expect(events.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes.name])).toEqual([['image', 'push', `${server.address}/tiny:v1`, `${server.address}/tiny`]]);
  });

  it('reports "Layer already exists" for blobs the registry has, and pushes only the tag', async () => {
    await serve();
    await makeImage([1500], 'tiny:v1');
    await push('tiny', 'v1');
    const uploads = registry.faults.inject({ operation: ['upload.start', 'upload.complete'], fault: { kind: 'delay', ms: 0 } });
    const again = await push('tiny', 'v1');
    expect(again.filter((m) => m.id).map((m) => m.status)).toEqual(['Preparing', 'Layer already exists']);
    expect(uploads.hits).toBe(0);
  });

  it('mounts a blob known in another repository of the same registry', async () => {
    await serve();
    const img = await makeImage([1500], 'tiny:v1');
    await push('tiny', 'v1');
    await refs.add(parseReference(`${server.address}/other:v2`), img.id);
    const out = await push('other', 'v2');
    expect(out.find((m) => m.id && m.status !== 'Preparing')).toMatchObject({ status: 'Mounted from tiny' });
    expect(registry.store.getManifest('other', 'v2')).toBeDefined();
  });

  it('falls back to uploading when a mount is refused', async () => {
    await serve();
    const img = await makeImage([1500], 'tiny:v1');
    await push('tiny', 'v1');
    const digest = layers.get(img.chain[0]!)!.compressed.digest;
    registry.store.unlinkBlob('tiny', digest);
    await refs.add(parseReference(`${server.address}/other:v2`), img.id);
    const out = await push('other', 'v2');
    expect(out.filter((m) => m.id).map((m) => m.status)).toContain('Pushed');
    expect(registry.store.getBlob('other', digest)).toBeDefined();
  });

  it('sends big blobs in chunks with Content-Range', async () => {
    await serve();
    const img = await makeImage([10_000], 'big:v1');
    const chunks = registry.faults.inject({ operation: 'upload.chunk', fault: { kind: 'delay', ms: 0 } });
    await push('big', 'v1', { chunkThreshold: 4096, chunkSize: 3000 });
    const size = layers.get(img.chain[0]!)!.compressed.size;
    expect(chunks.hits).toBe(Math.ceil(size / 3000));
    expect(Buffer.from(registry.store.getBlob('big', layers.get(img.chain[0]!)!.compressed.digest)!).length).toBe(size);
  });

  it('pushes every tag of the repository when no tag is given', async () => {
    await serve();
    await makeImage([500], 'multi:a', 'multi:b');
    const out = await push('multi');
    expect(out.filter((m) => m.aux).map((m) => (m.aux as { Tag: string }).Tag)).toEqual(['a', 'b']);
    expect(registry.store.listTags('multi')).toEqual(['a', 'b']);
  });

  it("fails with Docker's messages for missing images and tags", async () => {
    await serve();
    await makeImage([500], 'tiny:v1');
    await expect(push('nothing')).rejects.toThrow(`An image does not exist locally with the tag: ${server.address}/nothing`);
    await expect(push('tiny', 'nope')).rejects.toThrow(`tag does not exist: ${server.address}/tiny:nope`);
  });

  it('is denied without push rights, unauthorized without credentials, and works with them', async () => {
    await serve({ users: { alice: 'pw' }, anonymousPull: true });
    await makeImage([500], 'alice/app:v1');
    await expect(push('alice/app', 'v1')).rejects.toThrow('denied: requested access to the resource is denied');
    await server.close();
    await serve({ scheme: 'basic', users: { alice: 'pw' } });
    await refs.add(parseReference(`${server.address}/alice/app:v1`), [...images.keys()][0]!);
    await expect(push('alice/app', 'v1')).rejects.toThrow('unauthorized: authentication required');
    const out = await push('alice/app', 'v1', {}, { username: 'alice', password: 'pw' });
    expect(out[out.length - 1]!.aux).toMatchObject({ Tag: 'v1' });
  });
});
