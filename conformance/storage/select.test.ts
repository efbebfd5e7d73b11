import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStorageDriver } from '../../backends/linux/storage';
import { overlayUnavailableReason } from '../../backends/linux/storage/overlay';
import { InvalidParameterError, UnavailableError } from '../../src/errors';
import type { StorageDriver } from '../../src/kernel/storage';

describe('createStorageDriver (--storage-driver)', () => {
  let tmp: string;
  const opened: StorageDriver[] = [];
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsd-select-'));
  });
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });
  const open = async (name: string) => {
    const d = await createStorageDriver(name, join(tmp, name || 'default'));
    opened.push(d);
    return d;
  };

  it('picks overlay2 by default where overlay works, else vfs', async () => {
    const overlayWorks = (await overlayUnavailableReason(join(tmp, 'probe'))) === undefined;
    const d = await open('');
    expect(d.name).toBe(overlayWorks ? 'overlay2' : 'vfs');
    if (overlayWorks) {
      expect(await d.status()).toEqual([
        ['Backing Filesystem', expect.any(String)],
        ['Supports d_type', 'true'],
        ['Native Overlay Diff', 'true'],
        ['userxattr', 'false'],
      ]);
      expect((await open('overlay')).name).toBe('overlay2');
      expect((await open('overlay2')).name).toBe('overlay2');
    }
  });

  it('opens vfs by name, with no status rows', async () => {
    const d = await open('vfs');
    expect(d.name).toBe('vfs');
    expect(await d.status()).toEqual([]);
  });

  it('refuses known but unsupported drivers with Unavailable and unknown ones with InvalidParameter', async () => {
    for (const name of ['btrfs', 'devicemapper', 'zfs', 'aufs']) {
      await expect(createStorageDriver(name, join(tmp, name))).rejects.toBeInstanceOf(UnavailableError);
    }
    await expect(createStorageDriver('floppy', join(tmp, 'x'))).rejects.toBeInstanceOf(InvalidParameterError);
  });
});
