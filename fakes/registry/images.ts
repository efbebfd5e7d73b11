import { sha256Digest } from './digest';
import { MediaType, type Descriptor, type Platform } from './media-types';
import type { RegistryStore, RepositoryInfo } from './store';
import { FIXED_MTIME, buildTar, gzip, type TarEntry } from './tar';

/**
 * The emulator's built-in images, built from deterministic tars so their digests are
 * the same in every run:
 * - `library/busybox`: `latest`, `1.36`, `musl` (manifest list, linux/amd64 + linux/arm64/v8),
 *   `schema2` (a plain schema2 manifest, amd64), `oci` (a plain OCI manifest, amd64);
 * - `library/alpine`: `latest`, `3.20` (OCI index of OCI manifests, amd64 + arm64), the
 *   busybox layer plus a layer with `/etc/alpine-release` and `/etc/os-release`;
 * - `library/hello-world`: `latest`, `linux` (manifest list, amd64 + arm64).
 * Executables are marker files (`#!tsdocker-applet <name>`) that the fake backend's
 * interpreter recognises; applets are symlinks to `busybox`.
 */

export const BUILTIN_PLATFORMS: readonly Platform[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
];

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The applets `/bin` links to `busybox`. */
export const BUSYBOX_APPLETS: readonly string[] = [
  '[', 'basename', 'cat', 'chmod', 'chown', 'cp', 'cut', 'date', 'dirname', 'echo', 'env', 'expr',
  'false', 'find', 'grep', 'head', 'hostname', 'id', 'kill', 'ln', 'ls', 'mkdir', 'mv', 'printf',
  'ps', 'pwd', 'readlink', 'rm', 'rmdir', 'sed', 'seq', 'sh', 'sleep', 'sort', 'tail', 'tee',
  'test', 'touch', 'tr', 'true', 'uname', 'uniq', 'wc', 'which', 'whoami', 'xargs', 'yes',
];

/** The content of an executable the fake backend runs as the applet `name`. */
export function appletMarker(name: string): string {
  return `#!tsdocker-applet ${name}\n`;
}

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'sys:x:3:3:sys:/dev:/bin/false',
  'www-data:x:33:33:www-data:/var/www:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
];
const GROUP = ['root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:', 'www-data:x:33:', 'nogroup:x:65534:'];

const dir = (path: string, mode = 0o755): TarEntry => ({ path, type: 'directory', mode });
const file = (path: string, content: string, mode = 0o644): TarEntry => ({ path, type: 'file', mode, content });
const lines = (list: string[]): string => `${list.join('\n')}\n`;

function busyboxRootfs(): TarEntry[] {
  return [
    ...['bin', 'dev', 'etc', 'home', 'usr', 'usr/bin', 'usr/sbin', 'var', 'var/www'].map((path) => dir(path)),
    dir('root', 0o700),
    dir('tmp', 0o1777),
    file('bin/busybox', appletMarker('busybox'), 0o755),
    ...BUSYBOX_APPLETS.map((applet): TarEntry => ({ path: `bin/${applet}`, type: 'symlink', target: 'busybox' })),
    file('etc/passwd', lines(PASSWD)),
    file('etc/group', lines(GROUP)),
  ];
}

function alpineRelease(): TarEntry[] {
  return [
    dir('etc'),
    file('etc/alpine-release', '3.20.3\n'),
    file(
      'etc/os-release',
      lines([
        'NAME="Alpine Linux"',
        'ID=alpine',
        'VERSION_ID=3.20.3',
        'PRETTY_NAME="Alpine Linux v3.20 (tsdocker emulated)"',
        'HOME_URL="https://alpinelinux.org/"',
      ]),
    ),
  ];
}

function helloRootfs(): TarEntry[] {
  return [file('hello', appletMarker('hello'), 0o755)];
}

interface LayerSpec {
  entries: () => TarEntry[];
  createdBy: string;
}

interface ImageSpec {
  repository: string;
  info: RepositoryInfo;
  layers: LayerSpec[];
  config: { Env: string[]; Cmd: string[]; WorkingDir?: string };
  /** Tags of the multi-platform index, and its format. */
  indexTags: string[];
  indexFormat: 'docker' | 'oci';
  /** Extra single-manifest tags (linux/amd64). */
  schema2Tags?: string[];
  ociTags?: string[];
}

const BUSYBOX_LAYER: LayerSpec = { entries: busyboxRootfs, createdBy: 'BusyBox 1.36.1 (tsdocker emulated), applets as symlinks' };

const IMAGE_SPECS: readonly ImageSpec[] = [
  {
    repository: 'library/busybox',
    info: { description: 'Busybox base image.', starCount: 3300, isOfficial: true, isAutomated: false },
    layers: [BUSYBOX_LAYER],
    config: { Env: [DEFAULT_PATH], Cmd: ['sh'] },
    indexTags: ['latest', '1.36', 'musl'],
    indexFormat: 'docker',
    schema2Tags: ['schema2'],
    ociTags: ['oci'],
  },
  {
    repository: 'library/alpine',
    info: {
      description: 'A minimal Docker image based on Alpine Linux with a complete package index and only 5 MB in size!',
      starCount: 11000,
      isOfficial: true,
      isAutomated: false,
    },
    layers: [BUSYBOX_LAYER, { entries: alpineRelease, createdBy: 'ADD alpine-release os-release /etc/' }],
    config: { Env: [DEFAULT_PATH], Cmd: ['/bin/sh'] },
    indexTags: ['latest', '3.20'],
    indexFormat: 'oci',
  },
  {
    repository: 'library/hello-world',
    info: { description: 'Hello World! (an example of minimal Dockerization)', starCount: 2200, isOfficial: true, isAutomated: false },
    layers: [{ entries: helloRootfs, createdBy: 'COPY hello / # buildkit' }],
    config: { Env: [DEFAULT_PATH], Cmd: ['/hello'], WorkingDir: '/' },
    indexTags: ['latest', 'linux'],
    indexFormat: 'docker',
  },
];

