import { readFile, lstat, unlink, chmod, chown, mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { formatHost, type HostAddress } from '../config/hosts';
import { installUpgradeRouting } from './hijack';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  /** Require a client certificate signed by `ca`. */
  verify: boolean;
}

export interface ListenerOptions {
  hosts: HostAddress[];
  /** TLS for tcp and fd:// listeners, as Docker does; unix sockets never use TLS. */
  tls?: TlsFiles;
  /** Group that owns unix sockets; the default `docker` may be absent. */
  group: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface Listener {
  /** Canonical address with the port actually bound (for tcp port 0). */
  address: string;
  server: Server;
  /** Stop accepting and remove what the listener created (the unix socket file). */
  close(): Promise<void>;
}

export class ListenerError extends Error {}

/**
 * Open every `-H` address on one request handler. Either all listeners open or none stays
 * open: a failure closes those already opened.
 */
export async function openListeners(handler: RequestHandler, opts: ListenerOptions): Promise<Listener[]> {
  const opened: Listener[] = [];
  try {
    const tlsOptions = opts.tls ? await loadTls(opts.tls) : undefined;
    for (const host of opts.hosts) {
      if (host.proto === 'unix') opened.push(await openUnix(handler, host.path, opts));
      else if (host.proto === 'tcp') opened.push(await openTcp(handler, host, tlsOptions, opts));
      else opened.push(...(await openFd(handler, host.fd, tlsOptions, opts)));
    }
    return opened;
  } catch (e) {
    await Promise.all(opened.map((l) => l.close().catch(() => undefined)));
    throw e;
  }
}

async function loadTls(files: TlsFiles) {
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new ListenerError(`Could not read ${what} "${path}": ${(e as Error).message}`);
    }
  };
  const [cert, key] = await Promise.all([read('TLS certificate', files.cert), read('TLS key', files.key)]);
  const ca = files.verify ? await read('CA certificate', files.ca) : undefined;
  return {
    cert,
    key,
    ca,
    requestCert: files.verify,
    rejectUnauthorized: files.verify,
    // No SSLv3; Docker's servers default to TLS 1.2 as the minimum.
    minVersion: 'TLSv1.2' as const,
  };
}

type TlsOptions = Awaited<ReturnType<typeof loadTls>>;

/** An HTTP server, or an HTTPS one when `tls` is given. */
/** Every open socket of each server, hijacked ones included (the http server forgets those). */
const SOCKETS = new WeakMap<Server, Set<import('node:net').Socket>>();

const FORCED = new WeakMap<Server, () => void>();

/**
 * Destroy whatever connections are still open on `server` (the end of a graceful stop). A
 * connection taken over by attach/exec is no longer counted the same way by node's server, so
 * `close` is also released here rather than waiting for a count that never reaches zero.
 */
export function destroyConnections(server: Server): void {
  server.closeAllConnections();
  for (const s of SOCKETS.get(server) ?? []) s.destroy();
  setImmediate(() => FORCED.get(server)?.());
}

