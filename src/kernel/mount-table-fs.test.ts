import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountAll, mountTableFs } from './mount-table-fs';
import { nodeHostFs } from './node-host-fs';

const host = nodeHostFs();
let dir: string;
let rootDir: string;
let volDir: string;
let roDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsd-mtab-'));
  rootDir = join(dir, 'root');
  volDir = join(dir, 'vol');
  roDir = join(dir, 'ro');
  for (const d of [rootDir, volDir, roDir]) mkdirSync(d);
  mkdirSync(join(rootDir, 'etc'));
  writeFileSync(join(rootDir, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(roDir, 'kept'), 'kept\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: NodeJS.ErrnoException) => e.code);

describe('mountTableFs', () => {
  const table = () =>
    mountTableFs([
      { target: '/', fs: host, root: rootDir, readonly: false },
      { target: '/data', fs: host, root: volDir, readonly: false },
      { target: '/ro', fs: host, root: roDir, readonly: true },
    ]);

  it('sends each path to the mount with the longest target holding it', async () => {
    const fs = table();
    await fs.writeFileAtomic('/data/f', 'in volume\n', 0o644);
    await fs.writeFileAtomic('/datafile', 'in root\n', 0o644);
    expect(readFileSync(join(volDir, 'f'), 'utf8')).toBe('in volume\n');
    expect(readFileSync(join(rootDir, 'datafile'), 'utf8')).toBe('in root\n');
    expect((await fs.readFile('/etc/passwd')).toString()).toContain('root:x:0:0');
    expect(await fs.readdir('/data')).toEqual(['f']);
    expect((await fs.stat('/ro')).isDirectory()).toBe(true);
  });

  it('refuses every write under a read-only mount with EROFS and still reads it', async () => {
    const fs = table();
    expect((await fs.readFile('/ro/kept')).toString()).toBe('kept\n');
    expect(await code(fs.writeFileAtomic('/ro/x', 'x'))).toBe('EROFS');
    expect(await code(fs.mkdir('/ro/d'))).toBe('EROFS');
    expect(await code(fs.rm('/ro/kept'))).toBe('EROFS');
    expect(await code(fs.chmod('/ro/kept', 0o600))).toBe('EROFS');
    expect(await code(fs.symlink('kept', '/ro/l'))).toBe('EROFS');
    expect(await code(finished(fs.createWriteStream('/ro/s').end('x')))).toBe('EROFS');
    expect(existsSync(join(roDir, 'x'))).toBe(false);
  });

  it('answers EXDEV for a rename or link between mounts and EBUSY for removing a mount point', async () => {
    const fs = table();
    await fs.writeFileAtomic('/data/f', 'x');
    expect(await code(fs.rename('/data/f', '/f'))).toBe('EXDEV');
    expect(await code(fs.link('/data/f', '/f'))).toBe('EXDEV');
    expect(await code(fs.rm('/data', { recursive: true }))).toBe('EBUSY');
    expect(await code(fs.rm('/', { recursive: true }))).toBe('EBUSY');
    await fs.rename('/data/f', '/data/g');
    expect(readFileSync(join(volDir, 'g'), 'utf8')).toBe('x');
  });

  it('needs a filesystem at /', () => {
    expect(() => mountTableFs([{ target: '/data', fs: host, root: volDir, readonly: false }])).toThrow(/no filesystem mounted at \//);
  });
});

describe('mountAll', () => {
  it('makes missing mount points in the root: directories, and an empty file for a file bind', async () => {
    const file = join(dir, 'host-file');
    writeFileSync(file, 'from host\n');
    const fs = await mountAll({ fs: host, root: rootDir, readonly: false }, [
      { target: '/mnt/vol', fs: host, root: volDir, readonly: false },
      { target: '/etc/extra.conf', fs: host, root: file, readonly: true },
    ]);
    expect(statSync(join(rootDir, 'mnt/vol')).isDirectory()).toBe(true);
    expect(statSync(join(rootDir, 'etc/extra.conf')).size).toBe(0);
    expect((await fs.readFile('/etc/extra.conf')).toString()).toBe('from host\n');
    expect(await code(fs.writeFileAtomic('/etc/extra.conf', 'x'))).toBe('EROFS');
  });

  it('resolves a target through the root\'s links, and links inside a mount over the whole view', async () => {
    mkdirSync(join(rootDir, 'run'));
    symlinkSync('/run', join(rootDir, 'varrun'));
    symlinkSync('/etc/passwd', join(volDir, 'pw'));
    const fs = await mountAll({ fs: host, root: rootDir, readonly: false }, [{ target: '/varrun/v', fs: host, root: volDir, readonly: false }]);
    expect(existsSync(join(rootDir, 'run/v'))).toBe(true);
    expect((await fs.readFile('/run/v/pw')).toString()).toContain('root:x:0:0');
    expect((await fs.readFile('/varrun/v/pw')).toString()).toContain('root:x:0:0');
  });

  it('stacks a mount inside an earlier one, its mount point made in the earlier mount', async () => {
    const inner = join(dir, 'inner');
    mkdirSync(inner);
    const fs = await mountAll({ fs: host, root: rootDir, readonly: false }, [
      { target: '/data', fs: host, root: volDir, readonly: false },
      { target: '/data/inner', fs: host, root: inner, readonly: false },
    ]);
    await fs.writeFileAtomic('/data/inner/f', 'x');
    expect(readFileSync(join(inner, 'f'), 'utf8')).toBe('x');
    expect(await fs.readdir('/data/inner')).toEqual(['f']);
    expect(await host.readdir(join(volDir, 'inner'))).toEqual([]);
  });
});
