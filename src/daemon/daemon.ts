import { chmod, mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { buildApi } from '../api/server';
import { destroyConnections, openListeners, type Listener } from '../api/listeners';
import type { DaemonConfig } from '../config/daemon-options';
import { formatHost } from '../config/hosts';
import { Engine } from '../engine/engine';
import type { Kernel, KernelFactory } from '../kernel';
import { SystemService } from '../system/system-service';
import { createPidfile } from './pidfile';
import { composeImages } from './compose-images';
import { composeContainers } from './compose-containers';
import { openContainerLog } from '../logs/open';
import { composeVolumes } from './compose-volumes';
import { EventBus } from '../events/events';
import { FaultInjector } from '../api/faults';
import { diskUsage } from '../system/disk-usage';

export interface DaemonDeps {
  config: DaemonConfig;
  kernelFactory: KernelFactory;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Where registry TLS material lives (default /etc/docker/certs.d, or $DOCKER_CERTS_DIR). */
  certsDir?: string;
  /** Write the pidfile (default true); in-process test daemons turn it off. */
  pidfile?: boolean;
}

export interface RunningDaemon {
  readonly config: DaemonConfig;
  readonly kernel: Kernel;
  readonly app: FastifyInstance;
  readonly listeners: Listener[];
  readonly engine: Engine;
  /** Graceful stop: stop accepting, cancel jobs, close listeners, remove socket and pidfile. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Compose and start a daemon from explicit parts. Nothing is bound before the config has been
 * validated (the caller does that) and the state directories and pidfile are in place; a
 * failure at any step undoes the steps before it.
 */
export async function startDaemon(deps: DaemonDeps): Promise<RunningDaemon> {
  const { config, log } = deps;
  const undo: (() => Promise<void>)[] = [];
  const rollback = async () => {
    for (const u of undo.reverse()) await u().catch(() => undefined);
  };
  try {
    if (deps.pidfile !== false) undo.push(await createPidfile(config.pidfile));
    for (const dir of [config.graph, config.execRoot]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    }
    const kernel = await deps.kernelFactory({ config, logger: log.child({ component: 'kernel' }) });
    undo.push(() => kernel.close());
    log.info({ backend: kernel.name }, `kernel backend: ${kernel.name}`);

    const engine = new Engine(log);
    const warnings = apiWarnings(config);
    const id = await SystemService.loadId(kernel, config.graph);
    const system = new SystemService(config, kernel, log.child({ component: 'system' }), id, warnings);
    const events = new EventBus();
    const images = await composeImages({ config, kernel, events, log, env: deps.env ?? process.env, certsDir: deps.certsDir });
    const volumes = await composeVolumes({ config, kernel, events, log });
    const containers = images
      ? await composeContainers({ config, kernel, images: images.service, events, log, volumes, openLog: openContainerLog })
      : undefined;
    system.setCounters({
      containers: () => containers?.service.counts() ?? { total: 0, running: 0, paused: 0, stopped: 0 },
      images: () => images?.service.count() ?? 0,
      eventListeners: () => events.subscribers,
    });

    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const app = buildApi({
      log,
      engine,
      backends: { system, images: images?.backend, volumes, containers: containers?.backend, containerFs: containers?.fsBackend, attach: containers?.attach, exec: containers?.exec, events,
        containerStats: containers?.stats,
        diskUsage: { diskUsage: () => diskUsage({ images: images?.service, containers: containers?.backend, volumes }) },
        emulator: kernel.emulator ? { faults: new FaultInjector(), clock: kernel.emulator.clock } : undefined,
      },
      corsHeader: config.apiCorsHeader,
      serverFactory: (h) => {
        handler = h;
      },
    });
    await app.ready();
    undo.push(() => app.close());

    const listeners = await openListeners(handler!, {
      hosts: config.hosts,
      tls: config.tls ? { cert: config.tlscert, key: config.tlskey, ca: config.tlscacert, verify: config.tlsverify } : undefined,
      group: config.group,
      log,
      env: deps.env,
    });
    log.info('Daemon has completed initialization');

    let stopping: Promise<void> | undefined;
    const pidUndo = deps.pidfile !== false ? undo[0] : undefined;
    return {
      config,
      kernel,
      app,
      listeners,
      engine,
      stop(graceMs = 10_000) {
        stopping ??= (async () => {
          log.info('Processing signal: stopping the daemon');
          const closing = Promise.all(listeners.map((l) => l.close()));
          await containers?.service.shutdown(Math.ceil(graceMs / 1000));
          await engine.shutdown(graceMs);
          // Attach/exec/logs/events streams that are still open end here.
          for (const l of listeners) destroyConnections(l.server);
          await closing;
          await app.close();
          await volumes.close();
          await kernel.close();
          await pidUndo?.();
          log.info('Daemon shutdown complete');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await rollback();
    throw e;
  }
}

const ATTACK_SURFACE = `
         Access to the remote API is equivalent to root access on the host. Refer
         to the 'Docker daemon attack surface' section in the documentation for
         more information: https://docs.docker.com/go/attack-surface/`;

/** The /info warnings about tcp listeners, worded as dockerd 20.10 words them (daemon/info.go). */
export function apiWarnings(config: Pick<DaemonConfig, 'hosts' | 'tls' | 'tlsverify'>): string[] {
  const out: string[] = [];
  for (const h of config.hosts) {
    if (h.proto !== 'tcp') continue;
    const addr = formatHost(h).slice('tcp://'.length);
    if (!config.tls) out.push(`WARNING: API is accessible on http://${addr} without encryption.${ATTACK_SURFACE}`);
    else if (!config.tlsverify) out.push(`WARNING: API is accessible on https://${addr} without TLS client verification.${ATTACK_SURFACE}`);
  }
  return out;
}
