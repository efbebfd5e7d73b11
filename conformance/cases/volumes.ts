import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { dockerCli, hasDockerCli, type SuiteContext } from '../harness';
import { rawRequest } from './system';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * Volume API cases (dockerd 20.10's answers, measured): create with labels and driver
 * options, idempotent create, Docker's name and option rules, inspect, list and its filters,
 * remove, prune with label filters, and the real docker CLI's `volume` commands. Each case
 * uses its own names (and prunes by its own label), so cases of other areas may hold volumes.
 */
export function volumeCases(ctx: SuiteContext): void {
  const create = (body: unknown) => rawRequest(ctx.get().socket, 'POST', '/v1.41/volumes/create', JSON_HEADERS, JSON.stringify(body));
  const list = async (filters: Record<string, string[]>) => {
    const r = await rawRequest(ctx.get().socket, 'GET', `/v1.41/volumes?filters=${encodeURIComponent(JSON.stringify(filters))}`);
    return { status: r.status, body: JSON.parse(r.body) as Json };
  };
  const listNames = async (filters: Record<string, string[]>) => ((await list(filters)).body.Volumes as Json[]).map((v) => v.Name as string).sort();

  it('creates a named volume with labels and driver options: 201 and Docker\'s shape', async () => {
    const r = await create({ Name: 'conf-create', Labels: { a: 'b', c: '' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' } });
    expect(r.status).toBe(201);
    const v = JSON.parse(r.body) as Json;
    expect(Object.keys(v)).toEqual(['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    expect(v).toMatchObject({
      Driver: 'local',
      Labels: { a: 'b', c: '' },
      Mountpoint: join(ctx.get().config.graph, 'volumes', 'conf-create', '_data'),
      Name: 'conf-create',
      Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' },
      Scope: 'local',
    });
    expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    expect(statSync(v.Mountpoint).isDirectory()).toBe(true);
    expect(await ctx.get().client.json('GET', '/volumes/conf-create')).toEqual(v);
  });

  it('keeps null apart from {} and answers the existing volume on a second create', async () => {
    const plain = JSON.parse((await create({ Name: 'conf-plain' })).body) as Json;
    expect(plain).toMatchObject({ Labels: null, Options: null });
    const empty = JSON.parse((await create({ Name: 'conf-empty', Labels: {}, DriverOpts: {} })).body) as Json;
    expect(empty).toMatchObject({ Labels: {}, Options: {} });
    const again = await create({ Name: 'conf-plain', Labels: { x: 'y' } });
    expect(again.status).toBe(201);
    expect(JSON.parse(again.body)).toEqual(plain);
  });

  it('names a volume created without a name with 64 hex digits', async () => {
    const r = await create({});
    expect(r.status).toBe(201);
    const name = (JSON.parse(r.body) as Json).Name as string;
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    expect((await rawRequest(ctx.get().socket, 'DELETE', `/v1.41/volumes/${name}`)).status).toBe(204);
  });

  it('refuses bad names, options, drivers and bodies with dockerd\'s status and message', async () => {
    const cases: [unknown, number, string][] = [
      [{ Name: 'a' }, 400, 'create a: volume name is too short, names should be at least two alphanumeric characters'],
      [{ Name: 'b/ad' }, 400, 'create b/ad: "b/ad" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'],
      [{ Name: 'conf-bad', DriverOpts: { foo: 'bar' } }, 400, 'create conf-bad: invalid option: "foo"'],
      [{ Name: 'conf-bad', DriverOpts: { type: 'tmpfs' } }, 400, 'create conf-bad: missing required option: "device"'],
      [{ Name: 'conf-bad', Driver: 'nosuch' }, 404, 'create conf-bad: error looking up volume plugin nosuch: plugin "nosuch" not found'],
      [{ Name: 5 }, 400, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Name of type string'],
      [{ Labels: { a: 1 } }, 400, 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Labels of type string'],
    ];
    for (const [body, status, message] of cases) {
      const r = await create(body);
      expect(r.status, message).toBe(status);
      expect(JSON.parse(r.body)).toEqual({ message });
    }
    const empty = await rawRequest(ctx.get().socket, 'POST', '/v1.41/volumes/create');
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.body)).toEqual({ message: 'got EOF while reading request body' });
    expect(await listNames({ name: ['^conf-bad$'] })).toEqual([]);
  });

  it('answers 404 for a missing volume, and 204 for its forced removal', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await rawRequest(ctx.get().socket, method, '/v1.41/volumes/conf-nosuch');
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toEqual({ message: 'get conf-nosuch: no such volume' });
    }
    expect((await rawRequest(ctx.get().socket, 'DELETE', '/v1.41/volumes/conf-nosuch?force=1')).status).toBe(204);
  });

  it('removes a volume and its data: 204, then 404', async () => {
    const v = JSON.parse((await create({ Name: 'conf-remove' })).body) as Json;
    writeFileSync(join(v.Mountpoint, 'f'), 'x');
    const r = await rawRequest(ctx.get().socket, 'DELETE', '/v1.41/volumes/conf-remove');
    expect(r.status).toBe(204);
    expect(r.body).toBe('');
    expect(existsSync(join(ctx.get().config.graph, 'volumes', 'conf-remove'))).toBe(false);
    expect((await rawRequest(ctx.get().socket, 'GET', '/v1.41/volumes/conf-remove')).status).toBe(404);
  });

  it('lists {"Volumes": [...], "Warnings": null} with the dangling, driver, label and name filters', async () => {
    await create({ Name: 'conf-list1', Labels: { tier: 'db', conflist: '' } });
    await create({ Name: 'conf-list2', Labels: { tier: 'web', conflist: '' } });
    await create({ Name: 'conf-list3', Labels: { conflist: '' } });
    const all = await list({ label: ['conflist'] });
    expect(all.status).toBe(200);
    expect(all.body.Warnings).toBeNull();
    expect((all.body.Volumes as Json[]).map((v) => v.Name).sort()).toEqual(['conf-list1', 'conf-list2', 'conf-list3']);
    expect(await listNames({ label: ['conflist', 'tier'] })).toEqual(['conf-list1', 'conf-list2']);
    expect(await listNames({ label: ['conflist', 'tier=db'] })).toEqual(['conf-list1']);
    expect(await listNames({ name: ['^conf-list[12]$'] })).toEqual(['conf-list1', 'conf-list2']);
    expect(await listNames({ name: ['conf-list3'], driver: ['local'] })).toEqual(['conf-list3']);
    expect(await listNames({ name: ['conf-list3'], driver: ['loc'] })).toEqual([]);
    expect(await listNames({ label: ['conflist'], dangling: ['true'] })).toEqual(['conf-list1', 'conf-list2', 'conf-list3']);
    expect(await listNames({ label: ['conflist'], dangling: ['false'] })).toEqual([]);
    const bad = await list({ bogus: ['x'] });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ message: "Invalid filter 'bogus'" });
    const dangling = await list({ dangling: ['maybe'] });
    expect(dangling.status).toBe(400);
    expect(dangling.body).toEqual({ message: "Invalid filter 'dangling=[maybe]'" });
  });

  it('prunes unused volumes matching label filters, skipping those with mount options, and reports the space', async () => {
    const a = JSON.parse((await create({ Name: 'conf-prune1', Labels: { confprune: '' } })).body) as Json;
    await create({ Name: 'conf-prune2', Labels: { confprune: '', keep: 'yes' } });
    await create({ Name: 'conf-prune3', Labels: { confprune: '' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    writeFileSync(join(a.Mountpoint, 'data'), 'hello');
    const prune = (filters: Record<string, string[]>) => rawRequest(ctx.get().socket, 'POST', `/v1.41/volumes/prune?filters=${encodeURIComponent(JSON.stringify(filters))}`);
    const r = await prune({ label: ['confprune'], 'label!': ['keep=yes'] });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ VolumesDeleted: ['conf-prune1'], SpaceReclaimed: 5 });
    expect(await listNames({ label: ['confprune'] })).toEqual(['conf-prune2', 'conf-prune3']);
    for (const [filters, message] of [
      [{ dangling: ['true'] }, "Invalid filter 'dangling'"],
      [{ all: ['true'] }, "Invalid filter 'all'"],
    ] as const) {
      const bad = await prune(filters as unknown as Record<string, string[]>);
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body)).toEqual({ message });
    }
    const rest = JSON.parse((await prune({ label: ['confprune'] })).body) as Json;
    expect(rest).toEqual({ VolumesDeleted: ['conf-prune2'], SpaceReclaimed: 0 });
  });

  it.runIf(hasDockerCli)('works with the real docker CLI: volume create, ls, inspect, rm, prune', async () => {
    const { host } = ctx.get();
    const created = await dockerCli(host, ['volume', 'create', '--label', 'confcli=1', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'conf-cli1']);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('conf-cli1');
    expect((await dockerCli(host, ['volume', 'create', '--label', 'confcli=1', 'conf-cli2'])).code).toBe(0);
    const ls = await dockerCli(host, ['volume', 'ls', '--filter', 'label=confcli', '--format', '{{.Driver}} {{.Name}} {{.Labels}}']);
    expect(ls.code).toBe(0);
    expect(ls.stdout.trim().split('\n').sort()).toEqual(['local conf-cli1 confcli=1', 'local conf-cli2 confcli=1']);
    const quiet = await dockerCli(host, ['volume', 'ls', '-q', '--filter', 'name=conf-cli']);
    expect(quiet.stdout.trim().split('\n').sort()).toEqual(['conf-cli1', 'conf-cli2']);
    const inspect = await dockerCli(host, ['volume', 'inspect', 'conf-cli1']);
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toEqual([expect.objectContaining({ Name: 'conf-cli1', Driver: 'local', Labels: { confcli: '1' }, Options: { type: 'tmpfs', device: 'tmpfs' }, Scope: 'local' })]);
    const format = await dockerCli(host, ['volume', 'inspect', '--format', '{{.Mountpoint}}', 'conf-cli2']);
    expect(format.stdout.trim()).toBe(join(ctx.get().config.graph, 'volumes', 'conf-cli2', '_data'));
    const missing = await dockerCli(host, ['volume', 'inspect', 'conf-nosuch']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such volume');
    const rmMissing = await dockerCli(host, ['volume', 'rm', 'conf-nosuch']);
    expect(rmMissing.code).toBe(1);
    expect(rmMissing.stderr.trim()).toBe('Error response from daemon: get conf-nosuch: no such volume');
    const prune = await dockerCli(host, ['volume', 'prune', '--force', '--filter', 'label=confcli']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('Deleted Volumes:\nconf-cli2\n');
    expect(prune.stdout).toContain('Total reclaimed space: 0B');
    const rm = await dockerCli(host, ['volume', 'rm', 'conf-cli1']);
    expect(rm.code).toBe(0);
    expect(rm.stdout.trim()).toBe('conf-cli1');
    expect((await dockerCli(host, ['volume', 'ls', '-q', '--filter', 'label=confcli'])).stdout.trim()).toBe('');
  });
}
