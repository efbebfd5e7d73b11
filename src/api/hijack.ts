/**
 * HTTP connection hijacking for attach and exec start, as dockerd 20.10 does it.
 *
 * dockerd decides on the presence of an `Upgrade` header:
 * - present: `HTTP/1.1 101 UPGRADED` + `Content-Type` + `Connection: Upgrade` + `Upgrade: tcp`;
 * - absent: `HTTP/1.1 200 OK` + `Content-Type`, and the socket is taken over all the same.
 * The content type is `application/vnd.docker.raw-stream` for API <= 1.41 (what we serve);
 * from 1.42 on, `application/vnd.docker.multiplexed-stream` when there is no TTY.
 * Attach sends no other header; exec start adds dockerd's usual ones (pass `dockerHeaders()`).
 * After that the connection is a raw byte stream both ways.
 *
 * Node's HTTP server keeps parsing a socket after a request, so taking it over needs care:
 * - With `installUpgradeRouting(server, handler)` on each HTTP server, requests carrying
 *   `Upgrade` reach the normal fastify handler through Node's documented 'upgrade' event:
 *   the socket is already free of the HTTP parser and the bytes the client sent after the
 *   request (`head`) are put back in front of the stream. (dockerd itself loses those.)
 * - Otherwise (a plain POST, or no routing installed) `attachHijack` detaches Node's HTTP
 *   parser from the socket (unhooking its listeners by name: Node 18-22 internals, checked by
 *   hijack.test.ts). Bytes pipelined by the client before the answer are lost then, as with
 *   dockerd.
 */
import { IncomingMessage, STATUS_CODES, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { onHijack } from './faults';
import { compareApiVersions } from '../version';
import { toHttpError } from './server-errors';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** The hijacked stream's content type for an API version (1.42 introduced the multiplexed name). */
export function streamContentType(apiVersion: string, tty: boolean): string {
  return !tty && compareApiVersions(apiVersion, '1.42') >= 0 ? MULTIPLEXED_STREAM : RAW_STREAM;
}

export interface HijackOptions {
  /** Default RAW_STREAM; see streamContentType. */
  contentType?: string;
  /** Headers after the standard ones (exec start: dockerHeaders(); attach: none). */
  extraHeaders?: Record<string, string>;
}

interface UpgradeInfo {
  head: Buffer;
}
const UPGRADED = new WeakMap<IncomingMessage, UpgradeInfo>();

/** The request asked for `Upgrade` (dockerd only checks that the header is there). */
export function wantsUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade !== undefined;
}

/**
 * Route `Upgrade` requests of `server` into `handler` (the fastify request handler) like
 * ordinary ones, keeping the freed socket and its early bytes for attachHijack/acceptWebSocket.
 * A route that answers normally (404, 409 ...) gets its answer written and the connection
 * closed. A Content-Length body is taken from the early bytes (and the socket if needed) and
 * given to the request as usual; a chunked body on an Upgrade request is refused with 400.
 */
export function installUpgradeRouting(server: Server, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const sock = socket as Socket;
    sock.on('error', () => sock.destroy());
    if (req.headers['transfer-encoding'] !== undefined) {
      sock.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: chunked body with Upgrade');
      return;
    }
    const length = Number(req.headers['content-length'] ?? 0);
    readExactly(sock, head, Number.isSafeInteger(length) && length > 0 ? length : 0).then(
      ({ body, rest }) => {
        // Node has already ended the request stream (as bodiless): give fastify a twin with the body.
        if (body.length > 0) req = requestWithBody(req, sock, body);
        UPGRADED.set(req, { head: rest });
        const res = new ServerResponse(req);
        res.shouldKeepAlive = false;
        res.assignSocket(sock);
        res.on('finish', () => {
          res.detachSocket(sock);
          sock.end();
        });
        handler(req, res);
      },
      () => sock.destroy(),
    );
  });
}

/** A copy of `req` (an upgrade request, whose stream Node ended empty) that yields `body`. */
function requestWithBody(req: IncomingMessage, sock: Socket, body: Buffer): IncomingMessage {
  const twin = new IncomingMessage(sock);
  Object.assign(twin, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    trailers: {},
    rawTrailers: [],
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    upgrade: true,
    complete: true,
  });
  // The socket belongs to the hijacker: reading the body must not resume it.
  (twin as unknown as { _read: () => void })._read = () => undefined;
  twin.push(body);
  twin.push(null);
  return twin;
}

/** `n` bytes from `head` then the socket; the bytes after them are returned as `rest`. */
function readExactly(sock: Socket, head: Buffer, n: number): Promise<{ body: Buffer; rest: Buffer }> {
  if (head.length >= n) return Promise.resolve({ body: head.subarray(0, n), rest: head.subarray(n) });
  return new Promise((resolve, reject) => {
    const parts = [head];
    let have = head.length;
    const onData = (d: Buffer) => {
      parts.push(d);
      have += d.length;
      if (have < n) return;
      cleanup();
      sock.pause();
      const all = Buffer.concat(parts);
      resolve({ body: all.subarray(0, n), rest: all.subarray(n) });
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('connection closed inside the request body'));
    };
    const cleanup = () => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
    };
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('close', onEnd);
  });
}

