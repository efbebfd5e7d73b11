import { join } from 'node:path';
import type { Benchmark, BenchContext, Metric } from './benchmark';
import { sleep, startProcess } from './processes';
import { readProcessMemory } from './procfs';
import { nsToMs, summarize } from './stats';

/** Median spawn-to-exit time of `argv` over --runs runs (after --warmup-runs); fails if it exits non-zero. */
async function spawnToExit(argv: string[], logName: string, ctx: BenchContext): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ctx.options.warmupRuns + ctx.options.runs; i++) {
    const p = startProcess(argv, join(ctx.workDir, logName));
    const reason = await p.exited;
    if (!reason.endsWith('exited with code 0')) throw new Error(`${argv.join(' ')}: ${reason}\n${p.logTail()}`);
    if (i >= ctx.options.warmupRuns) times.push(nsToMs(p.exitedAt()! - p.spawnedAt));
  }
  return summarize(times).median;
}

/**
 * What Node itself costs before any of our code runs, as floors for the daemon's numbers: the
 * start-to-exit time of `node -e ''`, of loading the daemon's modules (`docker.mjs daemon --help`
 * imports everything the daemon needs but starts nothing) and the RSS of an idle `node`.
 */
export const nodeBaseline: Benchmark = {
  name: 'baseline',
  description: "floors from Node itself: `node -e ''` and `docker.mjs daemon --help` spawn-to-exit, idle RSS of an empty node",
  skipReason: (t) => (t.side === 'ours' ? undefined : 'measures our runtime only'),
  async run(_target, ctx) {
    const { node, nodeArgs, bundle } = ctx.options;
    const empty = await spawnToExit([node, ...nodeArgs, '-e', ''], 'node-empty.log', ctx);
    const load = await spawnToExit([node, ...nodeArgs, bundle, 'daemon', '--help'], 'daemon-help.log', ctx);
    const idle = startProcess([node, ...nodeArgs, '-e', 'setInterval(() => {}, 1 << 30)'], join(ctx.workDir, 'node-idle.log'));
    let rssMiB: number;
    try {
      await sleep(Math.min(ctx.options.settleMs, 500));
      rssMiB = (await readProcessMemory(idle.pid)).rssKiB / 1024;
    } finally {
      await idle.stop();
    }
    const metrics: Metric[] = [
      { key: 'baseline.node-empty', label: "node -e '' spawn → exit, median", unit: 'ms', value: empty, better: 'lower' },
      { key: 'baseline.daemon-load', label: 'docker.mjs daemon --help spawn → exit, median', unit: 'ms', value: load, better: 'lower' },
      { key: 'baseline.node-rss', label: 'idle empty node RSS', unit: 'MiB', value: rssMiB, better: 'lower' },
    ];
    return metrics;
  },
};
