/**
 * TLS on tcp listeners, end to end through the built executable: `--tls` (encryption only)
 * and `--tlsverify` (client certificates from the daemon's CA only), checked with node's TLS
 * client, our `docker` client (flags and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) and the real
 * docker CLI; the default TLS port; old protocol versions refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../src/client/client';
import { parseDaemonArgs } from '../src/config/daemon-options';
import { DAEMON_VERSION } from '../src/version';
import { dockerCli } from './harness';
import { makeTestPki, type TestPki } from './support/certs';
import { cleanup, ensureBuilt, freePorts, makeTempRoot, runDocker, socketActivation, spawnDaemon, type SpawnedDaemon } from './support/spawn-daemon';

let pki: TestPki;
let tlsOnly: { daemon: SpawnedDaemon; port: number };
let verify: { daemon: SpawnedDaemon; port: number };

beforeAll(async () => {
  await ensureBuilt();
  pki = makeTestPki(makeTempRoot('tsd-pki-'));
  const [tlsPort, verifyPort] = (await freePorts(2)) as [number, number];
  const serverFlags = ['--tlscert', pki.server.cert, '--tlskey', pki.server.key];
  const [a, b] = await Promise.all([
    spawnDaemon({ hosts: [`tcp://127.0.0.1:${tlsPort}`], args: ['--tls', ...serverFlags] }),
    spawnDaemon({ hosts: [`tcp://127.0.0.1:${verifyPort}`], args: ['--tlsverify', '--tlscacert', pki.ca, ...serverFlags] }),
  ]);
  tlsOnly = { daemon: a, port: tlsPort };
  verify = { daemon: b, port: verifyPort };
}, 120_000);
afterAll(cleanup);

/** The three files of a DOCKER_CERT_PATH-style directory, read for node's TLS options. */
function clientCreds(dir: string, withCert = true) {
  const f = (name: string) => readFileSync(join(dir, name));
  return { ca: f('ca.pem'), ...(withCert ? { cert: f('cert.pem'), key: f('key.pem') } : {}) };
}

/** GET over https with node's client; resolves with the body, rejects on any TLS failure. */
function httpsGet(port: number, path: string, tls: RequestOptions): Promise<string> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, ...tls }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (s: string) => (body += s));
      r.once('end', () => res(body));
      r.once('error', rej);
    });
    req.once('error', rej);
    req.end();
  });
}

/** Our client's TLS flags for a DOCKER_CERT_PATH-style directory. */
const tlsFlags = (dir: string, withCert = true) => [
  '--tlsverify', '--tlscacert', join(dir, 'ca.pem'), ...(withCert ? ['--tlscert', join(dir, 'cert.pem'), '--tlskey', join(dir, 'key.pem')] : []),
];

describe('--tls (encryption, no client verification)', () => {
  it('an https client without a certificate is served', async () => {
    expect(await httpsGet(tlsOnly.port, '/_ping', { ca: readFileSync(pki.ca) })).toBe('OK');
  });

  it('plain http is not served on the TLS port', async () => {
    const plain = fetch(`http://127.0.0.1:${tlsOnly.port}/_ping`);
    await expect(plain).rejects.toThrow();
  });

  it('our client with --tls and the real docker CLI with --tls reach it', async () => {
    const host = `tcp://127.0.0.1:${tlsOnly.port}`;
    const ours = await runDocker(['--tls', '-H', host, 'version'], { env: { DOCKER_CERT_PATH: pki.caOnlyDir } });
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    expect(ours.stdout).toContain('Server:');
    // The CLI wants a ca.pem in DOCKER_CERT_PATH even when it does not verify.
    const real = await dockerCli(host, ['--tls', 'version', '--format', '{{.Server.Version}}'], { env: { DOCKER_CERT_PATH: pki.caOnlyDir } });
    expect(real).toMatchObject({ code: 0, stdout: `${DAEMON_VERSION}\n` });
  });

  it('/info warns that clients are not verified; the log warns about binding without --tlsverify', async () => {
    const info = JSON.parse(await httpsGet(tlsOnly.port, '/info', { ca: readFileSync(pki.ca) })) as { Warnings: string[] | null };
    expect(info.Warnings?.join('\n')).toContain(`API is accessible on https://127.0.0.1:${tlsOnly.port} without TLS client verification`);
    expect(tlsOnly.daemon.stderr()).toContain("DON'T BIND ON ANY IP ADDRESS WITHOUT setting --tlsverify");
  });
});

