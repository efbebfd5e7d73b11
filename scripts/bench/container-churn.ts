import type { DockerClient } from '../../src/client/client';
import type { Benchmark } from './benchmark';
import { createContainer, removeContainers, runPool } from './containers';
import { apiClient, DockerCli, missingCli } from './docker-cli';
import { nsToMs, summarize } from './stats';
import { withBusybox } from './test-image';

/** The measured loop stops starting new cycles after this long, whatever --containers says. */
const CHURN_TIME_CAP_MS = 300_000;

/** One container's life through the API: create, start, wait for its exit, remove. Resolves with the wall time in ms. */
async function cycle(client: DockerClient, image: string, live: Set<string>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const id = await createContainer(client, image, ['true']);
  live.add(id);
  const started = await client.raw('POST', `/containers/${id}/start`);
  if (started.status !== 204) throw new Error(`start ${id.slice(0, 12)} answered ${started.status}: ${started.body.toString('utf8').slice(0, 200)}`);
  const { StatusCode } = await client.json<{ StatusCode: number }>('POST', `/containers/${id}/wait`);
  if (StatusCode !== 0) throw new Error(`container ${id.slice(0, 12)} (true) exited with ${StatusCode}`);
  const removed = await client.raw('DELETE', `/containers/${id}`);
  if (removed.status !== 204) throw new Error(`remove ${id.slice(0, 12)} answered ${removed.status}: ${removed.body.toString('utf8').slice(0, 200)}`);
  live.delete(id);
  return nsToMs(process.hrtime.bigint() - t0);
}

/**
 * Throughput of create + start + wait + remove of `--containers` containers running `true`,
 * `--concurrency` in flight, straight through the Remote API (the CLI would measure its own start
 * 4 times per container). A few cycles per worker warm up first, unmeasured.
 */
export const containerChurn: Benchmark = {
  name: 'churn',
  description: 'create+start+wait+remove of --containers containers through the API, --concurrency in flight: containers/s and per-container latency',
  skipReason: (_t, ctx) => missingCli(ctx),
  async run(target, ctx) {
    const { containers, concurrency } = ctx.options;
    const endpoint = (await target.session()).endpoint;
    const client = apiClient(endpoint);
    const live = new Set<string>();
    const latencies: number[] = [];
    const { done, wallMs } = await withBusybox(DockerCli.for(endpoint, ctx), ctx, async (image) => {
      try {
        await runPool(concurrency, concurrency, async () => void (await cycle(client, image, live)));
        const t0 = process.hrtime.bigint();
        const deadline = t0 + BigInt(CHURN_TIME_CAP_MS) * 1_000_000n;
        const started = await runPool(containers, concurrency, async () => void latencies.push(await cycle(client, image, live)), deadline);
        return { done: started, wallMs: nsToMs(process.hrtime.bigint() - t0) };
      } finally {
        await removeContainers(client, [...live], concurrency);
      }
    });
    ctx.progress(`churn ${target.side}: ${done} containers in ${(wallMs / 1000).toFixed(1)} s`);
    const s = summarize(latencies);
    const capped = done < containers ? `; stopped after ${done} of ${containers} at the ${CHURN_TIME_CAP_MS / 1000} s cap` : '';
    return [
      { key: 'churn.rate', label: `churn ${done} containers (c=${concurrency}), throughput`, unit: 'containers/s', value: (done / wallMs) * 1000, better: 'higher', note: `${done} containers in ${(wallMs / 1000).toFixed(1)} s${capped}` },
      { key: 'churn.cycle.median', label: 'churn: create→start→wait→rm, median', unit: 'ms', value: s.median, better: 'lower' },
      { key: 'churn.cycle.p90', label: 'churn: create→start→wait→rm, p90', unit: 'ms', value: s.p90, better: 'lower' },
    ];
  },
};
