import type { Readable, Writable } from 'node:stream';
import type { Clock } from './clock';
import { BrokenPipeError, type Input, type Sink } from './io';
import { DEFAULT_IGNORED, SIGNALS, signalName, signalNumber } from './signals';

/** How a process ended: `code` is the wait status as a shell shows it (128+n after signal n). */
export interface ExitResult {
  code: number;
  /** The signal that killed the process (`SIGTERM`), if one did. */
  signal?: string;
}

/** A process as the daemon sees it: what `spawn` returns. */
export interface EmulatedProcess {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly stdin: Readable | null;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Resolves once, when the process has ended. */
  readonly exit: Promise<ExitResult>;
  /** Sends a signal (name with or without SIG, or number) as from outside the container. */
  signal(sig: string | number): void;
}

/** The standard descriptors of a process or of one command inside a shell. */
export interface Stdio {
  stdin: Input;
  stdout: Sink;
  stderr: Sink;
}

/**
 * Unwinds the code of a process that has ended (killed, or `exit` from a nested call).
 * Never reported: the process's exit status was already set.
 */
export class ProcessEnded extends Error {
  constructor() {
    super('process ended');
  }
}

/** How a process disposes of a signal when it is not the default action. */
export type Disposition = 'ignore' | 'catch';

export interface ProcOptions {
  pid: number;
  ppid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  user: string;
  uid: number;
  gid: number;
  groups: number[];
  stdio: Stdio;
  clock: Clock;
  startedAt: number;
  /** Whether the container's freezer holds every process (pause). */
  frozen: () => boolean;
  onExit: (proc: Proc) => void;
}

/**
 * One emulated process. Its code runs as ordinary async functions that call
 * `checkpoint()`, `sleep()` and the bound stdio helpers; those block while the process is
 * stopped (SIGSTOP or the container's freezer) and throw `ProcessEnded` once it has ended,
 * so a killed process stops running at its next step and its output stops at once.
 *
 * Signal delivery follows Linux: a caught signal is queued for the code to handle (the
 * shell runs its trap between commands), an ignored one is dropped, and a default one
 * terminates with status 128+n, except that PID 1 of the namespace never gets a signal with
 * default disposition; from outside the namespace (docker kill/stop) KILL and STOP still are.
 */
export class Proc {
  readonly pid: number;
  readonly ppid: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: number[];
  readonly startedAt: number;
  readonly clock: Clock;
  stdio: Stdio;
  readonly dispositions = new Map<number, Disposition>();
  /** Caught signals not yet handled, oldest first. */
  readonly pendingSignals: number[] = [];
  readonly exit: Promise<ExitResult>;
  result: ExitResult | undefined;

  private stopped = false;
  private queuedWhileStopped: number[] = [];
  private readonly listeners = new Set<() => void>();
  private resolveExit!: (r: ExitResult) => void;
  private readonly isFrozen: () => boolean;
  private readonly onExit: (proc: Proc) => void;
  /** Rejects with ProcessEnded when the process ends; raced against blocking calls. */
  private readonly death: Promise<never>;
  private rejectDeath!: (err: Error) => void;

  constructor(opts: ProcOptions) {
    this.pid = opts.pid;
    this.ppid = opts.ppid;
    this.argv = opts.argv;
    this.env = opts.env;
    this.cwd = opts.cwd;
    this.user = opts.user;
    this.uid = opts.uid;
    this.gid = opts.gid;
    this.groups = opts.groups;
    this.stdio = opts.stdio;
    this.clock = opts.clock;
    this.startedAt = opts.startedAt;
    this.isFrozen = opts.frozen;
    this.onExit = opts.onExit;
    this.exit = new Promise((resolve) => (this.resolveExit = resolve));
    this.death = new Promise<never>((_, reject) => (this.rejectDeath = reject));
    this.death.catch(() => {});
  }

  get exited(): boolean {
    return this.result !== undefined;
  }

  /** Stopped by SIGSTOP or frozen with the whole container. */
  get frozen(): boolean {
    return this.stopped || this.isFrozen();
  }

  get state(): 'running' | 'stopped' | 'exited' {
    return this.exited ? 'exited' : this.frozen ? 'stopped' : 'running';
  }

