import { PassThrough, type Writable } from 'node:stream';
import type { ContainerProcess, ExitStatus } from '../kernel';

/** Where a container's output is stored (a log driver); see src/logs. */
export interface LogSink {
  write(stream: 'stdout' | 'stderr', chunk: Buffer, time: Date): void;
  close(): Promise<void>;
}

/** An attached client: it receives output and may feed stdin. */
export interface Attachment {
  stdout?: Writable;
  stderr?: Writable;
}

/**
 * The in-memory side of a running container: its process, the attached clients and the log.
 * Output is copied to the log and to every attachment; a slow attachment is dropped rather
 * than slowing the container.
 */
export class ContainerRuntime {
  private readonly attachments = new Set<Attachment>();
  readonly done: Promise<ExitStatus>;
  /** Pending stdin writers get this stream; it ends when the process' stdin closes. */
  readonly stdin: Writable | null;

  constructor(
    readonly proc: ContainerProcess,
    private readonly log: LogSink,
    readonly tty: boolean,
  ) {
    this.stdin = proc.stdin;
    const pump = (src: NodeJS.ReadableStream | null, stream: 'stdout' | 'stderr') =>
      new Promise<void>((resolve) => {
        if (!src) return resolve();
        src.on('data', (chunk: Buffer) => {
          const now = new Date();
          this.log.write(stream, chunk, now);
          for (const a of this.attachments) {
            const w = stream === 'stdout' ? a.stdout : a.stderr;
            if (!w || w.destroyed) continue;
            if (w.writableLength > 8 * 1024 * 1024) {
              w.destroy(new Error('attached client too slow'));
              continue;
            }
            w.write(chunk);
          }
        });
        src.once('end', () => resolve());
        src.once('error', () => resolve());
      });
    const outputs = Promise.all([pump(proc.stdout, 'stdout'), pump(proc.stderr, 'stderr')]);
    this.done = (async () => {
      const status = await proc.exited;
      await outputs;
      for (const a of this.attachments) {
        a.stdout?.end();
        if (a.stderr !== a.stdout) a.stderr?.end();
      }
      this.attachments.clear();
      return status;
    })();
  }

  attach(a: Attachment): () => void {
    this.attachments.add(a);
    return () => this.attachments.delete(a);
  }
}

/** A writable that collects nothing: for attachments that only want stdin. */
export function sink(): Writable {
  const p = new PassThrough();
  p.resume();
  return p;
}
