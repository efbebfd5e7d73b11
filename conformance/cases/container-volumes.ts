import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, hasDockerCli, type SuiteContext } from '../harness';
import { busyboxRootfs, testImage } from '../support/test-image';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The test userland with `VOLUME /data` in its config. */
const VOLUME_IMAGE = 'cv-volume-image:latest';
const HEX64 = /^[0-9a-f]{64}$/;

const unique = (prefix: string) => `cv-${prefix}-${randomBytes(4).toString('hex')}`;

/**
 * Volumes and binds in containers (dockerd 20.10's answers, measured): named volumes made on
 * demand and shared between runs, anonymous volumes from `-v /path` and from the image's
 * `Volumes`, binds both ways and read-only, `Mounts` of type bind/volume/tmpfs, seeding a new
 * volume from the image, inspect's and ps's `Mounts`, the 409 for a volume in use, `rm -v`,
 * `volume prune` and `dangling=`, and the references a restarted daemon takes again. Every
 * case uses its own names and removes what it made.
 */
export function containerVolumeCases(ctx: SuiteContext): void {
  const containers = new Set<string>();
  const volumes = new Set<string>();
  let image: string;
  let hostDir: string;

  const req = async (method: string, path: string, opts: { query?: Record<string, string | number | boolean | undefined>; body?: unknown } = {}) => {
    const r = await ctx.get().client.raw(method, path, opts);
    const text = r.body.toString('utf8');
    return { status: r.status, text, body: (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : {}) as Json };
  };
  const create = async (body: Json, name?: string): Promise<string> => {
    const r = await req('POST', '/containers/create', { query: { name }, body: { Image: image, Cmd: ['true'], ...body, HostConfig: { NetworkMode: 'none', ...body.HostConfig } } });
    if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
    containers.add(r.body.Id as string);
    return r.body.Id as string;
  };
  const createStatus = async (body: Json) => {
    const r = await req('POST', '/containers/create', { body: { Image: image, Cmd: ['true'], ...body, HostConfig: { NetworkMode: 'none', ...body.HostConfig } } });
    if (r.status === 201) containers.add(r.body.Id as string);
    return r;
  };
  const inspect = async (id: string): Promise<Json> => (await req('GET', `/containers/${id}/json`)).body;
  const volumeStatus = async (name: string) => (await req('GET', `/volumes/${name}`)).status;
  const cli = (args: string[]) => dockerCli(ctx.get().host, args);

  beforeAll(async () => {
    image = await testImage(ctx);
    const [repo, tag] = VOLUME_IMAGE.split(':') as [string, string];
    const r = await ctx.get().client.raw('POST', `/images/create?fromSrc=-&repo=${repo}&tag=${tag}&changes=${encodeURIComponent('VOLUME /data')}`, { body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
    if (r.status !== 200 || r.body.toString().includes('"error"')) throw new Error(`import failed: ${r.status} ${r.body.toString()}`);
    hostDir = mkdtempSync(join(tmpdir(), 'tsd-cv-bind-'));
  });
  afterAll(async () => {
    for (const id of containers) await req('DELETE', `/containers/${id}`, { query: { force: true, v: true } });
    for (const name of volumes) await req('DELETE', `/volumes/${name}`);
    await req('DELETE', `/images/${VOLUME_IMAGE}`);
    rmSync(hostDir, { recursive: true, force: true });
  });

  describe('inspect and list', () => {
    it('shows every kind of mount in Docker\'s MountPoint shape, in inspect and in ps', async () => {
      const named = unique('named');
      volumes.add(named);
      const id = await create({
        Image: VOLUME_IMAGE,
        HostConfig: {
          Binds: [`${hostDir}:/h`, `${hostDir}:/hro:ro`, `${named}:/v`],
          Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } }, { Type: 'bind', Source: hostDir, Target: '/hb', ReadOnly: true }],
        },
      });
      const mounts = ((await inspect(id)).Mounts as Json[]).sort((a, b) => (a.Destination < b.Destination ? -1 : 1));
      const graph = ctx.get().config.graph;
      const anon = mounts.find((m) => m.Destination === '/data')!;
      expect(anon.Name).toMatch(HEX64);
      expect(mounts).toEqual([
        { Type: 'volume', Name: anon.Name, Source: join(graph, 'volumes', anon.Name, '_data'), Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' },
        { Type: 'bind', Source: hostDir, Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' },
        { Type: 'bind', Source: hostDir, Destination: '/hb', Mode: '', RW: false, Propagation: 'rprivate' },
        { Type: 'bind', Source: hostDir, Destination: '/hro', Mode: 'ro', RW: false, Propagation: 'rprivate' },
        { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
        { Type: 'volume', Name: named, Source: join(graph, 'volumes', named, '_data'), Destination: '/v', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      ]);
      for (const m of mounts) expect(Object.keys(m)).toEqual(Object.keys(m).filter((k) => ['Type', 'Name', 'Source', 'Destination', 'Driver', 'Mode', 'RW', 'Propagation'].includes(k)));
      const listed = await req('GET', '/containers/json', { query: { all: true, filters: JSON.stringify({ volume: [named] }) } });
      expect((listed.body as unknown as Json[]).map((c) => c.Id)).toEqual([id]);
      expect(((listed.body as unknown as Json[])[0]!.Mounts as Json[]).length).toBe(6);
    });

    it('refuses a destination given twice and a missing Mounts bind source with dockerd\'s 400s, leaving nothing', async () => {
      const before = (await req('GET', '/volumes')).body.Volumes.length as number;
      const dup = await createStatus({ HostConfig: { Binds: ['cv-dup-a:/data'], Mounts: [{ Type: 'volume', Target: '/data' }] } });
      expect(dup.status).toBe(400);
      expect(dup.body.message).toBe('Duplicate mount point: /data');
      const missing = join(hostDir, 'no-such-dir');
      const bind = await createStatus({ HostConfig: { Binds: ['cv-left:/left'], Mounts: [{ Type: 'bind', Source: missing, Target: '/x' }] } });
      expect(bind.status).toBe(400);
      expect(bind.body.message).toBe(`invalid mount config for type "bind": bind source path does not exist: ${missing}`);
      const tmpfs = await createStatus({ HostConfig: { Mounts: [{ Type: 'tmpfs', Source: 'x', Target: '/t' }] } });
      expect(tmpfs.status).toBe(400);
      expect(tmpfs.body.message).toBe('invalid mount config for type "tmpfs": field Source must not be specified');
      expect((await req('GET', '/volumes')).body.Volumes.length).toBe(before);
    });
  });

  describe('references', () => {
    it('answers 409 for removing a volume a created container uses, and lists it as not dangling', async () => {
      const name = unique('inuse');
      const unused = unique('unused');
      const label = unique('prune');
      volumes.add(name).add(unused);
      for (const v of [name, unused]) expect((await req('POST', '/volumes/create', { body: { Name: v, Labels: { [label]: '' } } })).status).toBe(201);
      const id = await create({ HostConfig: { Binds: [`${name}:/data`] } });
      const rm = await req('DELETE', `/volumes/${name}`);
      expect(rm.status).toBe(409);
      expect(rm.body.message).toBe(`remove ${name}: volume is in use - [${id}]`);
      expect((await req('DELETE', `/volumes/${name}`, { query: { force: true } })).status).toBe(409);
      const dangling = async (v: string) => ((await req('GET', '/volumes', { query: { filters: JSON.stringify({ dangling: [v] }) } })).body.Volumes as Json[]).map((x) => x.Name as string);
      expect(await dangling('true')).toContain(unused);
      expect(await dangling('true')).not.toContain(name);
      expect(await dangling('false')).toContain(name);
      const pruned = await req('POST', '/volumes/prune', { query: { filters: JSON.stringify({ label: [label] }) } });
      expect(pruned.body.VolumesDeleted).toEqual([unused]);
      expect(await volumeStatus(name)).toBe(200);
      expect((await req('DELETE', `/containers/${id}`)).status).toBe(204);
      expect((await req('DELETE', `/volumes/${name}`)).status).toBe(204);
    });

    it('removes a container\'s anonymous volumes with v=1 and keeps its named ones', async () => {
      const named = unique('keep');
      volumes.add(named);
      const id = await create({ Image: VOLUME_IMAGE, Volumes: { '/anon': {} }, HostConfig: { Binds: [`${named}:/n`] } });
      const anon = ((await inspect(id)).Mounts as Json[]).filter((m) => m.Destination !== '/n').map((m) => m.Name as string);
      expect(anon).toHaveLength(2);
      for (const a of anon) expect(await volumeStatus(a)).toBe(200);
      expect((await req('DELETE', `/containers/${id}`, { query: { v: 1 } })).status).toBe(204);
      for (const a of anon) expect(await volumeStatus(a)).toBe(404);
      expect(await volumeStatus(named)).toBe(200);
    });

    it('keeps the references of its containers across a daemon restart', async () => {
      const dut = await ctx.get().extra([]);
      const name = unique('restart');
      const r = await dut.client.raw('POST', '/containers/create', { body: { Image: await testImage({ ...ctx, get: () => dut }), Cmd: ['true'], HostConfig: { NetworkMode: 'none', Binds: [`${name}:/data`] } } });
      expect(r.status, r.body.toString()).toBe(201);
      const id = (JSON.parse(r.body.toString()) as Json).Id as string;
      await dut.restart();
      const rm = await dut.client.raw('DELETE', `/volumes/${name}`);
      expect(rm.status).toBe(409);
      expect((await dut.client.raw('DELETE', `/containers/${id}`)).status).toBe(204);
      expect((await dut.client.raw('DELETE', `/volumes/${name}`)).status).toBe(204);
    });
  });

  describe.runIf(hasDockerCli)('with the real docker CLI', () => {
    const run = async (args: string[]) => {
      const r = await cli(['run', '--rm', '--network', 'none', ...args]);
      return { ...r, out: r.stdout.trim() };
    };

    it('shares a named volume, made on demand, between two runs', async () => {
      const name = unique('vol1');
      volumes.add(name);
      const w = await run(['-v', `${name}:/data`, image, 'sh', '-c', 'echo hi > /data/f']);
      expect(w.code, w.stderr).toBe(0);
      expect((await run(['-v', `${name}:/data`, image, 'cat', '/data/f'])).out).toBe('hi');
      expect(readFileSync(join(ctx.get().config.graph, 'volumes', name, '_data', 'f'), 'utf8')).toBe('hi\n');
      expect((await cli(['volume', 'rm', name])).code).toBe(0);
    });

    it('binds a host directory both ways, and :ro refuses writes with busybox\'s message', async () => {
      writeFileSync(join(hostDir, 'from-host'), 'host data\n');
      expect((await run(['-v', `${hostDir}:/data`, image, 'cat', '/data/from-host'])).out).toBe('host data');
      expect((await run(['-v', `${hostDir}:/data`, image, 'sh', '-c', 'echo from container > /data/from-container'])).code).toBe(0);
      expect(readFileSync(join(hostDir, 'from-container'), 'utf8')).toBe('from container\n');
      const ro = await run(['-v', `${hostDir}:/data:ro`, image, 'sh', '-c', 'echo x > /data/x']);
      expect(ro.code).not.toBe(0);
      expect(ro.stderr).toContain("sh: can't create /data/x: Read-only file system");
      expect(existsSync(join(hostDir, 'x'))).toBe(false);
      const made = join(hostDir, 'made', 'by-start');
      expect((await run(['-v', `${made}:/m`, image, 'true'])).code).toBe(0);
      expect(existsSync(made)).toBe(true);
    });

    it('gives -v /path and the image\'s VOLUME anonymous volumes, which docker rm -v removes', async () => {
      const name = unique('anon');
      const c = await cli(['create', '--name', name, '--network', 'none', '-v', '/extra', VOLUME_IMAGE, 'sh', '-c', 'echo kept > /data/f; echo kept > /extra/f']);
      expect(c.code, c.stderr).toBe(0);
      containers.add(c.stdout.trim());
      expect((await cli(['start', '-a', name])).code).toBe(0);
      const mounts = JSON.parse((await cli(['inspect', '-f', '{{json .Mounts}}', name])).stdout) as Json[];
      expect(mounts.map((m) => m.Destination).sort()).toEqual(['/data', '/extra']);
      for (const m of mounts) {
        expect(m).toMatchObject({ Type: 'volume', Driver: 'local', Mode: '', RW: true });
        expect(m.Name).toMatch(HEX64);
        expect(readFileSync(join(m.Source as string, 'f'), 'utf8')).toBe('kept\n');
      }
      const shared = await run(['--volumes-from', name, image, 'cat', '/data/f', '/extra/f']);
      expect(shared.out).toBe('kept\nkept');
      const inUse = await cli(['volume', 'rm', mounts[0]!.Name]);
      expect(inUse.code).toBe(1);
      expect(inUse.stderr).toContain(`remove ${mounts[0]!.Name}: volume is in use - [${c.stdout.trim()}]`);
      expect((await cli(['rm', '-v', name])).code).toBe(0);
      for (const m of mounts) expect(await volumeStatus(m.Name as string)).toBe(404);
    });

    it('seeds a new volume from the image\'s content at its path, unless nocopy', async () => {
      const seeded = unique('seeded');
      const bare = unique('nocopy');
      volumes.add(seeded).add(bare);
      expect((await run(['-v', `${seeded}:/etc`, image, 'cat', '/etc/passwd'])).out).toMatch(/^root:x:0:0:/m);
      expect(readFileSync(join(ctx.get().config.graph, 'volumes', seeded, '_data', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:/m);
      const none = await run(['--mount', `type=volume,src=${bare},dst=/etc,volume-nocopy`, image, 'cat', '/etc/passwd']);
      expect(none.code).not.toBe(0);
      expect(existsSync(join(ctx.get().config.graph, 'volumes', bare, '_data', 'passwd'))).toBe(false);
    });

    it('mounts a tmpfs that starts empty each run; a read-only one refuses writes', async () => {
      const t = await run(['--mount', 'type=tmpfs,dst=/scratch,tmpfs-size=1048576', image, 'sh', '-c', 'echo tmp > /scratch/f && cat /scratch/f']);
      expect(t.code, t.stderr).toBe(0);
      expect(t.out).toBe('tmp');
      expect((await run(['--mount', 'type=tmpfs,dst=/scratch', image, 'ls', '/scratch'])).out).toBe('');
      const ro = await run(['--mount', 'type=tmpfs,dst=/scratch,readonly', image, 'sh', '-c', 'echo x > /scratch/x']);
      expect(ro.stderr).toContain("sh: can't create /scratch/x: Read-only file system");
    });

    it('lists dangling volumes and prunes only unused ones', async () => {
      const used = unique('used');
      const idle = unique('idle');
      const label = unique('label');
      volumes.add(used).add(idle);
      for (const v of [used, idle]) expect((await cli(['volume', 'create', '--label', label, v])).code).toBe(0);
      const c = await cli(['create', '--network', 'none', '-v', `${used}:/u`, image, 'true']);
      containers.add(c.stdout.trim());
      const dangling = (await cli(['volume', 'ls', '-q', '-f', 'dangling=true'])).stdout.split('\n');
      expect(dangling).toContain(idle);
      expect(dangling).not.toContain(used);
      const prune = await cli(['volume', 'prune', '-f', '--filter', `label=${label}`]);
      expect(prune.code, prune.stderr).toBe(0);
      expect(prune.stdout).toContain(idle);
      expect(prune.stdout).not.toContain(used);
      expect(await volumeStatus(used)).toBe(200);
    });
  });
}
