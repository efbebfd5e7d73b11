import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeHostFs } from '../kernel/node-host-fs';
import { FullCopyDriver } from './full-copy-driver';
import type { DeferredDurability } from './layer-driver';

/** A vfs-like driver whose layers wait for a flush the test controls. */
class FlushedByTest extends FullCopyDriver {
  readonly flushes: { id: string; done(): void; fail(e: Error): void }[] = [];
  protected override async storeLayer(id: string, parent: string | null): Promise<DeferredDurability> {
    await super.storeLayer(id, parent);
    return { durable: new Promise<void>((done, fail) => this.flushes.push({ id, done, fail })) };
  }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('LayerDriver: layers whose flush to disk is deferred', () => {
  let tmp: string;
  let d: FlushedByTest;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-layer-driver-'));
    d = await new FlushedByTest('test', nodeHostFs(), tmp).open();
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('makes a child while its parent is still flushing, and resolves each create once its own layer is on disk', async () => {
    let parentDone = false;
    let childDone = false;
    const parent = d.create('p', null).then(() => (parentDone = true));
    const child = d.create('c', 'p').then(() => (childDone = true));
    // Both layers are written before either flush has ended: the two flushes overlap.
    await until(() => d.flushes.length === 2);
    expect(d.flushes.map((f) => f.id)).toEqual(['p', 'c']);
    expect([parentDone, childDone]).toEqual([false, false]);
    d.flushes[1]!.done();
    await child;
    expect(parentDone).toBe(false);
    d.flushes[0]!.done();
    await parent;
    expect(await d.exists('p')).toBe(true);
    expect(await d.exists('c')).toBe(true);
  });

  it('removes a layer whose flush failed and reports the failure', async () => {
    const made = d.create('p', null);
    await until(() => d.flushes.length === 1);
    d.flushes[0]!.fail(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(made).rejects.toThrow(/EIO/);
    expect(await d.exists('p')).toBe(false);
    // The id is free again.
    const again = d.create('p', null);
    await until(() => d.flushes.length === 2);
    d.flushes[1]!.done();
    await again;
    expect(await d.exists('p')).toBe(true);
  });
});
