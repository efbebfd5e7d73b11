import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { RegistryRequest, RegistryResponse, RegistryTransport } from '../src/registry/transport';
import type { EmulatedRegistry } from './registry';

/** The hosts Docker Hub answers on, all served by the emulated hub. */
export const HUB_HOSTS = new Set(['registry-1.docker.io', 'index.docker.io', 'auth.docker.io', 'registry.hub.docker.com']);

async function bodyOf(req: RegistryRequest): Promise<Buffer | undefined> {
  if (req.body === undefined) return undefined;
  if (Buffer.isBuffer(req.body)) return req.body;
  const chunks: Buffer[] = [];
  for await (const c of req.body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * A registry transport that answers Docker Hub's hosts from the emulated hub, in-process, and
 * sends everything else to `fallback` (the real network, for registries on loopback).
 */
export function hubTransport(hub: () => Promise<EmulatedRegistry>, fallback: RegistryTransport): RegistryTransport {
  return async (req): Promise<RegistryResponse> => {
    if (!HUB_HOSTS.has(req.url.hostname)) return fallback(req);
    const body = await bodyOf(req);
    const res = await (await hub()).fetch(new Request(req.url, { method: req.method, headers: req.headers, body: body && body.length ? body : undefined, signal: req.signal }));
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k.toLowerCase()] = v;
    });
    const stream = res.body ? Readable.fromWeb(res.body as unknown as WebReadableStream) : Readable.from([]);
    return { status: res.status, headers, body: stream, url: req.url };
  };
}
