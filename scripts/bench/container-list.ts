import type { Benchmark } from './benchmark';
import { timeCli, timeMetrics } from './container-run';
import { withContainers } from './containers';
import { apiClient, DockerCli, missingCli } from './docker-cli';
import { nsToMs } from './stats';
import { withBusybox } from './test-image';

/**
 * `docker ps -a` with `--containers` containers present (created through the API, not started:
 * listing cost is per container, whatever its state), `--runs` times after `--warmup-runs`; and
 * `GET /containers/json?all=1` alone, to tell the daemon's part from the CLI's.
 */
export const containerList: Benchmark = {
  name: 'ps',
  description: '`docker ps -a` and GET /containers/json?all=1 with --containers containers present (median, p90 over --runs)',
  skipReason: (_t, ctx) => missingCli(ctx),
  async run(target, ctx) {
    const { containers, concurrency, runs, warmupRuns } = ctx.options;
    const endpoint = (await target.session()).endpoint;
    const cli = DockerCli.for(endpoint, ctx);
    const client = apiClient(endpoint);
    return withBusybox(cli, ctx, (image) =>
      withContainers(client, image, ['true'], containers, concurrency, async (ids) => {
        ctx.progress(`ps ${target.side}: ${ids.length} containers created`);
        const { stdout } = await cli.run(['ps', '-a', '-q', '--no-trunc']);
        const listed = new Set(stdout.split('\n'));
        const missing = ids.filter((id) => !listed.has(id));
        if (missing.length > 0) throw new Error(`docker ps -a does not list ${missing.length} of the ${ids.length} containers created`);
        const cliTimes = await timeCli(cli, ['ps', '-a'], warmupRuns, runs);
        const apiTimes: number[] = [];
        for (let i = 0; i < warmupRuns + runs; i++) {
          const t0 = process.hrtime.bigint();
          const list = await client.json<unknown[]>('GET', '/containers/json', { query: { all: 1 } });
          if (i >= warmupRuns) apiTimes.push(nsToMs(process.hrtime.bigint() - t0));
          if (list.length < ids.length) throw new Error(`GET /containers/json?all=1 listed ${list.length} containers, expected at least ${ids.length}`);
        }
        const note = `${ids.length} containers (created, not started)`;
        return [...timeMetrics('ps.cli', `docker ps -a (${ids.length} containers)`, cliTimes, note), ...timeMetrics('ps.api', `GET /containers/json?all=1 (${ids.length})`, apiTimes)];
      }),
    );
  },
};
