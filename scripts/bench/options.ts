import { parseArgs } from 'node:util';
import { parseEndpoint, type Endpoint } from './http-probe';
import { splitCommand } from './processes';

/** Everything `npm run bench -- ...` can be told. */
export interface BenchOptions {
  help: boolean;
  list: boolean;
  /** Benchmarks to run by name (empty: all). */
  only: string[];
  backend: 'fake' | 'linux';
  /** Daemon starts measured per target, after `warmupRuns` unmeasured ones. */
  runs: number;
  warmupRuns: number;
  /** Sequential requests per path, after `warmup` unmeasured ones. */
  requests: number;
  warmup: number;
  /** Clients and total requests for the concurrent throughput run. */
  concurrency: number;
  concurrentRequests: number;
  /** Idle time before memory is read. */
  settleMs: number;
  /** Containers created by `churn` and present for `ps`. */
  containers: number;
  /** Running containers for `container-memory`. */
  running: number;
  /** Measured repetitions of each image operation (`pull`, `save-load`). */
  imageRuns: number;
  /** The docker CLI that drives both daemons in the container and image benchmarks. */
  dockerCli: string;
  /** Pause between /_ping attempts while waiting for a daemon; 0 = tight loop. */
  pollMs: number;
  startTimeoutMs: number;
  against?: Endpoint;
  againstPids?: number[];
  againstStart?: string[];
  node: string;
  /** Extra options for our daemon's node (e.g. --max-semi-space-size=1), already split into words. */
  nodeArgs: string[];
  /** Extra options for our daemon itself (e.g. --exec-opt native.runtime=crun), split into words. */
  daemonArgs: string[];
  bundle: string;
  outDir: string;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [options]

Measures our daemon (and, with --against, another one side by side, printing ours/theirs ratios).

