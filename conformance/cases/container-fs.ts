import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_CLI, dockerCli, hasDockerCli, type SuiteContext } from '../harness';
import { testImage } from '../support/test-image';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the setup script leaves in a container: dockerd 20.10's answers were measured on it. */
const SETUP = 'mkdir -p /data/sub && echo hi > /data/a.txt && ln -s /data/a.txt /data/lnk';

async function tarOf(members: { name: string; content?: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const m of members) {
    const type = m.type ?? (m.name.endsWith('/') ? 'directory' : 'file');
    pack.entry({ name: m.name, type, linkname: m.linkname, mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(0) }, Buffer.from(m.content ?? ''));
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function tarNames(data: Buffer): Promise<Map<string, { type: string; linkname: string | null; content: string }>> {
  const out = new Map<string, { type: string; linkname: string | null; content: string }>();
  const extract = tar.extract();
  Readable.from([data]).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(Buffer.from(c as Buffer));
    out.set(entry.header.name, { type: entry.header.type ?? 'file', linkname: entry.header.linkname ?? null, content: Buffer.concat(chunks).toString() });
  }
  return out;
}

const decodeStat = (h: string | string[] | undefined) => JSON.parse(Buffer.from(String(h), 'base64').toString()) as Json;

/** The docker CLI with binary stdin (for `docker cp - c:/dir`). */
function dockerCliStdin(host: string, args: string[], input: Buffer): Promise<{ code: number; stderr: string }> {
  const configDir = mkdtempSync(join(tmpdir(), 'tsd-cli-'));
  return new Promise((resolve) => {
    const child = spawn(DOCKER_CLI, args, { env: { PATH: process.env.PATH, HOME: configDir, DOCKER_CONFIG: configDir, DOCKER_HOST: host } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      rmSync(configDir, { recursive: true, force: true });
      resolve({ code: code ?? 1, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * Container filesystem cases: `docker cp` both ways (HEAD/GET/PUT /containers/{id}/archive),
 * `docker export` and `docker commit`, with dockerd 20.10's answers (measured) where clients
 * care, and 4xx where dockerd 20.10 answers 500 for a client error (a tar escaping the
 * destination, a non-directory destination: 400; a read-only rootfs: 403).
 */
export function containerFsCases(ctx: SuiteContext): void {
  const c = () => ctx.get().client;
  let image: string;
  /** A stopped container after SETUP ran in it. */
  let stopped: string;
  const created: string[] = [];

  const createContainer = async (cmd: string[], extra: Json = {}, img?: string): Promise<string> => {
    const res = await c().json<Json>('POST', '/containers/create', { body: { Image: img ?? image, Cmd: cmd, HostConfig: { NetworkMode: 'none' }, ...extra } });
    created.push(res.Id as string);
    return res.Id as string;
  };
  const runToExit = async (id: string): Promise<number> => {
    const start = await c().raw('POST', `/containers/${id}/start`);
    if (start.status !== 204) throw new Error(`start failed: ${start.status} ${start.body.toString()}`);
    return ((await c().json<Json>('POST', `/containers/${id}/wait`)).StatusCode as number) ?? -1;
  };
  const archive = (method: string, id: string, path: string, query: Json = {}, body?: Buffer) =>
    c().raw(method, `/containers/${id}/archive`, { query: { path, ...query }, body, headers: body ? { 'Content-Type': 'application/x-tar' } : undefined });
  const events = async (since: number, id: string) => {
    const res = await c().raw('GET', '/events', { query: { since: String(since), until: String(Math.ceil(Date.now() / 1000) + 1), filters: JSON.stringify({ container: [id] }) } });
    return res.body.toString().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as Json).Action as string);
  };

  beforeAll(async () => {
    image = await testImage(ctx);
    stopped = await createContainer(['sh', '-c', SETUP]);
    expect(await runToExit(stopped)).toBe(0);
  });
  afterAll(async () => {
    for (const id of created) await c().raw('DELETE', `/containers/${id}`, { query: { force: 1 } }).catch(() => undefined);
  });

  describe('archive', () => {
    it('HEAD gives the path stat header only: Go file modes, the symlink target resolved', async () => {
      const dir = await archive('HEAD', stopped, '/data');
      expect(dir.status).toBe(200);
      expect(dir.body.length).toBe(0);
      const st = decodeStat(dir.headers['x-docker-container-path-stat']);
      expect(Object.keys(st)).toEqual(['name', 'size', 'mode', 'mtime', 'linkTarget']);
      expect(st).toMatchObject({ name: 'data', mode: 2 ** 31 + 0o755, linkTarget: '' });
      expect(decodeStat((await archive('HEAD', stopped, '/data/lnk')).headers['x-docker-container-path-stat'])).toMatchObject({ name: 'lnk', mode: 2 ** 27 + 0o777, linkTarget: '/data/a.txt' });
      expect(decodeStat((await archive('HEAD', stopped, '/bin/sh')).headers['x-docker-container-path-stat'])).toMatchObject({ name: 'sh', linkTarget: '/bin/busybox' });
      expect((await archive('HEAD', stopped, '/nope')).status).toBe(404);
    });

    it('GET tars a directory under its base name, dir/. as ./, a file by its name; 404 in dockerd words', async () => {
      const dir = await archive('GET', stopped, '/data');
      expect(dir.status).toBe(200);
      expect(dir.headers['content-type']).toBe('application/x-tar');
      expect(decodeStat(dir.headers['x-docker-container-path-stat']).name).toBe('data');
      const m = await tarNames(dir.body);
      expect([...m.keys()]).toEqual(['data/', 'data/a.txt', 'data/lnk', 'data/sub/']);
      expect(m.get('data/a.txt')!.content).toBe('hi\n');
      expect(m.get('data/lnk')).toMatchObject({ type: 'symlink', linkname: '/data/a.txt' });
      expect([...(await tarNames((await archive('GET', stopped, '/data/.')).body)).keys()]).toEqual(['./', './a.txt', './lnk', './sub/']);
      expect([...(await tarNames((await archive('GET', stopped, '/data/a.txt')).body)).keys()]).toEqual(['a.txt']);
      const name = ((await c().json<Json>('GET', `/containers/${stopped}/json`)).Name as string).slice(1);
      const missing = await archive('GET', stopped, '/nope');
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body.toString())).toEqual({ message: `Could not find the file /nope in container ${name}` });
      expect((await archive('GET', stopped, '')).status).toBe(400);
      expect((await archive('GET', 'no-such-container', '/')).status).toBe(404);
    });

    it('PUT extracts into a directory, and the files read back', async () => {
      const since = Math.floor(Date.now() / 1000);
      const put = await archive('PUT', stopped, '/data', {}, await tarOf([{ name: 'new/' }, { name: 'new/f', content: 'put\n' }]));
      expect(put.status).toBe(200);
      const back = await tarNames((await archive('GET', stopped, '/data/new/f')).body);
      expect(back.get('f')!.content).toBe('put\n');
      expect(await events(since, stopped)).toEqual(expect.arrayContaining(['extract-to-dir', 'archive-path']));
    });

    it('PUT refuses a tar escaping the destination with 400 and leaves nothing', async () => {
      for (const members of [
        [{ name: 'esc-ok', content: 'x' }, { name: '../../escape', content: 'x' }],
        [{ name: 'esc-ok', content: 'x' }, { name: 'r', type: 'symlink' as const, linkname: '../../../../' }],
      ]) {
        const res = await archive('PUT', stopped, '/data', {}, await tarOf(members));
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body.toString()).message).toMatch(/^Error processing tar file\(exit status 1\): /);
      }
      expect((await archive('HEAD', stopped, '/data/esc-ok')).status).toBe(404);
      expect((await archive('HEAD', stopped, '/escape')).status).toBe(404);
    });

    it('PUT answers 404 for a missing destination, 400 for a file, noOverwriteDirNonDir, 403 on a read-only rootfs', async () => {
      const body = await tarOf([{ name: 'f', content: 'x' }]);
      expect((await archive('PUT', stopped, '/nope', {}, body)).status).toBe(404);
      const notDir = await archive('PUT', stopped, '/data/a.txt', {}, body);
      expect(notDir.status).toBe(400);
      expect(JSON.parse(notDir.body.toString())).toEqual({ message: 'extraction point is not a directory' });
      const clash = await archive('PUT', stopped, '/data', { noOverwriteDirNonDir: 'true' }, await tarOf([{ name: 'sub', content: 'file' }]));
      expect(clash.status).toBe(400);
      expect(JSON.parse(clash.body.toString()).message).toContain('cannot overwrite directory "/data/sub" with non-directory "/data"');
      const ro = await createContainer(['true'], { HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true } });
      const refused = await archive('PUT', ro, '/tmp', {}, body);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body.toString())).toEqual({ message: 'container rootfs is marked read-only' });
    });

    it('works on a running container', async () => {
      const id = await createContainer(['sh', '-c', 'echo live > /live.txt; sleep 600']);
      expect((await c().raw('POST', `/containers/${id}/start`)).status).toBe(204);
      let found = false;
      for (let i = 0; i < 200 && !found; i++) {
        found = (await archive('HEAD', id, '/live.txt')).status === 200;
        if (!found) await new Promise((r) => setTimeout(r, 25));
      }
      expect(found).toBe(true);
      expect((await tarNames((await archive('GET', id, '/live.txt')).body)).get('live.txt')!.content).toBe('live\n');
      expect((await archive('PUT', id, '/tmp', {}, await tarOf([{ name: 'in', content: 'in\n' }]))).status).toBe(200);
      expect((await tarNames((await archive('GET', id, '/tmp/in')).body)).get('in')!.content).toBe('in\n');
      await c().raw('POST', `/containers/${id}/kill`);
    });
  });

  describe('export and commit', () => {
    it('exports the whole filesystem as a tar and publishes export', async () => {
      const since = Math.floor(Date.now() / 1000);
      const res = await c().raw('GET', `/containers/${stopped}/export`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      const names = [...(await tarNames(res.body)).keys()];
      expect(names).toEqual(expect.arrayContaining(['bin/', 'bin/sh', 'data/', 'data/a.txt', 'data/lnk']));
      expect(names.some((n) => n === './' || n.startsWith('/'))).toBe(false);
      expect(await events(since, stopped)).toContain('export');
      expect((await c().raw('GET', '/containers/no-such-container/export')).status).toBe(404);
    });

    it('commits the container changes as a new image that runs', async () => {
      const since = Math.floor(Date.now() / 1000);
      const res = await c().raw('POST', '/commit', {
        query: { container: stopped, repo: 'conf-commit', tag: 'v1', comment: 'hello', author: 'me', changes: 'ENV FOO=bar' },
        body: { Labels: { from: 'body' } },
      });
      expect(res.status).toBe(201);
      const id = (JSON.parse(res.body.toString()) as Json).Id as string;
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      const img = await c().json<Json>('GET', '/images/conf-commit:v1/json');
      const base = await c().json<Json>('GET', `/images/${image}/json`);
      expect(img).toMatchObject({ Id: id, Parent: base.Id, Container: stopped, Author: 'me', Comment: '' });
      expect(img.Config.Env).toContain('FOO=bar');
      expect(img.Config.Labels).toMatchObject({ from: 'body' });
      expect(img.ContainerConfig.Cmd).toEqual(['sh', '-c', SETUP]);
      expect(img.RootFS.Layers).toHaveLength(base.RootFS.Layers.length + 1);
      const history = await c().json<Json[]>('GET', '/images/conf-commit:v1/history');
      expect(history[0]).toMatchObject({ Id: id, CreatedBy: `sh -c ${SETUP}`, Comment: 'hello', Tags: ['conf-commit:v1'] });
      expect(await events(since, stopped)).toContain('commit');

      const run = await createContainer(['grep', '-q', 'hi', '/data/a.txt'], {}, 'conf-commit:v1');
      expect(await runToExit(run)).toBe(0);
      const fails = await createContainer(['grep', '-q', 'absent', '/data/a.txt'], {}, 'conf-commit:v1');
      expect(await runToExit(fails)).toBe(1);
    });

    it('refuses a bad commit with Docker\'s status codes', async () => {
      expect((await c().raw('POST', '/commit', { query: { container: 'no-such-container' } })).status).toBe(404);
      expect((await c().raw('POST', '/commit', { query: { container: stopped, changes: 'FROM x' } })).status).toBe(400);
      const bad = await c().raw('POST', '/commit', { query: { container: stopped, changes: 'FROM x' } });
      expect(JSON.parse(bad.body.toString())).toEqual({ message: 'from is not a valid change command' });
      expect((await c().raw('POST', '/commit', { query: { container: stopped, repo: 'BAD' } })).status).toBe(400);
    });
  });

  describe.runIf(hasDockerCli)('docker CLI', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tsd-cp-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const cli = (args: string[]) => dockerCli(ctx.get().host, args);

    it('docker cp copies a file, a directory and dir/. out of a container, and to stdout with -', async () => {
      expect(await cli(['cp', `${stopped}:/data/a.txt`, join(dir, 'a.txt')])).toMatchObject({ code: 0 });
      expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('hi\n');
      expect(await cli(['cp', `${stopped}:/data`, join(dir, 'copy')])).toMatchObject({ code: 0 });
      expect(readFileSync(join(dir, 'copy', 'a.txt'), 'utf8')).toBe('hi\n');
      mkdirSync(join(dir, 'contents'));
      expect(await cli(['cp', `${stopped}:/data/.`, join(dir, 'contents')])).toMatchObject({ code: 0 });
      expect(readFileSync(join(dir, 'contents', 'a.txt'), 'utf8')).toBe('hi\n');
      const missing = await cli(['cp', `${stopped}:/nope`, join(dir, 'x')]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('Could not find the file /nope in container');
    });

    it('docker cp to stdout writes the tar', async () => {
      const chunks: Buffer[] = [];
      const child = spawn(DOCKER_CLI, ['cp', `${stopped}:/data`, '-'], { env: { PATH: process.env.PATH, HOME: dir, DOCKER_CONFIG: join(dir, 'cfg'), DOCKER_HOST: ctx.get().host } });
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      const code = await new Promise<number>((r) => child.on('close', (x) => r(x ?? 1)));
      expect(code).toBe(0);
      expect([...(await tarNames(Buffer.concat(chunks))).keys()]).toContain('data/a.txt');
    });

    it('docker cp copies a file and a directory into a container, and a tar from stdin', async () => {
      writeFileSync(join(dir, 'up.txt'), 'up\n');
      mkdirSync(join(dir, 'updir'));
      writeFileSync(join(dir, 'updir', 'inner.txt'), 'inner\n');
      expect(await cli(['cp', join(dir, 'up.txt'), `${stopped}:/data/up.txt`])).toMatchObject({ code: 0 });
      expect(await cli(['cp', join(dir, 'updir'), `${stopped}:/data/`])).toMatchObject({ code: 0 });
      expect(await cli(['cp', join(dir, 'updir'), `${stopped}:/data/renamed`])).toMatchObject({ code: 0 });
      expect((await dockerCliStdin(ctx.get().host, ['cp', '-', `${stopped}:/data`], await tarOf([{ name: 'stdin.txt', content: 'stdin\n' }]))).code).toBe(0);
      const m = await tarNames((await archive('GET', stopped, '/data')).body);
      expect(m.get('data/up.txt')!.content).toBe('up\n');
      expect(m.get('data/updir/inner.txt')!.content).toBe('inner\n');
      expect(m.get('data/renamed/inner.txt')!.content).toBe('inner\n');
      expect(m.get('data/stdin.txt')!.content).toBe('stdin\n');
    });

    it('docker export, docker diff, docker commit and a container of the committed image', async () => {
      expect(await cli(['export', '-o', join(dir, 'export.tar'), stopped])).toMatchObject({ code: 0 });
      expect([...(await tarNames(readFileSync(join(dir, 'export.tar')))).keys()]).toContain('data/a.txt');
      const diff = await cli(['diff', stopped]);
      expect(diff.code).toBe(0);
      expect(diff.stdout.split('\n')).toEqual(expect.arrayContaining(['A /data', 'A /data/a.txt']));
      const commit = await cli(['commit', '-c', 'ENV CLI=1', '-m', 'from cli', stopped, 'conf-cli-commit:latest']);
      expect(commit.code).toBe(0);
      expect(commit.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
      const create = await cli(['create', '--network', 'none', 'conf-cli-commit', 'grep', '-q', 'hi', '/data/a.txt']);
      expect(create.code).toBe(0);
      const id = create.stdout.trim();
      created.push(id);
      expect(await cli(['start', id])).toMatchObject({ code: 0 });
      expect((await cli(['wait', id])).stdout.trim()).toBe('0');
    });
  });
}
