import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { expect, it } from 'vitest';
import { DOCKER_CLI, dockerCli, hasDockerCli, type DaemonUnderTest, type SuiteContext } from '../harness';

interface Member {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

async function makeTar(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) {
    const type = m.type ?? (m.name.endsWith('/') ? 'directory' : 'file');
    pack.entry({ name: m.name, type, linkname: m.linkname, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0 }, Buffer.from(m.content ?? ''));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function readTar(data: Buffer): Promise<Map<string, { type: string; linkname?: string; content: Buffer }>> {
  const out = new Map<string, { type: string; linkname?: string; content: Buffer }>();
  const extract = tar.extract();
  Readable.from([data]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(Buffer.from(c as Buffer));
    out.set(e.header.name, { type: e.header.type ?? 'file', linkname: e.header.linkname ?? undefined, content: Buffer.concat(chunks) });
  }
  return out;
}

const sha256 = (d: Buffer | string) => `sha256:${createHash('sha256').update(d).digest('hex')}`;

/** A tiny ASCII-only root filesystem (so it can go through a CLI's stdin as text). */
const rootfs = (marker: string) =>
  makeTar([{ name: 'bin/' }, { name: 'bin/true', content: '#!/bin/sh\n' }, { name: 'etc/' }, { name: 'etc/marker', content: `${marker}\n` }, { name: 'etc/link', type: 'symlink', linkname: 'marker' }]);

/** A docker-save style archive built by hand: config, one dir per layer, manifest.json. */
function dockerFormat(layers: Buffer[], repoTags: string[] | null): { members: Member[]; id: string } {
  const raw = JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } });
  const id = sha256(raw);
  const members: Member[] = [{ name: `${id.slice(7)}.json`, content: raw }];
  const paths = layers.map((l, i) => {
    members.push({ name: `layer${i}/` }, { name: `layer${i}/layer.tar`, content: l });
    return `layer${i}/layer.tar`;
  });
  members.push({ name: 'manifest.json', content: JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: repoTags, Layers: paths }]) });
  return { members, id };
}

const jsonLines = (body: Buffer) =>
  body
    .toString('utf8')
    .split(/\r?\n/)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function importTar(d: DaemonUnderTest, data: Buffer, repo: string, tag = 'latest'): Promise<string> {
  const res = await d.client.raw('POST', '/images/create', { query: { fromSrc: '-', repo, tag }, body: data, headers: { 'Content-Type': 'application/x-tar' } });
  expect(res.status).toBe(200);
  const lines = jsonLines(res.body);
  return String(lines.at(-1)!.status);
}

async function load(d: DaemonUnderTest, data: Buffer, quiet = true) {
  return d.client.raw('POST', '/images/load', { query: { quiet: quiet ? 1 : 0 }, body: data, headers: { 'Content-Type': 'application/x-tar' } });
}

/** What a refused load must not change: images, tags and the layers on disk. */
async function snapshot(d: DaemonUnderTest) {
  const info = await d.client.json<{ Images: number; Driver: string }>('GET', '/info');
  const images = await d.client.json<{ Id: string; RepoTags: string[] }[]>('GET', '/images/json', { query: { all: 1 } });
  const layerdb = join(d.config.graph, 'image', info.Driver, 'layerdb', 'sha256');
  return { count: info.Images, images: images.map((i) => `${i.Id} ${i.RepoTags.join(',')}`).sort(), layers: readdirSync(layerdb).sort() };
}

