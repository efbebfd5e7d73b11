import { cpus, hostname, machine, release, totalmem } from 'node:os';
import type { DaemonConfig } from '../src/config/daemon-options';
import type { HostFacts, HostInfo } from '../src/kernel';

/**
 * The emulated Linux host. CPU count, memory, hostname and kernel release are the real
 * machine's (so `/info` is true about resources); the rest describes the emulator: cgroup v2
 * with every controller, forwarding as `--ip-forward` set it, the built-in runtime.
 */
export function fakeHostInfo(config: DaemonConfig): HostInfo {
  return {
    async read(): Promise<HostFacts> {
      return {
        kernelVersion: process.platform === 'linux' ? release() : `${release()}-${process.platform}`,
        operatingSystem: 'tsdocker emulator',
        osVersion: '',
        osType: 'linux',
        architecture: machine(),
        ncpu: cpus().length,
        memTotal: totalmem(),
        hostname: hostname(),
        cgroupVersion: '2',
        features: {
          memoryLimit: true, swapLimit: true, kernelMemory: false, kernelMemoryTCP: false, cpuCfsPeriod: true,
          cpuCfsQuota: true, cpuShares: true, cpuSet: true, pidsLimit: true, oomKillDisable: false,
          ipv4Forwarding: config.ipForward, bridgeNfIptables: true, bridgeNfIp6tables: true,
        },
        systemd: false,
        runtimes: { runc: { path: 'tsdocker-emulator' } },
        securityOptions: [],
        warnings: config.ipForward ? [] : ['WARNING: IPv4 forwarding is disabled'],
      };
    },
  };
}
