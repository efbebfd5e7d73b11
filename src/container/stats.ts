import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, NotFoundError } from '../errors';
import type { StatsSample } from '../kernel';
import { formatRfc3339Nano, fromDate } from '../logs/timestamp';

type Json = Record<string, unknown>;

/** Go's zero time.Time, as dockerd writes `read`/`preread` when there is no sample. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The blkio lists of Docker's BlkioStats, in its field order. */
const BLKIO_LISTS = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
] as const;

/** The container a stats answer is about (`name` with its leading slash, as dockerd sends it). */
export interface StatsSubject {
  id: string;
  name: string;
}

/** What the next answer takes as `preread` / `precpu_stats`: the previous answer's. */
export interface PreviousFrame {
  read: string;
  cpuStats: Json;
}

const zeroThrottling = () => ({ periods: 0, throttled_periods: 0, throttled_time: 0 });

/** Docker's CPUStats: `system_cpu_usage` and `online_cpus` are omitted when zero (omitempty). */
function cpuStats(s: StatsSample | undefined): Json {
  const out: Json = { cpu_usage: { total_usage: s?.cpuTotalNs ?? 0, usage_in_kernelmode: 0, usage_in_usermode: 0 } };
  if (s?.systemCpuNs) out.system_cpu_usage = s.systemCpuNs;
  if (s?.onlineCpus) out.online_cpus = s.onlineCpus;
  out.throttling_data = zeroThrottling();
  return out;
}

/**
 * One `GET /containers/{id}/stats` object with dockerd 20.10's field names and order
 * (types.StatsJSON; measured). `sample` undefined is the answer for a container that is not
 * running: zero times, `{}` for pids and memory, null blkio lists, no `networks`.
 * `memTotal` caps the memory limit as dockerd does (an unlimited cgroup reports the host's memory).
 */
export function statsJson(subject: StatsSubject, sample: StatsSample | undefined, prev: PreviousFrame | undefined, memTotal: number): Json {
  const blkio: Json = {};
  for (const k of BLKIO_LISTS) blkio[k] = sample ? [] : null;
  if (sample) blkio.io_service_bytes_recursive = sample.blkio.map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));
  const memory: Json = {};
  if (sample) {
    if (sample.memoryUsage) memory.usage = sample.memoryUsage;
    if (Object.keys(sample.memoryStats).length > 0) memory.stats = sample.memoryStats;
    const limit = sample.memoryLimit > 0 && (memTotal <= 0 || sample.memoryLimit < memTotal) ? sample.memoryLimit : memTotal;
    if (limit > 0) memory.limit = limit;
  }
  const out: Json = {
    read: sample ? formatRfc3339Nano(fromDate(sample.read)) : ZERO_TIME,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: sample?.pids ? { current: sample.pids } : {},
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(sample),
    precpu_stats: prev?.cpuStats ?? cpuStats(undefined),
    memory_stats: memory,
    name: subject.name,
    id: subject.id,
  };
  if (sample && Object.keys(sample.networks).length > 0) out.networks = sample.networks;
  return out;
}

/** The frame the next answer refers back to. */
export function frameOf(json: Json): PreviousFrame {
  return { read: json.read as string, cpuStats: json.cpu_stats as Json };
}

/** What the stats service needs from the daemon. */
export interface StatsSource {
  /** The container by name or id; NotFoundError when there is none. */
  lookup(ref: string): StatsSubject & { running: boolean };
  /** A raw sample of a running container (ConflictError when it is not running). */
  sample(id: string): Promise<StatsSample>;
  /** The host's memory in bytes (0 when unknown). */
  memTotal(): Promise<number>;
}

export interface StatsOptions {
  /** Time between two samples of a stream, and before the second sample of `stream=0` (dockerd: 1 s). */
  intervalMs?: number;
}

/**
 * `docker stats` over the ExecDriver's raw samples, as dockerd 20.10 answers (measured):
 * - `stream=0`: two samples a cycle apart, the answer carrying the first as `precpu_stats`;
 *   `one-shot=1` answers the first sample at once (zero `preread`/`precpu_stats`); a container
 *   that is not running gets the zero-filled answer at once.
 * - stream: one object per cycle, each carrying the previous one as `preread`/`precpu_stats`
 *   (the first has zero ones). When the container stops, the stream goes on with zero-filled
 *   objects (dockerd's collector publishes them) until the client leaves; it ends when the
 *   container is removed.
 */
export class ContainerStats {
  private readonly intervalMs: number;

  constructor(
    private readonly source: StatsSource,
    opts: StatsOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  /** The `stream=0` answer. NotFoundError for an unknown container. */
  async once(ref: string, oneShot: boolean, signal: AbortSignal): Promise<Json> {
    const subject = this.source.lookup(ref);
    const memTotal = await this.source.memTotal();
    const first = subject.running ? await this.trySample(subject.id) : undefined;
    if (!first || oneShot) return statsJson(subject, first, undefined, memTotal);
    await sleep(this.intervalMs, undefined, { signal });
    const second = await this.trySample(subject.id);
    return statsJson(subject, second, frameOf(statsJson(subject, first, undefined, memTotal)), memTotal);
  }

  /**
   * The stream: `emit` gets each object. NotFoundError (before anything is emitted) for an
   * unknown container; resolves when `signal` aborts or the container is removed.
   */
  async stream(ref: string, emit: (json: Json) => void, signal: AbortSignal): Promise<void> {
    let subject = this.source.lookup(ref);
    const memTotal = await this.source.memTotal();
    let prev: PreviousFrame | undefined;
    while (!signal.aborted) {
      const sample = subject.running ? await this.trySample(subject.id) : undefined;
      const json = statsJson(subject, sample, prev, memTotal);
      emit(json);
      prev = frameOf(json);
      try {
        await sleep(this.intervalMs, undefined, { signal });
        subject = this.source.lookup(subject.id);
      } catch (e) {
        if (signal.aborted || e instanceof NotFoundError) return;
        throw e;
      }
    }
  }

  /** A sample, or undefined when the container stopped meanwhile. */
  private async trySample(id: string): Promise<StatsSample | undefined> {
    try {
      return await this.source.sample(id);
    } catch (e) {
      if (e instanceof ConflictError) return undefined;
      throw e;
    }
  }
}
