import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { formatHost, parseHost, type HostAddress } from '../config/hosts';
import { API_VERSION, compareApiVersions } from '../version';

export interface ClientTls {
  /** Verify the server's certificate against `ca` (DOCKER_TLS_VERIFY / --tlsverify). */
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ClientOptions {
  host: HostAddress;
  tls?: ClientTls;
  /** Pin the API version (DOCKER_API_VERSION); otherwise it is negotiated through /_ping. */
  apiVersion?: string;
  /** Environment for proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). */
  env?: NodeJS.ProcessEnv;
  userAgent?: string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An API error answer: the status and Docker's `message`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A daemon that cannot be reached at all. */
export class ConnectionError extends Error {}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Skip the version prefix (/_ping). */
  unversioned?: boolean;
}

/**
 * A typed Remote API client over unix, tcp or TLS, used by the CLI and the tests. The API
 * version is negotiated once: min(our newest, the daemon's Api-Version header).
 */
export class DockerClient {
  private negotiated: string | undefined;
  private agent: Agent | undefined | null = null;

  constructor(readonly opts: ClientOptions) {
    this.negotiated = opts.apiVersion;
  }

  /** Build options from CLI flags and the environment, the way the docker CLI does. */
  static fromEnv(flags: { host?: string; tls?: boolean; tlsverify?: boolean; tlscacert?: string; tlscert?: string; tlskey?: string }, env: NodeJS.ProcessEnv = process.env): DockerClient {
    const verify = flags.tlsverify ?? (env.DOCKER_TLS_VERIFY ?? '') !== '';
    const useTls = verify || Boolean(flags.tls);
    const certPath = env.DOCKER_CERT_PATH || join(env.HOME ?? '', '.docker');
    const read = (p: string | undefined, dflt: string, required: boolean) => {
      const path = p ?? join(certPath, dflt);
      try {
        return readFileSync(path);
      } catch (e) {
        if (required || p !== undefined) throw new ConnectionError(`Could not read TLS file ${path}: ${(e as Error).message}`);
        return undefined;
      }
    };
    const host = parseHost(flags.host ?? env.DOCKER_HOST ?? '', useTls);
    const tls = useTls
      ? { verify, ca: read(flags.tlscacert, 'ca.pem', verify), cert: read(flags.tlscert, 'cert.pem', false), key: read(flags.tlskey, 'key.pem', false) }
      : undefined;
    return new DockerClient({ host, tls, apiVersion: env.DOCKER_API_VERSION || undefined, env });
  }

  get hostText(): string {
    return formatHost(this.opts.host);
  }

  /** The API version in use, negotiating it first if needed. */
  async apiVersion(): Promise<string> {
    if (this.negotiated) return this.negotiated;
    const res = await this.raw('GET', '/_ping', { unversioned: true });
    const server = String(res.headers['api-version'] ?? '');
    this.negotiated = server && compareApiVersions(server, API_VERSION) < 0 ? server : API_VERSION;
    return this.negotiated;
  }

  /** Send a request; resolves with the whole answer whatever its status. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const res = await this.stream(method, path, opts);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  /** Send a request and parse a JSON answer; a 4xx/5xx becomes ApiError with Docker's message. */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status >= 400) throw new ApiError(res.status, errorMessage(res));
    const text = res.body.toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Send a request and hand back the response stream (for logs, events, pulls). */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const prefix = opts.unversioned ? '' : `/v${await this.apiVersion()}`;
    const qs = opts.query
      ? Object.entries(opts.query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const fullPath = `${prefix}${path}${qs ? `?${qs}` : ''}`;
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = {
      'User-Agent': this.opts.userAgent ?? `tsdocker-client/${API_VERSION}`,
      ...(body && !Buffer.isBuffer(opts.body) ? { 'Content-Type': 'application/json' } : {}),
      ...(body ? { 'Content-Length': String(body.length) } : {}),
      ...opts.headers,
    };
    const h = this.opts.host;
    const tls = this.opts.tls;
    const agent = await this.proxyAgent();
    const common = { method, path: fullPath, headers, agent: agent ?? undefined };
    return new Promise((resolve, reject) => {
      let req;
      if (h.proto === 'unix') {
        req = httpRequest({ ...common, socketPath: h.path, headers: { Host: 'docker', ...headers } });
      } else if (h.proto === 'tcp') {
        const target = { ...common, host: h.host, port: h.port };
        req = tls
          ? httpsRequest({ ...target, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.verify, minVersion: 'TLSv1.2' })
          : httpRequest(target);
      } else {
        reject(new ConnectionError(`cannot connect to ${formatHost(h)}: fd:// is a daemon-side address`));
        return;
      }
      req.once('response', resolve);
      req.once('error', (e: NodeJS.ErrnoException) => reject(connectionError(e, this.hostText)));
      if (body) req.write(body);
      req.end();
    });
  }

