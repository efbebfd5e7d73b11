import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidParameterError, NotFoundError } from '../../src/errors';
import type { MountedFs, StorageDriver } from '../../src/kernel/storage';
import { T0, collect, dir, file, opaque, readText, snapshot, tarNames, tarOf, whiteout, type Member } from './fixtures';

/** How the suite makes drivers of one kind. */
export interface StorageDriverFactory {
  /** A driver on `home`; a second call on the same home is a daemon restart. */
  open(home: string): Promise<StorageDriver>;
  /** Why this driver cannot run here, or undefined. Printed when the suite skips. */
  unavailable?(): Promise<string | undefined>;
  /** Whether a mount handed out by `get` is still mounted (drivers that really mount). */
  isMounted?(m: MountedFs): Promise<boolean>;
  /** Called after each test with its temp dir, to check nothing was left behind (mounts). */
  afterEach?(tmp: string): Promise<void>;
  /** Device nodes can be made (root on Linux; always in the emulator). */
  devices: boolean;
}

/**
 * The StorageDriver contract (src/kernel/storage.ts), each sentence a case, run against one
 * driver: `defineStorageDriverSuite('vfs', factory)` from a three-line test file.
 */
export async function defineStorageDriverSuite(name: string, factory: StorageDriverFactory): Promise<void> {
  const reason = factory.unavailable ? await factory.unavailable() : undefined;
  if (reason) {
    console.warn(`[storage] ${name} driver skipped: ${reason}`);
    describe.skip(`storage driver ${name} (unavailable: ${reason})`, () => {
      it('needs the driver', () => undefined);
    });
    return;
  }
  describe(`storage driver ${name}`, () => {
    let tmp: string;
    let home: string;
    const drivers: StorageDriver[] = [];
    const open = async () => {
      const d = await factory.open(home);
      drivers.push(d);
      return d;
    };

    beforeEach(() => {
      tmp = mkdtempSync(join(tmpdir(), `tsd-storage-${name}-`));
      home = join(tmp, 'home');
    });
    afterEach(async () => {
      for (const d of drivers.splice(0)) await d.cleanup();
      await factory.afterEach?.(tmp);
      rmSync(tmp, { recursive: true, force: true });
    });

    /** Create `id` on `parent` and apply `members` as its diff. */
    const layer = async (d: StorageDriver, id: string, parent: string | null, members: Member[]) => {
      await d.create(id, parent);
      return d.applyDiff(id, parent, await tarOf(members));
    };
    const view = async (d: StorageDriver, id: string) => {
      const m = await d.get(id);
      try {
        return await snapshot(m, { xattrs: true });
      } finally {
        await d.put(id);
      }
    };

    /** base → mid (modify, whiteout) → top (opaque dir) → leaf (add). */
    const chain = async (d: StorageDriver) => {
      await layer(d, 'base', null, [
        dir('etc'),
        file('etc/a', 'a1'),
        file('etc/b', 'b1'),
        dir('data'),
        dir('data/x'),
        file('data/x/1', 'one'),
        file('data/x/2', 'two'),
        file('keep', 'keep'),
      ]);
      await layer(d, 'mid', 'base', [dir('etc'), file('etc/a', 'a2-longer'), whiteout('etc/b')]);
      await layer(d, 'top', 'mid', [dir('data'), dir('data/x'), opaque('data/x'), file('data/x/3', 'three')]);
      await layer(d, 'leaf', 'top', [file('new', 'new!')]);
    };

    describe('create, get, put, remove', () => {
      it('creates a layer that exists and shows its parent content', async () => {
        const d = await open();
        await layer(d, 'p', null, [file('hello', 'world')]);
        await d.create('c', 'p');
        expect(await d.exists('c')).toBe(true);
        expect(await d.exists('nope')).toBe(false);
        const m = await d.get('c');
        expect(await readText(m, '/hello')).toBe('world');
        await d.put('c');
      });

      it('refuses an existing id with Conflict and a missing parent with NotFound', async () => {
        const d = await open();
        await d.create('a', null);
        await expect(d.create('a', null)).rejects.toBeInstanceOf(ConflictError);
        await expect(d.create('b', 'missing')).rejects.toBeInstanceOf(NotFoundError);
        expect(await d.exists('b')).toBe(false);
        await expect(d.create('../evil', null)).rejects.toBeInstanceOf(InvalidParameterError);
      });

      it('fails get, put, remove, applyDiff and changes of a missing layer with NotFound', async () => {
        const d = await open();
        await expect(d.get('missing')).rejects.toBeInstanceOf(NotFoundError);
        await expect(d.put('missing')).rejects.toBeInstanceOf(NotFoundError);
        await expect(d.remove('missing')).rejects.toBeInstanceOf(NotFoundError);
        await expect(d.applyDiff('missing', null, await tarOf([]))).rejects.toBeInstanceOf(NotFoundError);
        await expect(d.changes('missing', null)).rejects.toBeInstanceOf(NotFoundError);
      });

      it('counts gets: the layer stays mounted until put as often as get', async () => {
        const d = await open();
        await layer(d, 'p', null, [file('f', 'x')]);
        await d.create('c', 'p');
        const m1 = await d.get('c');
        const m2 = await d.get('c');
        expect(m2.root).toBe(m1.root);
        await d.put('c');
        expect(await readText(m1, '/f')).toBe('x');
        if (factory.isMounted) expect(await factory.isMounted(m1)).toBe(true);
        await d.put('c');
        if (factory.isMounted) expect(await factory.isMounted(m1)).toBe(false);
        const m3 = await d.get('c');
        expect(await readText(m3, '/f')).toBe('x');
        await d.put('c');
      });

      it('refuses to remove a layer with children (Conflict) and removes it after them', async () => {
        const d = await open();
        await d.create('p', null);
        await d.create('c', 'p');
        await expect(d.remove('p')).rejects.toBeInstanceOf(ConflictError);
        await d.remove('c');
        await d.remove('p');
        expect(await d.exists('p')).toBe(false);
        await d.create('p', null);
      });

      it('unmounts a layer that is removed while mounted', async () => {
        const d = await open();
        await d.create('p', null);
        await d.create('c', 'p');
        const m = await d.get('c');
        await d.get('c');
        await d.remove('c');
        expect(await d.exists('c')).toBe(false);
        if (factory.isMounted) expect(await factory.isMounted(m)).toBe(false);
        await expect(d.get('c')).rejects.toBeInstanceOf(NotFoundError);
        // The id is free at once (a driver may finish the unmount in the background; the
        // suite's afterEach checks, after cleanup, that nothing stayed mounted).
        await d.create('c', 'p');
        expect(await view(d, 'c')).toEqual({});
      });

      it('creates a layer and its child at once', async () => {
        const d = await open();
        await layer(d, 'base', null, [file('f', 'base')]);
        await Promise.all([d.create('init', 'base'), d.create('rw', 'init')]);
        expect(await readText(await d.get('rw'), '/f')).toBe('base');
        await d.put('rw');
        await expect(d.remove('init')).rejects.toBeInstanceOf(ConflictError);
      });
    });

    describe('parent chains', () => {
      it('shows changes, whiteouts and opaque directories from every level', async () => {
        const d = await open();
        await chain(d);
        const leaf = await view(d, 'leaf');
        expect(Object.keys(leaf).sort()).toEqual(['/data', '/data/x', '/data/x/3', '/etc', '/etc/a', '/keep', '/new']);
        const m = await d.get('leaf');
        expect(await readText(m, '/etc/a')).toBe('a2-longer');
        expect(await readText(m, '/data/x/3')).toBe('three');
        await d.put('leaf');
        const mid = await view(d, 'mid');
        expect(Object.keys(mid).sort()).toEqual(['/data', '/data/x', '/data/x/1', '/data/x/2', '/etc', '/etc/a', '/keep']);
        expect(Object.keys(await view(d, 'base'))).toContain('/etc/b');
      });

      it('lists changes with Docker kinds (0 modified, 1 added, 2 deleted) and parent directories', async () => {
        const d = await open();
        await chain(d);
        expect(await d.changes('base', null)).toEqual([
          { Path: '/data', Kind: 1 },
          { Path: '/data/x', Kind: 1 },
          { Path: '/data/x/1', Kind: 1 },
          { Path: '/data/x/2', Kind: 1 },
          { Path: '/etc', Kind: 1 },
          { Path: '/etc/a', Kind: 1 },
          { Path: '/etc/b', Kind: 1 },
          { Path: '/keep', Kind: 1 },
        ]);
        expect(await d.changes('mid', 'base')).toEqual([
          { Path: '/etc', Kind: 0 },
          { Path: '/etc/a', Kind: 0 },
          { Path: '/etc/b', Kind: 2 },
        ]);
        expect(await d.changes('top', 'mid')).toEqual([
          { Path: '/data', Kind: 0 },
          { Path: '/data/x', Kind: 0 },
          { Path: '/data/x/1', Kind: 2 },
          { Path: '/data/x/2', Kind: 2 },
          { Path: '/data/x/3', Kind: 1 },
        ]);
        expect(await d.changes('leaf', 'top')).toEqual([{ Path: '/new', Kind: 1 }]);
        await expect(d.changes('leaf', 'base')).rejects.toBeInstanceOf(InvalidParameterError);
      });

      it('records writes through a container mount as changes, diff and diffSize', async () => {
        const d = await open();
        await chain(d);
        await d.create('ctr', 'leaf');
        const m = await d.get('ctr');
        await m.fs.writeFileAtomic(`${m.root}/etc/a`, 'changed in container', 0o644);
        await m.fs.rm(`${m.root}/keep`);
        await m.fs.mkdir(`${m.root}/run`);
        await m.fs.writeFileAtomic(`${m.root}/run/pid`, '42', 0o644);
        await m.fs.rm(`${m.root}/data/x`, { recursive: true });
        await d.put('ctr');
        expect(await d.changes('ctr', 'leaf')).toEqual([
          { Path: '/data', Kind: 0 },
          { Path: '/data/x', Kind: 2 },
          { Path: '/etc', Kind: 0 },
          { Path: '/etc/a', Kind: 0 },
          { Path: '/keep', Kind: 2 },
          { Path: '/run', Kind: 1 },
          { Path: '/run/pid', Kind: 1 },
        ]);
        expect(await d.diffSize('ctr', 'leaf')).toBe('changed in container'.length + 2);
        const names = await tarNames(await collect(await d.diff('ctr', 'leaf')));
        expect(names).toEqual(expect.arrayContaining(['data/.wh.x', 'etc/a', '.wh.keep', 'run/', 'run/pid']));
      });
    });

    describe('applyDiff', () => {
      const rich = (devices: boolean): Member[] => [
        dir('srv', { mode: 0o750, uid: 1000, gid: 1001, mtime: new Date('2021-05-06T07:08:09Z') }),
        file('srv/conf', 'conf-data', { mode: 0o640, uid: 12, gid: 34, mtime: T0, xattrs: { 'user.origin': 'layer-test' } }),
        file('srv/run.sh', '#!/bin/sh\n', { mode: 0o4755 }),
        { name: 'srv/hard', type: 'link', linkname: 'srv/conf' },
        { name: 'srv/rel', type: 'symlink', linkname: 'conf' },
        { name: 'srv/abs', type: 'symlink', linkname: '/srv/conf' },
        { name: 'srv/pipe', type: 'fifo', mode: 0o600 },
        ...(devices ? [{ name: 'srv/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 } as Member] : []),
        dir('empty', { mode: 0o700 }),
      ];

      it('keeps modes, owners, times, xattrs, links and special files, and returns the file bytes', async () => {
        const d = await open();
        const size = await layer(d, 'rich', null, rich(factory.devices));
        expect(size).toBe('conf-data'.length + '#!/bin/sh\n'.length);
        const s = await view(d, 'rich');
        expect(s['/srv']).toMatchObject({ type: 'dir', mode: 0o750, uid: 1000, gid: 1001 });
        expect(s['/srv/conf']).toMatchObject({ type: 'file', mode: 0o640, uid: 12, gid: 34, mtimeMs: T0.getTime(), xattrs: { 'user.origin': 'layer-test' } });
        expect(s['/srv/run.sh']).toMatchObject({ mode: 0o4755 });
        expect(s['/srv/hard']).toMatchObject({ type: 'file', sameAs: 'srv/conf' });
        expect(s['/srv/rel']).toMatchObject({ type: 'symlink', link: 'conf' });
        expect(s['/srv/abs']).toMatchObject({ type: 'symlink', link: '/srv/conf' });
        expect(s['/srv/pipe']).toMatchObject({ type: 'fifo', mode: 0o600 });
        if (factory.devices) expect(s['/srv/null']).toMatchObject({ type: 'char', mode: 0o666, rdev: 259 });
        expect(s['/empty']).toMatchObject({ type: 'dir', mode: 0o700 });
        const m = await d.get('rich');
        expect((await m.fs.lstat(`${m.root}/srv`)).mtime.toISOString()).toBe('2021-05-06T07:08:09.000Z');
        await d.put('rich');
        expect(await d.diffSize('rich', null)).toBe(size);
      });

      it('round-trips: diff applied to a fresh layer on the same parent gives identical content', async () => {
        const d = await open();
        await layer(d, 'meta', null, rich(factory.devices));
        await d.create('meta2', null);
        await d.applyDiff('meta2', null, await d.diff('meta', null));
        expect(await view(d, 'meta2')).toEqual(await view(d, 'meta'));

        await chain(d);
        let parent = 'base';
        for (const id of ['mid', 'top', 'leaf']) {
          const copy = `${id}-copy`;
          await d.create(copy, parent);
          await d.applyDiff(copy, parent, await d.diff(id, id === 'mid' ? 'base' : id === 'top' ? 'mid' : 'top'));
          expect(await view(d, copy)).toEqual(await view(d, id));
          parent = copy;
        }
      });

      it('applies deletions and opaque directories onto existing content', async () => {
        const d = await open();
        await layer(d, 'p', null, [dir('a'), file('a/1', '1'), dir('a/sub'), file('a/sub/2', '2'), file('b', 'b'), file('c', 'c')]);
        await layer(d, 'c', 'p', [whiteout('b'), dir('a'), opaque('a'), file('a/new', 'n'), file('c', 'replaced'), dir('c2'), whiteout('c2')]);
        const s = await view(d, 'c');
        expect(Object.keys(s).sort()).toEqual(['/a', '/a/new', '/c']);
        const m = await d.get('c');
        expect(await readText(m, '/c')).toBe('replaced');
        await d.put('c');
      });

      it('refuses applyDiff with a parent other than the layer\'s own', async () => {
        const d = await open();
        await d.create('p', null);
        await d.create('c', 'p');
        await expect(d.applyDiff('c', null, await tarOf([file('x', 'x')]))).rejects.toBeInstanceOf(InvalidParameterError);
      });
    });

    describe('tars that escape the layer', () => {
      const outsideName = 'outside-victim';
      const cases: Record<string, (outside: string) => Member[]> = {
        'a ../ member': () => [file('ok', 'ok'), file('../escaped', 'x')],
        'a member climbing out through a subdirectory': () => [file('ok', 'ok'), file('sub/../../escaped', 'x')],
        'an absolute member': (outside) => [file('ok', 'ok'), file(`${outside}/escaped`, 'x')],
        'a relative symlink pointing out': () => [file('ok', 'ok'), { name: 'up', type: 'symlink', linkname: '../../../../../..' }],
        'a write through an absolute symlink': (outside) => [file('ok', 'ok'), { name: 'lnk', type: 'symlink', linkname: outside }, file('lnk/escaped', 'x')],
        'a write through a symlink to /': () => [file('ok', 'ok'), { name: 'root', type: 'symlink', linkname: '/' }, file('root/escaped', 'x')],
        'a hard link to a path outside': () => [file('ok', 'ok'), { name: 'hl', type: 'link', linkname: '../../../../etc/passwd' }],
        'a hard link through a symlink': () => [file('ok', 'ok'), { name: 'etc', type: 'symlink', linkname: '/etc' }, { name: 'hl', type: 'link', linkname: 'etc/passwd' }],
        'a hard link to a missing file': () => [file('ok', 'ok'), { name: 'hl', type: 'link', linkname: 'nothing' }],
      };
      for (const [what, members] of Object.entries(cases)) {
        it(`refuses ${what} with InvalidParameter and applies nothing`, async () => {
          const outside = join(tmp, outsideName);
          const d = await open();
          await layer(d, 'p', null, [file('before', 'b')]);
          await d.create('c', 'p');
          const before = await view(d, 'c');
          await expect(d.applyDiff('c', 'p', await tarOf(members(outside)))).rejects.toBeInstanceOf(InvalidParameterError);
          expect(await view(d, 'c')).toEqual(before);
          expect(existsSync(join(tmp, 'escaped'))).toBe(false);
          expect(existsSync(join(outside, 'escaped'))).toBe(false);
          expect(existsSync('/escaped')).toBe(false);
        });
      }

      it('refuses a truncated tar with InvalidParameter and applies nothing', async () => {
        const d = await open();
        await d.create('c', null);
        const tar = await tarOf([file('a', 'x'.repeat(5000)), file('b', 'y')], { truncateAt: 2048 });
        await expect(d.applyDiff('c', null, tar)).rejects.toBeInstanceOf(InvalidParameterError);
        expect(await view(d, 'c')).toEqual({});
      });
    });

    describe('restart', () => {
      it('a new driver on the same home sees the same layers, content and parents', async () => {
        const d1 = await open();
        await chain(d1);
        await d1.create('ctr', 'leaf');
        const m = await d1.get('ctr');
        await m.fs.writeFileAtomic(`${m.root}/written`, 'by container', 0o600);
        await d1.put('ctr');
        const before = { leaf: await view(d1, 'leaf'), ctr: await view(d1, 'ctr'), changes: await d1.changes('top', 'mid') };
        await d1.cleanup();

        const d2 = await open();
        for (const id of ['base', 'mid', 'top', 'leaf', 'ctr']) expect(await d2.exists(id)).toBe(true);
        expect(await view(d2, 'leaf')).toEqual(before.leaf);
        expect(await view(d2, 'ctr')).toEqual(before.ctr);
        expect(await d2.changes('top', 'mid')).toEqual(before.changes);
        await expect(d2.remove('leaf')).rejects.toBeInstanceOf(ConflictError);
        await expect(d2.create('leaf', null)).rejects.toBeInstanceOf(ConflictError);
        await d2.remove('ctr');
        await d2.remove('leaf');
      });
    });

    it('cleanup unmounts everything and keeps the layers', async () => {
      const d = await open();
      await d.create('p', null);
      await d.create('c', 'p');
      const m = await d.get('c');
      await d.cleanup();
      if (factory.isMounted) expect(await factory.isMounted(m)).toBe(false);
      expect(await d.exists('c')).toBe(true);
      expect(await d.status()).toBeInstanceOf(Array);
    });
  });
}
