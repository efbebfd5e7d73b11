import type { Benchmark } from './benchmark';
import { nsToMs, summarize } from './stats';
import { waitUntilReady } from './targets';
import { pingOnce } from './http-probe';

/**
 * Wall time from spawn() of the daemon process to its first successful GET /_ping, polled on the
 * socket in a tight loop. Each start reuses the previous start's state (a restart), and each
 * instance is stopped (SIGTERM, then its children waited for) before the next one.
 */
export const startTime: Benchmark = {
  name: 'start',
  description: 'daemon spawn to first successful GET /_ping (median, p90 over --runs starts)',
  skipReason: (t) => (t.launcher ? undefined : 'no way to start it (pass --against-start "COMMAND")'),
  async run(target, ctx) {
    const { runs, warmupRuns, startTimeoutMs, pollMs } = ctx.options;
    const launcher = target.launcher!;
    const endpoint = launcher.endpoint('start');
    if (await pingOnce(endpoint)) {
      throw new Error(`${target.description} already answers before the start; stop the running daemon to measure its start`);
    }
    const times: number[] = [];
    for (let i = 0; i < warmupRuns + runs; i++) {
      const p = launcher.launch('start');
      try {
        const ready = await waitUntilReady(p, endpoint, { timeoutMs: startTimeoutMs, pollMs });
        const ms = nsToMs(ready - p.spawnedAt);
        if (i >= warmupRuns) times.push(ms);
        ctx.progress(`start ${target.side} ${i < warmupRuns ? 'warm-up' : `#${i - warmupRuns + 1}`}: ${ms.toFixed(1)} ms`);
      } finally {
        await p.stop();
      }
    }
    const s = summarize(times);
    return [
      { key: 'start.median', label: 'start → first /_ping, median', unit: 'ms', value: s.median, better: 'lower' },
      { key: 'start.p90', label: 'start → first /_ping, p90', unit: 'ms', value: s.p90, better: 'lower' },
    ];
  },
};
