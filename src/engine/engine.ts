import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { UnavailableError } from '../errors';

/** One unit of daemon work (the seed's engine job): an API operation or a background task. */
export interface Job {
  readonly id: string;
  readonly name: string;
  readonly log: Logger;
  /** Aborted when the client goes away or the daemon shuts down. */
  readonly signal: AbortSignal;
}

/**
 * Runs jobs and keeps track of them so that shutdown can cancel what is running and wait for
 * it to finish. Every API handler runs its work through `run`.
 */
export class Engine {
  private readonly jobs = new Map<string, { job: Job; abort: AbortController; done: Promise<unknown> }>();
  private closing = false;

  /**
   * Awaited before every job starts, with the job's name and the caller's signal: the fake
   * backend's fault injection (src/api/faults.ts) delays or fails jobs here. Unset otherwise.
   */
  beforeJob?: (name: string, signal: AbortSignal | undefined) => Promise<void>;

  constructor(private readonly log: Logger) {}

  get running(): number {
    return this.jobs.size;
  }

  async run<T>(name: string, fn: (job: Job) => Promise<T> | T, opts: { signal?: AbortSignal } = {}): Promise<T> {
    if (this.closing) throw new UnavailableError('the daemon is shutting down');
    if (this.beforeJob) await this.beforeJob(name, opts.signal);
    const id = randomBytes(6).toString('hex');
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const job: Job = { id, name, log: this.log.child({ job: name, jobId: id }), signal: abort.signal };
    const done = (async () => fn(job))();
    this.jobs.set(id, { job, abort, done });
    try {
      return await done;
    } finally {
      this.jobs.delete(id);
      opts.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Refuse new jobs, cancel the running ones and wait up to `graceMs` for them to end. */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    for (const { abort } of this.jobs.values()) abort.abort(new UnavailableError('the daemon is shutting down'));
    const pending = [...this.jobs.values()].map((j) => j.done.catch(() => undefined));
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
}
