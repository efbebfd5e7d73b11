import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ContainersBackend } from '../api/routes/containers';
import type { ContainerFsBackend } from '../api/routes/container-fs';
import { containerFsBackend } from '../container/container-fs-backend';
import type { DaemonConfig } from '../config/daemon-options';
import { ContainerService } from '../container/container-service';
import { ContainerStore } from '../container/container-store';
import { containersBackend } from '../container/containers-backend';
import { ContainerStats } from '../container/stats';
import type { ContainerRecord } from '../container/container';
import type { LogDriver } from '../logs';
import type { EventBus } from '../events/events';
import type { ImageService } from '../image/image-service';
import type { Kernel } from '../kernel';
import type { AttachBackend } from '../api/routes/attach';
import { ExecService } from '../container/exec-service';
import { ContainerMounts } from '../container/mounts';
import type { VolumeService } from '../volume/volume-service';

export interface ContainerParts {
  service: ContainerService;
  backend: ContainersBackend;
  /** archive (docker cp), export, commit. */
  fsBackend: ContainerFsBackend;
  /** docker stats. */
  stats: ContainerStats;
  attach: AttachBackend;
  exec: ExecService;
}

/**
 * The container side of the daemon, when the kernel can run processes: records under
 * `<graph>/containers`, the service, and the routes' backend. Containers that were running
 * when the daemon stopped are restored per their restart policy.
 */
export async function composeContainers(opts: {
  config: DaemonConfig;
  kernel: Kernel;
  images: ImageService;
  events: EventBus;
  log: Logger;
  /** Containers' named and anonymous volumes. */
  volumes: VolumeService;
  openLog: (rec: ContainerRecord, dir: string, log?: Logger) => LogDriver;
}): Promise<ContainerParts | undefined> {
  const { kernel } = opts;
  if (!kernel.exec || !kernel.storage) return undefined;
  const store = new ContainerStore(join(opts.config.graph, 'containers'), opts.log.child({ component: 'containers' }));
  const mounts = new ContainerMounts({
    volumes: opts.volumes,
    hostFs: kernel.hostFs,
    storage: kernel.storage,
    events: opts.events,
    log: opts.log.child({ component: 'mounts' }),
    container: (ref) => store.get(ref),
  });
  const service = new ContainerService({
    config: opts.config,
    store,
    images: opts.images,
    storage: kernel.storage,
    exec: kernel.exec,
    events: opts.events,
    log: opts.log.child({ component: 'containers' }),
    openLog: (rec) => opts.openLog(rec, store.dir(rec.ID), opts.log),
    mounts,
  });
  opts.images.users = {
    containersUsing: (id) => service.containersUsing(id),
    chainsInUse: () => new Set(),
  };
  await service.restore();
  const fsBackend = containerFsBackend({
    store,
    storage: kernel.storage,
    images: opts.images,
    events: opts.events,
    pause: (id) => service.pause(id),
    unpause: (id) => service.unpause(id),
    tmpDir: join(opts.config.graph, 'tmp'),
  });
  const exec = new ExecService(service, kernel.exec, opts.events);
  const attach: AttachBackend = {
    get: (ref) => store.get(ref),
    output: (id) => service.output(id),
    whenStarted: (id) => service.whenStarted(id),
    attached: (id) => service.attached(id),
    logReader: (id) => service.logReader(id),
  };
  service.onRemoved = (id) => exec.forget(id);
  const driver = kernel.exec;
  const stats = new ContainerStats({
    lookup: (ref) => {
      const rec = store.get(ref);
      return { id: rec.ID, name: rec.Name, running: rec.State.Running };
    },
    sample: (id) => driver.stats(id),
    memTotal: async () => (await kernel.hostInfo.read()).memTotal,
  });
  return { service, backend: containersBackend(service, opts.images, kernel.storage, kernel.exec, (id) => exec.idsFor(id)), fsBackend, attach, exec, stats };
}
