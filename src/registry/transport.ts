import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { proxyFor } from '../client/client';

export interface RegistryRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  tls?: ConnectionOptions;
  signal?: AbortSignal;
}

export interface RegistryResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Readable;
  /** The URL finally answered (after redirects). */
  url: URL;
}

/**
 * How the daemon reaches registries. The default goes out over node's http/https (with
 * HTTP_PROXY/HTTPS_PROXY/NO_PROXY); the fake backend answers Docker Hub in-process.
 */
export type RegistryTransport = (req: RegistryRequest) => Promise<RegistryResponse>;

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** One HTTP exchange, following up to 10 redirects (dropping credentials on a host change). */
export function nodeTransport(env: NodeJS.ProcessEnv = process.env): RegistryTransport {
  const once = async (req: RegistryRequest): Promise<RegistryResponse> => {
    const proxy = proxyFor(req.url.href, env);
    const agent = proxy
      ? req.url.protocol === 'https:'
        ? new (await import('https-proxy-agent')).HttpsProxyAgent(proxy, req.tls ?? {})
        : new (await import('http-proxy-agent')).HttpProxyAgent(proxy)
      : undefined;
    return new Promise((resolve, reject) => {
      const opts = { method: req.method, headers: req.headers, signal: req.signal, agent, ...(req.url.protocol === 'https:' ? req.tls : {}) };
      const r = (req.url.protocol === 'https:' ? httpsRequest : httpRequest)(req.url, opts as never, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: headersOf(res), body: res, url: req.url }),
      );
      r.once('error', reject);
      if (req.body && !Buffer.isBuffer(req.body)) {
        req.body.once('error', (e) => r.destroy(e));
        req.body.pipe(r);
      } else {
        r.end(req.body);
      }
    });
  };
  return async (req) => {
    let cur = req;
    for (let i = 0; i < 10; i++) {
      const res = await once(cur);
      if (![301, 302, 303, 307, 308].includes(res.status) || !res.headers.location) return res;
      res.body.resume();
      const next = new URL(res.headers.location, cur.url);
      const headers = { ...cur.headers };
      if (next.host !== cur.url.host) delete headers.authorization;
      const method = res.status === 303 ? 'GET' : cur.method;
      cur = { ...cur, url: next, headers, method, body: method === 'GET' ? undefined : cur.body };
    }
    throw new Error(`too many redirects for ${req.url.href}`);
  };
}

export async function readBody(res: RegistryResponse, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error(`response from ${res.url.href} is larger than ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
