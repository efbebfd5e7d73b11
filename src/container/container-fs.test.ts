import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, makeTar, readTar, type TarMember } from '../image/archive/test-fixtures';
import { ContainerFs } from './container-fs';
import { makeContainerStack, type ContainerStack } from './fs-test-fixtures';

let s: ContainerStack;
let cfs: ContainerFs;
let tmpDir: string;

beforeEach(async () => {
  s = await makeContainerStack();
  tmpDir = join(s.dir, 'tmp');
  cfs = new ContainerFs({ store: s.store, storage: s.driver, events: s.deps.events, tmpDir });
  await s.withRoot(async (fs) => {
    await fs.mkdir('/data/sub', { recursive: true, mode: 0o755 });
    await fs.chmod('/data', 0o755);
    await fs.writeFileAtomic('/data/a.txt', 'hi\n', 0o644);
    await fs.symlink('/etc/motd', '/data/lnk');
    await fs.symlink('../data', '/etc/datalink');
  });
});
afterEach(() => s.close());

const put = (path: string, members: TarMember[], opts = { noOverwriteDirNonDir: false, copyUIDGID: false }) =>
  makeTar(members).then((t) => cfs.extract('c1', path, Readable.from([t]), opts));
const read = (path: string) => s.withRoot((fs) => fs.readFile(path).then((b) => b.toString()));
const exists = (path: string) => s.withRoot((fs) => fs.lstat(path).then(() => true, () => false));
const actions = () => s.events.map((e) => e.Action);