  --only NAME[,NAME]       run only these benchmarks (--list shows them)
  --list                   list the benchmarks and exit
  --backend fake|linux     backend of our daemon (default fake)
  --runs N                 measured daemon starts per target (default 10)
  --warmup-runs N          unmeasured starts before them (default 1)
  --requests N             sequential requests per path (default 2000)
  --warmup N               unmeasured requests before them (default 200)
  --concurrency N          clients in the concurrent run (default 8)
  --concurrent-requests N  requests in the concurrent run, in total (default 4000)
  --settle-ms N            idle time before memory is read (default 1500)
  --containers K           containers for churn and ps (default 200; the issue's figure is 1000)
  --running N              running sleep containers for container-memory (default 50)
  --image-runs N           measured pulls and save/load round trips per target (default 3)
  --docker-cli PATH        docker CLI for the container and image benchmarks (default /usr/local/bin/docker)
  --poll-ms N              pause between /_ping polls at start; 0 = tight loop (default 0)
  --start-timeout-ms N     give up on a daemon that does not answer (default 30000)
  --against [ADDR]         the other daemon: unix:///path.sock or tcp://host:port; without ADDR, $DOCKER_HOST
  --against-host           same as --against $DOCKER_HOST
  --against-pid PID[,PID]  processes whose memory is the other daemon's, summed (e.g. dockerd,containerd);
                           default: the socket's listeners (ss -xlp) and their descendants
  --against-start "CMD"    command that starts the other daemon: its start time is measured too, and it
                           is started for the session when its socket does not answer (stopped by pid, SIGTERM)
  --node PATH              node binary for our daemon (default: this one)
  --node-args "ARGS"       extra node options for our daemon and the baseline, e.g. "--max-semi-space-size=1"
  --daemon-args "ARGS"     extra options for our daemon, e.g. "--exec-opt native.runtime=crun"
  --bundle PATH            our daemon's bundle (default dist/docker.mjs)
  --out DIR                where results-<timestamp>.json goes (default .bench)
`;

/** Options whose value is itself a command line, so it may begin with a dash. */
const VALUE_MAY_START_WITH_DASH = new Set(['--node-args', '--daemon-args', '--against-start']);

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Parse the command line. `--against` may stand alone (then DOCKER_HOST names the daemon), and
 * the value of `--node-args` / `--against-start` may begin with a dash: both are rewritten to
 * `--flag=value` before node's parser, which would refuse them.
 */
export function parseBenchArgs(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const fromEnv = (flag: string): string => {
    const h = env.DOCKER_HOST;
    if (!h) throw new UsageError(`${flag} without an address needs DOCKER_HOST to be set`);
    return h;
  };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === '--against' && (next === undefined || next.startsWith('--'))) args.push(`--against=${fromEnv('--against')}`);
    else if (a === '--against-host') args.push(`--against=${fromEnv('--against-host')}`);
    else if (VALUE_MAY_START_WITH_DASH.has(a) && next !== undefined) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        list: { type: 'boolean' },
        only: { type: 'string' },
        backend: { type: 'string' },
        runs: { type: 'string' },
        'warmup-runs': { type: 'string' },
        requests: { type: 'string' },
        warmup: { type: 'string' },
        concurrency: { type: 'string' },
        'concurrent-requests': { type: 'string' },
        'settle-ms': { type: 'string' },
        containers: { type: 'string' },
        running: { type: 'string' },
        'image-runs': { type: 'string' },
        'docker-cli': { type: 'string' },
        'poll-ms': { type: 'string' },
        'start-timeout-ms': { type: 'string' },
        against: { type: 'string' },
        'against-pid': { type: 'string' },
        'against-start': { type: 'string' },
        node: { type: 'string' },
        'node-args': { type: 'string' },
        'daemon-args': { type: 'string' },
        bundle: { type: 'string' },
        out: { type: 'string' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const backend = values.backend ?? 'fake';
  if (backend !== 'fake' && backend !== 'linux') throw new UsageError(`--backend must be fake or linux, got ${JSON.stringify(backend)}`);
  let against: Endpoint | undefined;
  if (values.against !== undefined) {
    try {
      against = parseEndpoint(values.against);
    } catch (e) {
      throw new UsageError(`--against ${values.against}: ${(e as Error).message}`);
    }
  }
  let againstPids: number[] | undefined;
  if (values['against-pid'] !== undefined) {
    againstPids = values['against-pid'].split(',').map((p) => positiveInt('against-pid', p.trim(), 0));
  }
  let againstStart: string[] | undefined;
  if (values['against-start'] !== undefined) {
    againstStart = splitCommand(values['against-start']);
    if (againstStart.length === 0) throw new UsageError('--against-start needs a command');
  }
  if ((againstPids || againstStart) && !against) throw new UsageError('--against-pid and --against-start need --against ADDR');
  const concurrency = positiveInt('concurrency', values.concurrency, 8);
  return {
    help: values.help ?? false,
    list: values.list ?? false,
    only: (values.only ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    backend,
    runs: positiveInt('runs', values.runs, 10),
    warmupRuns: positiveInt('warmup-runs', values['warmup-runs'], 1, 0),
    requests: positiveInt('requests', values.requests, 2000),
    warmup: positiveInt('warmup', values.warmup, 200, 0),
    concurrency,
    concurrentRequests: positiveInt('concurrent-requests', values['concurrent-requests'], 4000, concurrency),
    settleMs: positiveInt('settle-ms', values['settle-ms'], 1500, 0),
    containers: positiveInt('containers', values.containers, 200),
    running: positiveInt('running', values.running, 50),
    imageRuns: positiveInt('image-runs', values['image-runs'], 3),
    dockerCli: values['docker-cli'] ?? '/usr/local/bin/docker',
    pollMs: positiveInt('poll-ms', values['poll-ms'], 0, 0),
    startTimeoutMs: positiveInt('start-timeout-ms', values['start-timeout-ms'], 30_000),
    against,
    againstPids,
    againstStart,
    node: values.node ?? process.execPath,
    nodeArgs: splitCommand(values['node-args'] ?? ''),
    daemonArgs: splitCommand(values['daemon-args'] ?? ''),
    bundle: values.bundle ?? 'dist/docker.mjs',
    outDir: values.out ?? '.bench',
  };
}
