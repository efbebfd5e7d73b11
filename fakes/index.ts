import { join } from 'node:path';
import type { Kernel, KernelFactory } from '../src/kernel';
import { nodeHostFs } from '../src/kernel/node-host-fs';
import { nodeTransport } from '../src/registry/transport';
import { hubTransport } from './hub-transport';
import { fakeHostInfo } from './host-info';
import { createEmulatedRegistry } from './registry';
import { createMemfsDriver } from './storage/memfs-driver';

/**
 * The in-memory kernel: an emulated host. The daemon's own state (-g) stays on disk so a
 * restarted daemon finds it; layers live in memory (persisted under -g/memfs); Docker Hub is
 * the emulated registry with its built-in images, answered in-process.
 */
export const createFakeKernel: KernelFactory = async ({ config, logger }) => {
  const hub = await createEmulatedRegistry({ builtin: true });
  const storage = await createMemfsDriver(join(config.graph, 'memfs'), logger.child({ driver: 'memfs' }));
  const kernel: Kernel = {
    name: 'fake',
    hostInfo: fakeHostInfo(config),
    hostFs: nodeHostFs(),
    storage,
    registryTransport: hubTransport(hub, nodeTransport()),
    supports: { areas: new Set(['system', 'images']) },
    async close() {
      await storage.cleanup();
    },
  };
  return kernel;
};
