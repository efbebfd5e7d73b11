import { connect, type Socket } from 'node:net';
import { formatHost, parseHost, type HostAddress } from '../../src/config/hosts';

/** Where a daemon listens: a unix socket path or a TCP host and port (no TLS). */
export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parse `unix:///path`, `tcp://host:port` or `host:port` as Docker does; `fd://` and TLS are refused. */
export function parseEndpoint(value: string): Endpoint {
  const h: HostAddress = parseHost(value);
  if (h.proto === 'unix') return { kind: 'unix', path: h.path };
  if (h.proto === 'tcp') return { kind: 'tcp', host: h.host, port: h.port };
  throw new Error(`cannot benchmark ${formatHost(h)}: only unix:// and tcp:// addresses are supported`);
}

export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? formatHost({ proto: 'unix', path: e.path }) : formatHost({ proto: 'tcp', host: e.host, port: e.port });
}

export interface ProbeResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * One keep-alive HTTP/1.1 connection that sends one request at a time and parses the answer
 * itself (Content-Length or chunked bodies), so that a measurement carries as little client
 * overhead as possible: no agent, no header objects, no streams.
 */
export class ProbeConnection {
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: ProbeResponse) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.tryParse();
    });
    const fail = (err: Error) => {
      this.closedError ??= err;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the daemon')));
  }

  /** Connect; rejects with the socket error (ENOENT, ECONNREFUSED, ...) when nobody listens. */
  static open(endpoint: Endpoint): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      const s = endpoint.kind === 'unix' ? connect({ path: endpoint.path }) : connect({ host: endpoint.host, port: endpoint.port });
      const onError = (err: Error) => reject(err);
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(new ProbeConnection(s));
      });
    });
  }

  /** Send `METHOD path` and resolve with the whole answer. One request at a time. */
  request(method: string, path: string): Promise<ProbeResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending) return Promise.reject(new Error('ProbeConnection: a request is already in flight'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`${method} ${path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: tsdocker-bench\r\n\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private tryParse(): void {
    if (!this.pending) return;
    const parsed = parseHttpResponse(this.buf);
    if (parsed === 'incomplete') return;
    this.buf = this.buf.subarray(parsed.consumed);
    const p = this.pending;
    this.pending = undefined;
    p.resolve(parsed.response);
  }
}

/**
 * Parse one HTTP/1.1 response at the start of `buf`. Returns 'incomplete' when more bytes are
 * needed; throws on a malformed answer. A body without Content-Length or chunking is taken as empty
 * (the daemons answer every benchmarked request with one of the two).
 */
export function parseHttpResponse(buf: Buffer): 'incomplete' | { response: ProbeResponse; consumed: number } {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`malformed HTTP status line: ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const status = Number(m[1]);
  let pos = end + 4;
  const length = headers.get('content-length');
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return 'incomplete';
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('malformed chunk size');
      if (buf.length < lineEnd + 2 + size + 2) return 'incomplete';
      if (size === 0) return { response: { status, headers, body: Buffer.concat(parts) }, consumed: lineEnd + 4 };
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  const n = length === undefined || status === 204 || status === 304 ? 0 : Number(length);
  if (!Number.isInteger(n) || n < 0) throw new Error(`malformed Content-Length: ${length}`);
  if (buf.length < pos + n) return 'incomplete';
  return { response: { status, headers, body: Buffer.from(buf.subarray(pos, pos + n)) }, consumed: pos + n };
}

/** One GET /_ping on a fresh connection: true when the daemon answers 200 OK. */
export async function pingOnce(endpoint: Endpoint): Promise<boolean> {
  let conn: ProbeConnection | undefined;
  try {
    conn = await ProbeConnection.open(endpoint);
    const r = await conn.request('GET', '/_ping');
    return r.status === 200;
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}

export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between attempts; 0 retries on the next event-loop turn (a tight loop). */
  intervalMs: number;
  /** Stop early (e.g. the daemon process exited): return the reason to fail with. */
  abort?: () => string | undefined;
}

/**
 * Poll `endpoint` with GET /_ping until it answers 200; resolves with the time of that answer
 * (process.hrtime.bigint()). Rejects on timeout or when `abort` reports a reason.
 */
export async function waitForPing(endpoint: Endpoint, opts: WaitOptions): Promise<bigint> {
  const deadline = process.hrtime.bigint() + BigInt(opts.timeoutMs) * 1_000_000n;
  for (;;) {
    if (await pingOnce(endpoint)) return process.hrtime.bigint();
    const reason = opts.abort?.();
    if (reason) throw new Error(reason);
    if (process.hrtime.bigint() > deadline) {
      throw new Error(`${formatEndpoint(endpoint)} did not answer GET /_ping within ${opts.timeoutMs} ms`);
    }
    await new Promise((r) => (opts.intervalMs > 0 ? setTimeout(r, opts.intervalMs) : setImmediate(r)));
  }
}