/** Listeners Node's HTTP server puts on a connection (lib/_http_server.js), by function name. */
const NODE_HTTP_LISTENERS: Readonly<Record<string, readonly string[]>> = {
  data: ['socketOnData'],
  end: ['socketOnEnd'],
  close: ['socketOnClose'],
  drain: ['socketOnDrain'],
  error: ['socketOnError'],
  timeout: ['socketOnTimeout'],
  resume: ['onSocketResume'],
  pause: ['onSocketPause'],
};

interface NodeHttpParser {
  _consumed?: boolean;
  unconsume?: () => void;
  remove?: () => void;
}

/**
 * Free `socket` from Node's HTTP server: no more request parsing on it, no request timeout.
 * Idempotent. Exported for tests and for acceptWebSocket.
 */
export function detachHttpParser(socket: Socket, req?: IncomingMessage): void {
  for (const [event, names] of Object.entries(NODE_HTTP_LISTENERS)) {
    for (const listener of socket.listeners(event) as Array<(...a: unknown[]) => void>) {
      const name = listener.name.replace(/^bound /, '');
      if (names.includes(name)) socket.off(event, listener);
    }
  }
  const holder = socket as unknown as { parser?: NodeHttpParser | null };
  const parser = holder.parser;
  if (parser) {
    if (parser._consumed) {
      parser.unconsume?.();
      parser._consumed = false;
    }
    // Out of the server's connection list, so its request/headers timeouts leave it alone.
    parser.remove?.();
    holder.parser = null;
  }
  if (req) (req as unknown as { parser?: unknown }).parser = null;
  socket.setTimeout(0);
}

/**
 * Take the connection of `req` away from fastify and Node's HTTP machinery; returns the raw
 * socket (paused, early bytes put back, half-open allowed) without writing anything.
 */
export function takeOverConnection(req: FastifyRequest, reply: FastifyReply): Socket {
  reply.hijack();
  const socket = req.raw.socket as Socket;
  const upgraded = UPGRADED.get(req.raw);
  if (!upgraded) detachHttpParser(socket, req.raw);
  socket.allowHalfOpen = true;
  if (socket.listenerCount('error') === 0) socket.on('error', () => socket.destroy());
  socket.pause();
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  if (upgraded && upgraded.head.length > 0) socket.unshift(upgraded.head);
  return socket;
}

/**
 * Answer `req` the way dockerd answers attach / exec start, and hand back the connection as
 * a raw Duplex: reading gives the client's stdin, writing goes to the client. The caller
 * owns it from here (see bridgeHijacked for the usual wiring).
 */
export async function attachHijack(req: FastifyRequest, reply: FastifyReply, opts: HijackOptions = {}): Promise<Duplex> {
  const upgrade = wantsUpgrade(req.raw);
  const socket = takeOverConnection(req, reply);
  const lines = upgrade
    ? ['HTTP/1.1 101 UPGRADED', `Content-Type: ${opts.contentType ?? RAW_STREAM}`, 'Connection: Upgrade', 'Upgrade: tcp']
    : ['HTTP/1.1 200 OK', `Content-Type: ${opts.contentType ?? RAW_STREAM}`];
  for (const [k, v] of Object.entries(opts.extraHeaders ?? {})) lines.push(`${k}: ${v}`);
  await new Promise<void>((resolve, reject) => socket.write(`${lines.join('\r\n')}\r\n\r\n`, (err) => (err ? reject(err) : resolve())));
  onHijack(req, socket);
  return socket;
}

/**
 * dockerd's answer when attach fails before the stream starts (no such container, bad detach
 * keys ...): a bare status line, the raw-stream type, the message and CRLF, then close.
 * (Exec start errors are ordinary JSON errors: throw them instead.)
 */
export function sendRawStreamError(req: FastifyRequest, reply: FastifyReply, err: unknown): void {
  const { status, message } = toHttpError(err);
  const socket = takeOverConnection(req, reply);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${RAW_STREAM}\r\n\r\n${message}\r\n`);
}

export interface BridgeOptions {
  /** Where the client's bytes go (the process's stdin, maybe through a DetachKeysTransform). */
  stdin?: Writable;
  /** End `stdin` when the client half-closes (exec, attach with StdinOnce). Default false. */
  closeStdin?: boolean;
  /** What the client receives; the socket is ended when it ends. */
  output?: Readable;
}

/**
 * Wire a hijacked connection: client → `stdin` (ending it on the client's EOF only if
 * `closeStdin`), `output` → client (ending the socket when `output` ends). Resolves when the
 * output is done and the input has ended, or when the connection is gone; `stdin` is never
 * destroyed by a dropped client.
 */
export function bridgeHijacked(socket: Duplex, opts: BridgeOptions): Promise<void> {
  const input = new Promise<void>((resolve) => {
    if (!opts.stdin) {
      socket.resume(); // discard what the client sends, but notice its EOF
      socket.once('end', resolve);
      socket.once('close', resolve);
      return;
    }
    const stdin = opts.stdin;
    socket.pipe(stdin, { end: false });
    const done = () => {
      socket.unpipe(stdin);
      resolve();
    };
    socket.once('end', () => {
      if (opts.closeStdin) stdin.end();
      done();
    });
    socket.once('close', done);
  });
  const output = new Promise<void>((resolve) => {
    if (!opts.output) return resolve();
    const out = opts.output;
    out.pipe(socket, { end: true });
    const done = () => {
      out.unpipe(socket);
      resolve();
    };
    out.once('end', done);
    out.once('close', done);
    socket.once('close', done);
  });
  return Promise.all([input, output]).then(() => undefined);
}
