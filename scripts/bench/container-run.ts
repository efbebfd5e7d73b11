import type { Benchmark, BenchContext, Metric } from './benchmark';
import { DockerCli, missingCli } from './docker-cli';
import { summarize } from './stats';
import { withBusybox } from './test-image';

/** Time `docker ARGS` `warmup + runs` times; the samples after the warm-up, in ms. */
export async function timeCli(cli: DockerCli, args: readonly string[], warmup: number, runs: number, progress?: (ms: number, i: number) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const { ms } = await cli.run(args);
    if (i >= warmup) times.push(ms);
    progress?.(ms, i - warmup);
  }
  return times;
}

/**
 * The same as `timeCli` on two CLIs (ours, theirs) with the samples interleaved, the order
 * swapped every round (ours first, then theirs first) so that neither always follows the other.
 */
export async function timeCliPaired(clis: readonly [DockerCli, DockerCli], args: readonly [readonly string[], readonly string[]], warmup: number, runs: number, progress?: (side: 0 | 1, ms: number, i: number) => void): Promise<[number[], number[]]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < warmup + runs; i++) {
    for (const side of i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
      const { ms } = await clis[side].run(args[side]);
      if (i >= warmup) times[side].push(ms);
      progress?.(side, ms, i - warmup);
    }
  }
  return times;
}

/** Median and p90 metrics of a sample in ms, keyed `<key>.median` / `<key>.p90`. */
export function timeMetrics(key: string, label: string, sample: readonly number[], note?: string): Metric[] {
  const s = summarize(sample);
  return [
    { key: `${key}.median`, label: `${label}, median`, unit: 'ms', value: s.median, better: 'lower', note },
    { key: `${key}.p90`, label: `${label}, p90`, unit: 'ms', value: s.p90, better: 'lower' },
  ];
}

/**
 * `docker run --rm --network none IMAGE true` through the docker CLI, `--runs` times after
 * `--warmup-runs`: CLI start, create, attach, start, wait, remove, CLI exit. `--network none` on
 * both daemons: our Linux backend has no bridge yet (its default network is what `none` gives),
 * and dockerd is started with `--bridge=none`. `docker version` through the same CLI is the
 * floor that no daemon can go below (CLI start and two round trips).
 */
export const containerRun: Benchmark = {
  name: 'run-rm',
  description: '`docker run --rm --network none busybox true` through the docker CLI (median, p90 over --runs), and the CLI floor (`docker version`)',
  skipReason: (_t, ctx) => missingCli(ctx),
  async run(target, ctx) {
    const { runs, warmupRuns } = ctx.options;
    const cli = DockerCli.for((await target.session()).endpoint, ctx);
    const floor = await timeCli(cli, ['version'], warmupRuns, runs);
    const run = await withBusybox(cli, ctx, (image) =>
      timeCli(cli, runArgs(image), warmupRuns, runs, (ms, i) => reportRun(ctx, target.side, ms, i)),
    );
    return metricsOf(run, floor);
  },
  async runPaired(ours, theirs, ctx) {
    const { runs, warmupRuns } = ctx.options;
    const clis = [DockerCli.for((await ours.session()).endpoint, ctx), DockerCli.for((await theirs.session()).endpoint, ctx)] as const;
    const version = ['version'];
    const [floorOurs, floorTheirs] = await timeCliPaired(clis, [version, version], warmupRuns, runs);
    const [runOurs, runTheirs] = await withBusybox(clis[0], ctx, (a) =>
      withBusybox(clis[1], ctx, (b) =>
        timeCliPaired(clis, [runArgs(a), runArgs(b)], warmupRuns, runs, (side, ms, i) => reportRun(ctx, side === 0 ? 'ours' : 'theirs', ms, i)),
      ),
    );
    return { ours: metricsOf(runOurs, floorOurs, true), theirs: metricsOf(runTheirs, floorTheirs, true) };
  },
};

const runArgs = (image: string) => ['run', '--rm', '--network', 'none', image, 'true'];

const reportRun = (ctx: BenchContext, side: string, ms: number, i: number) => ctx.progress(`run-rm ${side} ${i < 0 ? 'warm-up' : `#${i + 1}`}: ${ms.toFixed(0)} ms`);

function metricsOf(run: number[], floor: number[], interleaved = false): Metric[] {
  const note = interleaved ? '--network none; runs interleaved with the other daemon\'s' : '--network none';
  return [...timeMetrics('run-rm', 'docker run --rm busybox true', run, note), ...timeMetrics('cli-floor', 'docker version (CLI floor)', floor)];
}
