import type { Duplex } from 'node:stream';
import type { HostFs } from '../../src/kernel/host-fs';
import type { Clock } from './clock';
import { errnoText } from './fs-util';
import type { Input } from './io';
import type { Proc, Stdio } from './process';
import type { ProcessTable } from './process-table';
import type { Rlimit } from './shell/ulimit';

/** A listening socket registered by a process; `close` stops accepting. */
export interface Listener {
  close(): void;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/**
 * What the container's surroundings provide. The fake network implements `listen` (a
 * published port connects to it) and `connect`; the daemon implements `health`.
 */
export interface EmulatorHooks {
  /** Registers a listening port in the container's network namespace; each accepted connection is a duplex stream. */
  listen?(port: number, proto: 'tcp' | 'udp', onConnection: (conn: Duplex) => void): Listener | Promise<Listener>;
  /** Opens a connection from the container to `host:port`. */
  connect?(host: string, port: number, proto: 'tcp' | 'udp'): Promise<Duplex>;
  /** A behaviour script reported a health transition. */
  health?(status: HealthStatus): void;
}

/** One container as its processes see it. */
export interface Machine {
  readonly fs: HostFs;
  readonly clock: Clock;
  readonly table: ProcessTable;
  readonly hostname: string;
  readonly hooks: EmulatorHooks;
  readonly applets: ReadonlyMap<string, Applet>;
  /** The container's resource limits by Docker's ulimit name (`nofile` ...), in the kernel's units. */
  readonly rlimits: ReadonlyMap<string, Rlimit>;
}

/** An applet: a command's code. Resolves with the exit status. */
export type Applet = (ctx: AppletContext) => Promise<number>;

/** Reads a process's stdin; blocking reads end when the process is killed. */
export interface Reader {
  read(): Promise<Buffer | null>;
  readLine(): Promise<string | null>;
  readAll(): Promise<Buffer>;
  readonly input: Input;
}

/** Writes to one of a process's outputs; blocks while the process is stopped. */
export interface Writer {
  write(data: string | Uint8Array): Promise<void>;
}

/** Everything an applet may use: its process, argv, stdio and the container. */
export class AppletContext {
  readonly stdin: Reader;
  readonly stdout: Writer;
  readonly stderr: Writer;

  constructor(
    readonly machine: Machine,
    readonly proc: Proc,
    readonly argv: string[],
    readonly stdio: Stdio,
    /** Runs `argv` as a child process (fork + exec) with the given stdio; resolves with its status. */
    readonly run: (argv: string[], stdio: Stdio, env?: Record<string, string>) => Promise<number>,
  ) {
    const input = stdio.stdin;
    this.stdin = {
      input,
      read: async () => (await proc.checkpoint(), proc.guard(input.read())),
      readLine: async () => (await proc.checkpoint(), proc.guard(input.readLine())),
      readAll: async () => (await proc.checkpoint(), proc.guard(input.readAll())),
    };
    this.stdout = { write: (d) => proc.write(stdio.stdout, d) };
    this.stderr = { write: (d) => proc.write(stdio.stderr, d) };
  }

  get fs(): HostFs {
    return this.machine.fs;
  }
  get env(): Record<string, string> {
    return this.proc.env;
  }
  get cwd(): string {
    return this.proc.cwd;
  }
  /** The applet name as invoked (basename of argv[0]). */
  get name(): string {
    return (this.argv[0] ?? '').split('/').pop() ?? '';
  }

  /** Prints `name: message` on stderr. */
  async error(message: string): Promise<void> {
    await this.stderr.write(`${this.name}: ${message}\n`);
  }

  /** Prints `name: path: strerror` for a filesystem failure; returns 1. */
  async fsError(path: string, err: unknown): Promise<number> {
    await this.error(`${path}: ${errnoText(err)}`);
    return 1;
  }
}
