import type { Benchmark } from './benchmark';
import { ProbeConnection } from './http-probe';
import { sleep } from './processes';
import { readProcessMemory } from './procfs';

const MiB = 1024;

/**
 * The daemon's memory when idle: after a warm-up (requests to /_ping, /version and /info, so the
 * code paths a client first touches are loaded) and --settle-ms of quiet, the VmRSS, VmHWM and
 * Pss of its processes, summed (ours: the daemon and its descendants; theirs: --against-pid or
 * the socket's listeners and their descendants).
 */
export const idleMemory: Benchmark = {
  name: 'memory',
  description: 'idle RSS / peak RSS (VmHWM) / PSS of the daemon processes after warm-up and --settle-ms',
  async run(target, ctx) {
    const session = await target.session();
    const conn = await ProbeConnection.open(session.endpoint);
    try {
      for (let i = 0; i < ctx.options.warmup; i++) {
        for (const path of ['/_ping', '/version', '/info']) await conn.request('GET', path);
      }
    } finally {
      conn.close();
    }
    await sleep(ctx.options.settleMs);
    const { pids, source } = await session.memoryPids();
    if (pids.length === 0) throw new Error(`no process to measure: ${source}`);
    const procs = await Promise.all(pids.map(readProcessMemory));
    const who = procs.map((p) => `${p.name}[${p.pid}] ${(p.rssKiB / MiB).toFixed(1)} MiB`).join(' + ');
    ctx.progress(`memory ${target.side}: ${who} (${source})`);
    const sum = (f: (p: (typeof procs)[number]) => number | undefined) => procs.reduce((a, p) => a + (f(p) ?? 0), 0) / MiB;
    const note = `${who}; pids from ${source}`;
    const metrics = [
      { key: 'memory.rss', label: 'idle RSS (VmRSS)', unit: 'MiB', value: sum((p) => p.rssKiB), better: 'lower', note },
      { key: 'memory.hwm', label: 'peak RSS (VmHWM)', unit: 'MiB', value: sum((p) => p.hwmKiB), better: 'lower' },
    ] as const;
    const pss = procs.every((p) => p.pssKiB !== undefined) ? [{ key: 'memory.pss', label: 'idle PSS', unit: 'MiB', value: sum((p) => p.pssKiB), better: 'lower' } as const] : [];
    return [...metrics, ...pss];
  },
};
