import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RETIRED_PREFIX } from '../../src/util/retire';
import { defineStorageDriverSuite } from './contract';

const mounts = () => readFileSync('/proc/self/mounts', 'utf8');
const { createOverlayDriver, overlayUnavailableReason } = await import('../../backends/linux/storage/overlay');
// Probed once for the contract suite (which prints it when it skips) and the cases below.
const probe = mkdtempSync(join(tmpdir(), 'tsd-overlay-probe-'));
const reason = await overlayUnavailableReason(probe).finally(() => rmSync(probe, { recursive: true, force: true }));

await defineStorageDriverSuite('overlay2', {
  open: (home) => createOverlayDriver(home),
  unavailable: async () => reason,
  isMounted: async (m) => mounts().includes(` ${m.root} overlay `),
  afterEach: async (tmp) => expect(mounts()).not.toContain(tmp),
  devices: true,
});

describe.skipIf(reason !== undefined)('overlay2 beyond the contract', () => {
  it('a removal that a crash interrupted is finished by the next driver: the mount left in the retired layer goes before its directory', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsd-overlay-crash-'));
    try {
      const home = join(tmp, 'home');
      const d1 = await createOverlayDriver(home);
      await d1.create('p', null);
      await d1.create('c', 'p');
      const m = await d1.get('c');
      writeFileSync(join(m.root, 'written'), 'x');
      // What deleteMountedLayer does first, then a crash before its background unmount.
      const aside = join(home, `${RETIRED_PREFIX}c-dead`);
      renameSync(join(home, 'c'), aside);
      expect(mounts()).toContain(` ${aside}/merged overlay `);
      const d2 = await createOverlayDriver(home);
      expect(mounts()).not.toContain(tmp);
      expect(existsSync(aside)).toBe(false);
      expect(await d2.exists('p')).toBe(true);
      await d2.cleanup();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a mount still in use is detached by put and by remove: nothing stays in the mount table, the layer goes', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsd-overlay-busy-'));
    const holders: ChildProcess[] = [];
    try {
      const d = await createOverlayDriver(join(tmp, 'home'));
      await d.create('p', null);
      for (const id of ['put', 'removed']) {
        await d.create(id, 'p');
        const m = await d.get(id);
        // A process whose working directory is in the mount keeps it busy.
        holders.push(spawn('sleep', ['30'], { cwd: m.root, stdio: 'ignore' }));
        await new Promise((r) => setTimeout(r, 50));
        if (id === 'put') await d.put(id);
        await d.remove(id);
        expect(await d.exists(id)).toBe(false);
      }
      await d.cleanup();
      expect(mounts()).not.toContain(tmp);
    } finally {
      for (const h of holders) h.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
