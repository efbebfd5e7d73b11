/**
 * The daemon reaches registries through HTTP_PROXY / HTTPS_PROXY, honouring NO_PROXY (issue:
 * images and registries, "HTTP_PROXY/HTTPS_PROXY/NO_PROXY are honoured"). The registry is the
 * emulated one on 127.0.0.1, addressed by a name only the test proxy knows (loopback targets
 * are never proxied, as in Go's ProxyFromEnvironment).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type RegistryServer } from '../fakes/registry';
import { proxyFor } from '../src/client/client';
import { nodeTransport, readBody } from '../src/registry/transport';
import { startProxy } from './support/proxy';

const NAME = 'registry.tsdocker.test';

describe('registry transport through a proxy', () => {
  let registry: RegistryServer;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let port: number;

  beforeAll(async () => {
    registry = await startRegistryServer({ registry: await createEmulatedRegistry({ builtin: true }), host: '127.0.0.1', port: 0 });
    port = Number(new URL(registry.url).port);
    proxy = await startProxy();
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.close();
  });

  it('goes through HTTP_PROXY for an http registry and gets its answer', async () => {
    const transport = nodeTransport({ HTTP_PROXY: proxy.url });
    const res = await transport({ url: new URL(`http://${NAME}:${port}/v2/library/busybox/tags/list`), method: 'GET', headers: {} });
    expect(res.status).toBe(200);
    expect(JSON.parse((await readBody(res)).toString()).tags).toContain('latest');
    expect(proxy.seen).toContain(`GET http://${NAME}:${port}/v2/library/busybox/tags/list`);
  });

  it('NO_PROXY names and loopback addresses bypass the proxy', () => {
    expect(proxyFor(`http://${NAME}:${port}/v2/`, { HTTP_PROXY: proxy.url, NO_PROXY: NAME })).toBeUndefined();
    expect(proxyFor(`http://127.0.0.1:${port}/v2/`, { HTTP_PROXY: proxy.url })).toBeUndefined();
    expect(proxyFor(`https://${NAME}/v2/`, { HTTP_PROXY: proxy.url })).toBeUndefined();
    expect(proxyFor(`https://${NAME}/v2/`, { HTTP_PROXY: 'http://a:1', HTTPS_PROXY: proxy.url })).toBe(proxy.url);
  });
});
