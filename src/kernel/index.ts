import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-options';
import type { HostFs } from './host-fs';
import type { HostInfo } from './host-info';
import type { ExecDriver } from './exec';
import type { NetworkKernel } from './network';
import type { StorageDriver } from './storage';
import type { EmulatorControl } from './emulator-control';
import type { RegistryTransport } from '../registry/transport';

export type { HostFs } from './host-fs';
export type { HostInfo, HostFacts } from './host-info';
export type { StorageDriver, MountedFs, Change } from './storage';
export type { ExecDriver, ContainerSpec, ProcessSpec, ExitStatus, ContainerProcess, ContainerResources, StatsSample } from './exec';
export type { NetworkKernel, FirewallRule } from './network';
export type { EmulatorControl, ClockControl } from './emulator-control';

/**
 * What a backend offers beyond the mandatory parts, consulted by the daemon (to answer
 * NotImplemented) and by the conformance suite (to decide which cases apply).
 */
export interface Supports {
  /** Area names: 'system', 'images', 'containers', 'networks', 'storage:<driver>' ... */
  readonly areas: ReadonlySet<string>;
}

/** One kernel backend: the daemon's only way to touch the host. */
export interface Kernel {
  readonly name: 'linux' | 'fake';
  readonly hostInfo: HostInfo;
  /** The daemon's own state directories (-g, --exec-root). */
  readonly hostFs: HostFs;
  readonly storage?: StorageDriver;
  readonly exec?: ExecDriver;
  readonly network?: NetworkKernel;
  /**
   * How registries are reached. Absent: the host's network (node http/https with the proxy
   * variables). The fake backend answers Docker Hub in-process (its offline hub).
   */
  readonly registryTransport?: RegistryTransport;
  /** Emulated kernels only: the clock and other test-double controls (served under /_emulator). */
  readonly emulator?: EmulatorControl;
  readonly supports: Supports;
  close(): Promise<void>;
}

export interface KernelOptions {
  config: DaemonConfig;
  logger: Logger;
}

/** A backend is a function from options to a kernel; the composition root passes them in. */
export type KernelFactory = (opts: KernelOptions) => Promise<Kernel>;
