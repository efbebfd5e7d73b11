import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { sha256Digest } from './digest';
import { isIndexMediaType, MediaType, type ImageIndex, type ImageManifest, type Platform } from './media-types';
import { startRegistryServer } from './server';
import type { EmulatedRegistry } from './index';

/**
 * A small, strict registry client for the emulator's tests: it follows bearer challenges,
 * verifies every digest, and reports failures with the registry's error body. It is the
 * test's oracle of "what a Docker client does", not part of the emulator.
 */
export type FetchLike = (request: Request) => Promise<Response>;

export const ACCEPT_ALL_MANIFESTS = [
  MediaType.dockerManifestList,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.ociManifest,
].join(', ');

export class RegistryTestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${message}: ${status} ${body}`);
  }
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  bytes: Uint8Array;
  json: Record<string, unknown>;
}

export interface TarFile {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkname: string | null;
  content: string;
}

export class TestRegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly fetch: FetchLike,
    readonly base: string,
    private readonly credentials?: { username: string; password: string },
  ) {}

  /** Sends a request; on a Bearer challenge, fetches a token for its scope and retries once. */
  async send(method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<Response> {
    const make = (token?: string): Request =>
      new Request(path.startsWith('http') ? path : `${this.base}${path}`, {
        method,
        headers: { ...init.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: init.body,
      });
    const scopeKey = path.split('?')[0]!;
    let response = await this.fetch(make(this.tokens.get(scopeKey)));
    const challenge = response.headers.get('www-authenticate');
    if (response.status !== 401 || !challenge?.startsWith('Bearer ')) return response;
    await response.body?.cancel();
    const token = await this.fetchToken(parseChallenge(challenge));
    this.tokens.set(scopeKey, token);
    response = await this.fetch(make(token));
    return response;
  }

  async fetchToken(challenge: Record<string, string>): Promise<string> {
    const url = new URL(challenge.realm!);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    if (challenge.scope) url.searchParams.set('scope', challenge.scope);
    const headers: Record<string, string> = {};
    if (this.credentials) {
      headers.Authorization = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    }
    const response = await this.fetch(new Request(url, { headers }));
    const text = await response.text();
    if (response.status !== 200) throw new RegistryTestError('token request failed', response.status, text);
    return (JSON.parse(text) as { token: string }).token;
  }

  async getManifest(repository: string, reference: string, accept = ACCEPT_ALL_MANIFESTS): Promise<FetchedManifest> {
    const response = await this.send('GET', `/v2/${repository}/manifests/${reference}`, { headers: { Accept: accept } });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) throw new RegistryTestError(`GET manifest ${repository}:${reference}`, response.status, Buffer.from(bytes).toString());
    const digest = sha256Digest(bytes);
    const header = response.headers.get('docker-content-digest');
    if (header !== digest) throw new Error(`manifest digest mismatch: header ${header}, content ${digest}`);
    if (reference.startsWith('sha256:') && reference !== digest) throw new Error(`manifest ${reference} has digest ${digest}`);
    return { mediaType: response.headers.get('content-type') ?? '', digest, bytes, json: JSON.parse(Buffer.from(bytes).toString()) };
  }

  /** Downloads a blob and verifies its digest. */
  async getBlob(repository: string, digest: string): Promise<Uint8Array> {
    const response = await this.send('GET', `/v2/${repository}/blobs/${digest}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) throw new RegistryTestError(`GET blob ${digest}`, response.status, Buffer.from(bytes).toString());
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new Error(`blob digest mismatch: wanted ${digest}, got ${actual}`);
    return bytes;
  }

  /** Pulls `reference` for `platform`: index → manifest → config → layers, all verified. */
  async pull(repository: string, reference: string, platform: Platform = { os: 'linux', architecture: 'amd64' }) {
    let manifest = await this.getManifest(repository, reference);
    const index = isIndexMediaType(manifest.mediaType) ? manifest : undefined;
    if (index) {
      const entry = (index.json as unknown as ImageIndex).manifests.find(
        (d) => d.platform?.os === platform.os && d.platform.architecture === platform.architecture,
      );
      if (!entry) throw new Error(`no ${platform.os}/${platform.architecture} entry in ${repository}:${reference}`);
      manifest = await this.getManifest(repository, entry.digest);
      if (manifest.mediaType !== entry.mediaType) throw new Error(`index says ${entry.mediaType}, registry served ${manifest.mediaType}`);
    }
    const image = manifest.json as unknown as ImageManifest;
    const configBytes = await this.getBlob(repository, image.config.digest);
    const config = JSON.parse(Buffer.from(configBytes).toString()) as ImageConfig;
    const layers: Uint8Array[] = [];
    for (const layer of image.layers) layers.push(await this.getBlob(repository, layer.digest));
    return { index, manifest, config, configBytes, layers };
  }

  /** Pushes a blob: monolithically (POST ?digest=) or in chunks (POST, PATCH..., PUT ?digest=). */
  async pushBlob(repository: string, bytes: Uint8Array, mode: 'monolithic' | 'chunked', chunkSize = 100): Promise<string> {
    const digest = sha256Digest(bytes);
    if (mode === 'monolithic') {
      const response = await this.send('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes,
      });
      await expectStatus(response, 201, 'monolithic upload');
      return digest;
    }
    let response = await this.send('POST', `/v2/${repository}/blobs/uploads/`);
    await expectStatus(response, 202, 'start upload');
    let location = response.headers.get('location')!;
    for (let offset = 0; offset < bytes.byteLength; offset += chunkSize) {
      const chunk = bytes.subarray(offset, offset + chunkSize);
      response = await this.send('PATCH', location, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.byteLength - 1}` },
        body: chunk,
      });
      await expectStatus(response, 202, `PATCH chunk at ${offset}`);
      location = response.headers.get('location')!;
    }
    const separator = location.includes('?') ? '&' : '?';
    response = await this.send('PUT', `${location}${separator}digest=${digest}`);
    await expectStatus(response, 201, 'complete upload');
    return digest;
  }

  async pushManifest(repository: string, reference: string, mediaType: string, bytes: Uint8Array): Promise<Response> {
    return this.send('PUT', `/v2/${repository}/manifests/${reference}`, { headers: { 'Content-Type': mediaType }, body: bytes });
  }
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  config: { Cmd?: string[]; Env?: string[]; WorkingDir?: string };
  rootfs: { type: string; diff_ids: string[] };
  history: { created: string; created_by: string; empty_layer?: boolean }[];
}

export async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status === status) return;
  throw new RegistryTestError(`${what}: expected ${status}`, response.status, await response.text());
}

/** Parses `Bearer realm="...",service="...",scope="..."` into its parameters. */
export function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of header.replace(/^\w+\s+/, '').matchAll(/(\w+)="([^"]*)"/g)) params[match[1]!] = match[2]!;
  return params;
}

/** The uncompressed tar of a gzipped layer. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from([Buffer.from(bytes)]).pipe(createGunzip())) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** The entries of an (uncompressed) tar, by path. */
export async function readTar(bytes: Uint8Array): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const extract = tar.extract();
  Readable.from([Buffer.from(bytes)]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const h = entry.header;
    files.set(h.name, {
      type: h.type ?? 'file',
      mode: h.mode ?? 0,
      uid: h.uid ?? -1,
      gid: h.gid ?? -1,
      mtime: h.mtime ?? new Date(0),
      linkname: h.linkname ?? null,
      content: Buffer.concat(chunks).toString('utf8'),
    });
  }
  return files;
}

/** How a test reaches the registry: in-process, or over a loopback socket with node's fetch. */
export interface Transport {
  base: string;
  fetch: FetchLike;
  close(): Promise<void>;
}

export const TRANSPORTS: { name: string; open(registry: EmulatedRegistry): Promise<Transport> }[] = [
  {
    name: 'in-process',
    open: async (registry) => ({ base: 'http://registry.test', fetch: registry.fetch, close: async () => {} }),
  },
  {
    name: 'server',
    open: async (registry) => {
      const server = await startRegistryServer({ host: '127.0.0.1', port: 0, registry });
      return { base: server.url, fetch: (request) => fetch(request), close: server.close };
    },
  },
];
