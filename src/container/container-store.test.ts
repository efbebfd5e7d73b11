import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retiredRemovals } from '../util/retire';
import { newState, type ContainerRecord } from './container';
import { ContainerStore } from './container-store';

const record = (id: string): ContainerRecord =>
  ({ ID: id, Name: `/c-${id.slice(0, 6)}`, State: newState(), HostConfig: { Binds: null }, Config: {} }) as unknown as ContainerRecord;

describe('ContainerStore writes', () => {
  let root: string;
  let store: ContainerStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tsd-store-'));
    store = new ContainerStore(root, pino({ level: 'silent' }));
    await store.load();
  });
  afterEach(async () => {
    await retiredRemovals();
    await rm(root, { recursive: true, force: true });
  });

  const onDisk = (id: string) => JSON.parse(readFileSync(join(root, id, 'config.v2.json'), 'utf8')) as ContainerRecord;

  it('lands a record\'s writes in the order they were asked for, the last one last', async () => {
    const rec = record('a'.repeat(64));
    await store.save(rec);
    const writes: Promise<void>[] = [];
    for (const status of ['running', 'exited', 'running', 'exited'] as const) {
      rec.State = { ...rec.State, Status: status };
      writes.push(store.checkpoint({ ...rec, State: { ...rec.State } }));
    }
    await Promise.all(writes);
    expect(onDisk(rec.ID).State.Status).toBe('exited');
    // A fresh store reads it back.
    const again = new ContainerStore(root, pino({ level: 'silent' }));
    expect((await again.load()).map((r) => r.State.Status)).toEqual(['exited']);
  });

  it('a delete does not wait for a write on its way, and that write never brings the directory back', async () => {
    const rec = record('b'.repeat(64));
    await store.save(rec);
    rec.State = { ...rec.State, Status: 'running' };
    const inFlight = store.checkpoint(rec);
    const queued = store.checkpoint({ ...rec, State: { ...rec.State, Status: 'exited' } });
    await store.delete(rec.ID);
    await expect(inFlight).resolves.toBeUndefined();
    await expect(queued).resolves.toBeUndefined();
    await retiredRemovals();
    expect(existsSync(join(root, rec.ID))).toBe(false);
    expect(await readdir(root)).toEqual([]);
    expect(store.find(rec.ID)).toBeUndefined();
    const again = new ContainerStore(root, pino({ level: 'silent' }));
    expect(await again.load()).toEqual([]);
  });
});
