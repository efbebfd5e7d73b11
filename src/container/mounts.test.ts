import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors';
import { EventBus, type DockerEvent } from '../events/events';
import type { StorageDriver } from '../kernel';
import { nodeHostFs } from '../kernel/node-host-fs';
import { VolumeService } from '../volume/volume-service';
import type { ContainerRecord, HostConfig } from './container';
import { ContainerMounts, planMounts } from './mounts';

const hc = (over: Partial<HostConfig> = {}): HostConfig => ({
  Binds: null,
  NetworkMode: 'none',
  PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  AutoRemove: false,
  LogConfig: { Type: '', Config: {} },
  Privileged: false,
  ReadonlyRootfs: false,
  ...over,
});
const noContainers = (ref: string): ContainerRecord => {
  throw new NotFoundError(`No such container: ${ref}`);
};

describe('planMounts', () => {
  it('gives each kind Docker\'s MountPoint fields (measured on dockerd 20.10)', () => {
    const plan = planMounts(
      hc({
        Binds: ['/host:/h', '/host:/hro:ro', 'vol1:/data', 'vol3:/v3:ro', '/anon-bind'],
        Mounts: [
          { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1000 } },
          { Type: 'volume', Source: 'vol2', Target: '/v2', VolumeOptions: { NoCopy: true } },
          { Type: 'bind', Source: '/host/', Target: '/hb/', ReadOnly: true },
        ],
      }),
      { '/anon': {} },
      noContainers,
    );
    expect(plan.map((r) => r.point)).toEqual([
      { Type: 'bind', Source: '/host', Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' },
      { Type: 'bind', Source: '/host', Destination: '/hro', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      { Type: 'volume', Name: 'vol1', Source: '', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'volume', Name: 'vol3', Source: '', Destination: '/v3', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' },
      { Type: 'volume', Name: '', Source: '', Destination: '/anon-bind', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
      { Type: 'volume', Name: 'vol2', Source: '', Destination: '/v2', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'bind', Source: '/host', Destination: '/hb', Mode: '', RW: false, Propagation: 'rprivate' },
      { Type: 'volume', Name: '', Source: '', Destination: '/anon', Driver: 'local', Mode: '', RW: true, Propagation: '' },
    ]);
    expect(plan.map((r) => r.copy)).toEqual([false, false, true, true, true, false, false, false, true]);
  });

  it('refuses a destination given twice among Binds and Mounts', () => {
    expect(() => planMounts(hc({ Binds: ['a:/data', 'b:/data/'] }), null, noContainers)).toThrow(new InvalidParameterError('Duplicate mount point: /data'));
    expect(() => planMounts(hc({ Binds: ['a:/data'], Mounts: [{ Type: 'volume', Target: '/data' }] }), null, noContainers)).toThrow('Duplicate mount point: /data');
  });

  it('checks Mounts fields per type with dockerd\'s words', () => {
    const bad = (m: object) => () => planMounts(hc({ Mounts: [m as never] }), null, noContainers);
    expect(bad({ Type: 'tmpfs', Target: '/t', Source: 'x' })).toThrow('invalid mount config for type "tmpfs": field Source must not be specified');
    expect(bad({ Type: 'bind', Target: '/t', Source: 'rel' })).toThrow("invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute");
    expect(bad({ Type: 'bind', Target: '/t', Source: '/x', VolumeOptions: { NoCopy: true } })).toThrow('invalid mount config for type "bind": field VolumeOptions must not be specified');
    expect(bad({ Type: 'volume', Target: 'rel' })).toThrow("invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute");
  });

  it('lets Binds and Mounts override the image\'s Volumes and VolumesFrom, and never upgrades a read-only mount', () => {
    const other = {
      MountPoints: [
        { Type: 'volume', Name: 'v', Source: '/vols/v/_data', Destination: '/data', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' },
        { Type: 'bind', Source: '/h', Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' },
      ],
    } as ContainerRecord;
    const plan = planMounts(hc({ VolumesFrom: ['other:rw'], Binds: ['/x:/h'] }), { '/data': {} }, (ref) => (ref === 'other' ? other : noContainers(ref)));
    expect(plan.map((r) => r.point)).toEqual([
      { Type: 'volume', Name: 'v', Source: '/vols/v/_data', Destination: '/data', Driver: 'local', Mode: '', RW: false, Propagation: '' },
      { Type: 'bind', Source: '/x', Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' },
    ]);
    expect(() => planMounts(hc({ VolumesFrom: ['nope'] }), null, noContainers)).toThrow('No such container: nope');
  });
});

describe('ContainerMounts', () => {
  let dir: string;
  let volumes: VolumeService;
  let mounts: ContainerMounts;
  let seen: DockerEvent[];
  const containers = new Map<string, ContainerRecord>();
  const record = (id: string, hostConfig: HostConfig, points: ContainerRecord['MountPoints']) => {
    const rec = { ID: id, HostConfig: hostConfig, MountPoints: points } as ContainerRecord;
    containers.set(id, rec);
    return rec;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-mounts-'));
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    const events = new EventBus();
    seen = [];
    events.subscribe((e) => seen.push(e));
    const log = pino({ level: 'silent' });
    volumes = await VolumeService.open({ fs: nodeHostFs(), root: join(dir, 'volumes'), events, log });
    let gets = 0;
    const storage = { get: async () => (gets++, { fs: nodeHostFs(), root: rootfs }), put: async () => void gets-- } as unknown as StorageDriver;
    mounts = new ContainerMounts({ volumes, hostFs: nodeHostFs(), storage, events, log, container: (ref) => containers.get(ref) ?? noContainers(ref) });
  });
  afterEach(async () => {
    containers.clear();
    await volumes.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates named and anonymous volumes, references them and seeds them from the image', async () => {
    const config = hc({ Binds: ['seeded:/etc', 'plain:/data:nocopy'] });
    const points = await mounts.create('c1', 'c1', config, { '/anon': {} });
    expect(points.map((p) => [p.Type, p.Destination, p.Source])).toEqual([
      ['volume', '/etc', join(dir, 'volumes/seeded/_data')],
      ['volume', '/data', join(dir, 'volumes/plain/_data')],
      ['volume', '/anon', expect.stringMatching(/volumes\/[0-9a-f]{64}\/_data$/)],
    ]);
    expect(readFileSync(join(dir, 'volumes/seeded/_data/passwd'), 'utf8')).toContain('root:x:0:0');
    expect(volumes.users('seeded')).toEqual(['c1']);
    expect(volumes.users(points[2]!.Name!)).toEqual(['c1']);
    await expect(volumes.remove('seeded')).rejects.toThrow(new ConflictError('remove seeded: volume is in use - [c1]'));
  });

  it('refuses a Mounts bind whose source is missing and leaves no volume behind', async () => {
    const config = hc({ Mounts: [{ Type: 'bind', Source: join(dir, 'missing'), Target: '/x' }], Binds: ['left:/l'] });
    await expect(mounts.create('c1', 'c1', config, { '/anon': {} })).rejects.toThrow(`invalid mount config for type "bind": bind source path does not exist: ${join(dir, 'missing')}`);
    expect(volumes.count()).toBe(0);
  });

  it('answers the spec\'s mounts at start, making a legacy bind source, with mount events; removes anonymous volumes on rm -v', async () => {
    const src = join(dir, 'made/by/start');
    const config = hc({ Binds: [`${src}:/h:ro`, 'keep:/k'], Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 4096, Mode: 0o700 } }] });
    const rec = record('c1', config, await mounts.create('c1', 'c1', config, { '/anon': {} }));
    const anon = rec.MountPoints.find((m) => m.Destination === '/anon')!.Name!;
    const spec = await mounts.start(rec);
    expect(existsSync(src)).toBe(true);
    expect(spec).toEqual([
      { type: 'bind', source: src, destination: '/h', readonly: true, options: ['rprivate'] },
      { type: 'volume', source: join(dir, 'volumes/keep/_data'), destination: '/k', readonly: false },
      { type: 'tmpfs', source: 'tmpfs', destination: '/t', readonly: false, options: ['size=4096', 'mode=700'] },
      { type: 'volume', source: join(dir, 'volumes', anon, '_data'), destination: '/anon', readonly: false },
    ]);
    expect(seen.filter((e) => e.Action === 'mount').map((e) => e.Actor.Attributes)).toContainEqual({ driver: 'local', container: 'c1', destination: '/k', 'read/write': 'true', propagation: '' });
    await mounts.stopped(rec);
    expect(seen.filter((e) => e.Action === 'unmount')).toHaveLength(2);
    await mounts.remove(rec, true);
    expect(volumes.has('keep')).toBe(true);
    expect(volumes.has(anon)).toBe(false);
    expect(volumes.users('keep')).toEqual([]);
  });

  it('keeps an anonymous volume another container still uses on rm -v, and takes references again at restore', async () => {
    const first = record('c1', hc(), await mounts.create('c1', 'c1', hc(), { '/data': {} }));
    const name = first.MountPoints[0]!.Name!;
    const secondConfig = hc({ VolumesFrom: ['c1'] });
    const second = record('c2', secondConfig, await mounts.create('c2', 'c2', secondConfig, null));
    expect(volumes.users(name)).toEqual(['c1', 'c2']);
    await mounts.remove(first, true);
    expect(volumes.has(name)).toBe(true);
    volumes.unref(name, 'c2');
    mounts.restore(second);
    expect(volumes.users(name)).toEqual(['c2']);
    await mounts.remove(second, true);
    expect(volumes.has(name)).toBe(false);
  });
});
