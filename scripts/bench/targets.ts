import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatEndpoint, pingOnce, waitForPing, type Endpoint } from './http-probe';
import { startProcess, type StartedProcess } from './processes';
import { descendants, socketOwners } from './procfs';

/** A way to start a fresh instance of a daemon, for start-up measurements and sessions. */
export interface Launcher {
  /**
   * Spawn the daemon; the caller waits for its endpoint and stops it. Launches with the same
   * `slot` share their state (a restart); different slots never share a socket or pidfile.
   */
  launch(slot: string): StartedProcess;
  /** Where the instance launched in `slot` listens. */
  endpoint(slot: string): Endpoint;
}

/** A daemon that answers /_ping, ready to be measured. */
export interface Session {
  readonly endpoint: Endpoint;
  /** The processes whose memory is the daemon's, and how they were found. */
  memoryPids(): Promise<{ pids: number[]; source: string }>;
}

/** One side of the comparison: our daemon, or the one given with --against. */
export interface Target {
  readonly side: 'ours' | 'theirs';
  /** What it is, for the report: `tsdocker (fake backend)`, `unix:///run/docker.sock`. */
  readonly description: string;
  /** Present when the benchmark can start instances of this daemon itself. */
  readonly launcher?: Launcher;
  /** The running daemon to measure, started on first use when the benchmark owns it. */
  session(): Promise<Session>;
  /** Stop whatever this target started. */
  close(): Promise<void>;
}

export interface WaitTuning {
  timeoutMs: number;
  pollMs: number;
}