describe('--tlsverify', () => {
  it('node: no client certificate is refused', async () => {
    await expect(httpsGet(verify.port, '/_ping', clientCreds(pki.caOnlyDir, false))).rejects.toThrow();
  });

  it('node: a certificate from another CA is refused', async () => {
    await expect(httpsGet(verify.port, '/_ping', clientCreds(pki.foreignClientDir))).rejects.toThrow();
  });

  it('node: a certificate from the daemon CA is accepted', async () => {
    expect(await httpsGet(verify.port, '/_ping', clientCreds(pki.goodClientDir))).toBe('OK');
  });

  it('no API warning in /info and no bind warning in the log', async () => {
    const info = JSON.parse(await httpsGet(verify.port, '/info', clientCreds(pki.goodClientDir))) as { Warnings: string[] | null };
    expect((info.Warnings ?? []).join('\n')).not.toContain('API is accessible');
    expect(verify.daemon.stderr()).not.toContain("DON'T BIND");
  });

  describe('our client, flags', () => {
    const host = () => `tcp://127.0.0.1:${verify.port}`;
    it('the right CA: version prints the server', async () => {
      const r = await runDocker([...tlsFlags(pki.goodClientDir), '-H', host(), 'version']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Server:\n Engine:\n {2}Version: +\S+/);
    });
    it.each([
      ['no client certificate', () => tlsFlags(pki.caOnlyDir, false)],
      ['a certificate from another CA', () => tlsFlags(pki.foreignClientDir)],
      ['a CA that did not sign the daemon certificate', () => tlsFlags(pki.untrustingClientDir)],
    ])('%s: exit 1 with a connection error', async (_what, flags) => {
      const r = await runDocker([...flags(), '-H', host(), 'version']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error during connect');
      expect(r.stdout).not.toContain('Server:');
    });
  });

  describe('our client, DOCKER_TLS_VERIFY + DOCKER_CERT_PATH', () => {
    const env = (dir: string) => ({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir, DOCKER_HOST: `tcp://127.0.0.1:${verify.port}` });
    it('the right CA: version prints the server', async () => {
      const r = await runDocker(['version'], { env: env(pki.goodClientDir) });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Server:');
    });
    it.each([
      ['no client certificate', () => pki.caOnlyDir],
      ['a certificate from another CA', () => pki.foreignClientDir],
      ['a CA that did not sign the daemon certificate', () => pki.untrustingClientDir],
    ])('%s: exit 1', async (_what, dir) => {
      const r = await runDocker(['version'], { env: env(dir()) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error during connect');
    });
  });

  describe('the real docker CLI', () => {
    const run = (dir: string) =>
      dockerCli(`tcp://127.0.0.1:${verify.port}`, ['version', '--format', '{{.Server.Version}}'], { env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir } });
    it('the right CA: accepted', async () => {
      expect(await run(pki.goodClientDir)).toMatchObject({ code: 0, stdout: `${DAEMON_VERSION}\n` });
    });
    it.each([
      ['no client certificate', () => pki.caOnlyDir],
      ['a certificate from another CA', () => pki.foreignClientDir],
    ])('%s: refused', async (_what, dir) => {
      const r = await run(dir());
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/certificate required|bad certificate|unknown certificate authority/);
    });
    it('a CA that did not sign the daemon certificate: the CLI refuses the daemon', async () => {
      const r = await run(pki.untrustingClientDir);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('certificate signed by unknown authority');
    });
  });
});

describe('other listeners and bad TLS files', () => {
  it('a socket-activated tcp socket (fd://) is served with TLS too, as Docker does', async () => {
    const [port] = (await freePorts(1)) as [number];
    const d = await spawnDaemon({
      hosts: ['fd://'],
      args: ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', pki.server.cert, '--tlskey', pki.server.key],
      launcher: socketActivation('tcp', String(port)),
    });
    expect(await httpsGet(port, '/_ping', clientCreds(pki.goodClientDir))).toBe('OK');
    await expect(httpsGet(port, '/_ping', clientCreds(pki.caOnlyDir, false))).rejects.toThrow();
    expect(await d.stop()).toEqual({ code: 0, signal: null });
  });

  it('a missing certificate file: exit 1 naming the file, nothing left behind', async () => {
    const [port] = (await freePorts(1)) as [number];
    const missing = join(pki.dir, 'no-such-cert.pem');
    const d = await spawnDaemon({ hosts: [`tcp://127.0.0.1:${port}`], args: ['--tls', '--tlscert', missing, '--tlskey', pki.server.key], wait: false });
    expect((await d.exited).code).toBe(1);
    expect(d.stderr()).toContain(missing);
    expect(existsSync(d.pidfile)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/_ping`)).rejects.toThrow();
  });
});

describe('protocol', () => {
  it.each(['TLSv1', 'TLSv1.1'] as const)('%s is refused by the daemon', async (version) => {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((res) => {
      const s = tlsConnect({
        host: '127.0.0.1',
        port: tlsOnly.port,
        minVersion: 'TLSv1',
        maxVersion: version,
        // Let this client offer the old versions at all (OpenSSL 3 disables them by default).
        ciphers: 'DEFAULT@SECLEVEL=0',
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => {
        s.destroy();
        res(undefined);
      });
      s.once('error', res);
    });
    // The daemon's alert, not a local refusal: the version was offered and turned down.
    expect(err?.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('TLSv1.2 is accepted', async () => {
    const body = await httpsGet(tlsOnly.port, '/_ping', { ca: readFileSync(pki.ca), maxVersion: 'TLSv1.2' });
    expect(body).toBe('OK');
  });

  it('tcp without a port means 2376 with TLS (daemon and client)', () => {
    expect(parseDaemonArgs(['--tlsverify', '-H', 'tcp://127.0.0.1']).config.hosts).toEqual([{ proto: 'tcp', host: '127.0.0.1', port: 2376 }]);
    expect(parseDaemonArgs(['--tls', '-H', 'tcp://']).config.hosts).toEqual([{ proto: 'tcp', host: '127.0.0.1', port: 2376 }]);
    expect(parseDaemonArgs(['-H', 'tcp://127.0.0.1'], { DOCKER_TLS_VERIFY: '1' }).config.hosts[0]).toMatchObject({ port: 2376 });
    const viaEnv = DockerClient.fromEnv({}, { DOCKER_HOST: 'tcp://127.0.0.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: pki.goodClientDir });
    expect(viaEnv.hostText).toBe('tcp://127.0.0.1:2376');
    const viaFlag = DockerClient.fromEnv({ host: 'tcp://127.0.0.1', tls: true }, { DOCKER_CERT_PATH: pki.goodClientDir });
    expect(viaFlag.hostText).toBe('tcp://127.0.0.1:2376');
    expect(DockerClient.fromEnv({ host: 'tcp://127.0.0.1' }, {}).hostText).toBe('tcp://127.0.0.1:2375');
  });
});
