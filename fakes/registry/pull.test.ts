import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import { buildBuiltinImages, builtinImages } from './images';
import { createEmulatedRegistry, MediaType, type EmulatedRegistry } from './index';
import { gunzip, readTar, TestRegistryClient, TRANSPORTS, type Transport } from './test-client';

describe.each(TRANSPORTS)('pulling built-in images ($name)', (transport) => {
  let registry: EmulatedRegistry;
  let conn: Transport;
  let client: TestRegistryClient;

  beforeEach(async () => {
    registry = await createEmulatedRegistry();
    conn = await transport.open(registry);
    client = new TestRegistryClient(conn.fetch, conn.base);
  });
  afterEach(() => conn.close());

  it('answers the base check with {} and the API version header', async () => {
    const response = await client.send('GET', '/v2/');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await response.json()).toEqual({});
  });

  it('pulls busybox:latest: manifest list → linux/amd64 → config → verified layer', async () => {
    const { index, manifest, config, layers } = await client.pull('library/busybox', 'latest');
    expect(index?.mediaType).toBe(MediaType.dockerManifestList);
    expect(manifest.mediaType).toBe(MediaType.dockerManifest);
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers' },
    });
    expect(layers).toHaveLength(1);
    const layerTar = await gunzip(layers[0]!);
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(layerTar)]);
    expect(config.history.map((h) => Boolean(h.empty_layer))).toEqual([false, true]);

    const files = await readTar(layerTar);
    expect(files.get('bin/busybox')).toMatchObject({ type: 'file', content: '#!tsdocker-applet busybox\n', mode: 0o755 });
    for (const applet of ['sh', 'echo', 'cat', 'sleep', 'ls', 'grep', 'ps', 'uname', 'env', 'id']) {
      expect(files.get(`bin/${applet}`)).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    }
    expect(files.get('tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(files.get('root/')).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(files.has('home/')).toBe(true);
    expect(files.has('var/')).toBe(true);
    expect(files.has('etc/hostname')).toBe(false);
    expect(files.get('etc/passwd')?.content).toMatch(/^root:x:0:0:root:\/root:\/bin\/sh$/m);
    expect(files.get('etc/group')?.content).toMatch(/^root:x:0:$/m);
    const names = [...files.keys()];
    expect(names).toEqual([...names].sort());
    for (const file of files.values()) {
      expect(file).toMatchObject({ uid: 0, gid: 0 });
      expect(file.mtime.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    }
  });

  it('serves a distinct linux/arm64/v8 config sharing the same layer', async () => {
    const amd64 = await client.pull('library/busybox', 'latest');
    const arm64 = await client.pull('library/busybox', 'latest', { os: 'linux', architecture: 'arm64' });
    expect(arm64.config).toMatchObject({ architecture: 'arm64', variant: 'v8', os: 'linux' });
    expect(arm64.manifest.digest).not.toBe(amd64.manifest.digest);
    expect(sha256Digest(arm64.configBytes)).not.toBe(sha256Digest(amd64.configBytes));
    expect(arm64.config.rootfs.diff_ids).toEqual(amd64.config.rootfs.diff_ids);
    const platforms = (amd64.index?.json.manifests as { platform: unknown }[]).map((m) => m.platform);
    expect(platforms).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
  });

  it('pulls alpine:latest from an OCI index of OCI manifests, with two layers', async () => {
    const { index, manifest, config, layers } = await client.pull('library/alpine', 'latest');
    expect(index?.mediaType).toBe(MediaType.ociIndex);
    expect(manifest.mediaType).toBe(MediaType.ociManifest);
    expect((manifest.json.layers as { mediaType: string }[]).map((l) => l.mediaType)).toEqual([MediaType.ociLayer, MediaType.ociLayer]);
    expect((manifest.json.config as { mediaType: string }).mediaType).toBe(MediaType.ociConfig);
    expect(config.config.Cmd).toEqual(['/bin/sh']);
    expect(layers).toHaveLength(2);
    const base = await readTar(await gunzip(layers[0]!));
    const top = await readTar(await gunzip(layers[1]!));
    expect(base.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(top.get('etc/alpine-release')?.content).toBe('3.20.3\n');
    expect(top.get('etc/os-release')?.content).toMatch(/^ID=alpine$/m);
    // The base layer is the very same blob as busybox's.
    const busybox = await client.pull('library/busybox', 'latest');
    expect(sha256Digest(layers[0]!)).toBe(sha256Digest(busybox.layers[0]!));
  });

  it('pulls hello-world: /hello marker and Cmd ["/hello"]', async () => {
    const { config, layers } = await client.pull('library/hello-world', 'latest');
    expect(config.config).toMatchObject({ Cmd: ['/hello'], WorkingDir: '/' });
    const files = await readTar(await gunzip(layers[0]!));
    expect([...files.keys()]).toEqual(['hello']);
    expect(files.get('hello')).toMatchObject({ content: '#!tsdocker-applet hello\n', mode: 0o755 });
  });

  it('serves plain schema2 and OCI manifest tags with their own Content-Type', async () => {
    const schema2 = await client.pull('library/busybox', 'schema2');
    expect(schema2.index).toBeUndefined();
    expect(schema2.manifest.mediaType).toBe(MediaType.dockerManifest);
    const oci = await client.pull('library/busybox', 'oci');
    expect(oci.manifest.mediaType).toBe(MediaType.ociManifest);
    expect(oci.config.architecture).toBe('amd64');
    for (const tag of ['1.36', 'musl']) {
      expect((await client.getManifest('library/busybox', tag)).mediaType).toBe(MediaType.dockerManifestList);
    }
  });

  it('answers HEAD on a manifest with its headers and no body', async () => {
    const full = await client.getManifest('library/busybox', 'latest');
    const response = await client.send('HEAD', '/v2/library/busybox/manifests/latest', {
      headers: { Accept: `${MediaType.dockerManifestList}, ${MediaType.dockerManifest}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(full.digest);
    expect(response.headers.get('content-type')).toBe(MediaType.dockerManifestList);
    expect(response.headers.get('content-length')).toBe(String(full.bytes.byteLength));
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves the linux/amd64 manifest to a client that does not accept manifest lists', async () => {
    const single = await client.getManifest('library/busybox', 'latest', MediaType.dockerManifest);
    expect(single.mediaType).toBe(MediaType.dockerManifest);
    const amd64 = await client.pull('library/busybox', 'latest');
    expect(single.digest).toBe(amd64.manifest.digest);
  });

  it('answers unknown tags, repositories and bad names with registry errors', async () => {
    const cases: [string, number, string][] = [
      ['/v2/library/busybox/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
      ['/v2/library/nothing/manifests/latest', 404, 'NAME_UNKNOWN'],
      ['/v2/Library/BusyBox/manifests/latest', 400, 'NAME_INVALID'],
      ['/v2/library/busybox/manifests/sha256:zz', 400, 'DIGEST_INVALID'],
      [`/v2/library/busybox/blobs/sha256:${'0'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
      ['/v2/library/nothing/tags/list', 404, 'NAME_UNKNOWN'],
      ['/v2/library/busybox/nope', 404, 'UNSUPPORTED'],
    ];
    for (const [path, status, code] of cases) {
      const response = await client.send('GET', path);
      expect({ path, status: response.status }).toEqual({ path, status });
      const body = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe(code);
      expect(body.errors[0]?.message).toEqual(expect.any(String));
    }
  });

  it('serves byte ranges of a blob so an interrupted download can resume', async () => {
    const { manifest } = await client.pull('library/busybox', 'latest');
    const layer = (manifest.json.layers as { digest: string; size: number }[])[0]!;
    const path = `/v2/library/busybox/blobs/${layer.digest}`;

    const head = await client.send('HEAD', path);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.size));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('docker-content-digest')).toBe(layer.digest);

    const first = await client.send('GET', path, { headers: { Range: 'bytes=0-99' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${layer.size}`);
    const rest = await client.send('GET', path, { headers: { Range: 'bytes=100-' } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 100-${layer.size - 1}/${layer.size}`);
    const joined = Buffer.concat([Buffer.from(await first.arrayBuffer()), Buffer.from(await rest.arrayBuffer())]);
    expect(sha256Digest(joined)).toBe(layer.digest);

    const beyond = await client.send('GET', path, { headers: { Range: `bytes=${layer.size}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${layer.size}`);
  });

  it('lists tags and the catalog, sorted and paginated with Link', async () => {
    const tags = await client.send('GET', '/v2/library/busybox/tags/list');
    expect(await tags.json()).toEqual({ name: 'library/busybox', tags: ['1.36', 'latest', 'musl', 'oci', 'schema2'] });

    const page1 = await client.send('GET', '/v2/library/busybox/tags/list?n=2');
    expect(await page1.json()).toEqual({ name: 'library/busybox', tags: ['1.36', 'latest'] });
    expect(page1.headers.get('link')).toBe('</v2/library/busybox/tags/list?last=latest&n=2>; rel="next"');
    const page3 = await client.send('GET', '/v2/library/busybox/tags/list?n=2&last=musl');
    expect(await page3.json()).toEqual({ name: 'library/busybox', tags: ['oci', 'schema2'] });
    expect(page3.headers.get('link')).toBeNull();

    const catalog = await client.send('GET', '/v2/_catalog');
    expect(await catalog.json()).toEqual({ repositories: ['library/alpine', 'library/busybox', 'library/hello-world'] });
    const bad = await client.send('GET', '/v2/_catalog?n=-1');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('PAGINATION_NUMBER_INVALID');
  });

  it('answers v1 search like Docker Hub', async () => {
    const response = await client.send('GET', '/v1/search?q=busy&n=25');
    expect(await response.json()).toEqual({
      num_pages: 1,
      num_results: 1,
      page_size: 25,
      page: 1,
      query: 'busy',
      results: [{ name: 'busybox', description: 'Busybox base image.', star_count: expect.any(Number), is_official: true, is_automated: false }],
    });
    const byDescription = (await (await client.send('GET', '/v1/search?q=alpine%20linux')).json()) as { results: { name: string }[] };
    expect(byDescription.results.map((r) => r.name)).toEqual(['alpine']);

    const all = (await (await client.send('GET', '/v1/search?q=&n=2&page=2')).json()) as Record<string, unknown>;
    expect(all).toMatchObject({ num_results: 3, num_pages: 2, page: 2, page_size: 2 });
    expect((all.results as unknown[]).length).toBe(1);
    expect((await client.send('GET', '/v1/search?q=x&n=0')).status).toBe(400);
  });
});

describe('built-in images', () => {
  it('are deterministic and small', async () => {
    const [first, second] = await Promise.all([buildBuiltinImages(), buildBuiltinImages()]);
    const digests = (images: typeof first) => images.map((image) => image.manifests.map((m) => m.digest));
    expect(digests(first)).toEqual(digests(second));
    for (const image of first) {
      for (const blob of image.blobs) expect(blob.byteLength).toBeLessThan(4096);
    }
  });

  it('are built once per process and shared', async () => {
    expect(await builtinImages()).toBe(await builtinImages());
  });

  it('can be left out', async () => {
    const registry = await createEmulatedRegistry({ builtin: false });
    const response = await registry.fetch(new Request('http://registry.test/v2/_catalog'));
    expect(await response.json()).toEqual({ repositories: [] });
  });
});
