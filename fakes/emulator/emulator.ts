import { PassThrough, type Readable } from 'node:stream';
import type { HostFs } from '../../src/kernel/host-fs';
import { builtinApplets } from './applets/index';
import { ClockRef, RealClock, type Clock } from './clock';
import type { Applet, EmulatorHooks, Machine } from './context';
import { execResolved, runProcess } from './exec';
import { Input, onlcrSink, streamSink, streamSource, type Source } from './io';
import type { EmulatedProcess } from './process';
import { ProcessTable } from './process-table';
import { DEFAULT_PATH, resolutionExitCode, resolveCommand, runtimeErrorMessage, type ResolutionErrorKind } from './resolve';
import { DEFAULT_RLIMITS, type Rlimit } from './shell/ulimit';
import { resolveUser, UnknownUserError } from './users';

export interface EmulatorOptions {
  /** The container's root filesystem. */
  fs: HostFs;
  hostname: string;
  /** Real time unless given; `setClock` swaps it later. */
  clock?: Clock;
  hooks?: EmulatorHooks;
  /** Extra or replacement applets (tests, special images). */
  applets?: ReadonlyMap<string, Applet>;
  /** Resource limits by Docker's ulimit name, over DEFAULT_RLIMITS (`--ulimit`, `--default-ulimit`). */
  rlimits?: Readonly<Record<string, Rlimit>>;
}

export interface SpawnOptions {
  argv: string[];
  /** `NAME=value` strings (Docker's form) or a record. */
  env?: string[] | Record<string, string>;
  cwd?: string;
  /** Docker's `--user`: `name`, `uid`, `name:group`, `uid:gid`; empty for root. */
  user?: string;
  /** One stream for stdout and stderr, `\n` written as `\r\n`, input echoed. */
  tty?: boolean;
  /** The process's stdin; none means end of file at once. */
  stdin?: Readable | null;
}

/** A spawned process: its stdout/stderr are PassThroughs the daemon reads (the same one with a TTY). */
export interface SpawnedProcess extends EmulatedProcess {
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
}

/** Why a container command cannot start: Docker exits 127/126 with the runtime's message. */
export class StartError extends Error {
  constructor(
    readonly kind: ResolutionErrorKind | 'user',
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Emulator {
  /** Starts a process; the first one is PID 1. Throws StartError when the command or user cannot be resolved. */
  spawn(opts: SpawnOptions): Promise<SpawnedProcess>;
  /**
   * What starting `argv` would fail with, without starting it (null when it would start):
   * the daemon reports it as `OCI runtime create failed: ...: <message>: unknown`.
   */
  checkStart(opts: Pick<SpawnOptions, 'argv' | 'env' | 'cwd' | 'user'>): Promise<StartError | null>;
  readonly table: ProcessTable;
  readonly clock: Clock;
  setClock(clock: Clock): void;
}

function envRecord(env: SpawnOptions['env']): Record<string, string> {
  if (!env) return {};
  if (!Array.isArray(env)) return { ...env };
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** Echoes what the terminal's user types (ECHO) and turns their Enter (`\r`) into `\n` (ICRNL). */
function ttyInput(stdin: Readable, echo: PassThrough): Source {
  const inner = streamSource(stdin);
  return {
    async read() {
      const chunk = await inner.read();
      if (chunk === null) return null;
      const text = chunk.toString('latin1').replace(/\r\n?/g, '\n');
      if (!echo.writableEnded) echo.write(Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1'));
      return Buffer.from(text, 'latin1');
    },
  };
}

/**
 * The process emulator of one container: processes in a pid namespace over the
 * container's filesystem, with busybox-like applets. See README.md.
 */
export function createEmulator(opts: EmulatorOptions): Emulator {
  const clock = new ClockRef(opts.clock ?? new RealClock());
  const table = new ProcessTable(clock);
  const applets = new Map(builtinApplets());
  for (const [name, applet] of opts.applets ?? []) applets.set(name, applet);
  const rlimits = new Map(Object.entries({ ...DEFAULT_RLIMITS, ...opts.rlimits }));
  const machine: Machine = { fs: opts.fs, clock, table, hostname: opts.hostname, hooks: opts.hooks ?? {}, applets, rlimits };

  const prepare = async (o: Pick<SpawnOptions, 'argv' | 'env' | 'cwd' | 'user'>) => {
    let identity;
    try {
      identity = await resolveUser(opts.fs, o.user);
    } catch (err) {
      if (err instanceof UnknownUserError) throw new StartError('user', 126, err.message);
      throw err;
    }
    const env = envRecord(o.env);
    env.PATH ??= DEFAULT_PATH;
    env.HOME ??= identity.home;
    env.HOSTNAME ??= opts.hostname;
    const cwd = o.cwd || '/';
    const res = await resolveCommand(o.argv, { fs: opts.fs, env, cwd, mode: 'exec', isApplet: (n) => applets.has(n) });
    if (res.kind === 'error') throw new StartError(res.error, resolutionExitCode(res.error), runtimeErrorMessage(res.error, o.argv[0] ?? ''));
    return { identity, env, cwd, res };
  };

  return {
    table,
    get clock() {
      return clock.clock;
    },
    setClock(next) {
      clock.clock = next;
    },
    async checkStart(o) {
      try {
        await prepare(o);
        return null;
      } catch (err) {
        if (err instanceof StartError) return err;
        throw err;
      }
    },
    async spawn(o) {
      const { identity, env, cwd, res } = await prepare(o);
      const stdout = new PassThrough();
      const stderr = o.tty ? stdout : new PassThrough();
      const outSink = o.tty ? onlcrSink(streamSink(stdout)) : streamSink(stdout);
      const stdin = new Input(o.stdin ? (o.tty ? ttyInput(o.stdin, stdout) : streamSource(o.stdin)) : { read: async () => null });
      stdin.isTerminal = !!o.tty;
      const stdio = { stdin, stdout: outSink, stderr: o.tty ? outSink : streamSink(stderr) };
      const proc = table.create({ ppid: 0, argv: res.argv, env, cwd, user: identity.user, uid: identity.uid, gid: identity.gid, groups: identity.groups, stdio });
      runProcess(proc, () => execResolved(machine, proc, res, stdio));
      void proc.exit.then(() => {
        stdout.end();
        if (stderr !== stdout) stderr.end();
      });
      return {
        get pid() {
          return proc.pid;
        },
        ppid: 0,
        get argv() {
          return proc.argv;
        },
        get env() {
          return proc.env;
        },
        get cwd() {
          return proc.cwd;
        },
        user: identity.user,
        uid: identity.uid,
        gid: identity.gid,
        stdin: o.stdin ?? null,
        stdout,
        stderr,
        exit: proc.exit,
        signal: (sig) => proc.signal(sig, true),
      };
    },
  };
}