describe('stat (HEAD archive)', () => {
  it('describes a directory with Go file mode bits and its base name', async () => {
    const st = await cfs.stat('c1', '/data');
    expect(st).toMatchObject({ name: 'data', mode: 2 ** 31 + 0o755, linkTarget: '' });
    expect(st.mtime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(await cfs.stat('c1', '/data/.')).toMatchObject({ name: '.', mode: 2 ** 31 + 0o755 });
    expect(await cfs.stat('c1', '/data/a.txt')).toMatchObject({ name: 'a.txt', size: 3, mode: 0o644 });
  });

  it('does not follow a final symlink and reports its target resolved in the container', async () => {
    expect(await cfs.stat('c1', '/data/lnk')).toMatchObject({ name: 'lnk', mode: 2 ** 27 + 0o777, linkTarget: '/etc/motd' });
    // A relative link is reported as the absolute path it reaches.
    expect(await cfs.stat('c1', '/bin/sh')).toMatchObject({ name: 'sh', linkTarget: '/bin/busybox' });
    // Links in the directory part are followed; a trailing slash follows the last one.
    expect(await cfs.stat('c1', '/etc/datalink/a.txt')).toMatchObject({ name: 'a.txt', size: 3 });
    expect(await cfs.stat('c1', '/etc/datalink/')).toMatchObject({ name: 'datalink', mode: 2 ** 31 + 0o755, linkTarget: '' });
    expect(actions()).toEqual([]);
  });

  it('answers NotFound in dockerd words for a missing path, InvalidParameter for bad ones', async () => {
    await expect(cfs.stat('c1', '/nope')).rejects.toMatchObject({ code: 'NotFound', message: 'Could not find the file /nope in container c1' });
    await expect(cfs.stat('c1', '/data/a.txt/')).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(cfs.stat('c1', '')).rejects.toMatchObject({ code: 'InvalidParameter' });
    await expect(cfs.stat('zz', '/')).rejects.toMatchObject({ code: 'NotFound', message: 'No such container: zz' });
  });
});

describe('archive (GET archive)', () => {
  it('tars a directory under its base name, links kept as links, and publishes archive-path', async () => {
    const { stat, tar } = await cfs.archive('c1', '/data');
    expect(stat.name).toBe('data');
    const m = await readTar(await collect(tar));
    expect([...m.keys()]).toEqual(['data/', 'data/a.txt', 'data/lnk', 'data/sub/']);
    expect(m.get('data/a.txt')!.content.toString()).toBe('hi\n');
    expect(m.get('data/lnk')).toMatchObject({ type: 'symlink', linkname: '/etc/motd' });
    expect(actions()).toEqual(['archive-path']);
    expect(s.events[0]!.Actor.Attributes).toEqual({ team: 'a', image: 'base', name: 'c1' });
  });

  it('tars the content of dir/. as ./..., a single file by its name, and a followed link under the link name', async () => {
    const dot = await readTar(await collect((await cfs.archive('c1', '/data/.')).tar));
    expect([...dot.keys()]).toEqual(['./', './a.txt', './lnk', './sub/']);
    const file = await readTar(await collect((await cfs.archive('c1', '/etc/datalink/a.txt')).tar));
    expect([...file.keys()]).toEqual(['a.txt']);
    const followed = await readTar(await collect((await cfs.archive('c1', '/etc/datalink/')).tar));
    expect([...followed.keys()]).toEqual(['datalink/', 'datalink/a.txt', 'datalink/lnk', 'datalink/sub/']);
  });

  it('fails before publishing for a missing path', async () => {
    await expect(cfs.archive('c1', '/data/nope')).rejects.toMatchObject({ code: 'NotFound', message: 'Could not find the file /data/nope in container c1' });
    expect(actions()).toEqual([]);
  });
});

describe('extract (PUT archive)', () => {
  it('extracts files and directories into the directory, keeping the tar owners, and publishes extract-to-dir', async () => {
    await put('/data', [{ name: 'new/' }, { name: 'new/f', content: 'x\n' }, { name: '/abs', content: 'abs\n' }, { name: 'sub', type: 'directory' }]);
    expect(await read('/data/new/f')).toBe('x\n');
    expect(await read('/data/abs')).toBe('abs\n'); // absolute names are relative to the destination
    expect(actions()).toEqual(['extract-to-dir']);
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('gives every entry the container user\'s ids with copyUIDGID', async () => {
    s.rec.Config.User = 'alice:staff';
    await put('/data', [{ name: 'owned', content: 'o' }], { noOverwriteDirNonDir: false, copyUIDGID: true });
    const st = await s.withRoot((fs) => fs.lstat('/data/owned'));
    expect([st.uid, st.gid]).toEqual([1000, 50]);
    s.rec.Config.User = 'nobody';
    await expect(put('/data', [{ name: 'x', content: 'o' }], { noOverwriteDirNonDir: false, copyUIDGID: true })).rejects.toMatchObject({ code: 'InvalidParameter' });
  });

  it('follows links inside the container only: an absolute link leads to the container root', async () => {
    await put('/data', [{ name: 'l', type: 'symlink', linkname: '/' }, { name: 'l/etc/evil', content: 'inside\n' }]);
    expect(await read('/etc/evil')).toBe('inside\n');
    const root = await s.hostRoot();
    expect(existsSync(join(dirname(root), 'etc', 'evil'))).toBe(false);
    expect(existsSync('/etc/evil')).toBe(false);
  });

  it.each([
    ['a member climbing out', [{ name: 'ok', content: 'ok' }, { name: '../../escape', content: 'x' }], /is outside of "\/data"/],
    ['a relative symlink out of the destination', [{ name: 'ok', content: 'ok' }, { name: 'r', type: 'symlink', linkname: '../../../../' } as TarMember], /invalid symlink "\/data\/r"/],
    ['a hard link out of the destination', [{ name: 'ok', content: 'ok' }, { name: 'h', type: 'link', linkname: '../etc/motd' } as TarMember], /invalid hardlink/],
    ['a hard link to nothing', [{ name: 'ok', content: 'ok' }, { name: 'h', type: 'link', linkname: 'missing' } as TarMember], /hard link/],
  ])('refuses %s with InvalidParameter and leaves nothing', async (_what, members, message) => {
    await expect(put('/data', members as TarMember[])).rejects.toMatchObject({ code: 'InvalidParameter', message: expect.stringMatching(message) });
    expect(await exists('/data/ok')).toBe(false);
    expect(await exists('/escape')).toBe(false);
    expect(actions()).toEqual([]);
    expect(await readdir(tmpDir)).toEqual([]);
  });

  it('refuses a truncated tar and leaves nothing', async () => {
    const t = await makeTar([{ name: 'ok', content: 'ok' }, { name: 'big', content: Buffer.alloc(4096, 1) }]);
    await expect(cfs.extract('c1', '/data', Readable.from([t.subarray(0, 1500)]), { noOverwriteDirNonDir: false, copyUIDGID: false })).rejects.toMatchObject({ code: 'InvalidParameter' });
    expect(await exists('/data/ok')).toBe(false);
  });

  it('replaces a file by a directory and the reverse, unless noOverwriteDirNonDir', async () => {
    const strict = { noOverwriteDirNonDir: true, copyUIDGID: false };
    await expect(put('/data', [{ name: 'a.txt/' }], strict)).rejects.toMatchObject({ message: expect.stringContaining('cannot overwrite non-directory "/data/a.txt" with directory "/data"') });
    await expect(put('/data', [{ name: 'sub', content: 'f' }], strict)).rejects.toMatchObject({ message: expect.stringContaining('cannot overwrite directory "/data/sub" with non-directory "/data"') });
    expect(await read('/data/a.txt')).toBe('hi\n');
    await put('/data', [{ name: 'a.txt/' }, { name: 'sub', content: 'f' }]);
    expect(await s.withRoot((fs) => fs.lstat('/data/a.txt').then((st) => st.isDirectory()))).toBe(true);
    expect(await read('/data/sub')).toBe('f');
  });

  it('answers NotFound for a missing destination, InvalidParameter for a non-directory, Forbidden on a read-only rootfs', async () => {
    await expect(put('/nope', [{ name: 'f', content: 'x' }])).rejects.toMatchObject({ code: 'NotFound', message: 'Could not find the file /nope in container c1' });
    await expect(put('/data/a.txt', [{ name: 'f', content: 'x' }])).rejects.toMatchObject({ code: 'InvalidParameter', message: 'extraction point is not a directory' });
    await expect(put('/data/lnk', [{ name: 'f', content: 'x' }])).rejects.toMatchObject({ code: 'InvalidParameter' });
    s.rec.HostConfig.ReadonlyRootfs = true;
    await expect(put('/data', [{ name: 'f', content: 'x' }])).rejects.toMatchObject({ code: 'Forbidden', message: 'container rootfs is marked read-only' });
    expect(actions()).toEqual([]);
  });

  it('extracts through a link in the destination path, inside the container', async () => {
    await put('/etc/datalink', [{ name: 'via', content: 'v' }]);
    expect(await read('/data/via')).toBe('v');
  });
});

describe('export', () => {
  it('tars the whole filesystem without a root entry and publishes export', async () => {
    const m = await readTar(await collect(await cfs.export('c1')));
    expect([...m.keys()]).toEqual(expect.arrayContaining(['bin/', 'bin/busybox', 'bin/sh', 'data/', 'data/a.txt', 'etc/motd', 'tmp/']));
    expect([...m.keys()].some((k) => k === './' || k.startsWith('/'))).toBe(false);
    expect(m.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
    expect(actions()).toEqual(['export']);
  });
});
