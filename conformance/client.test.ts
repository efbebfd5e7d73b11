/**
 * The client side, end to end: DOCKER_HOST and -H, `docker version` / `docker info` output,
 * an unreachable daemon, API version negotiation through /_ping (against a tiny fake daemon),
 * DOCKER_API_VERSION, and HTTP(S) proxies from the environment, plus `proxyFor` itself.
 */
import { createServer as createHttpServer } from 'node:http';
import { startProxy } from './support/proxy';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, proxyFor } from '../src/client/client';
import { API_VERSION } from '../src/version';
import { makeTestPki, type TestPki } from './support/certs';
import { cleanup, ensureBuilt, freePorts, makeTempRoot, runDocker, spawnDaemon, type SpawnedDaemon } from './support/spawn-daemon';

/**
 * A name that only our test proxy knows (it sends every target to 127.0.0.1). Clients, like
 * Go's ProxyFromEnvironment, never proxy loopback addresses, so proxying is observed through
 * a name; `.test` is reserved (RFC 6761) and never resolves.
 */
const PROXIED_NAME = 'tsdocker.test';

let daemon: SpawnedDaemon;
let tcpPort: number;
let tlsDaemon: SpawnedDaemon;
let tlsPort: number;
let pki: TestPki;
/** A loopback port nothing listens on. */
let closedPort: number;

beforeAll(async () => {
  await ensureBuilt();
  pki = makeTestPki(makeTempRoot('tsd-pki-'), [PROXIED_NAME]);
  [tcpPort, tlsPort, closedPort] = (await freePorts(3)) as [number, number, number];
  const root = makeTempRoot();
  [daemon, tlsDaemon] = await Promise.all([
    spawnDaemon({ root, hosts: [`unix://${join(root, 'd.sock')}`, `tcp://127.0.0.1:${tcpPort}`] }),
    spawnDaemon({
      hosts: [`tcp://127.0.0.1:${tlsPort}`],
      args: ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.server.cert, '--tlskey', pki.server.key],
    }),
  ]);
}, 120_000);
afterAll(cleanup);

