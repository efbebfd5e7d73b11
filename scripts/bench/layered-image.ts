import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { BenchContext } from './benchmark';

/** Debian's registry (distribution 2.8), which serves the image in the pull and save-load benchmarks. */
export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry';

export const LAYER_COUNT = 5;
export const LAYER_BYTES = 10 << 20;
/** Repository and tag of the image in the local registry. */
const REPOSITORY = 'tsdocker-bench/layers';
const TAG = 'latest';

const MEDIA = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

interface Blob {
  digest: string;
  bytes: Buffer;
}

/** A schema-2 image held in memory: its gzip layers, config and manifest. */
export interface LayeredImage {
  layers: Blob[];
  config: Blob;
  manifest: Blob;
  /** Sum of the compressed layer sizes. */
  compressedBytes: number;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (bytes: Buffer): Blob => ({ digest: sha256(bytes), bytes });

/**
 * `bytes` of data that no compressor can shrink, the same in every run: the AES-256-CTR keystream
 * under a key derived from `seed` (fast, and deterministic so that both daemons pull the same bytes).
 */
export function incompressible(seed: string, bytes: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(bytes)), cipher.final()]);
}

/** A layer tar holding one file, `bench/layer-<i>.bin`, of `bytes` incompressible bytes. */
async function layerTar(i: number, bytes: number): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date(0);
  pack.entry({ name: 'bench/', type: 'directory', mode: 0o755, mtime });
  pack.entry({ name: `bench/layer-${i}.bin`, mode: 0o644, mtime }, incompressible(`tsdocker-bench-layer-${i}`, bytes));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/** Build the image: `layers` layers of `layerBytes` each (gzip level 1: the data does not compress anyway). */
export async function buildLayeredImage(shape = { layers: LAYER_COUNT, layerBytes: LAYER_BYTES }): Promise<LayeredImage> {
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < shape.layers; i++) {
    const raw = await layerTar(i, shape.layerBytes);
    diffIds.push(sha256(raw));
    layers.push(blob(gzipSync(raw, { level: 1 })));
  }
  const created = '2024-01-01T00:00:00Z';
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: GOARCH[process.arch] ?? process.arch,
        os: 'linux',
        created,
        config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: diffIds.map((_, i) => ({ created, created_by: `tsdocker bench layer ${i}` })),
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: { mediaType: MEDIA.config, size: config.bytes.length, digest: config.digest },
        layers: layers.map((l) => ({ mediaType: MEDIA.layer, size: l.bytes.length, digest: l.digest })),
      }),
    ),
  );
  return { layers, config, manifest, compressedBytes: layers.reduce((a, l) => a + l.bytes.length, 0) };
}

async function expectStatus(res: Response, want: number, what: string): Promise<void> {
  if (res.status !== want) throw new Error(`${what}: the registry answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

/** Push `image` to the registry at `url` (http://host:port) as REPOSITORY:TAG, with monolithic blob uploads; returns `REPOSITORY:TAG`. */
export async function pushLayeredImage(url: string, image: LayeredImage): Promise<string> {
  for (const b of [...image.layers, image.config]) {
    const start = await fetch(`${url}/v2/${REPOSITORY}/blobs/uploads/`, { method: 'POST' });
    await expectStatus(start, 202, `starting the upload of ${b.digest}`);
    const location = new URL(start.headers.get('location') ?? '', url);
    location.searchParams.set('digest', b.digest);
    const put = await fetch(location, { method: 'PUT', body: b.bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    await expectStatus(put, 201, `uploading ${b.digest}`);
  }
  const put = await fetch(`${url}/v2/${REPOSITORY}/manifests/${TAG}`, { method: 'PUT', body: image.manifest.bytes, headers: { 'Content-Type': MEDIA.manifest } });
  await expectStatus(put, 201, 'putting the manifest');
  return `${REPOSITORY}:${TAG}`;
}

let built: Promise<LayeredImage> | undefined;

/** Why the image benchmarks cannot run here, or undefined. */
export function missingRegistry(): string | undefined {
  return existsSync(DOCKER_REGISTRY_BIN) ? undefined : `no ${DOCKER_REGISTRY_BIN} (Debian's docker-registry package) to serve the image`;
}

/** What `fn` is given: the image's reference in the registry, and its size. */
export interface ServedImage {
  /** `127.0.0.1:<port>/tsdocker-bench/layers:latest`. */
  reference: string;
  /** e.g. `5 layers, 50.0 MiB compressed`, for the report. */
  summary: string;
}

/**
 * Start Debian's docker-registry on 127.0.0.1 (a free port, its own config and storage dir;
 * loopback registries are insecure by default for both daemons), push the image (built once per
 * run), call `fn`, and stop the registry by its pid, removing its storage. Never leaves loopback.
 */
export async function withServedImage<T>(ctx: BenchContext, fn: (image: ServedImage) => Promise<T>): Promise<T> {
  built ??= buildLayeredImage();
  const image = await built;
  // Loaded only here: the registry fixture brings the emulated registry's modules with it.
  const { startDockerRegistry } = await import('../../conformance/support/registry-fixture');
  const registry = await startDockerRegistry();
  try {
    const name = await pushLayeredImage(registry.url, image);
    const summary = `${image.layers.length} layers, ${(image.compressedBytes / 2 ** 20).toFixed(1)} MiB compressed, from docker-registry on 127.0.0.1`;
    ctx.progress(`image: ${summary}`);
    return await fn({ reference: `${registry.address}/${name}`, summary });
  } finally {
    await registry.stop();
  }
}
