import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import { createEmulatedRegistry, type EmulatedRegistry } from './index';
import { TestRegistryClient, TRANSPORTS, type Transport } from './test-client';

const errorCode = async (response: Response): Promise<string | undefined> =>
  ((await response.json()) as { errors: { code: string }[] }).errors[0]?.code;

describe.each(TRANSPORTS)('fault injection ($name)', (transport) => {
  let registry: EmulatedRegistry;
  let conn: Transport;
  let client: TestRegistryClient;
  let layerDigest: string;
  let layerPath: string;

  beforeEach(async () => {
    registry = await createEmulatedRegistry();
    conn = await transport.open(registry);
    client = new TestRegistryClient(conn.fetch, conn.base);
    const { manifest } = await client.pull('library/busybox', 'latest');
    layerDigest = (manifest.json.layers as { digest: string }[])[0]!.digest;
    layerPath = `/v2/library/busybox/blobs/${layerDigest}`;
  });
  afterEach(() => conn.close());

  it('401 challenge N times: a client following the challenge recovers', async () => {
    const fault = registry.faults.inject({ operation: 'manifest.get', fault: { kind: 'unauthorized' }, times: 1 });
    const raw = await conn.fetch(new Request(`${conn.base}/v2/library/busybox/manifests/latest`));
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+\/token",service="tsdocker-registry"/);
    expect(await errorCode(raw)).toBe('UNAUTHORIZED');
    expect(fault.remaining).toBe(0);

    registry.faults.inject({ operation: 'manifest.get', fault: { kind: 'unauthorized' }, times: 1 });
    const pulled = await client.pull('library/busybox', 'latest');
    expect(pulled.config.architecture).toBe('amd64');
  });

  it('429 with Retry-After, for N requests', async () => {
    const fault = registry.faults.inject({ operation: ['blob.get', 'blob.head'], fault: { kind: 'rate-limit', retryAfterSeconds: 7 }, times: 2 });
    for (let i = 0; i < 2; i++) {
      const response = await client.send('GET', layerPath);
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('7');
      expect(await errorCode(response)).toBe('TOOMANYREQUESTS');
    }
    expect((await client.send('GET', layerPath)).status).toBe(200);
    expect(fault.hits).toBe(2);
  });

  it('an arbitrary error status, always, until removed', async () => {
    const fault = registry.faults.inject({ repository: 'library/alpine', fault: { kind: 'error', status: 503, message: 'maintenance' } });
    for (let i = 0; i < 3; i++) {
      const response = await client.send('GET', '/v2/library/alpine/tags/list');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ errors: [{ code: 'UNSUPPORTED', message: 'maintenance' }] });
    }
    expect((await client.send('GET', '/v2/library/busybox/tags/list')).status).toBe(200);
    fault.remove();
    expect((await client.send('GET', '/v2/library/alpine/tags/list')).status).toBe(200);
  });

  it('truncated blob body: the download fails after some bytes', async () => {
    registry.faults.inject({ operation: 'blob.get', fault: { kind: 'truncate', bytes: 10 }, times: 1 });
    const response = await client.send('GET', layerPath);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = 0;
    const failure = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        received += value.byteLength;
      }
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    expect(received).toBeLessThanOrEqual(10);
    // The fault was for one request: the retry gets the whole blob.
    expect(sha256Digest(await client.getBlob('library/busybox', layerDigest))).toBe(layerDigest);
  });

  it('wrong digest: bytes that do not match the digest, for blobs and manifests', async () => {
    registry.faults.inject({ operation: 'blob.get', fault: { kind: 'wrong-digest' }, times: 1 });
    await expect(client.getBlob('library/busybox', layerDigest)).rejects.toThrow(/blob digest mismatch/);
    registry.faults.inject({ path: /\/manifests\/latest$/, fault: { kind: 'wrong-digest' }, times: 1 });
    await expect(client.getManifest('library/busybox', 'latest')).rejects.toThrow(/manifest digest mismatch/);
    expect(await client.getBlob('library/busybox', layerDigest)).toBeInstanceOf(Uint8Array);
  });

  it('slow response: headers come only after the delay', async () => {
    registry.faults.inject({ operation: 'ping', fault: { kind: 'delay', ms: 500 }, times: 1 });
    let settled = false;
    const pending = client.send('GET', '/v2/').then((response) => {
      settled = true;
      return response;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect((await pending).status).toBe(200);
  });
});

describe('fault rules', () => {
  it('match by method, path, operation and repository; the first matching rule applies', async () => {
    const registry = await createEmulatedRegistry({
      faults: [{ method: 'HEAD', path: '/library/hello-world/', fault: { kind: 'error', status: 500 } }],
    });
    const at = (path: string, method = 'GET') => registry.fetch(new Request(`http://r.test${path}`, { method }));
    expect((await at('/v2/library/hello-world/manifests/latest', 'HEAD')).status).toBe(500);
    expect((await at('/v2/library/hello-world/manifests/latest')).status).toBe(200);

    const first = registry.faults.inject({ operation: 'tags.list', repository: 'library/busybox', fault: { kind: 'rate-limit' }, times: 1 });
    const second = registry.faults.inject({ operation: 'tags.list', fault: { kind: 'error', status: 502 } });
    expect((await at('/v2/library/busybox/tags/list')).status).toBe(429);
    expect((await at('/v2/library/busybox/tags/list')).status).toBe(502);
    expect((await at('/v2/library/alpine/tags/list')).status).toBe(502);
    expect([first.hits, second.hits]).toEqual([1, 2]);
    registry.faults.clear();
    expect((await at('/v2/library/alpine/tags/list')).status).toBe(200);
    expect((await at('/v2/library/hello-world/manifests/latest', 'HEAD')).status).toBe(200);
  });

  it('refuses a rule with a bad count', async () => {
    const registry = await createEmulatedRegistry({ builtin: false });
    expect(() => registry.faults.inject({ fault: { kind: 'unauthorized' }, times: 0 })).toThrow(/times must be a positive integer/);
  });
});