/** A manifest ready to store: its media type, bytes and the tags pointing at it. */
export interface BuiltManifest {
  mediaType: string;
  bytes: Uint8Array;
  digest: string;
  tags: string[];
}

export interface BuiltImage {
  repository: string;
  info: RepositoryInfo;
  /** Layer and config blobs. */
  blobs: Uint8Array[];
  /** In push order: per-platform manifests first, then the index and the single-manifest tags. */
  manifests: BuiltManifest[];
}

/** Builds every built-in image from scratch. Pure: the same output in every call and run. */
export async function buildBuiltinImages(): Promise<BuiltImage[]> {
  const layerCache = new Map<LayerSpec, BuiltLayer>();
  const images: BuiltImage[] = [];
  for (const spec of IMAGE_SPECS) {
    const layers: BuiltLayer[] = [];
    for (const layerSpec of spec.layers) {
      let layer = layerCache.get(layerSpec);
      if (!layer) {
        layer = await buildLayer(layerSpec);
        layerCache.set(layerSpec, layer);
      }
      layers.push(layer);
    }
    images.push(buildImage(spec, layers));
  }
  return images;
}

let cached: Promise<BuiltImage[]> | undefined;

/**
 * The built-in images, built once per process and then shared: they are immutable,
 * deterministic data, so sharing cannot couple registries to each other.
 */
export function builtinImages(): Promise<BuiltImage[]> {
  cached ??= buildBuiltinImages();
  return cached;
}

/** Pushes the built-in images into `store` (blobs, per-platform manifests, tags, search info). */
export async function seedBuiltinImages(store: RegistryStore): Promise<void> {
  for (const image of await builtinImages()) {
    for (const blob of image.blobs) store.putBlob(image.repository, blob);
    for (const manifest of image.manifests) {
      const tags = manifest.tags.length > 0 ? manifest.tags : [undefined];
      for (const tag of tags) store.putManifest(image.repository, manifest.mediaType, manifest.bytes, tag);
    }
    store.setRepositoryInfo(image.repository, image.info);
  }
}

interface BuiltLayer {
  compressed: Uint8Array;
  digest: string;
  diffId: string;
  createdBy: string;
}

async function buildLayer(spec: LayerSpec): Promise<BuiltLayer> {
  const tarBytes = await buildTar(spec.entries());
  const compressed = gzip(tarBytes);
  return { compressed, digest: sha256Digest(compressed), diffId: sha256Digest(tarBytes), createdBy: spec.createdBy };
}

const encodeJson = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(value)));

function buildImage(spec: ImageSpec, layers: BuiltLayer[]): BuiltImage {
  const created = FIXED_MTIME.toISOString().replace('.000Z', 'Z');
  const blobs: Uint8Array[] = layers.map((layer) => layer.compressed);
  const platformManifests: BuiltManifest[] = [];
  const singleTags: BuiltManifest[] = [];
  const oci = spec.indexFormat === 'oci';

  for (const platform of BUILTIN_PLATFORMS) {
    const config = encodeJson({
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created,
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: [
        ...layers.map((layer) => ({ created, created_by: layer.createdBy })),
        { created, created_by: `CMD ${JSON.stringify(spec.config.Cmd)}`, empty_layer: true },
      ],
    });
    blobs.push(config);
    const manifestFor = (format: 'docker' | 'oci', tags: string[]): BuiltManifest => {
      const bytes = encodeJson(imageManifest(format, config, layers));
      const mediaType = format === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
      return { mediaType, bytes, digest: sha256Digest(bytes), tags };
    };
    platformManifests.push(manifestFor(oci ? 'oci' : 'docker', []));
    if (platform.architecture === 'amd64') {
      if (spec.schema2Tags) singleTags.push(manifestFor('docker', spec.schema2Tags));
      if (spec.ociTags) singleTags.push(manifestFor('oci', spec.ociTags));
    }
  }

  const indexBytes = encodeJson({
    schemaVersion: 2,
    mediaType: oci ? MediaType.ociIndex : MediaType.dockerManifestList,
    manifests: platformManifests.map(
      (manifest, i): Descriptor => ({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.bytes.byteLength,
        platform: BUILTIN_PLATFORMS[i]!,
      }),
    ),
  });
  const index: BuiltManifest = {
    mediaType: oci ? MediaType.ociIndex : MediaType.dockerManifestList,
    bytes: indexBytes,
    digest: sha256Digest(indexBytes),
    tags: spec.indexTags,
  };
  return { repository: spec.repository, info: spec.info, blobs, manifests: [...platformManifests, index, ...singleTags] };
}

function imageManifest(format: 'docker' | 'oci', config: Uint8Array, layers: BuiltLayer[]) {
  const oci = format === 'oci';
  return {
    schemaVersion: 2,
    mediaType: oci ? MediaType.ociManifest : MediaType.dockerManifest,
    config: {
      mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig,
      digest: sha256Digest(config),
      size: config.byteLength,
    },
    layers: layers.map((layer) => ({
      mediaType: oci ? MediaType.ociLayer : MediaType.dockerLayer,
      digest: layer.digest,
      size: layer.compressed.byteLength,
    })),
  };
}
