import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { InvalidParameterError, isDockerError } from '../errors';
import type { ContainerProcess, ExecDriver } from '../kernel';
import { rfc3339Nano } from '../system/system-service';
import type { ContainerRecord, HealthConfig, HealthState } from './container';
import { processEnv } from './spec';

/** dockerd's defaults (daemon/health.go): probe every 30 s, 30 s timeout, 3 retries, no start period. */
export const DEFAULT_INTERVAL_NS = 30e9;
export const DEFAULT_TIMEOUT_NS = 30e9;
export const DEFAULT_RETRIES = 3;
/** Entries kept in `State.Health.Log`, and the bytes of output kept per probe. */
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT_LEN = 4096;
/** The smallest non-zero Interval/Timeout/StartPeriod Docker accepts (1 ms). */
const MIN_DURATION_NS = 1e6;

/** One entry of `State.Health.Log`. */
export interface ProbeResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** Create-time checks with dockerd's messages (400). */
export function validateHealthConfig(h: HealthConfig | undefined): void {
  if (!h) return;
  if (h.Test !== undefined && h.Test !== null && (!Array.isArray(h.Test) || h.Test.some((t) => typeof t !== 'string'))) {
    throw new InvalidParameterError('invalid Healthcheck.Test: must be a list of strings');
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) {
    const v = h[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v))) throw new InvalidParameterError(`invalid Healthcheck.${k}: must be an integer`);
  }
  for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const v = h[k] ?? 0;
    if (v !== 0 && v < MIN_DURATION_NS) throw new InvalidParameterError(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if ((h.Retries ?? 0) < 0) throw new InvalidParameterError('Retries in Healthcheck cannot be negative');
}

/**
 * The container's health check from the create body over the image's (dockerd's merge): without
 * one in the body the image's applies; otherwise each zero field takes the image's value.
 */
export function mergeHealthConfig(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!user) return image;
  if (!image) return user;
  const out: HealthConfig = { ...user };
  if (!out.Test?.length && image.Test) out.Test = image.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) if (!out[k] && image[k]) out[k] = image[k];
  return out;
}

/** The probe's argv, or undefined when the check is disabled (`["NONE"]`, no `Test`, an unknown type). */
export function probeCommand(h: HealthConfig | undefined, shell: string[] | undefined): string[] | undefined {
  const test = h?.Test;
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.length ? rest : undefined;
  if (kind === 'CMD-SHELL') return [...(shell?.length ? shell : ['/bin/sh', '-c']), ...rest];
  return undefined;
}

/** Go's time.Duration formatting for the timeout message (`30s`, `200ms`, `1m30s`, `1.5s`). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = trim((ns % 60e9) / 1e9);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

const trim = (n: number) => String(Number(n.toFixed(9)));

/** What the monitors need from the daemon. */
export interface HealthMonitorDeps {
  exec: Pick<ExecDriver, 'exec' | 'signal'>;
  /** The container's current record (undefined once removed). */
  find(id: string): ContainerRecord | undefined;
  /** Publish a container event (`exec_create: ...`, `health_status: healthy`) with the container's attributes. */
  event(rec: ContainerRecord, action: string, extra?: Record<string, string>): void;
  /** Persist the record after a probe changed its health. */
  checkpoint(rec: ContainerRecord): Promise<void>;
  log: Logger;
  /** Exec IDs for the probes' events (random by default). */
  newExecId?: () => string;
}

interface Monitor {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  /** Wakes a probe or a wait early when the monitor stops. */
  cancel?: () => void;
}

/**
 * Health checks as dockerd runs them (daemon/health.go): when a container with a check starts,
 * `State.Health` becomes `starting` and a monitor runs the probe every Interval (the first one an
 * Interval after the start) as an exec in the container. Exit 0 is healthy (the failing streak
 * resets); anything else, an exec that cannot start, or a probe still running after Timeout
 * (exit code -1, the probe is killed) is a failure, which counts unless the container is still
 * `starting` within StartPeriod; Retries consecutive failures make it `unhealthy`. The log keeps
 * the last 5 results with 4 KiB of output each. Status changes are published as
 * `health_status: <status>`; probes as `exec_create`, `exec_start`, `exec_die`. When the container
 * stops or is paused, its monitor stops and the status becomes `unhealthy` (dockerd does the same,
 * for compatibility); unpause resumes probing.
 */
export class HealthMonitors {
  private readonly monitors = new Map<string, Monitor>();

  constructor(private readonly d: HealthMonitorDeps) {}

