import type { Clock } from './clock';
import { Proc, type ProcOptions } from './process';
import { SIGNALS, signalNumber } from './signals';

/** One row of `ps`/`docker top`. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  user: string;
  uid: number;
  /** Start time, milliseconds since the epoch on the emulator's clock. */
  startTime: number;
  argv: string[];
  /** The command line as ps shows it. */
  command: string;
  state: 'running' | 'stopped';
}

export type NewProcess = Omit<ProcOptions, 'pid' | 'clock' | 'startedAt' | 'frozen' | 'onExit'>;

/** `kill` of a pid that is not (or no longer) in the table. */
export class NoSuchProcessError extends Error {
  readonly code = 'ESRCH';
  constructor(readonly pid: number) {
    super(`no such process: ${pid}`);
  }
}

/**
 * The processes of one container: a pid namespace. Pids count from 1 (the container's first
 * process) and are not reused. When PID 1 ends, every other process is killed, as the Linux
 * kernel does when a namespace's init exits. `pause`/`resume` are the cgroup freezer: every
 * process stops running (timers, output) until resumed.
 */
export class ProcessTable {
  private readonly procs = new Map<number, Proc>();
  private nextPid = 1;
  private frozen = false;

  constructor(private readonly clock: Clock) {}

  create(opts: NewProcess): Proc {
    const proc = new Proc({
      ...opts,
      pid: this.nextPid++,
      clock: this.clock,
      startedAt: this.clock.now(),
      frozen: () => this.frozen,
      onExit: (p) => this.reap(p),
    });
    this.procs.set(proc.pid, proc);
    return proc;
  }

  get(pid: number): Proc | undefined {
    return this.procs.get(pid);
  }

  /** The live processes, by pid. */
  list(): ProcessInfo[] {
    return [...this.procs.values()]
      .sort((a, b) => a.pid - b.pid)
      .map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        user: p.user,
        uid: p.uid,
        startTime: p.startedAt,
        argv: [...p.argv],
        command: p.argv.join(' '),
        state: p.state === 'stopped' ? 'stopped' : 'running',
      }));
  }

  /**
   * Sends `sig` to `pid`. `fromOutside` (the default) is the daemon's view: KILL and STOP
   * reach PID 1 even without a handler; `kill` inside the container passes false.
   * Throws NoSuchProcessError for an unknown pid, and Error for an unknown signal.
   */
  kill(pid: number, sig: string | number, opts: { fromOutside?: boolean } = {}): void {
    if (signalNumber(sig) === undefined) throw new Error(`invalid signal: ${sig}`);
    const proc = this.procs.get(pid);
    if (!proc) throw new NoSuchProcessError(pid);
    proc.signal(sig, opts.fromOutside ?? true);
  }

  /** Freezes every process of the container (docker pause). */
  pause(): void {
    this.setFrozen(true);
  }

  /** Thaws them (docker unpause). */
  resume(): void {
    this.setFrozen(false);
  }

  get paused(): boolean {
    return this.frozen;
  }

  private setFrozen(frozen: boolean): void {
    if (this.frozen === frozen) return;
    this.frozen = frozen;
    for (const p of this.procs.values()) p.notify();
  }

  private reap(proc: Proc): void {
    this.procs.delete(proc.pid);
    if (proc.pid === 1) for (const other of [...this.procs.values()]) other.terminate(SIGNALS.KILL!);
  }
}
