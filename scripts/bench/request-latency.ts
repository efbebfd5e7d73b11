import type { Benchmark, BenchContext, Metric } from './benchmark';
import { formatEndpoint, ProbeConnection, type Endpoint } from './http-probe';
import { nsToMs, nsToUs, summarize } from './stats';

/** No single request loop runs longer than this, whatever the counts say. */
const LOOP_TIME_CAP_MS = 60_000;

/** The paths measured, with the key prefix of their metrics. */
const PATHS = [
  { path: '/_ping', key: 'ping' },
  { path: '/version', key: 'version' },
] as const;

interface LoopResult {
  latenciesUs: number[];
  wallMs: number;
}

/**
 * Send `count` GET `path` requests from each of `conns` connections, one at a time per connection,
 * `total` requests in all (or until the time cap); every answer must be 200.
 */
async function requestLoop(conns: ProbeConnection[], path: string, total: number, endpoint: Endpoint): Promise<LoopResult> {
  const latenciesUs: number[] = [];
  let remaining = total;
  const started = process.hrtime.bigint();
  const cap = started + BigInt(LOOP_TIME_CAP_MS) * 1_000_000n;
  await Promise.all(
    conns.map(async (conn) => {
      while (remaining > 0 && process.hrtime.bigint() < cap) {
        remaining--;
        const t0 = process.hrtime.bigint();
        const r = await conn.request('GET', path);
        latenciesUs.push(nsToUs(process.hrtime.bigint() - t0));
        if (r.status !== 200) throw new Error(`GET ${path} on ${formatEndpoint(endpoint)} answered ${r.status}: ${r.body.toString('utf8').slice(0, 200)}`);
      }
    }),
  );
  return { latenciesUs, wallMs: nsToMs(process.hrtime.bigint() - started) };
}

async function withConnections<T>(endpoint: Endpoint, n: number, fn: (c: ProbeConnection[]) => Promise<T>): Promise<T> {
  const conns = await Promise.all(Array.from({ length: n }, () => ProbeConnection.open(endpoint)));
  try {
    return await fn(conns);
  } finally {
    for (const c of conns) c.close();
  }
}

function latencyMetrics(key: string, label: string, r: LoopResult): Metric[] {
  const s = summarize(r.latenciesUs);
  return [
    { key: `${key}.median`, label: `${label}, median`, unit: 'µs', value: s.median, better: 'lower' },
    { key: `${key}.p90`, label: `${label}, p90`, unit: 'µs', value: s.p90, better: 'lower' },
    { key: `${key}.p99`, label: `${label}, p99`, unit: 'µs', value: s.p99, better: 'lower' },
    { key: `${key}.rps`, label: `${label}, throughput`, unit: 'req/s', value: (r.latenciesUs.length / r.wallMs) * 1000, better: 'higher' },
  ];
}

/** Measure one path: sequential on one keep-alive connection, then concurrently on several. */
async function measurePath(endpoint: Endpoint, path: string, key: string, ctx: BenchContext): Promise<Metric[]> {
  const o = ctx.options;
  const seq = await withConnections(endpoint, 1, async (c) => {
    await requestLoop(c, path, o.warmup, endpoint);
    return requestLoop(c, path, o.requests, endpoint);
  });
  const conc = await withConnections(endpoint, o.concurrency, async (c) => {
    await requestLoop(c, path, Math.min(o.warmup, o.concurrentRequests), endpoint);
    return requestLoop(c, path, o.concurrentRequests, endpoint);
  });
  ctx.progress(`${path}: ${seq.latenciesUs.length} sequential in ${seq.wallMs.toFixed(0)} ms, ${conc.latenciesUs.length} on ${o.concurrency} connections in ${conc.wallMs.toFixed(0)} ms`);
  return [...latencyMetrics(`${key}.seq`, `GET ${path} sequential`, seq), ...latencyMetrics(`${key}.c${o.concurrency}`, `GET ${path} ${o.concurrency} concurrent`, conc)];
}

/** Request latency and throughput of GET /_ping and GET /version over keep-alive connections. */
export const requestLatency: Benchmark = {
  name: 'latency',
  description: 'GET /_ping and /version: sequential latency (median/p90/p99) on one keep-alive connection, and throughput with --concurrency connections',
  async run(target, ctx) {
    const session = await target.session();
    const metrics: Metric[] = [];
    for (const { path, key } of PATHS) metrics.push(...(await measurePath(session.endpoint, path, key, ctx)));
    return metrics;
  },
};
