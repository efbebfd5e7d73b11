import type { DockerClient } from '../../src/client/client';
import type { Benchmark, Metric } from './benchmark';
import { timeMetrics } from './container-run';
import { removeContainers } from './containers';
import { apiClient, DockerCli, missingCli } from './docker-cli';
import { commandOf, describeGroup, groupMemory, parentOf } from './process-memory';
import { sleep } from './processes';
import { descendants } from './procfs';
import { BENCH_LABEL, withBusybox } from './test-image';

/** An argument no other process on the machine is likely to have: how a container's `sleep` is told from a stranger's. */
const SLEEP_SECONDS = '86399';

/** What the benchmark found behind the running containers. */
interface ContainerProcesses {
  /** Each container's monitor (conmon, containerd-shim): the parent of its first process. */
  monitors: Set<number>;
  /** The containers' own processes and their descendants: not the daemon's memory. */
  workload: Set<number>;
}

/**
 * The real processes behind `ids`: a container whose State.Pid runs our `sleep` is a real one; its
 * parent is the monitor (conmon, containerd-shim-runc-v2 and our shared monitor are subreapers,
 * so the container's first process is their child). A parent among `daemonRoots` (the daemon's
 * own processes) is the daemon itself, not a monitor. On the fake backend the pids are emulated
 * and nothing is found.
 */
async function containerProcesses(client: DockerClient, ids: readonly string[], daemonRoots: ReadonlySet<number>): Promise<ContainerProcesses> {
  const monitors = new Set<number>();
  const workload = new Set<number>();
  for (const id of ids) {
    const info = await client.json<{ State: { Pid: number } }>('GET', `/containers/${id}/json`);
    const pid = info.State.Pid;
    const argv = pid > 0 ? await commandOf(pid) : undefined;
    if (!argv || argv[0]?.endsWith('sleep') !== true || argv[1] !== SLEEP_SECONDS) continue;
    workload.add(pid);
    for (const d of await descendants(pid)) workload.add(d);
    const parent = await parentOf(pid);
    if (parent !== undefined && parent > 1 && !daemonRoots.has(parent)) monitors.add(parent);
  }
  return { monitors, workload };
}

const mib = (key: string, label: string, value: number, note?: string): Metric => ({ key, label, unit: 'MiB', value, better: 'lower', note });

/**
 * Memory of the daemon and its monitors with `--running` `sleep` containers running (`docker run
 * -d`, one after the other, timed), against the same daemon before them: RSS and PSS summed over
 * the daemon's processes (ours: the daemon and its descendants; theirs: --against-pid, e.g.
 * dockerd + containerd) plus each container's monitor, without the containers' own processes.
 * The marginal figure per container is (with N - before) / N. RSS counts every shared library page
 * in every monitor again; PSS divides shared pages among their users, and USS (per monitor) counts
 * only the pages no other process maps: what one more container really costs lies between them.
 */
/**
 * The daemon's processes counted on both sides of the marginal figure: those alive at both
 * moments. A helper alive at only one of them (a co-process idling out after the image import,
 * or one a run started) would move the difference by its whole size.
 */
export function steadyPids(before: readonly number[], after: readonly number[]): Set<number> {
  const was = new Set(before);
  return new Set(after.filter((p) => was.has(p)));
}

