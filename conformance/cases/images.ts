import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type EmulatedRegistry, type RegistryServer } from '../../fakes/registry';
import { dockerCli, hasDockerCli, type SuiteContext } from '../harness';
import { rawRequest } from './system';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Read a JSON-lines progress stream into its messages. */
export function progressLines(body: string): Json[] {
  return body
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Json);
}

/**
 * Image API cases: pull (from a registry on loopback, so every backend can run them; and from
 * the offline hub where the backend has one), list and its filters, inspect, history, tag,
 * remove with Docker's conflict rules, prune.
 */
export function imageCases(ctx: SuiteContext): void {
  let registry: EmulatedRegistry;
  let server: RegistryServer;
  let host: string; // 127.0.0.1:PORT

  beforeAll(async () => {
    registry = await createEmulatedRegistry({ builtin: true });
    server = await startRegistryServer({ registry, host: '127.0.0.1', port: 0 });
    host = new URL(server.url).host;
  });
  afterAll(async () => {
    await server?.close();
  });

  const pull = async (image: string, tag = 'latest', query: Record<string, string> = {}) => {
    const res = await ctx.get().client.raw('POST', '/images/create', { query: { fromImage: image, tag, ...query } });
    return { status: res.status, body: res.body.toString('utf8') };
  };

  it('pulls from a registry on loopback with Docker\'s progress stream', async () => {
    const r = await pull(`${host}/library/busybox`);
    expect(r.status).toBe(200);
    const lines = progressLines(r.body);
    expect(lines[0]).toMatchObject({ status: 'Pulling from library/busybox', id: 'latest' });
    expect(lines.some((l) => l.status === 'Pull complete')).toBe(true);
    expect(lines.some((l) => /^Digest: sha256:[a-f0-9]{64}$/.test(l.status))).toBe(true);
    expect(lines[lines.length - 1]!.status).toBe(`Status: Downloaded newer image for ${host}/library/busybox:latest`);
    const again = progressLines((await pull(`${host}/library/busybox`)).body);
    expect(again.some((l) => l.status === 'Already exists')).toBe(true);
    expect(again[again.length - 1]!.status).toBe(`Status: Image is up to date for ${host}/library/busybox:latest`);
  });

  it('inspect has Docker\'s shape', async () => {
    await pull(`${host}/library/busybox`);
    const img = await ctx.get().client.json<Json>('GET', `/images/${host}/library/busybox:latest/json`);
    for (const k of ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Container', 'ContainerConfig', 'DockerVersion', 'Author', 'Config', 'Architecture', 'Os', 'Size', 'VirtualSize', 'GraphDriver', 'RootFS', 'Metadata']) {
      expect(img, k).toHaveProperty(k);
    }
    expect(img.Id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(img.RepoTags).toEqual([`${host}/library/busybox:latest`]);
    expect(img.RepoDigests[0]).toMatch(new RegExp(`^${host.replace(/\./g, '\\.')}/library/busybox@sha256:[a-f0-9]{64}$`));
    expect(img.RootFS.Type).toBe('layers');
    expect(img.RootFS.Layers.length).toBeGreaterThan(0);
    expect(img.Config.Cmd).toEqual(['sh']);
    expect(img.Architecture).toBe('amd64');
    expect(img.GraphDriver.Name).toBe((await ctx.get().client.json<Json>('GET', '/info')).Driver);
  });

  it('a missing image is 404 with Docker\'s message', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/images/nosuchimage:latest/json');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ message: 'No such image: nosuchimage:latest' });
  });

  it('pull of a missing tag or repository fails with Docker\'s answer before streaming', async () => {
    const tag = await pull(`${host}/library/busybox`, 'nope');
    expect(tag.status).toBe(404);
    expect(JSON.parse(tag.body).message).toBe(`manifest for ${host}/library/busybox:nope not found: manifest unknown: manifest unknown`);
    const repo = await pull(`${host}/library/nosuchrepo`);
    expect(repo.status).toBe(404);
    expect(JSON.parse(repo.body).message).toMatch(/repository does not exist/);
  });

  it('selects the platform from a manifest list', async () => {
    const r = await pull(`${host}/library/alpine`, 'latest', { platform: 'linux/arm64' });
    expect(r.status).toBe(200);
    const img = await ctx.get().client.json<Json>('GET', `/images/${host}/library/alpine:latest/json`);
    expect(img.Architecture).toBe('arm64');
    await ctx.get().client.json('DELETE', `/images/${host}/library/alpine:latest`);
  });

  it('pull by digest records the digest reference', async () => {
    await pull(`${host}/library/busybox`);
    const img = await ctx.get().client.json<Json>('GET', `/images/${host}/library/busybox:latest/json`);
    const digest = String(img.RepoDigests[0]).split('@')[1]!;
    const r = await pull(`${host}/library/busybox`, digest);
    expect(r.status).toBe(200);
    const byDigest = await ctx.get().client.json<Json>('GET', `/images/${host}/library/busybox@${digest}/json`);
    expect(byDigest.Id).toBe(img.Id);
  });

  it('a layer whose digest does not match aborts the pull and leaves nothing behind', async () => {
    const before = await ctx.get().client.json<Json[]>('GET', '/images/json');
    const fault = registry.faults.inject({ operation: 'blob.get', repository: 'library/hello-world', fault: { kind: 'wrong-digest' } });
    try {
      const r = await pull(`${host}/library/hello-world`);
      const lines = r.status === 200 ? progressLines(r.body) : [JSON.parse(r.body)];
      const last = lines[lines.length - 1]!;
      expect(last.error ?? last.message).toMatch(/verification failed/);
    } finally {
      fault.remove();
    }
    const after = await ctx.get().client.json<Json[]>('GET', '/images/json');
    expect(after.length).toBe(before.length);
    const ok = await pull(`${host}/library/hello-world`);
    expect(progressLines(ok.body).pop()!.status).toMatch(/Downloaded newer image/);
    await ctx.get().client.json('DELETE', `/images/${host}/library/hello-world:latest`);
  });

  it('tag, list with filters, history', async () => {
    const c = ctx.get().client;
    await pull(`${host}/library/busybox`);
    expect((await c.raw('POST', `/images/${host}/library/busybox:latest/tag`, { query: { repo: 'example/tagged', tag: 'v1' } })).status).toBe(201);
    const list = await c.json<Json[]>('GET', '/images/json');
    const entry = list.find((i) => (i.RepoTags as string[]).includes('example/tagged:v1'))!;
    for (const k of ['Containers', 'Created', 'Id', 'Labels', 'ParentId', 'RepoDigests', 'RepoTags', 'SharedSize', 'Size', 'VirtualSize']) expect(entry, k).toHaveProperty(k);
    expect(entry.RepoTags).toContain(`${host}/library/busybox:latest`);
    const filtered = await c.json<Json[]>('GET', '/images/json', { query: { filters: JSON.stringify({ reference: ['example/*'] }) } });
    expect(filtered.map((i) => i.RepoTags).flat()).toEqual(['example/tagged:v1']);
    const dangling = await c.json<Json[]>('GET', '/images/json', { query: { filters: JSON.stringify({ dangling: ['true'] }) } });
    expect(dangling.every((i) => (i.RepoTags as string[])[0] === '<none>:<none>')).toBe(true);
    const bad = await c.raw('GET', '/images/json', { query: { filters: JSON.stringify({ bogus: ['x'] }) } });
    expect(bad.status).toBe(400);
    const hist = await c.json<Json[]>('GET', '/images/example/tagged:v1/history');
    expect(hist[0]!.Id).toBe(entry.Id);
    expect(hist[0]!.Tags).toContain('example/tagged:v1');
    for (const k of ['Id', 'Created', 'CreatedBy', 'Tags', 'Size', 'Comment']) expect(hist[0], k).toHaveProperty(k);
    const untag = await c.json<Json[]>('DELETE', '/images/example/tagged:v1');
    expect(untag).toEqual([{ Untagged: 'example/tagged:v1' }]);
  });

  it('removing an image by ID with tags in several repositories needs force (409)', async () => {
    const c = ctx.get().client;
    await pull(`${host}/library/busybox`);
    await c.raw('POST', `/images/${host}/library/busybox:latest/tag`, { query: { repo: 'other/repo', tag: 'x' } });
    const img = await c.json<Json>('GET', '/images/other/repo:x/json');
    const r = await c.raw('DELETE', `/images/${img.Id.slice(7, 19)}`);
    expect(r.status).toBe(409);
    expect(JSON.parse(r.body.toString()).message).toMatch(/must be forced\) - image is referenced in multiple repositories/);
    const forced = await c.json<Json[]>('DELETE', `/images/${img.Id.slice(7, 19)}`, { query: { force: 1 } });
    expect(forced.filter((x) => x.Untagged).length).toBeGreaterThanOrEqual(2);
    expect(forced.some((x) => x.Deleted === img.Id)).toBe(true);
    expect((await c.raw('GET', `/images/${img.Id}/json`)).status).toBe(404);
  });

  it('prune removes dangling images and reports the space', async () => {
    const c = ctx.get().client;
    const r = await c.json<Json>('POST', '/images/prune');
    expect(r).toHaveProperty('ImagesDeleted');
    expect(r).toHaveProperty('SpaceReclaimed');
  });

  it('the image survives a daemon restart (state on disk)', async () => {
    // The store is reloaded from disk by a second daemon on a copy of nothing: check the files exist.
    const { readdirSync } = await import('node:fs');
    await pull(`${host}/library/busybox`);
    const info = await ctx.get().client.json<Json>('GET', '/info');
    const root = `${ctx.get().config.graph}/image/${info.Driver}`;
    expect(readdirSync(`${root}/imagedb/content/sha256`).length).toBeGreaterThan(0);
    expect(readdirSync(`${root}/layerdb/sha256`).length).toBeGreaterThan(0);
    expect(info.Images).toBeGreaterThan(0);
  });

  // Only a backend whose `supports` manifest lists the offline hub has these cases (the Linux
  // backend never contacts Docker Hub): declared there, not skipped elsewhere.
  if (ctx.supports.has('offline-hub')) it('`docker pull busybox` works offline from the built-in hub', async () => {
    const r = await pull('busybox');
    expect(r.status).toBe(200);
    expect(progressLines(r.body).pop()!.status).toMatch(/for busybox:latest$/);
    const img = await ctx.get().client.json<Json>('GET', '/images/busybox/json');
    expect(img.RepoTags).toContain('busybox:latest');
  });

  it.runIf(hasDockerCli)('the real docker CLI pulls, tags, inspects, lists and removes', async () => {
    const h = ctx.get().host;
    const p = await dockerCli(h, ['pull', `${host}/library/hello-world`]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/Pull complete|Already exists/);
    expect((await dockerCli(h, ['tag', `${host}/library/hello-world`, 'hw:cli'])).code).toBe(0);
    const ls = await dockerCli(h, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(ls.stdout.split('\n')).toContain('hw:cli');
    const hist = await dockerCli(h, ['history', 'hw:cli']);
    expect(hist.code).toBe(0);
    const insp = await dockerCli(h, ['image', 'inspect', '--format', '{{.Os}}', 'hw:cli']);
    expect(insp.stdout.trim()).toBe('linux');
    const rmi = await dockerCli(h, ['rmi', 'hw:cli', `${host}/library/hello-world`]);
    expect(rmi.code, rmi.stderr).toBe(0);
    expect(rmi.stdout).toMatch(/Untagged: hw:cli/);
    expect(rmi.stdout).toMatch(/Deleted: sha256:/);
  });
}
