import type { ContainersBackend } from '../api/routes/containers';
import { ConflictError, InvalidParameterError } from '../errors';
import type { ImageService } from '../image/image-service';
import { parseUntil } from '../image/image-service';
import type { ExecDriver, StorageDriver } from '../kernel';
import type { ContainerService, WaitCondition } from './container-service';
import { MANAGED_FILES } from './spec';
import { filterContainers, inspectView, listView } from './container-view';


/** The container routes' backend over the container service. */
export function containersBackend(svc: ContainerService, images: ImageService, storage: StorageDriver, exec: ExecDriver, execIds: (id: string) => string[]): ContainersBackend {
  const store = svc.store;
  const running = (ref: string) => {
    const rec = store.get(ref);
    if (!rec.State.Running) throw new ConflictError(`Container ${rec.ID} is not running`);
    return rec;
  };
  const sizes = async (id: string, rwLayer: string, initLayer: string, imageId: string) => {
    const rw = await storage.diffSize(rwLayer, initLayer).catch(() => 0);
    const img = images.images.get(imageId as never);
    return { rw, rootfs: (img ? images.size(img) : 0) + rw };
  };
  return {
    async list(o) {
      const recs = filterContainers(store.all(), {
        all: o.all,
        limit: o.limit,
        filters: o.filters,
        resolve: (r) => store.get(r),
        imageMatches: (rec, anc) => {
          const img = images.tryResolve(anc);
          return img ? img.id === rec.Image : rec.ImageName === anc;
        },
      });
      return Promise.all(recs.map(async (r) => listView(r, o.size ? await sizes(r.ID, r.RWLayer, r.InitLayer, r.Image) : undefined)));
    },
    create: (body, name) => svc.create(body, name),
    async inspect(ref, size) {
      const r = store.get(ref);
      return inspectView(r, { stateDir: store.dir(r.ID), execIds: execIds(r.ID), size: size ? await sizes(r.ID, r.RWLayer, r.InitLayer, r.Image) : undefined });
    },
    async top(ref, psArgs) {
      const r = running(ref);
      return exec.top(r.ID, psArgs);
    },
    async changes(ref) {
      const r = store.get(ref);
      let list = (await storage.changes(r.RWLayer, r.InitLayer)).filter((c) => !MANAGED_FILES.has(c.Path));
      // /etc changed only because of the managed files: not a change the user made.
      if (!list.some((c) => c.Path.startsWith('/etc/'))) list = list.filter((c) => !(c.Path === '/etc' && c.Kind === 0));
      return list.length ? list.map((c) => ({ Path: c.Path, Kind: c.Kind })) : null;
    },
    start: (ref) => svc.start(ref),
    stop: (ref, t) => svc.stop(ref, t),
    restart: (ref, t) => svc.restart(ref, t),
    kill: (ref, sig) => svc.kill(ref, sig ?? 'SIGKILL'),
    pause: (ref) => svc.pause(ref),
    unpause: (ref) => svc.unpause(ref),
    rename: (ref, name) => svc.rename(ref, name),
    async update(ref, body) {
      const r = store.get(ref);
      const b = (body ?? {}) as Record<string, unknown>;
      const res: Record<string, number | string | undefined> = {};
      for (const k of ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'NanoCpus', 'PidsLimit', 'BlkioWeight']) {
        if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'number') throw new InvalidParameterError(`invalid ${k}: must be a number`);
      }
      for (const k of ['CpusetCpus', 'CpusetMems']) if (b[k] !== undefined && typeof b[k] !== 'string') throw new InvalidParameterError(`invalid ${k}: must be a string`);
      if (typeof b.Memory === 'number' && b.Memory > 0 && b.Memory < 6 * 1024 * 1024) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
      if (b.RestartPolicy) {
        const rp = b.RestartPolicy as { Name?: string; MaximumRetryCount?: number };
        if (r.HostConfig.AutoRemove && rp.Name && rp.Name !== 'no') throw new InvalidParameterError('Restart policy cannot be updated because AutoRemove is enabled for the container');
        r.HostConfig.RestartPolicy = { Name: (rp.Name || 'no') as never, MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
      }
      for (const [k, v] of Object.entries(b)) if (k !== 'RestartPolicy' && v !== undefined) (r.HostConfig as Record<string, unknown>)[k] = v;
      Object.assign(res, b);
      if (r.State.Running) {
        await exec.update(r.ID, {
          memory: b.Memory as number | undefined, memorySwap: b.MemorySwap as number | undefined, memoryReservation: b.MemoryReservation as number | undefined,
          cpuShares: b.CpuShares as number | undefined, cpuQuota: b.CpuQuota as number | undefined, cpuPeriod: b.CpuPeriod as number | undefined,
          nanoCpus: b.NanoCpus as number | undefined, cpusetCpus: b.CpusetCpus as string | undefined, cpusetMems: b.CpusetMems as string | undefined,
          pidsLimit: b.PidsLimit as number | undefined, blkioWeight: b.BlkioWeight as number | undefined,
        });
      }
      await store.save(r);
      return { Warnings: [] };
    },
    async resize(ref, h, w) {
      const r = running(ref);
      await exec.resize(r.ID, w, h);
    },
    wait: (ref, cond, signal) => svc.wait(ref, (cond || 'not-running') as WaitCondition, signal),
    remove: (ref, o) => {
      if (o.link) throw new InvalidParameterError('Conflict, cannot remove the default link name of the container');
      return svc.remove(ref, { force: o.force, removeVolumes: o.volumes });
    },
    async prune(filters) {
      for (const k of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(k)) throw new InvalidParameterError(`Invalid filter '${k}'`);
      const until = filters.until?.[0] ? parseUntil(filters.until[0]) : undefined;
      const deleted: string[] = [];
      let space = 0;
      for (const r of store.all()) {
        if (r.State.Running || r.State.Restarting || r.State.Paused) continue;
        if (until !== undefined && Date.parse(r.Created) >= until) continue;
        const labels = r.Config.Labels ?? {};
        const has = (l: string) => {
          const eq = l.indexOf('=');
          return eq < 0 ? l in labels : labels[l.slice(0, eq)] === l.slice(eq + 1);
        };
        if (filters.label && !filters.label.every(has)) continue;
        if (filters['label!'] && filters['label!'].some(has)) continue;
        space += await storage.diffSize(r.RWLayer, r.InitLayer).catch(() => 0);
        await svc.remove(r.ID);
        deleted.push(r.ID);
      }
      return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: space };
    },
  };
}
