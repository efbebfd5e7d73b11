import type { Kernel, KernelFactory } from '../src/kernel';
import { nodeHostFs } from '../src/kernel/node-host-fs';
import { fakeHostInfo } from './host-info';

/**
 * The in-memory kernel: an emulated host. The daemon's own state (-g) stays on disk so a
 * restarted daemon finds it; what containers see lives in memory.
 */
export const createFakeKernel: KernelFactory = async ({ config }) => {
  const kernel: Kernel = {
    name: 'fake',
    hostInfo: fakeHostInfo(config),
    hostFs: nodeHostFs(),
    supports: { areas: new Set(['system']) },
    async close() {},
  };
  return kernel;
};
