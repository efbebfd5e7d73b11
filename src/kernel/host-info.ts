/**
 * Facts about the host that `/info` and `/version` report. Contract:
 * - every field is read from the host (or the emulated host) when `read()` is called; nothing
 *   is invented: a value that cannot be read is reported as its zero value, with a warning;
 * - `read()` never throws for a missing kernel feature; it reports the feature as absent.
 */
export interface HostFacts {
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  osType: 'linux';
  /** uname -m style: x86_64, aarch64 ... */
  architecture: string;
  ncpu: number;
  memTotal: number;
  hostname: string;
  cgroupVersion: '1' | '2' | '';
  /** Feature probes used by /info (MemoryLimit, SwapLimit, CpuCfsPeriod ...). */
  features: {
    memoryLimit: boolean;
    swapLimit: boolean;
    kernelMemory: boolean;
    kernelMemoryTCP: boolean;
    cpuCfsPeriod: boolean;
    cpuCfsQuota: boolean;
    cpuShares: boolean;
    cpuSet: boolean;
    pidsLimit: boolean;
    oomKillDisable: boolean;
    ipv4Forwarding: boolean;
    bridgeNfIptables: boolean;
    bridgeNfIp6tables: boolean;
  };
  /** Whether systemd is PID 1 (the systemd cgroup driver needs it). */
  systemd: boolean;
  /** OCI runtimes found on PATH, name to path. */
  runtimes: Record<string, { path: string; version?: string; commit?: string }>;
  securityOptions: string[];
  warnings: string[];
}

export interface HostInfo {
  read(): Promise<HostFacts>;
}
