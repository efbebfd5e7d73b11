import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { daemonUsage, FlagError, parseDaemonArgs, type DaemonConfig } from '../config/daemon-options';
import { DEFAULT_UNIX_SOCKET } from '../config/hosts';
import { startDaemon, type RunningDaemon } from '../daemon/daemon';
import type { KernelFactory } from '../kernel';
import { CliExit, type CliIo } from './io';

export interface BackendChoice {
  linux: () => Promise<KernelFactory>;
  fake: () => Promise<KernelFactory>;
  /** Why the Linux backend cannot run here, or undefined when it can. */
  linuxUnavailable: (runtime: string) => Promise<string | undefined>;
}

/**
 * Where a daemon run without root keeps its state when the flags do not say: the places
 * rootless Docker uses ($XDG_DATA_HOME, $XDG_RUNTIME_DIR), since /var/lib and /var/run are root's.
 */
export function applyUserDefaults(config: DaemonConfig, explicit: Set<string>, env: NodeJS.ProcessEnv, uid = process.getuid?.() ?? 0): DaemonConfig {
  const runtimeDir = uid === 0 ? undefined : env.XDG_RUNTIME_DIR || join(tmpdir(), `tsdocker-${uid}`);
  const c = { ...config };
  if (uid !== 0) {
    if (!explicit.has('graph')) c.graph = join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'tsdocker');
    if (!explicit.has('exec-root')) c.execRoot = join(runtimeDir!, 'tsdocker');
    if (!explicit.has('pidfile')) c.pidfile = join(runtimeDir!, 'tsdocker.pid');
  }
  if (c.hosts.length === 0) c.hosts = [{ proto: 'unix', path: runtimeDir ? join(runtimeDir, 'docker.sock') : DEFAULT_UNIX_SOCKET }];
  return c;
}

export function makeLogger(config: DaemonConfig): Logger {
  const level = config.logLevel === 'panic' ? 'fatal' : config.logLevel;
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** `docker daemon [OPTIONS]`: parse, validate, choose the backend, start, and stop on signals. */
export async function runDaemon(args: string[], io: CliIo, backends: BackendChoice): Promise<number> {
  let parsed;
  try {
    parsed = parseDaemonArgs(args, io.env);
  } catch (e) {
    if (e instanceof FlagError) throw new CliExit(`docker daemon: ${e.message}\nSee 'docker daemon --help'.`, 125);
    throw e;
  }
  if (parsed.help) {
    io.stdout.write(daemonUsage());
    return 0;
  }
  let config = applyUserDefaults(parsed.config, parsed.explicit, io.env);
  const log = makeLogger(config);

  const runtime = config.execOpts['native.runtime'] ?? 'runc';
  let backendName = config.backend;
  if (backendName === '') {
    const reason = await backends.linuxUnavailable(runtime);
    backendName = reason ? 'fake' : 'linux';
    log.info({ backend: backendName }, reason ? `using the fake backend: ${reason}` : `using the linux backend: running as root with ${runtime}`);
  } else {
    log.info({ backend: backendName }, `using the ${backendName} backend: chosen with --backend`);
  }
  config = { ...config, backend: backendName };
  const kernelFactory = await backends[backendName]();

  let daemon: RunningDaemon;
  try {
    daemon = await startDaemon({ config, kernelFactory, log, env: io.env });
  } catch (e) {
    log.flush();
    throw new CliExit(`docker daemon: ${(e as Error).message}`, 1);
  }

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals >= 3) {
        log.warn(`Forcing daemon shutdown after ${sig}`);
        log.flush();
        process.exit(1);
      }
      if (signals === 1) {
        log.info({ signal: sig }, `Processing signal '${sig}'`);
        void daemon.stop().then(
          () => {
            log.flush();
            resolve(0);
          },
          (err: unknown) => {
            log.error({ err }, 'error while stopping the daemon');
            log.flush();
            resolve(1);
          },
        );
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
