import { mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidParameterError, NotFoundError, NotImplementedError } from '../errors';
import { EventBus, type DockerEvent } from '../events/events';
import { nodeHostFs } from '../kernel/node-host-fs';
import { VolumeService, rfc3339Local } from './volume-service';

const log = pino({ level: 'silent' });
const isRoot = process.getuid?.() === 0;

let dir: string;
let root: string;
let events: EventBus;
let seen: DockerEvent[];
let svc: VolumeService;

const open = () => VolumeService.open({ fs: nodeHostFs(), root, events, log });
const errorOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
};
const names = async (filters = {}) => (await svc.list(filters)).Volumes.map((v) => v.Name);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsd-volumes-'));
  root = join(dir, 'graph', 'volumes');
  events = new EventBus();
  seen = [];
  events.subscribe((e) => seen.push(e));
  svc = await open();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('create and inspect', () => {
  it('creates a named volume with Docker\'s shape, layout and modes', async () => {
    const v = await svc.create({ Name: 'data1', Labels: { a: 'b', c: '' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' } });
    expect(Object.keys(v)).toEqual(['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    expect(v).toMatchObject({
      Driver: 'local',
      Labels: { a: 'b', c: '' },
      Mountpoint: join(root, 'data1', '_data'),
      Name: 'data1',
      Options: { type: 'tmpfs', device: 'tmpfs', o: 'size=10m' },
      Scope: 'local',
    });
    expect(v.CreatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    expect(await svc.inspect('data1')).toEqual(v);
    expect((await fsp.stat(join(root, 'data1'))).mode & 0o7777).toBe(0o701);
    expect((await fsp.stat(join(root, 'data1', '_data'))).mode & 0o7777).toBe(0o755);
    expect(JSON.parse(await fsp.readFile(join(root, 'data1', 'opts.json'), 'utf8'))).toEqual({ MountType: 'tmpfs', MountOpts: 'size=10m', MountDevice: 'tmpfs', Quota: { Size: 0 } });
    expect(seen.map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes])).toEqual([['volume', 'create', 'data1', { driver: 'local' }]]);
  });

  it('keeps null apart from empty maps, and writes no opts.json without mount options', async () => {
    expect(await svc.create({ Name: 'plain' })).toMatchObject({ Labels: null, Options: null });
    expect(await svc.create({ Name: 'empty', Labels: {}, DriverOpts: {} })).toMatchObject({ Labels: {}, Options: {} });
    expect(await fsp.readdir(join(root, 'plain'))).toEqual(['_data']);
  });

  it('answers the existing volume unchanged on a second create, and logs create again', async () => {
    const first = await svc.create({ Name: 'same', Labels: { a: '1' } });
    const again = await svc.create({ Name: 'same', Labels: { other: 'x' }, DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    expect(again).toEqual(first);
    expect(seen.filter((e) => e.Action === 'create')).toHaveLength(2);
  });

  it('names anonymous volumes with 64 hex digits', async () => {
    const v = await svc.create({});
    expect(v.Name).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses bad names, bad options and unknown drivers with dockerd\'s words and leaves nothing behind', async () => {
    const cases: [Parameters<VolumeService['create']>[0], typeof InvalidParameterError | typeof NotFoundError, string][] = [
      [{ Name: 'a' }, InvalidParameterError, 'create a: volume name is too short, names should be at least two alphanumeric characters'],
      [{ Name: '-bad' }, InvalidParameterError, 'create -bad: "-bad" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'],
      [{ Name: 'b/ad' }, InvalidParameterError, 'create b/ad: "b/ad" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'],
      [{ Name: 'vv', DriverOpts: { foo: 'bar' } }, InvalidParameterError, 'create vv: invalid option: "foo"'],
      [{ Name: 'vv', DriverOpts: { type: 'tmpfs' } }, InvalidParameterError, 'create vv: missing required option: "device"'],
      [{ Name: 'vv', DriverOpts: { o: 'bind' } }, InvalidParameterError, 'create vv: missing required option: "device"'],
      [{ Name: 'vv', DriverOpts: { device: '/tmp' } }, InvalidParameterError, 'create vv: missing required option: "type"'],
      [{ Name: 'vv', DriverOpts: { size: '10m' } }, InvalidParameterError, 'create vv: quota size requested but no quota support'],
      [{ Name: 'vv', Driver: 'nosuch' }, NotFoundError, 'create vv: error looking up volume plugin nosuch: plugin "nosuch" not found'],
    ];
    for (const [req, cls, message] of cases) {
      const err = await errorOf(svc.create(req));
      expect(err, message).toBeInstanceOf(cls);
      expect(err.message).toBe(message);
    }
    expect(await names()).toEqual([]);
    expect((await fsp.readdir(root)).filter((n) => n !== 'metadata.json')).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('answers NotFound with dockerd\'s words for a missing volume', async () => {
    const err = await errorOf(svc.inspect('nosuch'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('get nosuch: no such volume');
  });
});

describe('list filters', () => {
  beforeEach(async () => {
    await svc.create({ Name: 'v1' });
    await svc.create({ Name: 'v2', Labels: { a: 'b', c: '' } });
    await svc.create({ Name: 'v3', Labels: { a: 'x' } });
    await svc.create({ Name: 'other1' });
    svc.ref('v1', 'c1');
  });

  it('answers every volume, sorted, with Warnings null', async () => {
    expect(await svc.list()).toMatchObject({ Warnings: null });
    expect(await names()).toEqual(['other1', 'v1', 'v2', 'v3']);
  });

  it('filters by dangling, driver, label and name as dockerd does', async () => {
    expect(await names({ dangling: ['true'] })).toEqual(['other1', 'v2', 'v3']);
    expect(await names({ dangling: ['1'] })).toEqual(['other1', 'v2', 'v3']);
    expect(await names({ dangling: ['false'] })).toEqual(['v1']);
    expect(await names({ dangling: ['0'] })).toEqual(['v1']);
    expect(await names({ dangling: ['false', 'true'] })).toEqual(['other1', 'v2', 'v3']);
    expect(await names({ driver: ['local'] })).toHaveLength(4);
    expect(await names({ driver: ['loc'] })).toEqual([]);
    expect(await names({ label: ['a'] })).toEqual(['v2', 'v3']);
    expect(await names({ label: ['a=b'] })).toEqual(['v2']);
    expect(await names({ label: ['c='] })).toEqual(['v2']);
    expect(await names({ label: ['a', 'c'] })).toEqual(['v2']);
    expect(await names({ name: ['v'] })).toEqual(['v1', 'v2', 'v3']);
    expect(await names({ name: ['^v1$', 'other1'] })).toEqual(['other1', 'v1']);
    expect(await names({ name: ['1'], label: ['a'] })).toEqual([]);
  });

  it('refuses unknown filters and bad dangling values', async () => {
    for (const [filters, message] of [
      [{ bogus: ['x'] }, "Invalid filter 'bogus'"],
      [{ 'label!': ['a'] }, "Invalid filter 'label!'"],
      [{ dangling: ['maybe'] }, "Invalid filter 'dangling=[maybe]'"],
    ] as const) {
      const err = await errorOf(svc.list(filters as unknown as Record<string, string[]>));
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect(err.message).toBe(message);
    }
  });
});

describe('references and remove', () => {
  it('refuses to remove a volume in use, even with force, naming the containers', async () => {
    await svc.create({ Name: 'used' });
    svc.ref('used', 'a'.repeat(64));
    svc.ref('used', 'b'.repeat(64));
    svc.ref('used', 'a'.repeat(64));
    expect(svc.users('used')).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
    for (const force of [false, true]) {
      const err = await errorOf(svc.remove('used', { force }));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toBe(`remove used: volume is in use - [${'a'.repeat(64)}, ${'b'.repeat(64)}]`);
    }
    svc.unref('used', 'a'.repeat(64));
    svc.unref('used', 'b'.repeat(64));
    svc.unref('used', 'never');
    expect(svc.users('used')).toEqual([]);
    await svc.remove('used');
    expect(await fsp.readdir(root)).not.toContain('used');
    expect(seen.at(-1)).toMatchObject({ Type: 'volume', Action: 'destroy', Actor: { ID: 'used', Attributes: { driver: 'local' } } });
  });

  it('answers NotFound for a missing volume unless forced', async () => {
    const err = await errorOf(svc.remove('nosuch'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('get nosuch: no such volume');
    await svc.remove('nosuch', { force: true });
    expect(seen).toEqual([]);
  });

  it('refuses a reference to a missing volume', async () => {
    expect(() => svc.ref('nosuch', 'c1')).toThrow(NotFoundError);
  });
});

describe('prune', () => {
  it('removes unused local volumes without mount options, reports the bytes and logs one prune event', async () => {
    await svc.create({ Name: 'keep', Labels: { keep: '' } });
    await svc.create({ Name: 'used' });
    await svc.create({ Name: 'mounted', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    await svc.create({ Name: 'gone1' });
    const anon = await svc.create({});
    svc.ref('used', 'c1');
    await fsp.writeFile(join(root, 'gone1', '_data', 'f'), 'hello\n');
    await fsp.writeFile(join(anon.Mountpoint, 'big'), Buffer.alloc(5000));
    await fsp.link(join(anon.Mountpoint, 'big'), join(anon.Mountpoint, 'big-link'));
    await fsp.symlink('/etc/passwd', join(anon.Mountpoint, 'sym'));
    seen.length = 0;
    const report = await svc.prune({ 'label!': ['keep'] });
    expect(report).toEqual({ VolumesDeleted: [anon.Name, 'gone1'].sort(), SpaceReclaimed: 5000 + 6 + '/etc/passwd'.length });
    expect(await names()).toEqual(['keep', 'mounted', 'used']);
    expect(seen.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes])).toEqual([['prune', '', { reclaimed: String(report.SpaceReclaimed) }]]);
    expect(await svc.prune({ label: ['keep'] })).toEqual({ VolumesDeleted: ['keep'], SpaceReclaimed: 0 });
  });

  it('limits itself to anonymous volumes when not told all (API 1.42 semantics)', async () => {
    await svc.create({ Name: 'named' });
    const anon = await svc.create({});
    const forContainer = await svc.create({ Name: 'c'.repeat(64) }, { anonymous: true });
    expect((await svc.prune({}, { all: false })).VolumesDeleted).toEqual([anon.Name, forContainer.Name].sort());
    expect(await names()).toEqual(['named']);
  });

  it('refuses unknown filters and a second prune at once', async () => {
    const err = await errorOf(svc.prune({ dangling: ['true'] }));
    expect(err).toBeInstanceOf(InvalidParameterError);
    expect(err.message).toBe("Invalid filter 'dangling'");
    const first = svc.prune();
    const second = await errorOf(svc.prune());
    expect(second).toBeInstanceOf(ConflictError);
    expect(second.message).toBe('a prune operation is already running');
    await first;
  });
});

describe('persistence', () => {
  it('finds volumes, labels, options and creation times again after a restart', async () => {
    const a = await svc.create({ Name: 'persist', Labels: { k: 'v' }, DriverOpts: { type: 'none', device: '/srv', o: 'bind' } });
    const b = await svc.create({ Name: 'two' });
    const again = await open();
    expect(await again.inspect('persist')).toEqual(a);
    expect(await again.inspect('two')).toEqual(b);
  });

  it('drops metadata of a volume whose directory is gone and lists a directory without metadata', async () => {
    await svc.create({ Name: 'lost', Labels: { k: 'v' } });
    await fsp.rm(join(root, 'lost'), { recursive: true });
    await fsp.mkdir(join(root, 'found', '_data'), { recursive: true });
    const again = await open();
    expect((await again.list()).Volumes.map((v) => [v.Name, v.Labels])).toEqual([['found', null]]);
    expect(JSON.parse(await fsp.readFile(join(root, 'metadata.json'), 'utf8'))).toEqual({ Volumes: {} });
  });
});

describe('mounts and usage', () => {
  it('mounts a plain volume as its data directory', async () => {
    const v = await svc.create({ Name: 'plain' });
    expect(await svc.mount('plain', 'm1')).toBe(v.Mountpoint);
    await svc.unmount('plain', 'm1');
  });

  it('refuses to use a volume with mount options where the daemon cannot mount', async () => {
    await svc.create({ Name: 'tmp', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    const err = await errorOf(svc.mount('tmp', 'm1'));
    expect(err).toBeInstanceOf(NotImplementedError);
    expect(err.message).toMatch(/^mount tmp: .*need the Linux backend running as root$/);
  });

  it('reports UsageData for local volumes without mount options', async () => {
    await svc.create({ Name: 'sized' });
    await svc.create({ Name: 'tmp', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    await fsp.writeFile(join(root, 'sized', '_data', 'f'), 'abc');
    svc.ref('sized', 'c1');
    const usage = await svc.usage();
    expect(usage.map((v) => [v.Name, v.UsageData])).toEqual([['sized', { Size: 3, RefCount: 1 }]]);
    expect(await svc.inspect('sized')).not.toHaveProperty('UsageData');
  });
});

describe('copyImageContent', () => {
  let image: string;
  beforeEach(async () => {
    image = join(dir, 'rootfs');
    await fsp.mkdir(join(image, 'data', 'sub'), { recursive: true });
    await fsp.writeFile(join(image, 'data', 'hello'), 'seeded\n', { mode: 0o640 });
    await fsp.chmod(join(image, 'data', 'hello'), 0o640);
    await fsp.symlink('/etc/passwd', join(image, 'data', 'link'));
    await fsp.writeFile(join(image, 'data', 'sub', 'deep'), 'x');
    await fsp.link(join(image, 'data', 'hello'), join(image, 'data', 'sub', 'hard'));
    await fsp.chmod(join(image, 'data'), 0o710);
    if (isRoot) {
      await fsp.lchown(join(image, 'data', 'hello'), 12, 34);
      await fsp.lchown(join(image, 'data'), 5, 6);
    }
  });

  it('seeds an empty volume with the image\'s files, modes, owners and links', async () => {
    const v = await svc.create({ Name: 'seed' });
    expect(await svc.copyImageContent('seed', { fs: nodeHostFs(), root: image }, '/data')).toBe(true);
    const data = v.Mountpoint;
    expect((await fsp.readdir(data)).sort()).toEqual(['hello', 'link', 'sub']);
    expect(await fsp.readFile(join(data, 'hello'), 'utf8')).toBe('seeded\n');
    expect(await fsp.readlink(join(data, 'link'))).toBe('/etc/passwd');
    const hello = await fsp.stat(join(data, 'hello'));
    expect(hello.mode & 0o7777).toBe(0o640);
    expect((await fsp.stat(join(data, 'sub', 'hard'))).ino).toBe(hello.ino);
    expect((await fsp.stat(data)).mode & 0o7777).toBe(0o710);
    if (isRoot) {
      expect([hello.uid, hello.gid]).toEqual([12, 34]);
      const st = await fsp.stat(data);
      expect([st.uid, st.gid]).toEqual([5, 6]);
    }
  });

  it('copies nothing into a volume that has data, or from a path the image lacks', async () => {
    const v = await svc.create({ Name: 'full' });
    await fsp.writeFile(join(v.Mountpoint, 'mine'), 'keep');
    expect(await svc.copyImageContent('full', { fs: nodeHostFs(), root: image }, '/data')).toBe(false);
    expect(await fsp.readdir(v.Mountpoint)).toEqual(['mine']);
    await svc.create({ Name: 'none' });
    expect(await svc.copyImageContent('none', { fs: nodeHostFs(), root: image }, '/nowhere')).toBe(false);
    expect(await svc.copyImageContent('none', { fs: nodeHostFs(), root: image }, '/data/hello')).toBe(false);
  });
});

describe('rfc3339Local', () => {
  it('formats seconds with Z in UTC and the offset elsewhere, as Go does', () => {
    const before = process.env.TZ;
    try {
      const d = new Date('2024-03-01T12:34:56.789Z');
      process.env.TZ = 'UTC';
      expect(rfc3339Local(d)).toBe('2024-03-01T12:34:56Z');
      process.env.TZ = 'Asia/Kolkata';
      expect(rfc3339Local(d)).toBe('2024-03-01T18:04:56+05:30');
      process.env.TZ = 'America/New_York';
      expect(rfc3339Local(d)).toBe('2024-03-01T07:34:56-05:00');
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });
});
