import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import { createEmulatedRegistry, MediaType, type EmulatedRegistry } from './index';
import { expectStatus, TestRegistryClient, TRANSPORTS, type Transport } from './test-client';

const encode = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(value)));
const errorCode = async (response: Response): Promise<string | undefined> =>
  ((await response.json()) as { errors: { code: string }[] }).errors[0]?.code;

function imageManifest(config: Uint8Array, layers: Uint8Array[], mediaType: string = MediaType.dockerManifest) {
  return encode({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: MediaType.dockerConfig, digest: sha256Digest(config), size: config.byteLength },
    layers: layers.map((l) => ({ mediaType: MediaType.dockerLayer, digest: sha256Digest(l), size: l.byteLength })),
  });
}

describe.each(TRANSPORTS)('pushing ($name)', (transport) => {
  let registry: EmulatedRegistry;
  let conn: Transport;
  let client: TestRegistryClient;
  const layer = new Uint8Array(Buffer.from('layer bytes '.repeat(40)));
  const config = encode({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });

  beforeEach(async () => {
    registry = await createEmulatedRegistry({ builtin: transport.name === 'server' });
    conn = await transport.open(registry);
    client = new TestRegistryClient(conn.fetch, conn.base);
  });
  afterEach(() => conn.close());

  it('pushes monolithic and chunked blobs and a manifest, then pulls them back (multi-component name)', async () => {
    await client.pushBlob('a/b/c', config, 'monolithic');
    await client.pushBlob('a/b/c', layer, 'chunked', 97);
    const manifest = imageManifest(config, [layer]);
    const response = await client.pushManifest('a/b/c', 'v1', MediaType.dockerManifest, manifest);
    await expectStatus(response, 201, 'PUT manifest');
    expect(response.headers.get('docker-content-digest')).toBe(sha256Digest(manifest));
    expect(response.headers.get('location')).toBe(`${conn.base}/v2/a/b/c/manifests/${sha256Digest(manifest)}`);

    const pulled = await client.pull('a/b/c', 'v1');
    expect(pulled.manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(Buffer.from(pulled.layers[0]!)).toEqual(Buffer.from(layer));
    expect(await (await client.send('GET', '/v2/a/b/c/tags/list')).json()).toEqual({ name: 'a/b/c', tags: ['v1'] });
    expect(registry.store.uploadsInProgress).toBe(0);
  });

  it('reports chunked upload progress with Range and refuses out-of-order chunks with 416', async () => {
    const start = await client.send('POST', '/v2/repo/blobs/uploads/');
    expect(start.status).toBe(202);
    expect(start.headers.get('range')).toBe('0-0');
    const uuid = start.headers.get('docker-upload-uuid')!;
    const location = start.headers.get('location')!;
    expect(location).toBe(`${conn.base}/v2/repo/blobs/uploads/${uuid}`);

    const first = await client.send('PATCH', location, { headers: { 'Content-Range': '0-9' }, body: layer.subarray(0, 10) });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-9');

    const gap = await client.send('PATCH', location, { headers: { 'Content-Range': '20-29' }, body: layer.subarray(20, 30) });
    expect(gap.status).toBe(416);
    expect(gap.headers.get('range')).toBe('0-9');

    const status = await client.send('GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-9');

    // A PATCH without Content-Range streams the rest; PUT completes with the digest.
    const rest = await client.send('PATCH', location, { body: layer.subarray(10) });
    expect(rest.headers.get('range')).toBe(`0-${layer.byteLength - 1}`);
    const done = await client.send('PUT', `${location}?digest=${sha256Digest(layer)}`);
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(sha256Digest(layer));
    expect((await client.send('GET', location)).status).toBe(404);
  });

  it('completes an upload with the last chunk in the PUT body', async () => {
    const start = await client.send('POST', '/v2/repo/blobs/uploads/');
    const location = start.headers.get('location')!;
    await client.send('PATCH', location, { body: layer.subarray(0, 100) });
    const done = await client.send('PUT', `${location}?digest=${sha256Digest(layer)}`, { body: layer.subarray(100) });
    expect(done.status).toBe(201);
    expect(Buffer.from(await client.getBlob('repo', sha256Digest(layer)))).toEqual(Buffer.from(layer));
  });

  it('rejects a wrong digest with DIGEST_INVALID and keeps nothing', async () => {
    const wrong = sha256Digest(new Uint8Array([1, 2, 3]));
    const mono = await client.send('POST', `/v2/repo/blobs/uploads/?digest=${wrong}`, { body: layer });
    expect(mono.status).toBe(400);
    expect(await errorCode(mono)).toBe('DIGEST_INVALID');

    const start = await client.send('POST', '/v2/repo/blobs/uploads/');
    const location = start.headers.get('location')!;
    await client.send('PATCH', location, { body: layer });
    const done = await client.send('PUT', `${location}?digest=${wrong}`);
    expect(done.status).toBe(400);
    expect(await errorCode(done)).toBe('DIGEST_INVALID');
    expect(registry.store.uploadsInProgress).toBe(0);
    expect((await client.send('HEAD', `/v2/repo/blobs/${sha256Digest(layer)}`)).status).toBe(404);

    const noDigest = await client.send('POST', '/v2/repo/blobs/uploads/');
    const missing = await client.send('PUT', noDigest.headers.get('location')!);
    expect(await errorCode(missing)).toBe('DIGEST_INVALID');
  });

  it('cancels an upload', async () => {
    const start = await client.send('POST', '/v2/repo/blobs/uploads/');
    const location = start.headers.get('location')!;
    expect((await client.send('DELETE', location)).status).toBe(204);
    const again = await client.send('PATCH', location, { body: layer });
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts a blob from another repository (201), or starts an upload when it is not there (202)', async () => {
    const digest = await client.pushBlob('source/repo', layer, 'monolithic');
    const mounted = await client.send('POST', `/v2/target/repo/blobs/uploads/?mount=${digest}&from=source/repo`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`${conn.base}/v2/target/repo/blobs/${digest}`);
    expect(mounted.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from(await client.getBlob('target/repo', digest))).toEqual(Buffer.from(layer));

    const fallback = await client.send('POST', `/v2/target/repo/blobs/uploads/?mount=${digest}&from=elsewhere`);
    expect(fallback.status).toBe(202);
    expect(fallback.headers.get('docker-upload-uuid')).toEqual(expect.any(String));
  });

  it('tags an existing manifest without uploading anything (tag-only push)', async () => {
    await client.pushBlob('repo', config, 'monolithic');
    await client.pushBlob('repo', layer, 'monolithic');
    const manifest = imageManifest(config, [layer]);
    await expectStatus(await client.pushManifest('repo', 'v1', MediaType.dockerManifest, manifest), 201, 'first tag');
    await expectStatus(await client.pushManifest('repo', 'v2', MediaType.dockerManifest, manifest), 201, 'second tag');
    expect((await client.getManifest('repo', 'v2')).digest).toBe(sha256Digest(manifest));
    expect(await (await client.send('GET', '/v2/repo/tags/list')).json()).toEqual({ name: 'repo', tags: ['v1', 'v2'] });
  });

  it('pushes a manifest list whose entries exist, by digest', async () => {
    await client.pushBlob('repo', config, 'monolithic');
    await client.pushBlob('repo', layer, 'monolithic');
    const child = imageManifest(config, [layer]);
    await expectStatus(await client.pushManifest('repo', sha256Digest(child), MediaType.dockerManifest, child), 201, 'child');
    const list = encode({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [{ mediaType: MediaType.dockerManifest, digest: sha256Digest(child), size: child.byteLength, platform: { architecture: 'amd64', os: 'linux' } }],
    });
    await expectStatus(await client.pushManifest('repo', 'multi', MediaType.dockerManifestList, list), 201, 'list');
    expect((await client.pull('repo', 'multi')).manifest.digest).toBe(sha256Digest(child));
  });

  it('validates manifests: missing blobs, digest mismatch, bad JSON, bad media type, bad tag', async () => {
    await client.pushBlob('repo', config, 'monolithic');
    const manifest = imageManifest(config, [layer]);
    const missing = await client.pushManifest('repo', 'v1', MediaType.dockerManifest, manifest);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      errors: [{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: sha256Digest(layer) } }],
    });

    const missingChild = encode({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: MediaType.ociManifest, digest: sha256Digest(manifest), size: manifest.byteLength }],
    });
    expect(await errorCode(await client.pushManifest('repo', 'idx', MediaType.ociIndex, missingChild))).toBe('MANIFEST_BLOB_UNKNOWN');

    await client.pushBlob('repo', layer, 'monolithic');
    const otherDigest = sha256Digest(new Uint8Array([9]));
    const mismatch = await client.pushManifest('repo', otherDigest, MediaType.dockerManifest, manifest);
    expect(await errorCode(mismatch)).toBe('DIGEST_INVALID');

    const garbage = await client.pushManifest('repo', 'v1', MediaType.dockerManifest, encode('x').subarray(1));
    expect(garbage.status).toBe(400);
    expect(await errorCode(garbage)).toBe('MANIFEST_INVALID');
    const unknownType = await client.pushManifest('repo', 'v1', 'text/plain', encode({ schemaVersion: 2 }));
    expect(await errorCode(unknownType)).toBe('MANIFEST_INVALID');
    const badTag = await client.pushManifest('repo', '-bad', MediaType.dockerManifest, manifest);
    expect(await errorCode(badTag)).toBe('TAG_INVALID');
    expect(await (await client.send('GET', '/v2/repo/tags/list')).json()).toEqual({ name: 'repo', tags: [] });
  });

  it('deletes a tag, or a manifest by digest with every tag pointing at it, and a blob', async () => {
    await client.pushBlob('repo', config, 'monolithic');
    await client.pushBlob('repo', layer, 'monolithic');
    const manifest = imageManifest(config, [layer]);
    const digest = sha256Digest(manifest);
    for (const tag of ['a', 'b', 'c']) await client.pushManifest('repo', tag, MediaType.dockerManifest, manifest);

    expect((await client.send('DELETE', '/v2/repo/manifests/a')).status).toBe(202);
    expect(await (await client.send('GET', '/v2/repo/tags/list')).json()).toEqual({ name: 'repo', tags: ['b', 'c'] });
    expect((await client.send('DELETE', `/v2/repo/manifests/${digest}`)).status).toBe(202);
    expect(await (await client.send('GET', '/v2/repo/tags/list')).json()).toEqual({ name: 'repo', tags: [] });
    const gone = await client.send('GET', `/v2/repo/manifests/${digest}`);
    expect(await errorCode(gone)).toBe('MANIFEST_UNKNOWN');
    expect((await client.send('DELETE', `/v2/repo/manifests/${digest}`)).status).toBe(404);

    expect((await client.send('DELETE', `/v2/repo/blobs/${sha256Digest(layer)}`)).status).toBe(202);
    expect((await client.send('HEAD', `/v2/repo/blobs/${sha256Digest(layer)}`)).status).toBe(404);
  });
});
