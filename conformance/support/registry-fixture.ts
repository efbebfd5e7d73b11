/**
 * Registries for the conformance cases, all on loopback:
 *
 * - `startDockerRegistry()`: Debian's `docker-registry` (distribution 2.8) on
 *   127.0.0.1:<free port>, with its own config.yml and storage in a temp dir; plain HTTP, or
 *   HTTPS (`tls: true`) with a test CA whose certificate is placed in a temp certs.d as
 *   `<certsDir>/127.0.0.1:<port>/ca.crt` (give that certsDir to the daemon).
 * - `startEmulatedServer()`: the emulated registry (fakes/registry) in server mode, with its
 *   auth and fault options.
 *
 * `stop()` ends the registry process by its own PID and removes every temp dir it made.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmulatedRegistry, startRegistryServer, type EmulatedRegistry, type EmulatedRegistryOptions } from '../../fakes/registry';
import { makeTestPki } from './certs';
import { createServer, type AddressInfo } from 'node:net';

export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry';
export const hasDockerRegistry = existsSync(DOCKER_REGISTRY_BIN);

export interface TestRegistry {
  /** `host:port` as written in image references. */
  address: string;
  /** `http(s)://host:port`. */
  url: string;
  stop(): Promise<void>;
}

export interface DockerRegistry extends TestRegistry {
  pid: number;
  /** A certs.d directory holding this registry's CA (TLS only). */
  certsDir?: string;
  /** Its log so far (stderr), for failure messages. */
  log(): string;
}

/**
 * Start Debian's docker-registry with a fresh store on 127.0.0.1 (insecure by default for the
 * daemon) or on `::1` (secure unless listed with --insecure-registry).
 */
export async function startDockerRegistry(opts: { tls?: boolean; host?: '127.0.0.1' | '::1' } = {}): Promise<DockerRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-docker-registry-'));
  const host = opts.host ?? '127.0.0.1';
  const port = await freePortOn(host);
  const address = host === '::1' ? `[::1]:${port}` : `${host}:${port}`;
  let tlsLines = '';
  let certsDir: string | undefined;
  let ca: Buffer | undefined;
  if (opts.tls) {
    mkdirSync(join(dir, 'pki'));
    const pki = makeTestPki(join(dir, 'pki'), ['IP:::1']);
    tlsLines = `  tls:\n    certificate: ${JSON.stringify(pki.server.cert)}\n    key: ${JSON.stringify(pki.server.key)}\n`;
    certsDir = join(dir, 'certs.d');
    mkdirSync(join(certsDir, address), { recursive: true });
    ca = readFileSync(pki.ca);
    writeFileSync(join(certsDir, address, 'ca.crt'), ca);
  }
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${JSON.stringify(address)}`,
    tlsLines.trimEnd(),
  ]
    .filter(Boolean)
    .join('\n');
  writeFileSync(join(dir, 'config.yml'), `${config}\n`);
  const child = spawn(DOCKER_REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = new Promise<void>((res) => child.once('close', () => res()));
  const url = `${opts.tls ? 'https' : 'http'}://${address}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForV2(url, child, ca, () => log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: child.pid!, address, url, certsDir, log: () => log, stop };
}

/** A tcp port on `host` that was free a moment ago. */
function freePortOn(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen({ host, port: 0 }, () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

/** Polls `GET /v2/` until the registry answers (any status), or fails when the process exits. */
async function waitForV2(url: string, child: ChildProcess, ca: Buffer | undefined, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited before serving:\n${log()}`);
    const ok = await new Promise<boolean>((res) => {
      const req = (url.startsWith('https') ? httpsRequest : httpRequest)(`${url}/v2/`, { method: 'GET', ca, agent: false }, (r) => {
        r.resume();
        res(true);
      });
      req.once('error', () => res(false));
      req.end();
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${url}:\n${log()}`);
}

export interface EmulatedServer extends TestRegistry {
  registry: EmulatedRegistry;
}

/** The emulated registry served on 127.0.0.1 (or `host`, e.g. `::1`). */
export async function startEmulatedServer(opts: EmulatedRegistryOptions & { host?: string } = {}): Promise<EmulatedServer> {
  const { host, ...registryOptions } = opts;
  const registry = await createEmulatedRegistry(registryOptions);
  const server = await startRegistryServer({ registry, host: host ?? '127.0.0.1', port: 0 });
  return { registry, address: server.address, url: server.url, stop: () => server.close() };
}
