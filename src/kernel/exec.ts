import type { Readable, Writable } from 'node:stream';
import type { Ulimit } from '../config/validate';
import type { MountedFs } from './storage';

/** One process to run in a container: already resolved by the engine (image + config). */
export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  /** `user`, `uid`, `user:group` or `uid:gid` as in `-u`; resolved by the driver in the container's /etc/passwd. */
  user: string;
  tty: boolean;
  /** Keep stdin open (a writable `stdin` is returned). */
  openStdin: boolean;
}

export interface ContainerResources {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  nanoCpus?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
}

export interface ContainerSpec {
  id: string;
  rootfs: MountedFs;
  hostname: string;
  domainname: string;
  process: ProcessSpec;
  ulimits: Ulimit[];
  resources: ContainerResources;
  /** Contents of the files Docker manages for the container. */
  etc: { hostname: string; hosts: string; resolvConf: string };
  namespaces: {
    network: 'private' | 'host' | 'none' | { container: string };
    pid: 'private' | 'host' | { container: string };
    ipc: 'private' | 'host' | 'shareable' | { container: string };
    uts: 'private' | 'host';
  };
  mounts: { source: string; destination: string; readonly: boolean; type: 'bind' | 'tmpfs' | 'volume'; options?: string[] }[];
  capabilities: string[];
  privileged: boolean;
  readonlyRootfs: boolean;
  stopSignal: string;
  /** The container's own directory under -g (logs, hostconfig); the driver may keep files there. */
  stateDir: string;
  /** `--security-opt no-new-privileges`, `--oom-score-adj`, `--shm-size`, `--device`. */
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  shmSize?: number;
  /** `--device`: the driver finds the host node's type and numbers. */
  devices?: { pathOnHost: string; pathInContainer: string; permissions: string }[];
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  /** Set when the process was killed by a signal. */
  signal?: string;
}

/** A running process of a container, with its stdio. With a TTY, `stderr` is null. */
export interface ContainerProcess {
  pid: number;
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable | null;
  /** Resolves once, with the exit status, when the process has exited and its output has ended. */
  exited: Promise<ExitStatus>;
}

/** docker stats' raw sample (Docker's field names are built by the engine). */
export interface StatsSample {
  read: Date;
  cpuTotalNs: number;
  systemCpuNs: number;
  onlineCpus: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryStats: Record<string, number>;
  pids: number;
  blkio: { op: string; major: number; minor: number; value: number }[];
  networks: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}

/**
 * Runs container processes (the seed's execdriver). Contract:
 * - `start` runs the container's first process. It fails with NotFoundError when the command
 *   is not found (`exec: "x": executable file not found in $PATH`; Docker exits 127) and with
 *   ForbiddenError when it is not executable (`permission denied`; 126); nothing is left running.
 * - `exec` runs another process in a running container (ConflictError when it is not running).
 * - `exited` resolves exactly once per process, also for a process that exits while the daemon
 *   is down (after `restore`).
 * - `signal` of a container with no running process fails with ConflictError.
 * - `pause` freezes every process of the container; `resume` thaws them.
 * - `delete` releases what `start` made (after the process has exited).
 */
export interface ExecDriver {
  readonly name: string;
  start(spec: ContainerSpec): Promise<ContainerProcess>;
  exec(id: string, process: ProcessSpec): Promise<ContainerProcess>;
  /** Signal the container's first process, or `pid` (as `top` shows it) when given. */
  signal(id: string, signal: string, pid?: number): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  resize(id: string, cols: number, rows: number, pid?: number): Promise<void>;
  top(id: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  stats(id: string): Promise<StatsSample>;
  update(id: string, resources: ContainerResources): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * After a daemon restart: the containers whose processes outlived the daemon (running, or
   * exited meanwhile: their `exited` resolves at once with the recorded status). Drivers whose
   * processes die with the daemon (the emulator) do not offer it.
   */
  restore?(): Promise<{ id: string; running: boolean; process: ContainerProcess }[]>;
  /** Daemon shutdown: stop following processes; containers keep running where the driver can. */
  close?(): Promise<void>;
}