function createServer(handler: RequestHandler, tls: TlsOptions | undefined): Server {
  const server = tls ? (createHttpsServer(tls, handler) as unknown as Server) : createHttpServer(handler);
  const sockets = new Set<import('node:net').Socket>();
  SOCKETS.set(server, sockets);
  server.on(tls ? 'secureConnection' : 'connection', (s: import('node:net').Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  // Attach and exec upgrade the connection: route those requests through the same handler.
  installUpgradeRouting(server, handler);
  return server;
}

function listen(server: Server, arg: number | string | { fd: number } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (typeof arg === 'object') server.listen(arg, done);
    else server.listen(arg, done);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    FORCED.set(server, resolve);
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

async function openUnix(handler: RequestHandler, path: string, opts: ListenerOptions): Promise<Listener> {
  await mkdir(dirname(path), { recursive: true });
  await removeStaleSocket(path);
  const server = createHttpServer(handler);
  const oldUmask = process.umask(0o177);
  try {
    await listen(server, path);
  } catch (e) {
    throw new ListenerError(`can't create unix socket ${path}: ${(e as Error).message}`);
  } finally {
    process.umask(oldUmask);
  }
  const gid = await lookupGroup(opts.group);
  if (gid === undefined) {
    if (opts.group !== 'docker') {
      await closeServer(server);
      await unlink(path).catch(() => undefined);
      throw new ListenerError(`can't create unix socket ${path}: group ${opts.group} not found`);
    }
    opts.log.debug({ group: opts.group }, 'group not found; the socket stays owned by root');
  } else {
    await chown(path, 0, gid).catch((e: Error) => opts.log.warn({ err: e }, `could not give ${path} to group ${opts.group}`));
  }
  await chmod(path, 0o660);
  opts.log.info({ address: `unix://${path}` }, `API listen on ${path}`);
  return {
    address: `unix://${path}`,
    server,
    async close() {
      await closeServer(server);
      await unlink(path).catch(() => undefined);
    },
  };
}

/** Remove a socket file left by a daemon that died; refuse a live socket or a non-socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ListenerError(`can't create unix socket ${path}: the path exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new ListenerError(`can't create unix socket ${path}: another daemon is listening on it`);
  await unlink(path);
}

async function lookupGroup(name: string): Promise<number | undefined> {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    const text = await readFile('/etc/group', 'utf8');
    for (const line of text.split('\n')) {
      const [gname, , gid] = line.split(':');
      if (gname === name && gid) return Number(gid);
    }
  } catch {
    /* no /etc/group */
  }
  return undefined;
}

async function openTcp(
  handler: RequestHandler,
  host: Extract<HostAddress, { proto: 'tcp' }>,
  tls: TlsOptions | undefined,
  opts: ListenerOptions,
): Promise<Listener> {
  const server = createServer(handler, tls);
  try {
    await listen(server, { host: host.host, port: host.port });
  } catch (e) {
    throw new ListenerError(`can't listen on ${formatHost(host)}: ${(e as Error).message}`);
  }
  const bound = server.address() as AddressInfo;
  const address = formatHost({ proto: 'tcp', host: host.host, port: bound.port });
  if (!tls?.requestCert) {
    opts.log.warn({ address }, "/!\\ DON'T BIND ON ANY IP ADDRESS WITHOUT setting --tlsverify IF YOU DON'T KNOW WHAT YOU'RE DOING /!\\");
  }
  opts.log.info({ address, tls: Boolean(tls) }, `API listen on ${address}`);
  return { address, server, close: () => closeServer(server) };
}

/** systemd socket activation: LISTEN_PID must be us; fds start at 3. */
async function openFd(handler: RequestHandler, wanted: number | undefined, tls: TlsOptions | undefined, opts: ListenerOptions): Promise<Listener[]> {
  const env = opts.env ?? process.env;
  const pid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  if (pid !== process.pid || !Number.isInteger(count) || count < 1) {
    throw new ListenerError('no sockets found via socket activation: make sure the service was started by systemd');
  }
  const fds = Array.from({ length: count }, (_, i) => 3 + i);
  const chosen = wanted === undefined ? fds : fds.filter((fd) => fd === wanted);
  if (chosen.length === 0) throw new ListenerError(`too few socket activated files passed in by systemd: fd ${wanted} is not among ${fds.join(', ')}`);
  const out: Listener[] = [];
  for (const fd of chosen) {
    const server = createServer(handler, tls);
    try {
      await listen(server, { fd });
    } catch (e) {
      throw new ListenerError(`can't listen on fd://${fd}: ${(e as Error).message}`);
    }
    opts.log.info({ address: `fd://${fd}`, tls: Boolean(tls) }, `API listen on fd://${fd}`);
    out.push({ address: `fd://${fd}`, server, close: () => closeServer(server) });
  }
  return out;
}