  /**
   * Delivers a signal. `fromOutside` is true for signals sent from outside the container's
   * pid namespace (the daemon), false for `kill` run inside it. Unknown signals throw.
   */
  signal(sig: string | number, fromOutside = true): void {
    const n = signalNumber(sig);
    if (n === undefined) throw new Error(`invalid signal: ${sig}`);
    if (n === 0 || this.exited) return;
    const disposition = this.dispositions.get(n);
    // SIGCONT resumes a stopped process whatever its disposition (Linux prepare_signal).
    if (n === SIGNALS.CONT) {
      this.setStopped(false);
      if (disposition !== 'catch') return;
    }
    const forced = fromOutside && (n === SIGNALS.KILL || n === SIGNALS.STOP);
    if (this.pid === 1 && !forced && !disposition) return;
    if (n === SIGNALS.KILL) return this.terminate(n);
    if (n === SIGNALS.STOP) return this.setStopped(true);
    if (this.stopped && n !== SIGNALS.CONT) {
      this.queuedWhileStopped.push(n);
      return;
    }
    this.act(n, disposition);
  }

  private act(n: number, disposition: Disposition | undefined): void {
    if (disposition === 'ignore') return;
    if (disposition === 'catch') {
      this.pendingSignals.push(n);
      this.notify();
      return;
    }
    if (DEFAULT_IGNORED.has(n)) return;
    this.terminate(n);
  }

  private setStopped(stopped: boolean): void {
    if (this.stopped === stopped) return;
    this.stopped = stopped;
    this.notify();
    if (!stopped) for (const n of this.queuedWhileStopped.splice(0)) this.act(n, this.dispositions.get(n));
  }

  /** Called by the table when the container's freezer changes. */
  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `fn` on every stop, continue, caught signal or end; returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Ends the process normally with `code` (masked to 0-255). */
  finish(code: number): void {
    this.end({ code: code & 255 });
  }

  /** Ends the process as killed by signal `n`. */
  terminate(n: number): void {
    this.end({ code: 128 + n, signal: `SIG${signalName(n)}` });
  }

  private end(result: ExitResult): void {
    if (this.exited) return;
    this.result = result;
    this.stopped = false;
    this.rejectDeath(new ProcessEnded());
    this.notify();
    this.listeners.clear();
    this.resolveExit(result);
    this.onExit(this);
  }

  /** Waits while the process is stopped; throws ProcessEnded once it has ended. */
  async checkpoint(): Promise<void> {
    while (!this.exited && this.frozen) await this.nextChange();
    if (this.exited) throw new ProcessEnded();
  }

  /** Resolves at the next stop, continue, caught signal or end. */
  nextChange(): Promise<void> {
    return new Promise((resolve) => {
      const off = this.subscribe(() => {
        off();
        resolve();
      });
    });
  }

  /** `promise`, unless the process ends first (then ProcessEnded). */
  guard<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.death]);
  }

  /**
   * Sleeps `ms` of the clock's time that the process spends running: a stopped process's
   * sleep does not advance. `Infinity` sleeps until the process ends. One timer, no polling.
   */
  sleep(ms: number): Promise<void> {
    if (this.exited) return Promise.reject(new ProcessEnded());
    if (!Number.isFinite(ms)) return this.guard(new Promise<void>(() => {}));
    return new Promise<void>((resolve, reject) => {
      let remaining = Math.max(0, ms);
      let cancel: (() => void) | null = null;
      let armedAt = 0;
      const arm = (): void => {
        armedAt = this.clock.now();
        cancel = this.clock.setTimer(remaining, () => {
          cancel = null;
          off();
          resolve();
        });
      };
      const off = this.subscribe(() => {
        if (this.exited) {
          cancel?.();
          off();
          reject(new ProcessEnded());
        } else if (this.frozen && cancel) {
          cancel();
          cancel = null;
          remaining = Math.max(0, remaining - (this.clock.now() - armedAt));
        } else if (!this.frozen && !cancel) arm();
      });
      if (!this.frozen) arm();
    });
  }

  /** Writes to a sink as this process: blocks while stopped; a broken pipe kills it (SIGPIPE). */
  async write(sink: Sink, data: string | Uint8Array): Promise<void> {
    await this.checkpoint();
    try {
      await this.guard(sink.write(Buffer.from(data)));
    } catch (err) {
      if (err instanceof BrokenPipeError) {
        this.terminate(SIGNALS.PIPE!);
        throw new ProcessEnded();
      }
      throw err;
    }
  }
}