export const containerMemory: Benchmark = {
  name: 'container-memory',
  description: 'daemon + monitors RSS/PSS with --running `sleep` containers (docker run -d), the marginal RSS per container, and run -d latency',
  skipReason: (_t, ctx) => missingCli(ctx),
  async run(target, ctx) {
    const { running, settleMs, concurrency } = ctx.options;
    const session = await target.session();
    const cli = DockerCli.for(session.endpoint, ctx);
    const client = apiClient(session.endpoint);
    return withBusybox(cli, ctx, async (image) => {
      await sleep(settleMs);
      const owners0 = await session.memoryPids();
      if (owners0.pids.length === 0) throw new Error(`no process to measure: ${owners0.source}`);
      const before = await groupMemory(owners0.pids);
      const ids: string[] = [];
      const runTimes: number[] = [];
      try {
        for (let i = 0; i < running; i++) {
          const r = await cli.run(['run', '-d', '--network', 'none', '--label', `${BENCH_LABEL}=1`, image, 'sleep', SLEEP_SECONDS]);
          ids.push(r.stdout.trim());
          runTimes.push(r.ms);
        }
        ctx.progress(`container-memory ${target.side}: ${ids.length} containers running`);
        await sleep(settleMs);
        const owners = await session.memoryPids();
        // The daemon's own processes: those of the family whose parent is outside it (a monitor
        // the daemon started, such as our shared one, has the daemon as its parent).
        const family = new Set(owners0.pids);
        const roots = new Set<number>();
        for (const p of owners0.pids) if (!family.has((await parentOf(p)) ?? 0)) roots.add(p);
        const found = await containerProcesses(client, ids, roots);
        // A monitor that outlived earlier containers was counted in `before`: it belongs to these.
        const kept = before.procs.filter((p) => found.monitors.has(p.pid));
        const keptMiB = (f: (p: (typeof kept)[number]) => number) => kept.reduce((a, p) => a + f(p), 0) / 1024;
        before.rssMiB -= keptMiB((p) => p.rssKiB);
        before.pssMiB -= keptMiB((p) => p.pssKiB ?? p.rssKiB);
        before.procs = before.procs.filter((p) => !found.monitors.has(p.pid));
        const all = new Set([...owners.pids, ...found.monitors].filter((p) => !found.workload.has(p)));
        const steady = steadyPids(before.procs.map((p) => p.pid), [...all].filter((p) => !found.monitors.has(p)));
        const transient = [...before.procs.filter((p) => !steady.has(p.pid)).map((p) => `${p.name}[${p.pid}]`), ...[...all].filter((p) => !steady.has(p) && !found.monitors.has(p)).map(String)];
        before.procs = before.procs.filter((p) => steady.has(p.pid));
        before.rssMiB = before.procs.reduce((a, p) => a + p.rssKiB, 0) / 1024;
        before.pssMiB = before.procs.reduce((a, p) => a + (p.pssKiB ?? p.rssKiB), 0) / 1024;
        const daemon = await groupMemory(steady);
        const monitors = await groupMemory(found.monitors);
        const total = await groupMemory([...steady, ...found.monitors]);
        const n = ids.length;
        const metrics: Metric[] = [
          ...timeMetrics('run-d', `docker run -d busybox sleep (${n} in a row)`, runTimes, '--network none'),
          mib('cmem.before.rss', 'daemon RSS before the containers', before.rssMiB, describeGroup(before)),
          mib('cmem.total.rss', `daemon + monitors RSS, ${n} running`, total.rssMiB, `${describeGroup(daemon)}${found.monitors.size > 0 ? ` + ${found.monitors.size} monitor${found.monitors.size === 1 ? '' : 's'} ${describeGroup(monitors, 2)}` : ' (no monitor processes)'}; pids from ${owners.source}`),
          mib('cmem.total.pss', `daemon + monitors PSS, ${n} running`, total.pssMiB),
          mib('cmem.daemon.rss', `daemon alone RSS, ${n} running`, daemon.rssMiB),
          mib('cmem.marginal.rss', 'marginal RSS per running container', (total.rssMiB - before.rssMiB) / n, transient.length ? `not counted on either side, alive at only one of the two moments: ${transient.join(', ')}` : undefined),
          mib('cmem.marginal.pss', 'marginal PSS per running container', (total.pssMiB - before.pssMiB) / n),
        ];
        if (found.monitors.size > 0) {
          metrics.push(
            // Monitors' memory shared out over the containers (one conmon or shim each, or one
            // monitor for all of them).
            mib('cmem.monitor.rss', 'monitor RSS per running container', monitors.rssMiB / n, `${found.monitors.size} monitor${found.monitors.size === 1 ? '' : 's'} for ${n} containers`),
            mib('cmem.monitor.pss', 'monitor PSS per running container', monitors.pssMiB / n),
            mib('cmem.monitor.uss', 'monitor USS (private) per running container', monitors.ussMiB / n),
          );
        }
        return metrics;
      } finally {
        await removeContainers(client, ids, concurrency);
      }
    });
  },
};
