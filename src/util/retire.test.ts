import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETIRED_PREFIX, retireDir, retiredRemovals, sweepRetired } from './retire';

describe('removing directories in the background', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-retire-'));
  });
  afterAll(async () => {
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
    await sweepRetired(tmp);
    expect(await readdir(tmp)).toEqual(['keep']);
  });
});
