import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { RegistryAuth } from './auth';
import { createRegistryHandlers, createRegistryResponder, type RegistryResponder } from './handlers';
import type { RegistryStore } from './store';

export interface RegistryServerOptions {
  /** Listen address; default 127.0.0.1 (tests must stay on loopback). */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** What answers: an emulated registry (faults and auth included) ... */
  registry?: { fetch: RegistryResponder };
  /** ... or a bare store, served without auth or faults. */
  store?: RegistryStore;
}

export interface RegistryServer {
  /** `http(s)://host:port`, no trailing slash. */
  url: string;
  /** host:port, as a registry is named in image references. */
  address: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Headers that describe one hop of the node connection, not the request itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length', 'expect']);

/**
 * Serves the emulated registry on a real socket: each node request becomes a Fetch
 * `Request` (body streamed) answered by the same responder as the in-process `fetch`,
 * and the response body is streamed back. A body that fails mid-way (a `truncate`
 * fault) destroys the connection, so the client sees a short read.
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  const answer = options.registry?.fetch ?? bareResponder(options.store);
  const protocol = options.tls ? 'https' : 'http';
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void serve(answer, protocol, req, res);
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: `${protocol}://${address}`,
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function bareResponder(store: RegistryStore | undefined): RegistryResponder {
  if (!store) throw new TypeError('startRegistryServer: give either `registry` or `store`');
  return createRegistryResponder(createRegistryHandlers({ store, auth: new RegistryAuth(store, undefined) }));
}

async function serve(answer: RegistryResponder, protocol: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const response = await answer(toFetchRequest(protocol, req));
    res.statusCode = response.status;
    response.headers.forEach((value, name) => res.setHeader(name, value));
    if (!response.body || req.method === 'HEAD') {
      await response.body?.cancel();
      res.end();
      return;
    }
    res.flushHeaders();
    await streamBody(response.body, res);
  } catch (err) {
    // Headers may be out already: the only honest signal left is a dropped connection.
    res.destroy(err as Error);
  }
}

/** Writes `body` to `res` chunk by chunk, honouring backpressure; stops if the client goes away. */
async function streamBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (res.destroyed) {
      await reader.cancel();
      return;
    }
    if (!res.write(value)) await drainedOrClosed(res);
  }
  res.end();
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function toFetchRequest(protocol: string, req: IncomingMessage): Request {
  const host = req.headers.host ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(`${protocol}://${host}${req.url ?? '/'}`, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  });
}
