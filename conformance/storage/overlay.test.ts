import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { defineStorageDriverSuite } from './contract';

const mounts = () => readFileSync('/proc/self/mounts', 'utf8');

await defineStorageDriverSuite('overlay2', {
  open: async (home) => (await import('../../backends/linux/storage/overlay')).createOverlayDriver(home),
  unavailable: async () => {
    const probe = mkdtempSync(join(tmpdir(), 'tsd-overlay-probe-'));
    try {
      return await (await import('../../backends/linux/storage/overlay')).overlayUnavailableReason(probe);
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  },
  isMounted: async (m) => mounts().includes(` ${m.root} overlay `),
  afterEach: async (tmp) => expect(mounts()).not.toContain(tmp),
  devices: true,
});