  /** HTTP(S) proxy from the environment for tcp hosts: HTTPS_PROXY for TLS, HTTP_PROXY otherwise; NO_PROXY honoured. */
  private async proxyAgent(): Promise<Agent | undefined> {
    if (this.agent !== null) return this.agent;
    const h = this.opts.host;
    this.agent = undefined;
    if (h.proto !== 'tcp') return undefined;
    const scheme = this.opts.tls ? 'https' : 'http';
    const env = this.opts.env ?? process.env;
    const proxy = proxyFor(`${scheme}://${h.host}:${h.port}`, env);
    if (!proxy) return undefined;
    if (this.opts.tls) {
      const { HttpsProxyAgent } = await import('https-proxy-agent');
      const t = this.opts.tls;
      this.agent = new HttpsProxyAgent(proxy, { ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: t.verify }) as unknown as Agent;
    } else {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      this.agent = new HttpProxyAgent(proxy) as unknown as Agent;
    }
    return this.agent;
  }
}

/**
 * The proxy URL for a target URL, following Go's http.ProxyFromEnvironment, which the docker
 * CLI uses: HTTPS_PROXY for https targets and HTTP_PROXY for http ones (upper case first, then
 * lower case; a proxy without a scheme is http://); never for `localhost` or a loopback
 * address. NO_PROXY is a comma-separated list of `*` (nothing is proxied), IP addresses, CIDRs,
 * `host` (the host and its subdomains), `.domain` or `*.domain` (subdomains only); IP and host
 * entries may carry `:port`, then they match that port only.
 */
export function proxyFor(target: string, env: NodeJS.ProcessEnv): string | undefined {
  const get = (k: string) => env[k.toUpperCase()] || env[k.toLowerCase()] || '';
  const url = new URL(target);
  const proxy = url.protocol === 'https:' ? get('https_proxy') : url.protocol === 'http:' ? get('http_proxy') : '';
  if (!proxy) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const ip = isIP(host) ? ipaddr.process(host) : undefined;
  if (host === 'localhost' || ip?.range() === 'loopback') return undefined;
  for (const raw of get('no_proxy').split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return undefined;
    if (entry.includes('/')) {
      if (ip && cidrContains(entry, ip)) return undefined;
      continue;
    }
    const [eHost, ePort] = splitHostPort(entry);
    if (ePort !== '' && ePort !== port) continue;
    if (isIP(eHost)) {
      if (ip && ipaddr.process(eHost).toString() === ip.toString()) return undefined;
      continue;
    }
    const subdomainsOnly = eHost.startsWith('.') || eHost.startsWith('*.');
    const domain = eHost.replace(/^\*?\./, '');
    if (domain !== '' && (host.endsWith(`.${domain}`) || (!subdomainsOnly && host === domain))) return undefined;
  }
  return proxy.includes('://') ? proxy : `http://${proxy}`;
}

/** `host:port`, `[v6]:port`, a bare v6 address or a bare host, as [host, port or ''] (Go's SplitHostPort, leniently). */
function splitHostPort(entry: string): [string, string] {
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(entry);
  if (v6) return [v6[1]!, v6[2] ?? ''];
  const colon = entry.lastIndexOf(':');
  if (colon < 0 || entry.indexOf(':') !== colon) return [entry, ''];
  return [entry.slice(0, colon), entry.slice(colon + 1)];
}

function cidrContains(cidr: string, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  try {
    const range = ipaddr.parseCIDR(cidr);
    return ip.kind() === range[0].kind() && ip.match(range);
  } catch {
    return false;
  }
}

function errorMessage(res: RawResponse): string {
  const text = res.body.toString('utf8');
  try {
    const m = (JSON.parse(text) as { message?: string }).message;
    if (m) return m;
  } catch {
    /* plain text */
  }
  return text.trim() || `HTTP ${res.status}`;
}

function connectionError(e: NodeJS.ErrnoException, host: string): Error {
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new ConnectionError(`Cannot connect to the Docker daemon at ${host}. Is the docker daemon running?`);
  }
  return new ConnectionError(`error during connect: ${e.message}`);
}