describe('choosing the daemon', () => {
  it('DOCKER_HOST names the daemon', async () => {
    const r = await runDocker(['version'], { env: { DOCKER_HOST: daemon.host } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Server:');
  });

  it('-H names the daemon and wins over DOCKER_HOST', async () => {
    const r = await runDocker(['-H', `tcp://127.0.0.1:${tcpPort}`, 'version'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Server:');
  });

  it.each([
    ['a missing unix socket', () => 'unix:///nonexistent/tsd/docker.sock'],
    ['a closed tcp port', () => `tcp://127.0.0.1:${closedPort}`],
  ])('%s: "Cannot connect to the Docker daemon at ..." and exit 1', async (_what, host) => {
    for (const cmd of ['version', 'info']) {
      const r = await runDocker(['-H', host(), cmd]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Cannot connect to the Docker daemon at ${host()}. Is the docker daemon running?`);
    }
  });
});

describe('docker version and docker info', () => {
  it('version prints the Client and the Server sections', async () => {
    const r = await runDocker(['-H', daemon.host, 'version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Client:\\n Version: +\\S+\\n API version: +${API_VERSION.replace('.', '\\.')}\\n`));
    expect(r.stdout).toMatch(/\nServer:\n Engine:\n {2}Version: +\S+\n {2}API version: +\d+\.\d+ \(minimum version \d+\.\d+\)\n/);
    expect(r.stdout).toMatch(/ {2}OS\/Arch: +linux\/\w+/);
  });

  it('info prints the Server block', async () => {
    const r = await runDocker(['-H', daemon.host, 'info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nServer:\n Containers: \d+\n {2}Running: \d+\n/);
    expect(r.stdout).toContain(` Docker Root Dir: ${join(daemon.root, 'g')}\n`);
    expect(r.stdout).toMatch(/ Server Version: \S+/);
    // The tcp listener without --tlsverify: dockerd's warning goes to stderr, as the docker CLI prints it.
    expect(r.stderr).toContain(`WARNING: API is accessible on http://127.0.0.1:${tcpPort} without encryption.`);
  });
});

/** A fake daemon on a temp unix socket: /_ping answers with `Api-Version: pingVersion`; it records request lines. */
async function fakeDaemon(pingVersion: string): Promise<{ socket: string; seen: string[]; close(): Promise<void> }> {
  const socket = join(makeTempRoot(), 'fake.sock');
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/_ping') {
      res.writeHead(200, { 'Api-Version': pingVersion, 'Content-Type': 'text/plain' }).end('OK');
    } else if (/^\/v[\d.]+\/version$/.test(req.url ?? '')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ Version: 'fake', ApiVersion: pingVersion, MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64', BuildTime: new Date(0).toISOString(), Components: [{ Name: 'Engine', Version: 'fake', Details: {} }] }));
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"page not found"}');
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return { socket, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('API version negotiation', () => {
  it('an older daemon (Api-Version 1.30 on /_ping): requests go to /v1.30/', async () => {
    const fake = await fakeDaemon('1.30');
    try {
      const client = new DockerClient({ host: { proto: 'unix', path: fake.socket } });
      await client.json('GET', '/version');
      await client.json('GET', '/version');
      expect(fake.seen).toEqual(['GET /_ping', 'GET /v1.30/version', 'GET /v1.30/version']);
      const r = await runDocker(['-H', `unix://${fake.socket}`, 'version']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`API version:       1.30 (downgraded from ${API_VERSION})`);
      expect(fake.seen.slice(-1)).toEqual(['GET /v1.30/version']);
    } finally {
      await fake.close();
    }
  });

  it('a newer daemon: the client keeps its own version', async () => {
    const fake = await fakeDaemon('1.99');
    try {
      await new DockerClient({ host: { proto: 'unix', path: fake.socket } }).json('GET', '/version');
      expect(fake.seen).toEqual(['GET /_ping', `GET /v${API_VERSION}/version`]);
    } finally {
      await fake.close();
    }
  });

  it('DOCKER_API_VERSION pins the version: no /_ping', async () => {
    const fake = await fakeDaemon('1.30');
    try {
      await DockerClient.fromEnv({ host: `unix://${fake.socket}` }, { DOCKER_API_VERSION: '1.25' }).json('GET', '/version');
      expect(fake.seen).toEqual(['GET /v1.25/version']);
      const r = await runDocker(['-H', `unix://${fake.socket}`, 'version'], { env: { DOCKER_API_VERSION: '1.25' } });
      expect(r.code).toBe(0);
      expect(fake.seen).toEqual(['GET /v1.25/version', 'GET /v1.25/version']);
    } finally {
      await fake.close();
    }
  });
});

describe('proxies from the environment', () => {
  const tlsArgs = () => ['--tlsverify', '--tlscacert', join(pki.goodClientDir, 'ca.pem'), '--tlscert', join(pki.goodClientDir, 'cert.pem'), '--tlskey', join(pki.goodClientDir, 'key.pem')];

  it('HTTP_PROXY: a tcp daemon is reached through the proxy', async () => {
    const proxy = await startProxy();
    try {
      const r = await runDocker(['-H', `tcp://${PROXIED_NAME}:${tcpPort}`, 'version'], { env: { HTTP_PROXY: proxy.url } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Server:');
      expect(proxy.seen).toEqual([`GET http://${PROXIED_NAME}:${tcpPort}/_ping`, `GET http://${PROXIED_NAME}:${tcpPort}/v${API_VERSION}/version`]);
    } finally {
      await proxy.close();
    }
  });

  it('NO_PROXY=127.0.0.1 bypasses the proxy; loopback is never proxied anyway', async () => {
    const proxy = await startProxy();
    try {
      for (const env of [{ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, { HTTP_PROXY: proxy.url }]) {
        const r = await runDocker(['-H', `tcp://127.0.0.1:${tcpPort}`, 'version'], { env });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('Server:');
      }
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('TLS: HTTPS_PROXY is used (CONNECT) and takes precedence over HTTP_PROXY', async () => {
    const [httpsProxy, httpProxy] = await Promise.all([startProxy(), startProxy()]);
    try {
      const r = await runDocker([...tlsArgs(), '-H', `tcp://${PROXIED_NAME}:${tlsPort}`, 'version'], { env: { HTTPS_PROXY: httpsProxy.url, HTTP_PROXY: httpProxy.url } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('Server:');
      expect(httpsProxy.seen.length).toBeGreaterThan(0);
      expect(new Set(httpsProxy.seen)).toEqual(new Set([`CONNECT ${PROXIED_NAME}:${tlsPort}`]));
      expect(httpProxy.seen).toEqual([]);
    } finally {
      await Promise.all([httpsProxy.close(), httpProxy.close()]);
    }
  });

  it('unix sockets never use the proxy', async () => {
    const proxy = await startProxy();
    try {
      const r = await runDocker(['-H', daemon.host, 'version'], { env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, ALL_PROXY: proxy.url } });
      expect(r.code).toBe(0);
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('proxyFor', () => {
  const P = 'http://proxy.example:3128';

  it('picks HTTP_PROXY for http and only HTTPS_PROXY for https', () => {
    expect(proxyFor('http://d.example:2375', { HTTP_PROXY: P })).toBe(P);
    expect(proxyFor('https://d.example:2376', { HTTP_PROXY: P })).toBeUndefined();
    expect(proxyFor('https://d.example:2376', { HTTPS_PROXY: P, HTTP_PROXY: 'http://other:1' })).toBe(P);
    expect(proxyFor('http://d.example:2375', { HTTPS_PROXY: P })).toBeUndefined();
    expect(proxyFor('http://d.example:2375', {})).toBeUndefined();
  });

  it('reads lower-case variables; upper case wins', () => {
    expect(proxyFor('http://d.example:2375', { http_proxy: P })).toBe(P);
    expect(proxyFor('http://d.example:2375', { HTTP_PROXY: P, http_proxy: 'http://lower:1' })).toBe(P);
    expect(proxyFor('http://d.example:2375', { HTTP_PROXY: P, no_proxy: 'd.example' })).toBeUndefined();
  });

  it('a proxy without a scheme is http://', () => {
    expect(proxyFor('http://d.example:2375', { HTTP_PROXY: 'proxy.example:3128' })).toBe(P);
  });

  it('never proxies localhost or loopback addresses', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', 'LOCALHOST']) {
      expect(proxyFor(`http://${host}:2375`, { HTTP_PROXY: P }), host).toBeUndefined();
    }
    expect(proxyFor('http://localhost.example:2375', { HTTP_PROXY: P })).toBe(P);
  });

  it.each([
    ['*', 'http://d.example:2375', true],
    ['10.1.2.3', 'http://10.1.2.3:2375', true],
    ['10.1.2.3', 'http://10.1.2.4:2375', false],
    ['10.1.2.3:2375', 'http://10.1.2.3:2375', true],
    ['10.1.2.3:2376', 'http://10.1.2.3:2375', false],
    ['10.0.0.0/8', 'http://10.200.0.1:2375', true],
    ['10.0.0.0/8', 'http://11.0.0.1:2375', false],
    ['2001:db8::1', 'http://[2001:db8::1]:2375', true],
    ['[2001:db8::1]:2375', 'http://[2001:db8::1]:2375', true],
    ['[2001:db8::1]:1', 'http://[2001:db8::1]:2375', false],
    ['2001:db8::/32', 'http://[2001:db8::5]:2375', true],
    ['example.com', 'http://example.com:2375', true],
    ['example.com', 'http://d.example.com:2375', true],
    ['example.com', 'http://badexample.com:2375', false],
    ['.example.com', 'http://d.example.com:2375', true],
    ['.example.com', 'http://example.com:2375', false],
    ['*.example.com', 'http://d.example.com:2375', true],
    ['*.example.com', 'http://example.com:2375', false],
    ['example.com:2375', 'http://d.example.com:2375', true],
    ['example.com:2376', 'http://d.example.com:2375', false],
    ['example.com:80', 'http://example.com', true],
    [' other.org , EXAMPLE.com ', 'http://d.example.com:2375', true],
    ['other.org', 'http://d.example.com:2375', false],
  ])('NO_PROXY=%j for %s bypasses: %s', (noProxy, target, bypass) => {
    expect(proxyFor(target, { HTTP_PROXY: P, NO_PROXY: noProxy })).toBe(bypass ? undefined : P);
  });
});
