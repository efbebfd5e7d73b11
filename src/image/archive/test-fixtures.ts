/** Test helpers for the archive tests: a real image stack on a temp dir, and tar builders. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import * as tar from 'tar-stream';
import { FullCopyDriver } from '../../archive/full-copy-driver';
import { EventBus, type DockerEvent } from '../../events/events';
import { nodeHostFs } from '../../kernel/node-host-fs';
import { ImageService } from '../image-service';
import { ImageStore } from '../image-store';
import { LayerStore } from '../layer-store';
import type { ProgressMessage } from '../progress';
import { ReferenceStore } from '../reference-store';
import { sha256 } from '../digest';
import { gzipSync } from 'node:zlib';
import type { ArchiveDeps } from './deps';

export interface Stack {
  dir: string;
  deps: ArchiveDeps;
  service: ImageService;
  events: DockerEvent[];
  close(): void;
  /** Names of files left in the scratch dir. */
  scratch(): Promise<string[]>;
}

/** Layer, image and reference stores over a vfs-like driver on real disk, in a temp dir. */
export async function makeStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-archive-'));
  const log = pino({ level: 'silent' });
  const driver = await new FullCopyDriver('vfs', nodeHostFs(), join(dir, 'vfs'), log).open();
  const layers = new LayerStore(join(dir, 'layerdb'), driver, log);
  const images = new ImageStore(join(dir, 'imagedb'), log);
  const refs = new ReferenceStore(join(dir, 'repositories.json'));
  await layers.load();
  await images.load();
  await refs.load();
  const bus = new EventBus();
  const events: DockerEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const service = new ImageService(images, layers, refs, driver, bus, log);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  return {
    dir,
    deps: { images: service, events: bus, tmpDir: tmp, log },
    service,
    events,
    close: () => rmSync(dir, { recursive: true, force: true }),
    scratch: () => readdir(tmp),
  };
}

export interface TarMember {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
}

/** A tar of `members`, in memory. */
export async function makeTar(members: TarMember[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) {
    const content = m.content === undefined ? undefined : Buffer.from(m.content);
    const type = m.type ?? (m.name.endsWith('/') ? 'directory' : 'file');
    pack.entry({ name: m.name, type, linkname: m.linkname, mode: m.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), uid: 0, gid: 0 }, content ?? Buffer.alloc(0));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Every member of a tar: name, type, link target and content. */
export async function readTar(data: Buffer): Promise<Map<string, { type: string; linkname?: string; content: Buffer }>> {
  const out = new Map<string, { type: string; linkname?: string; content: Buffer }>();
  const extract = tar.extract();
  Readable.from([data]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Buffer));
    out.set(entry.header.name, { type: entry.header.type ?? 'file', linkname: entry.header.linkname ?? undefined, content: Buffer.concat(chunks) });
  }
  return out;
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** A progress sink that keeps the messages. */
export function progressLog(): { messages: ProgressMessage[]; sink: (m: ProgressMessage) => void; streams(): string } {
  const messages: ProgressMessage[] = [];
  return { messages, sink: (m) => messages.push(m), streams: () => messages.map((m) => m.stream ?? '').join('') };
}

/** A tiny root filesystem: /bin/sh as a file, /etc/hostname, a symlink. */
export function rootfsMembers(marker = 'base'): TarMember[] {
  return [
    { name: 'bin/' },
    { name: 'bin/sh', content: '#!fake shell\n', mode: 0o755 },
    { name: 'etc/' },
    { name: 'etc/marker', content: `${marker}\n` },
    { name: 'etc/link', type: 'symlink', linkname: 'marker' },
  ];
}

/** An image config over layer tars (uncompressed), and its ID. */
export function configFor(layerTars: Buffer[], extra: Record<string, unknown> = {}): { raw: Buffer; id: string; diffIds: string[] } {
  const diffIds = layerTars.map((t) => sha256(t));
  const raw = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05.123456789Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds }, ...extra }));
  return { raw, id: sha256(raw), diffIds };
}

/**
 * Members of a hand-built archive in dockerd's format: `<config hex>.json`, `<n>/layer.tar`
 * (gzip when asked), and manifest.json listing `images`.
 */
export function dockerFormatMembers(images: { layers: Buffer[]; tags?: string[] | null; gzip?: boolean }[]): { members: TarMember[]; ids: string[] } {
  const members: TarMember[] = [];
  const manifest: unknown[] = [];
  const ids: string[] = [];
  const written = new Set<string>();
  for (const img of images) {
    const { raw, id, diffIds } = configFor(img.layers);
    ids.push(id);
    members.push({ name: `${id.slice(7)}.json`, content: raw });
    const paths = img.layers.map((tarData, i) => {
      const dir = `${diffIds[i]!.slice(7, 23)}${img.gzip ? 'gz' : ''}`;
      if (!written.has(dir)) {
        written.add(dir);
        members.push({ name: `${dir}/` }, { name: `${dir}/layer.tar`, content: img.gzip ? gzipSync(tarData) : tarData });
      }
      return `${dir}/layer.tar`;
    });
    manifest.push({ Config: `${id.slice(7)}.json`, RepoTags: img.tags ?? null, Layers: paths });
  }
  members.push({ name: 'manifest.json', content: JSON.stringify(manifest) });
  return { members, ids };
}
