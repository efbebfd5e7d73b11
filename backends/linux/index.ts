import { join } from 'node:path';
import type { Kernel, KernelFactory } from '../../src/kernel';
import { nodeHostFs } from '../../src/kernel/node-host-fs';
import { linuxHostInfo, which } from './host-info';
import { createStorageDriver } from './storage';
import { overlayUnavailableReason } from './storage/overlay';
import { createLinuxExecDriver } from './exec';

export { which };

/** Why the Linux backend cannot run here, or undefined when it can (root, Linux, an OCI runtime). */
export async function linuxUnavailableReason(runtime = 'runc'): Promise<string | undefined> {
  if (process.platform !== 'linux') return `the host is ${process.platform}, not Linux`;
  if (process.getuid?.() !== 0) return 'the daemon is not running as root';
  if (!(await which(runtime))) return `the OCI runtime ${runtime} is not installed`;
  return undefined;
}

/** The storage driver to use: -s, else overlay2 where the kernel and the graph's filesystem allow it, else vfs. */
async function pickDriver(name: string, graph: string): Promise<string> {
  if (name === 'overlay') return 'overlay2';
  if (name !== '') return name;
  return (await overlayUnavailableReason(join(graph, 'overlay2'))) ? 'vfs' : 'overlay2';
}

/** The real kernel: host facts from /proc and /sys, storage in real graph drivers. */
export const createLinuxKernel: KernelFactory = async ({ config, logger }) => {
  const reason = await linuxUnavailableReason(config.execOpts['native.runtime'] ?? 'runc');
  if (reason) throw new Error(`the linux backend cannot run: ${reason}`);
  const driverName = await pickDriver(config.storageDriver, config.graph);
  const storage = await createStorageDriver(driverName, join(config.graph, driverName), config.storageOpts, logger);
  if (config.execOpts['native.cgroupdriver'] === 'systemd') {
    logger.warn('native.cgroupdriver=systemd is not available in this daemon; using cgroupfs');
  }
  const exec = await createLinuxExecDriver({
    root: config.execRoot,
    runtime: (config.execOpts['native.runtime'] as 'runc' | 'crun' | undefined) ?? 'runc',
    // The seed: systemd when asked and available, else cgroupfs. This daemon drives cgroupfs only.
    cgroupDriver: 'cgroupfs',
    monitor: config.execOpts['native.monitor'] as 'shared' | 'conmon' | undefined,
    log: logger.child({ component: 'exec' }),
  });
  const kernel: Kernel = {
    name: 'linux',
    hostInfo: linuxHostInfo(),
    hostFs: nodeHostFs(),
    storage,
    exec,
    supports: { areas: new Set(['system', 'images']) },
    async close() {
      await storage.cleanup();
    },
  };
  return kernel;
};
