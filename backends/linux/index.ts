import type { Kernel, KernelFactory } from '../../src/kernel';
import { nodeHostFs } from '../../src/kernel/node-host-fs';
import { linuxHostInfo, which } from './host-info';

export { which };

/** Why the Linux backend cannot run here, or undefined when it can (root, Linux, an OCI runtime). */
export async function linuxUnavailableReason(runtime = 'runc'): Promise<string | undefined> {
  if (process.platform !== 'linux') return `the host is ${process.platform}, not Linux`;
  if (process.getuid?.() !== 0) return 'the daemon is not running as root';
  if (!(await which(runtime))) return `the OCI runtime ${runtime} is not installed`;
  return undefined;
}

/** The real kernel: host facts from /proc and /sys; storage, exec and network land with their issues. */
export const createLinuxKernel: KernelFactory = async ({ config }) => {
  const reason = await linuxUnavailableReason(config.execOpts['native.runtime'] ?? 'runc');
  if (reason) throw new Error(`the linux backend cannot run: ${reason}`);
  const kernel: Kernel = {
    name: 'linux',
    hostInfo: linuxHostInfo(),
    hostFs: nodeHostFs(),
    supports: { areas: new Set(['system']) },
    async close() {},
  };
  return kernel;
};
