import type { Duplex, Readable, Writable } from 'node:stream';
import type { Ulimit } from '../config/validate';
import type { MountedFs } from './storage';

/** What a container process is started from: an OCI-like spec, already resolved by the engine. */
export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  user: string;
  tty: boolean;
  openStdin: boolean;
}

export interface ContainerSpec {
  id: string;
  rootfs: MountedFs;
  hostname: string;
  process: ProcessSpec;
  ulimits: Ulimit[];
  resources: {
    memory?: number;
    memorySwap?: number;
    memoryReservation?: number;
    cpuShares?: number;
    cpuQuota?: number;
    cpuPeriod?: number;
    cpusetCpus?: string;
    cpusetMems?: string;
    pidsLimit?: number;
    blkioWeight?: number;
  };
  namespaces: { network: 'private' | 'host' | { container: string }; pid: 'private' | 'host' | { container: string }; ipc: 'private' | 'host' | { container: string }; uts: 'private' | 'host' };
  mounts: { source: string; destination: string; readonly: boolean; type: 'bind' | 'tmpfs' | 'volume' }[];
  capabilities: string[];
  privileged: boolean;
  readonlyRootfs: boolean;
}

export interface ProcessStdio {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable | null;
  /** With a TTY there is one duplex stream instead of separate stdout/stderr. */
  tty?: Duplex;
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  signal?: string;
}

/**
 * Runs container processes (the seed's execdriver). Contract:
 * - `start` fails with NotFound when the command is not found in the container (Docker maps
 *   this to exit 127) and with Forbidden when it is not executable (126); nothing is left behind.
 * - `wait` resolves once per process with its exit status, also for a process that exited
 *   while the daemon was down (after `restore`).
 * - `signal` of a process that has exited fails with Conflict.
 * - `pause` freezes every process of the container; `resume` thaws them.
 * - `restore` finds the containers that kept running across a daemon restart.
 */
export interface ExecDriver {
  readonly name: string;
  start(spec: ContainerSpec): Promise<{ pid: number; stdio: ProcessStdio }>;
  exec(id: string, process: ProcessSpec): Promise<{ pid: number; stdio: ProcessStdio; wait(): Promise<ExitStatus> }>;
  signal(id: string, signal: string): Promise<void>;
  wait(id: string): Promise<ExitStatus>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  resize(id: string, cols: number, rows: number): Promise<void>;
  top(id: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  stats(id: string): Promise<Record<string, unknown>>;
  update(id: string, resources: ContainerSpec['resources']): Promise<void>;
  delete(id: string): Promise<void>;
  restore(): Promise<{ id: string; running: boolean; exit?: ExitStatus }[]>;
}