  /** The container started: reset the status and streak (the log stays) and start probing. */
  start(rec: ContainerRecord): void {
    this.cancel(rec.ID);
    if (!probeCommand(rec.Config.Healthcheck, rec.Config.Shell)) return;
    rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: rec.State.Health?.Log ?? [] };
    this.open(rec);
  }

  /** The container stopped: stop probing; its health becomes `unhealthy`. */
  stop(rec: ContainerRecord): void {
    if (!this.cancel(rec.ID)) return;
    if (rec.State.Health) rec.State.Health = { ...rec.State.Health, Status: 'unhealthy' };
  }

  /** `docker pause` stops the probes as a stop does (dockerd's updateHealthMonitor). */
  pause(rec: ContainerRecord): void {
    this.stop(rec);
  }

  /** `docker unpause` probes again, keeping the state until the next result. */
  resume(rec: ContainerRecord): void {
    if (rec.State.Health && !this.monitors.has(rec.ID)) this.open(rec);
  }

  /** Daemon shutdown: stop every monitor, leaving the recorded states as they are. */
  close(): void {
    for (const id of [...this.monitors.keys()]) this.cancel(id);
  }

  private open(rec: ContainerRecord): void {
    const h = rec.Config.Healthcheck;
    const argv = probeCommand(h, rec.Config.Shell);
    if (!h || !argv) return;
    const m: Monitor = { stopped: false };
    this.monitors.set(rec.ID, m);
    const interval = h.Interval || DEFAULT_INTERVAL_NS;
    const loop = async (): Promise<void> => {
      while (!m.stopped) {
        if (!(await this.sleep(m, interval / 1e6))) return;
        const result = await this.probe(m, rec.ID, argv, h.Timeout || DEFAULT_TIMEOUT_NS);
        if (m.stopped || !result) return;
        await this.record(rec.ID, result).catch((e: unknown) => this.d.log.warn({ err: e, id: rec.ID }, 'could not record a health check result'));
      }
    };
    loop().catch((e: unknown) => this.d.log.warn({ err: e, id: rec.ID }, 'health check monitor failed'));
  }

  private cancel(id: string): boolean {
    const m = this.monitors.get(id);
    if (!m) return false;
    m.stopped = true;
    clearTimeout(m.timer);
    m.cancel?.();
    this.monitors.delete(id);
    return true;
  }

  /** Resolves true after `ms`, false as soon as the monitor stops. */
  private sleep(m: Monitor, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      m.cancel = () => resolve(false);
      m.timer = setTimeout(() => resolve(!m.stopped), ms);
      m.timer.unref();
    });
  }

  /** Run one probe; undefined when the monitor stopped meanwhile or the container is gone. */
  private async probe(m: Monitor, id: string, argv: string[], timeoutNs: number): Promise<ProbeResult | undefined> {
    const rec = this.d.find(id);
    if (!rec) return undefined;
    const start = new Date();
    const result = (exitCode: number, output: string): ProbeResult => ({ Start: rfc3339Nano(start), End: rfc3339Nano(new Date()), ExitCode: exitCode, Output: output });
    const execId = this.d.newExecId?.() ?? randomBytes(32).toString('hex');
    const label = argv.join(' ');
    this.d.event(rec, `exec_create: ${label}`, { execID: execId });
    this.d.event(rec, `exec_start: ${label}`, { execID: execId });
    let proc: ContainerProcess;
    try {
      proc = await this.d.exec.exec(id, { args: argv, env: processEnv(rec.Config, false), cwd: rec.Config.WorkingDir || '/', user: rec.Config.User, tty: false, openStdin: false });
    } catch (e) {
      const msg = isDockerError(e) && (e.code === 'NotFound' || e.code === 'Forbidden') ? `OCI runtime exec failed: exec failed: unable to start container process: ${(e as Error).message}: unknown` : (e as Error).message;
      return result(-1, msg);
    }
    const output = collect(proc);
    const exited = proc.exited.then((st) => {
      this.d.event(rec, 'exec_die', { execID: execId, exitCode: String(st.exitCode) });
      return st;
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      exited.then((st) => ({ kind: 'exit' as const, code: st.exitCode })),
      new Promise<{ kind: 'timeout' }>((r) => (timer = setTimeout(() => r({ kind: 'timeout' }), timeoutNs / 1e6))),
      new Promise<{ kind: 'stopped' }>((r) => (m.cancel = () => r({ kind: 'stopped' }))),
    ]);
    clearTimeout(timer);
    if (outcome.kind === 'exit') return result(outcome.code, await output);
    // Timed out or stopped: kill the probe and wait (briefly) for it, so probes never pile up.
    await this.d.exec.signal(id, 'SIGKILL', proc.pid).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    return outcome.kind === 'timeout' ? result(-1, `Health check exceeded timeout (${goDuration(timeoutNs)})`) : undefined;
  }

  private async record(id: string, r: ProbeResult): Promise<void> {
    const rec = this.d.find(id);
    if (!rec?.State.Running) return;
    const h = rec.Config.Healthcheck ?? {};
    const prev: HealthState = rec.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    const next: HealthState = { ...prev, Log: [...prev.Log, r].slice(-MAX_LOG_ENTRIES) };
    if (r.ExitCode === 0) {
      next.FailingStreak = 0;
      next.Status = 'healthy';
    } else {
      const inStartPeriod = prev.Status === 'starting' && Date.parse(r.Start) - Date.parse(rec.State.StartedAt) < (h.StartPeriod ?? 0) / 1e6;
      if (!inStartPeriod) {
        next.FailingStreak = prev.FailingStreak + 1;
        if (next.FailingStreak >= (h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES)) next.Status = 'unhealthy';
      }
    }
    rec.State.Health = next;
    await this.d.checkpoint(rec);
    if (next.Status !== prev.Status) this.d.event(rec, `health_status: ${next.Status}`);
  }
}

/** stdout and stderr together, at most MAX_OUTPUT_LEN bytes (then `...`, as dockerd's limitedBuffer). */
function collect(proc: ContainerProcess): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const take = (c: Buffer) => {
    const room = MAX_OUTPUT_LEN - size;
    if (c.length > room) truncated = true;
    const part = c.subarray(0, Math.max(0, room));
    chunks.push(part);
    size += part.length;
  };
  const drain = (s: NodeJS.ReadableStream | null) =>
    new Promise<void>((resolve) => {
      if (!s) return resolve();
      s.on('data', (c: Buffer | string) => take(Buffer.from(c)));
      s.once('end', resolve);
      s.once('error', () => resolve());
      s.once('close', resolve);
    });
  return Promise.all([drain(proc.stdout), drain(proc.stderr)]).then(() => Buffer.concat(chunks).toString('utf8') + (truncated ? '...' : ''));
}
