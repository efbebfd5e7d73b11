import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETIRED_PREFIX, retireDir, retiredRemovals, sweepRetired } from './retire';

describe('removing directories in the background', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-retire-'));
  });
  afterEach(async () => {
    await retiredRemovals();
    await rm(tmp, { recursive: true, force: true });
  });

  it('frees the name at once and deletes the tree afterwards', async () => {
    const dir = join(tmp, 'layer');
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'a', 'b', 'f'), 'x'.repeat(10_000));
    await retireDir(dir);
    expect(existsSync(dir)).toBe(false);
    // The same name can be used again right away.
    await mkdir(dir);
    await retiredRemovals();
    expect(await readdir(tmp)).toEqual(['layer']);
    await rm(dir, { recursive: true });
  });

  it('takes a missing directory as already removed', async () => {
    await expect(retireDir(join(tmp, 'never'))).resolves.toBeUndefined();
  });

  it('sweeps what a crash left aside, and nothing else', async () => {
    await mkdir(join(tmp, `${RETIRED_PREFIX}x-1234`, 'deep'), { recursive: true });
    await writeFile(join(tmp, `${RETIRED_PREFIX}y-5678`), '');
    await mkdir(join(tmp, 'keep'));
    await mkdir(join(tmp, `${RETIRED_PREFIX}mounted-9999`));
    await sweepRetired(tmp, (name) => name.includes('mounted'));
    expect((await readdir(tmp)).sort()).toEqual([`${RETIRED_PREFIX}mounted-9999`, 'keep']);
    await rm(join(tmp, `${RETIRED_PREFIX}mounted-9999`), { recursive: true });
  });

  it('runs a step before the deletion on the new path, then deletes the tree', async () => {
    const dir = join(tmp, 'mounted');
    await mkdir(join(dir, 'merged'), { recursive: true });
    const seen: string[] = [];
    await retireDir(dir, {
      before: async (aside) => {
        seen.push(aside);
        expect(existsSync(join(aside, 'merged'))).toBe(true);
      },
    });
    expect(existsSync(dir)).toBe(false);
    await retiredRemovals();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.startsWith(join(tmp, RETIRED_PREFIX))).toBe(true);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('leaves the directory for the sweep when that step fails (never deleting through a mount)', async () => {
    const dir = join(tmp, 'busy');
    await mkdir(join(dir, 'merged'), { recursive: true });
    await writeFile(join(dir, 'merged', 'file'), 'kept');
    await retireDir(dir, { before: async () => Promise.reject(new Error('EBUSY')) });
    await retiredRemovals();
    const left = await readdir(tmp);
    expect(left).toHaveLength(1);
    expect(left[0]!.startsWith(`${RETIRED_PREFIX}busy-`)).toBe(true);
    expect(existsSync(join(tmp, left[0]!, 'merged', 'file'))).toBe(true);
    await sweepRetired(tmp);
    expect(await readdir(tmp)).toEqual([]);
  });
});
