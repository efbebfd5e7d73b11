import { join } from 'node:path';
import type { Kernel, KernelFactory } from '../src/kernel';
import { nodeHostFs } from '../src/kernel/node-host-fs';
import { nodeTransport } from '../src/registry/transport';
import { hubTransport } from './hub-transport';
import { fakeHostInfo } from './host-info';
import type { EmulatedRegistry } from './registry';
import { createMemfsDriver } from './storage/memfs-driver';
import { createFakeExecDriver } from './exec-driver';
import { SwitchableClock } from './clock-control';

/**
 * The in-memory kernel: an emulated host. The daemon's own state (-g) stays on disk so a
 * restarted daemon finds it; layers live in memory (persisted under -g/memfs); Docker Hub is
 * the emulated registry with its built-in images, answered in-process.
 */
export const createFakeKernel: KernelFactory = async ({ config, logger }) => {
  // Like Docker Hub: bearer tokens, anonymous pulls; no account, so pushes are denied.
  // Built on first use, so start-up does not pay for the built-in images.
  let hub: Promise<EmulatedRegistry> | undefined;
  const getHub = () => (hub ??= import('./registry').then((m) => m.createEmulatedRegistry({ builtin: true, auth: { anonymousPull: true } })));
  const storage = await createMemfsDriver(join(config.graph, 'memfs'), logger.child({ driver: 'memfs' }));
  // One clock for every container, switchable to virtual time through the emulator control API.
  const clock = new SwitchableClock();
  const kernel: Kernel = {
    name: 'fake',
    hostInfo: fakeHostInfo(config),
    hostFs: nodeHostFs(),
    storage,
    exec: createFakeExecDriver({ clock }),
    registryTransport: hubTransport(getHub, nodeTransport()),
    emulator: { clock },
    supports: { areas: new Set(['system', 'images']) },
    async close() {
      await storage.cleanup();
    },
  };
  return kernel;
};