/** Run a shell pipeline with the real docker CLI on PATH, against the daemon. */
function shell(host: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const config = mkdtempSync(join(tmpdir(), 'tsd-cli-'));
  return new Promise((resolve) => {
    execFile('sh', ['-c', script], { env: { PATH: process.env.PATH, DOCKER_HOST: host, DOCKER_CONFIG: config, HOME: config, DOCKER: DOCKER_CLI }, timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      rmSync(config, { recursive: true, force: true });
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** docker save / load / import: the archive formats, their safety, the real CLI. */
export function imagesArchiveCases(ctx: SuiteContext): void {
  it('import from the body gives a tagged one-layer image and Docker\'s answer', async () => {
    const d = ctx.get();
    const id = await importTar(d, await rootfs('imp'), 'arch-imp', 'v1');
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    const img = await d.client.json<Record<string, any>>('GET', '/images/arch-imp:v1/json');
    expect(img.Id).toBe(id);
    expect(img.RootFS.Layers).toHaveLength(1);
    expect(img.Comment).toBe('Imported from -');
    expect(img.Os).toBe('linux');
    const history = await d.client.json<Record<string, unknown>[]>('GET', '/images/arch-imp:v1/history');
    expect(history[0]).toMatchObject({ Id: id, Comment: 'Imported from -', CreatedBy: '' });
    await d.client.json('DELETE', '/images/arch-imp:v1');
  });

  it('save → rmi → load keeps the ID, the tags and the layers; events are sent', async () => {
    const d = ctx.get();
    const since = Date.now() / 1000;
    const id = await importTar(d, await rootfs('round'), 'arch-round', 'v1');
    await d.client.raw('POST', '/images/arch-round:v1/tag', { query: { repo: 'arch-round', tag: 'v2' } });
    const before = await d.client.json<Record<string, any>>('GET', `/images/${id}/json`);
    const saved = await d.client.raw('GET', '/images/arch-round/get');
    expect(saved.status).toBe(200);
    expect(saved.headers['content-type']).toBe('application/x-tar');
    const members = await readTar(saved.body);
    const manifest = JSON.parse(members.get('manifest.json')!.content.toString());
    expect(manifest[0].RepoTags.sort()).toEqual(['arch-round:v1', 'arch-round:v2']);
    expect(members.has('index.json') && members.has('oci-layout')).toBe(true);

    await d.client.json('DELETE', `/images/${id}`, { query: { force: 1 } });
    const res = await load(d, saved.body);
    expect(res.status).toBe(200);
    expect(jsonLines(res.body).map((l) => l.stream).sort()).toEqual(['Loaded image: arch-round:v1\n', 'Loaded image: arch-round:v2\n']);
    const after = await d.client.json<Record<string, any>>('GET', `/images/${id}/json`);
    expect(after.RootFS).toEqual(before.RootFS);
    expect(after.RepoTags.sort()).toEqual(['arch-round:v1', 'arch-round:v2']);

    const events = jsonLines((await d.client.raw('GET', '/events', { query: { since: String(since), until: String(Date.now() / 1000 + 0.01), filters: JSON.stringify({ type: ['image'] }) } })).body);
    const actions = events.filter((e) => (e.Actor as { ID: string }).ID === id).map((e) => e.Action);
    expect(actions).toEqual(expect.arrayContaining(['import', 'save', 'load']));
    await d.client.json('DELETE', `/images/${id}`, { query: { force: 1 } });
  });

  it('save of an unknown image is a 404 before any byte', async () => {
    const r = await ctx.get().client.raw('GET', '/images/get', { query: { names: 'arch-nope:1' } });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body.toString())).toEqual({ message: 'No such image: arch-nope:1' });
  });

  it('loads an archive in dockerd\'s format built by hand', async () => {
    const d = ctx.get();
    const { members, id } = dockerFormat([await rootfs('hand'), await makeTar([{ name: 'etc/marker', content: 'top\n' }])], ['arch-hand:1']);
    const res = await load(d, await makeTar(members));
    expect(jsonLines(res.body)).toEqual([{ stream: 'Loaded image: arch-hand:1\n' }]);
    const img = await d.client.json<Record<string, any>>('GET', '/images/arch-hand:1/json');
    expect(img.Id).toBe(id);
    expect(img.RootFS.Layers).toHaveLength(2);
    await d.client.json('DELETE', '/images/arch-hand:1');
  });

  it('loads an OCI image layout (gzip layer, name from the annotation)', async () => {
    const d = ctx.get();
    const layer = await rootfs('oci');
    const gz = gzipSync(layer);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length }] }));
    const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/library/arch-oci:1', 'org.opencontainers.image.ref.name': '1' } }] };
    const blob = (b: Buffer): Member => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, content: b });
    const res = await load(d, await makeTar([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: JSON.stringify(index) }, blob(config), blob(manifest), blob(gz)]));
    expect(jsonLines(res.body)).toEqual([{ stream: 'Loaded image: arch-oci:1\n' }]);
    expect((await d.client.json<Record<string, any>>('GET', '/images/arch-oci:1/json')).Id).toBe(sha256(config));
    await d.client.json('DELETE', '/images/arch-oci:1');
  });

  it('refuses malicious archives with a 400 and leaves no image, tag or layer', async () => {
    const d = ctx.get();
    const good = dockerFormat([await rootfs('evil')], ['arch-evil:1']).members;
    const withManifest = (m: unknown): Member[] => [...good.filter((x) => x.name !== 'manifest.json'), { name: 'manifest.json', content: JSON.stringify(m) }];
    const bad: [string, Member[]][] = [
      ['../ member', [...good, { name: '../escape', content: 'x' }]],
      ['absolute member', [{ name: '/tmp/escape', content: 'x' }, ...good]],
      ['symlink out', [{ name: 'out', type: 'symlink', linkname: '/etc' }, ...good]],
      ['manifest path outside', withManifest([{ Config: '../../../etc/passwd', RepoTags: ['arch-evil:1'], Layers: [] }])],
      ['layer escaping its root', dockerFormat([await rootfs('evil'), await makeTar([{ name: '../../../tmp/escape', content: 'x' }])], ['arch-evil:1']).members],
      ['diff ID mismatch', good.map((m) => (m.name.endsWith('layer.tar') ? { ...m, content: gzipSync(Buffer.from('not the layer')) } : m))],
    ];
    const before = await snapshot(d);
    for (const [name, members] of bad) {
      const res = await load(d, await makeTar(members));
      expect(res.status, name).toBe(400);
      expect(JSON.parse(res.body.toString()).message, name).toMatch(/.+/);
      expect(await snapshot(d), name).toEqual(before);
    }
  });

  it('imports from a loopback URL', async () => {
    const d = ctx.get();
    const body = gzipSync(await rootfs('url'));
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rootfs.tar.gz`;
      const res = await d.client.raw('POST', '/images/create', { query: { fromSrc: url, repo: 'arch-url', tag: '1' } });
      const lines = jsonLines(res.body);
      expect(lines[0]).toEqual({ status: `Downloading from ${url}` });
      const img = await d.client.json<Record<string, any>>('GET', '/images/arch-url:1/json');
      expect(img.Id).toBe(lines.at(-1)!.status);
      expect(img.Comment).toBe(`Imported from ${url}`);
      await d.client.json('DELETE', '/images/arch-url:1');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it.runIf(hasDockerCli)('docker import - with --change, then docker save | docker load, with the real CLI', async () => {
    const d = ctx.get();
    const data = await rootfs('cli');
    expect(data.every((b) => b < 0x80)).toBe(true);
    const imp = await dockerCli(d.host, ['import', '--change', 'CMD ["/bin/true"]', '--change', 'ENV A=b', '-', 'arch-cli:1'], { input: data.toString('latin1') });
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const id = imp.stdout.trim();
    const inspect = await dockerCli(d.host, ['image', 'inspect', '--format', '{{json .Config.Cmd}} {{json .Config.Env}}', 'arch-cli:1']);
    expect(inspect.stdout.trim()).toBe('["/bin/true"] ["A=b"]');

    const dir = mkdtempSync(join(tmpdir(), 'tsd-save-'));
    try {
      const saved = await dockerCli(d.host, ['save', '-o', join(dir, 'img.tar'), 'arch-cli:1']);
      expect(saved.code).toBe(0);
      expect((await dockerCli(d.host, ['rmi', 'arch-cli:1'])).code).toBe(0);
      const loaded = await dockerCli(d.host, ['load', '-i', join(dir, 'img.tar')]);
      expect(loaded.stdout).toContain('Loaded image: arch-cli:1');
      expect((await dockerCli(d.host, ['image', 'inspect', '--format', '{{.Id}}', 'arch-cli:1'])).stdout.trim()).toBe(id);

      // A pipe, as people use it: save to stdout, re-tag, load from stdin.
      writeFileSync(join(dir, 'noop'), '');
      const piped = await shell(d.host, '"$DOCKER" save arch-cli:1 | "$DOCKER" load');
      expect(piped.code).toBe(0);
      expect(piped.stdout).toContain('Loaded image: arch-cli:1');
      const missing = await dockerCli(d.host, ['save', 'arch-nope:1']);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('No such image: arch-nope:1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await dockerCli(d.host, ['rmi', 'arch-cli:1']);
    }
  });
}
