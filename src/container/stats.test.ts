import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../errors';
import type { StatsSample } from '../kernel';
import { ContainerStats, frameOf, statsJson, ZERO_TIME, type StatsSource } from './stats';

const subject = { id: 'a'.repeat(64), name: '/web' };
const GiB = 2 ** 30;

function sample(over: Partial<StatsSample> = {}): StatsSample {
  return {
    read: new Date('2024-05-01T10:00:01.250Z'),
    cpuTotalNs: 2_000_000_000,
    systemCpuNs: 100_000_000_000,
    onlineCpus: 2,
    memoryUsage: 10 * 2 ** 20,
    memoryLimit: 2 ** 62,
    memoryStats: { cache: 4096, rss: 8192, inactive_file: 0 },
    pids: 3,
    blkio: [{ op: 'Read', major: 8, minor: 0, value: 4096 }],
    networks: { eth0: { rx_bytes: 10, rx_packets: 1, rx_errors: 0, rx_dropped: 0, tx_bytes: 20, tx_packets: 2, tx_errors: 0, tx_dropped: 0 } },
    ...over,
  };
}

/** The docker CLI's CPU percentage (cli/command/container/stats_helpers.go). */
function cliCpuPercent(j: Record<string, any>): number { // eslint-disable-line @typescript-eslint/no-explicit-any
  const cpuDelta = j.cpu_stats.cpu_usage.total_usage - j.precpu_stats.cpu_usage.total_usage;
  const sysDelta = (j.cpu_stats.system_cpu_usage ?? 0) - (j.precpu_stats.system_cpu_usage ?? 0);
  return sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * j.cpu_stats.online_cpus * 100 : 0;
}

describe('statsJson', () => {
  it('uses dockerd 20.10\'s field names and order', () => {
    const j = statsJson(subject, sample(), undefined, 16 * GiB);
    expect(Object.keys(j)).toEqual(['read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id', 'networks']);
    expect(Object.keys(j.blkio_stats as object)).toEqual([
      'io_service_bytes_recursive', 'io_serviced_recursive', 'io_queue_recursive', 'io_service_time_recursive',
      'io_wait_time_recursive', 'io_merged_recursive', 'io_time_recursive', 'sectors_recursive',
    ]);
    expect(j).toMatchObject({
      read: '2024-05-01T10:00:01.25Z',
      preread: ZERO_TIME,
      pids_stats: { current: 3 },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: 100_000_000_000, online_cpus: 2, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
      name: '/web',
      id: subject.id,
    });
    expect(Object.keys(j.precpu_stats as object)).toEqual(['cpu_usage', 'throttling_data']);
    expect((j.blkio_stats as Record<string, unknown>).io_service_bytes_recursive).toEqual([{ major: 8, minor: 0, op: 'Read', value: 4096 }]);
    expect((j.blkio_stats as Record<string, unknown>).sectors_recursive).toEqual([]);
    expect(j.networks).toEqual(sample().networks);
  });

  it('reports memory with the host\'s memory as the limit of an unlimited cgroup, and a real limit as is', () => {
    expect(statsJson(subject, sample(), undefined, 16 * GiB).memory_stats).toEqual({ usage: 10 * 2 ** 20, stats: { cache: 4096, rss: 8192, inactive_file: 0 }, limit: 16 * GiB });
    expect((statsJson(subject, sample({ memoryLimit: 64 * 2 ** 20 }), undefined, 16 * GiB).memory_stats as { limit: number }).limit).toBe(64 * 2 ** 20);
    expect((statsJson(subject, sample({ memoryLimit: 0 }), undefined, 16 * GiB).memory_stats as { limit: number }).limit).toBe(16 * GiB);
  });

  it('omits networks when the container has none (--network none / host) and zero pids', () => {
    const j = statsJson(subject, sample({ networks: {}, pids: 0 }), undefined, GiB);
    expect('networks' in j).toBe(false);
    expect(j.pids_stats).toEqual({});
  });

  it('carries the previous frame as preread / precpu_stats, giving the CLI its CPU percentage', () => {
    const first = statsJson(subject, sample(), undefined, GiB);
    const second = statsJson(subject, sample({ read: new Date('2024-05-01T10:00:02.250Z'), cpuTotalNs: 2_500_000_000, systemCpuNs: 102_000_000_000 }), frameOf(first), GiB);
    expect(second.preread).toBe('2024-05-01T10:00:01.25Z');
    expect(second.precpu_stats).toEqual(first.cpu_stats);
    // 0.5 s of CPU over 2 s of two CPUs' time: 25% of the machine, shown as 50% of one CPU.
    expect(cliCpuPercent(second)).toBeCloseTo(50);
    expect(cliCpuPercent(first)).toBe(2_000_000_000 / 100_000_000_000 * 2 * 100);
  });

  it('answers a container that is not running with dockerd\'s zero-filled object', () => {
    expect(JSON.stringify(statsJson(subject, undefined, undefined, GiB))).toBe(
      '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/web","id":"' +
        subject.id +
        '"}',
    );
  });
});

