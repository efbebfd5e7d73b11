import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, SystemError } from '../errors';
import { nodeHostFs } from '../kernel/node-host-fs';
import { LocalDriver } from './local-driver';
import { commandMounter } from './mount-command';

const log = pino({ level: 'silent' });
/** Real mounts need Linux and root, as the daemon itself does to offer them. */
const canMount = process.platform === 'linux' && process.getuid?.() === 0;

const mountedAt = (path: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);

describe.runIf(canMount)('local driver mounts (Linux, root)', () => {
  let dir: string;
  let driver: LocalDriver;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-volmount-'));
    driver = new LocalDriver(nodeHostFs(), join(dir, 'volumes'), log, commandMounter());
    await driver.load();
  });
  afterEach(async () => {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mounts a tmpfs volume on first use, keeps it while referenced and unmounts after the last', async () => {
    await driver.create('tmp', { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    const path = await driver.mount('tmp', 'a');
    expect(mountedAt(path)).toBe(true);
    await fsp.writeFile(join(path, 'f'), 'in tmpfs');
    expect(await driver.mount('tmp', 'b')).toBe(path);
    await driver.unmount('tmp', 'a');
    expect(mountedAt(path)).toBe(true);
    await expect(driver.remove('tmp')).rejects.toBeInstanceOf(ConflictError);
    await driver.unmount('tmp', 'b');
    expect(mountedAt(path)).toBe(false);
    expect(await fsp.readdir(path)).toEqual([]);
    await driver.remove('tmp');
  });

  it('bind-mounts the device directory with type=none,o=bind', async () => {
    const src = join(dir, 'src');
    await fsp.mkdir(src);
    await fsp.writeFile(join(src, 'host-file'), 'from host');
    await driver.create('bound', { type: 'none', device: src, o: 'bind' });
    const path = await driver.mount('bound', 'a');
    expect(await fsp.readFile(join(path, 'host-file'), 'utf8')).toBe('from host');
    await driver.unmount('bound', 'a');
    expect(mountedAt(path)).toBe(false);
    expect(await fsp.readdir(src)).toEqual(['host-file']);
  });

  it('fails with mount\'s reason for a device that does not exist, and stays unmounted', async () => {
    await driver.create('broken', { type: 'none', device: join(dir, 'nonexistent'), o: 'bind' });
    const err = await driver.mount('broken', 'a').catch((e: Error) => e);
    expect(err).toBeInstanceOf(SystemError);
    expect((err as Error).message).toMatch(/^failed to mount local volume: /);
    expect(driver.activeMounts('broken')).toBe(0);
  });
});

describe('local driver layout', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-vollayout-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the root with mode 0701 and finds only directories that hold _data', async () => {
    const driver = new LocalDriver(nodeHostFs(), join(dir, 'volumes'), log);
    expect(await driver.load()).toEqual([]);
    expect((await fsp.stat(join(dir, 'volumes'))).mode & 0o7777).toBe(0o701);
    await driver.create('kept', {});
    await fsp.mkdir(join(dir, 'volumes', 'no-data'));
    await fsp.writeFile(join(dir, 'volumes', 'metadata.json'), '{}');
    expect(await driver.load()).toEqual(['kept']);
  });
});
