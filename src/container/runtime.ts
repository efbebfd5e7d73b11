import type { ContainerProcess, ExitStatus } from '../kernel';
import type { LogDriver } from '../logs';
import type { Broadcaster } from '../streams/broadcaster';

/**
 * The in-memory side of a running container: its process, the fan-out to attached clients
 * and the log driver. Output is copied to the log (which never loses anything) and to the
 * broadcaster (which drops a client that falls behind rather than slow the container).
 */
export class ContainerRuntime {
  /** Resolves with the exit status once the output has ended and the log is closed. */
  readonly done: Promise<ExitStatus>;

  constructor(
    readonly proc: ContainerProcess,
    readonly log: LogDriver,
    readonly output: Broadcaster,
  ) {
    const pump = (src: NodeJS.ReadableStream | null, stream: 'stdout' | 'stderr') =>
      new Promise<void>((resolve) => {
        if (!src) return resolve();
        src.on('data', (chunk: Buffer) => {
          this.log.write(stream, chunk, new Date());
          this.output.write(stream, chunk);
        });
        src.once('end', () => resolve());
        src.once('close', () => resolve());
        src.once('error', () => resolve());
      });
    const outputs = Promise.all([pump(proc.stdout, 'stdout'), pump(proc.stderr, 'stderr')]);
    this.done = (async () => {
      const status = await proc.exited;
      await outputs;
      await this.log.close().catch(() => undefined);
      this.output.end();
      return status;
    })();
  }

  get stdin(): NodeJS.WritableStream | null {
    return this.proc.stdin;
  }
}
