import { mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, dir, file, opaque, tarNames, tarOf, whiteout } from '../../conformance/storage/fixtures';
import { nodeHostFs } from '../kernel/node-host-fs';
import { applyLayer } from './apply-layer';
import { layerChanges } from './changes';
import { exportLayer } from './export-layer';
import type { Tree } from './tree';
import { fullTreeFormat, overlayFormat } from './whiteouts';

const isRoot = process.getuid?.() === 0;

describe('applyLayer and exportLayer on real directories', () => {
  let tmp: string;
  const tree = (name: string): Tree => ({ fs: nodeHostFs(), root: join(tmp, name) });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsd-archive-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('skips AUFS bookkeeping and replaces a directory by a file', async () => {
    const t = tree('full');
    await fsp.mkdir(join(t.root, 'x', 'deep'), { recursive: true });
    await applyLayer(t, await tarOf([file('.wh..wh.plnk', ''), file('x', 'now a file')]), fullTreeFormat);
    expect(await fsp.readdir(t.root)).toEqual(['x']);
    expect(await fsp.readFile(join(t.root, 'x'), 'utf8')).toBe('now a file');
  });

  it.runIf(isRoot)('stores overlay whiteouts as 0:0 char devices and opaque dirs as an xattr, and exports them back', async () => {
    const lower = tree('lower');
    await fsp.mkdir(lower.root);
    await applyLayer(lower, await tarOf([dir('d'), file('d/old', 'o'), file('gone', 'g')]), fullTreeFormat);
    const upper = tree('upper');
    await fsp.mkdir(upper.root);
    await applyLayer(upper, await tarOf([whiteout('gone'), dir('d'), opaque('d'), file('d/new', 'n')]), overlayFormat);
    const st = await fsp.lstat(join(upper.root, 'gone'));
    expect(st.isCharacterDevice() && st.rdev === 0).toBe(true);
    expect(await overlayFormat.isOpaque(upper, 'd')).toBe(true);

    const changes = await layerChanges(upper, lower, overlayFormat);
    expect(changes.map((c) => [c.rel, c.kind])).toEqual([
      ['d', 0],
      ['d/new', 1],
      ['d/old', 2],
      ['gone', 2],
    ]);
    const names = await tarNames(await collect(exportLayer(upper, changes)));
    expect(names).toEqual(['d/', 'd/.wh..wh..opq', 'd/new', '.wh.gone']);
  });
});
