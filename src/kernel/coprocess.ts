import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Why a co-process call failed without an answer: `missing` when the program is not installed. */
export class CoprocessError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
  }
}

export interface CoprocessOptions {
  command: string;
  args: string[];
  /** What the process is, for error messages ("the python3 helper for mknod/xattr"). */
  name: string;
  /** The request id an answer line carries. */
  idOf(line: string): number;
  /** Idle time after which the process is told to exit (its stdin is closed). */
  idleExitMs: number;
}

/**
 * A long-lived helper process that answers one line per request line, each answer carrying its
 * request's id. It is started on first use, keeps the daemon's event loop alive only while a
 * request is outstanding, and is told to exit after `idleExitMs` without one. When it dies, the
 * requests in flight fail with a CoprocessError; the next request starts a new one.
 */
export class Coprocess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, { resolve(line: string): void; reject(e: Error): void }>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  /** Set when the program could not be started at all: callers fall back from then on. */
  unavailable = false;

  constructor(private readonly o: CoprocessOptions) {}

  /** Send the line `request(id)` makes (ending with a newline) and resolve with the answer line. */
  call(request: (id: number) => string): Promise<string> {
    const child = this.start();
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.pending.size === 0) this.busy(child, true);
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.stdin.write(request(id));
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(this.o.command, this.o.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const id = this.o.idOf(line);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.resolve(line);
      if (this.pending.size === 0) this.goIdle(child);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdin.on('error', () => undefined);
    const fail = (why: string, missing: boolean) => {
      if (this.child === child) this.child = undefined;
      if (missing) this.unavailable = true;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new CoprocessError(`${this.o.name} ${why}${stderr ? `: ${stderr.trim()}` : ''}`, missing));
      }
    };
    child.on('error', (e: NodeJS.ErrnoException) => fail(`could not start (${e.message})`, e.code === 'ENOENT'));
    child.on('exit', (code) => fail(`exited with code ${code}`, false));
    return child;
  }

  private goIdle(child: ChildProcessWithoutNullStreams): void {
    this.busy(child, false);
    this.idle = setTimeout(() => {
      if (this.pending.size === 0 && this.child === child) {
        this.child = undefined;
        child.stdin.end();
      }
    }, this.o.idleExitMs);
    this.idle.unref();
  }

  private busy(child: ChildProcessWithoutNullStreams, on: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[]) {
      if (on) h.ref();
      else h.unref();
    }
  }
}