/** A source over a scripted container: `running` and `removed` can change between cycles. */
function fakeSource(state: { running: boolean; removed?: boolean; calls?: number }): StatsSource {
  return {
    lookup: (ref) => {
      if (state.removed || (ref !== subject.id && ref !== 'web')) throw new NotFoundError(`No such container: ${ref}`);
      return { ...subject, running: state.running };
    },
    sample: async () => {
      if (!state.running) throw new ConflictError('not running');
      state.calls = (state.calls ?? 0) + 1;
      return sample({ read: new Date(Date.UTC(2024, 0, 1, 0, 0, state.calls)), cpuTotalNs: state.calls * 1e6 });
    },
    memTotal: async () => GiB,
  };
}

describe('ContainerStats', () => {
  const signal = new AbortController().signal;

  it('stream=0 takes two samples a cycle apart; one-shot takes one; a stopped container gets zeros at once', async () => {
    const state = { running: true };
    const stats = new ContainerStats(fakeSource(state), { intervalMs: 1 });
    const two = await stats.once('web', false, signal);
    expect(two.preread).toBe('2024-01-01T00:00:01Z');
    expect(two.read).toBe('2024-01-01T00:00:02Z');
    const one = await stats.once('web', true, signal);
    expect(one.preread).toBe(ZERO_TIME);
    expect(one.read).toBe('2024-01-01T00:00:03Z');
    state.running = false;
    expect((await stats.once('web', false, signal)).read).toBe(ZERO_TIME);
    await expect(stats.once('nosuch', false, signal)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('streams until the client leaves, with zero-filled objects after the container stops', async () => {
    const state = { running: true };
    const stats = new ContainerStats(fakeSource(state), { intervalMs: 1 });
    const ac = new AbortController();
    const got: Record<string, unknown>[] = [];
    await stats.stream('web', (j) => {
      got.push(j);
      if (got.length === 2) state.running = false;
      if (got.length === 4) ac.abort();
    }, ac.signal);
    expect(got.map((j) => j.read)).toEqual(['2024-01-01T00:00:01Z', '2024-01-01T00:00:02Z', ZERO_TIME, ZERO_TIME]);
    expect(got.map((j) => j.preread)).toEqual([ZERO_TIME, '2024-01-01T00:00:01Z', '2024-01-01T00:00:02Z', ZERO_TIME]);
    expect(got[2]!.precpu_stats).toEqual(got[1]!.cpu_stats);
  });

  it('ends the stream when the container is removed, and fails before any output for an unknown one', async () => {
    const state = { running: true, removed: false };
    const stats = new ContainerStats(fakeSource(state), { intervalMs: 1 });
    let n = 0;
    await stats.stream('web', () => {
      if (++n === 2) state.removed = true;
    }, signal);
    expect(n).toBe(2);
    await expect(stats.stream('nosuch', () => expect.fail('emitted'), signal)).rejects.toBeInstanceOf(NotFoundError);
  });
});