/** Wait until a launched daemon answers /_ping; fails early, with its log, if it exits. */
export async function waitUntilReady(p: StartedProcess, endpoint: Endpoint, tuning: WaitTuning): Promise<bigint> {
  try {
    return await waitForPing(endpoint, { timeoutMs: tuning.timeoutMs, intervalMs: tuning.pollMs, abort: p.exitReason });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- last output of pid ${p.pid} ---\n${p.logTail()}`);
  }
}

/** The memory owners of a daemon we started: its process and everything it spawned. */
async function launchedFamily(pid: number): Promise<{ pids: number[]; source: string }> {
  return { pids: [pid, ...(await descendants(pid))], source: `pid ${pid} (started by the benchmark) and its descendants` };
}

/**
 * Wrap `inner` so that every instance it launches, for the session or for a start measurement,
 * is remembered until it exits; `stopAll` stops those still running (used on close and Ctrl-C).
 */
function trackLaunches(inner: Launcher): { launcher: Launcher; stopAll: () => Promise<void> } {
  const live = new Set<StartedProcess>();
  return {
    launcher: {
      endpoint: (slot) => inner.endpoint(slot),
      launch(slot) {
        const p = inner.launch(slot);
        live.add(p);
        void p.exited.then(() => live.delete(p));
        return p;
      },
    },
    stopAll: async () => {
      await Promise.all([...live].map((p) => p.stop()));
    },
  };
}

/** A target whose session is started from `launcher` on first use; close() stops every instance it launched. */
function launchedTarget(side: Target['side'], description: string, inner: Launcher, tuning: WaitTuning, pidsOverride?: number[]): Target {
  const { launcher, stopAll } = trackLaunches(inner);
  let started: Promise<Session> | undefined;
  return {
    side,
    description,
    launcher,
    session() {
      started ??= (async () => {
        const endpoint = launcher.endpoint('session');
        const p = launcher.launch('session');
        await waitUntilReady(p, endpoint, tuning).catch(async (e: unknown) => {
          await p.stop();
          throw e;
        });
        return {
          endpoint,
          memoryPids: async () => (pidsOverride ? { pids: pidsOverride, source: `--against-pid ${pidsOverride.join(',')}` } : launchedFamily(p.pid)),
        };
      })();
      return started;
    },
    close: stopAll,
  };
}

export interface OursOptions extends WaitTuning {
  node: string;
  nodeArgs: readonly string[];
  /** Extra options for `docker daemon` (--daemon-args). */
  daemonArgs?: readonly string[];
  bundle: string;
  backend: string;
  /** A scratch directory owned by the benchmark; each instance gets a folder inside it. */
  workDir: string;
}

/**
 * Our daemon: `node dist/docker.mjs daemon --backend B -g D/graph --exec-root D/exec -p D/pid -H unix://D/d.sock`,
 * with D = a folder per launch slot under the work directory.
 */
export function oursTarget(o: OursOptions): Target {
  const dirOf = (slot: string) => join(o.workDir, `ours-${slot}`);
  const launcher: Launcher = {
    endpoint: (slot) => ({ kind: 'unix', path: join(dirOf(slot), 'd.sock') }),
    launch(slot) {
      const dir = dirOf(slot);
      mkdirSync(dir, { recursive: true });
      const argv = [o.node, ...o.nodeArgs, o.bundle, 'daemon', '--backend', o.backend, '-g', join(dir, 'graph'), '--exec-root', join(dir, 'exec'), '-p', join(dir, 'pid'), '-H', `unix://${join(dir, 'd.sock')}`, ...(o.daemonArgs ?? [])];
      return startProcess(argv, join(dir, 'daemon.log'));
    },
  };
  const flags = o.nodeArgs.length > 0 ? ` ${o.nodeArgs.join(' ')}` : '';
  const daemonFlags = o.daemonArgs?.length ? ` daemon ${o.daemonArgs.join(' ')}` : '';
  return launchedTarget('ours', `tsdocker (${o.backend} backend, node${flags} ${o.bundle}${daemonFlags})`, launcher, o);
}

export interface TheirsOptions extends WaitTuning {
  endpoint: Endpoint;
  /** --against-pid: the processes whose memory to sum. */
  pids?: number[];
  /** --against-start: the command that starts this daemon, already split into words. */
  startArgv?: string[];
  workDir: string;
}

/**
 * The daemon given by --against. Already running: measured as is, its memory from --against-pid
 * or from the socket's listeners (`ss -xlp`) and their descendants. Not running but given
 * --against-start: started by the benchmark for the session and stopped at the end.
 */
export function theirsTarget(o: TheirsOptions): Target {
  const description = formatEndpoint(o.endpoint);
  const launcher: Launcher | undefined = o.startArgv && {
    endpoint: () => o.endpoint,
    launch(slot) {
      return startProcess(o.startArgv!, join(o.workDir, `theirs-${slot}.log`));
    },
  };
  const launched = launcher && launchedTarget('theirs', description, launcher, o, o.pids);
  const existing: Session = {
    endpoint: o.endpoint,
    async memoryPids() {
      if (o.pids) return { pids: o.pids, source: `--against-pid ${o.pids.join(',')}` };
      if (o.endpoint.kind !== 'unix') return { pids: [], source: 'unknown: a tcp daemon needs --against-pid' };
      const owners = await socketOwners(o.endpoint.path);
      const family = [...owners];
      for (const p of owners) family.push(...(await descendants(p)));
      return {
        pids: [...new Set(family)],
        source: owners.length > 0 ? `listeners of ${o.endpoint.path} (ss -xlp: ${owners.join(',')}) and their descendants` : `unknown: ss -xlp shows no listener on ${o.endpoint.path}; pass --against-pid`,
      };
    },
  };
  let usingLaunched = false;
  return {
    side: 'theirs',
    description,
    launcher: launched?.launcher,
    async session() {
      if (usingLaunched) return launched!.session();
      if (await pingOnce(o.endpoint)) return existing;
      if (!launched) throw new Error(`${description} does not answer GET /_ping; start it first or pass --against-start "COMMAND"`);
      usingLaunched = true;
      return launched.session();
    },
    close: async () => launched?.close(),
  };
}
