import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-options';
import { ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, UnavailableError, isDockerError } from '../errors';
import type { EventBus } from '../events/events';
import type { Digest } from '../image/digest';
import type { ImageService } from '../image/image-service';
import { familiarString, parseReference, withDefaultTag } from '../image/reference';
import type { ExecDriver, ExitStatus, StorageDriver } from '../kernel';
import { rfc3339Nano } from '../system/system-service';
import { newState, type ContainerRecord, type MountPoint, type Status } from './container';
import { ContainerStore } from './container-store';
import { parseCreateBody } from './create-config';
import { HealthMonitors, mergeHealthConfig } from './health';
import { checkName, generateName } from './names';
import { ContainerRuntime } from './runtime';
import { Broadcaster } from '../streams/broadcaster';
import type { LogDriver } from '../logs';
import { buildSpec } from './spec';
import type { ContainerMounts } from './mounts';
import { signalNumber } from './signals';

export interface ContainerServiceDeps {
  config: DaemonConfig;
  store: ContainerStore;
  images: ImageService;
  storage: StorageDriver;
  exec: ExecDriver;
  events: EventBus;
  log: Logger;
  /** Opens the log driver for a container (json-file by default). */
  openLog(rec: ContainerRecord): LogDriver;
  /** Binds, volumes and tmpfs mounts of the containers. */
  mounts: ContainerMounts;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

interface Waiter {
  condition: WaitCondition;
  resolve(v: { StatusCode: number; Error: { Message: string } | null }): void;
}

const now = () => rfc3339Nano(new Date());

/**
 * Containers: the state machine (created, running, paused, restarting, exited, dead, removing),
 * each transition persisted before it is reported, with Docker's 304/409 answers for illegal
 * ones; processes through the kernel's ExecDriver; restart policies; events.
 */
export class ContainerService {
  private readonly runtimes = new Map<string, ContainerRuntime>();
  /** Output fan-out of each container's current (or next) run; attach can subscribe before start. */
  private readonly outputs = new Map<string, Broadcaster>();
  private readonly startWaiters = new Map<string, ((r: ContainerRuntime | undefined) => void)[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private shuttingDown = false;
  /** Told when a container is removed (exec instances are forgotten). */
  onRemoved?: (id: string) => void;

  /** Health-check monitors of the running containers. */
  private readonly health: HealthMonitors;

  constructor(private readonly d: ContainerServiceDeps) {
    this.health = new HealthMonitors({
      exec: d.exec,
      find: (id) => d.store.find(id),
      event: (rec, action, extra) => this.event(rec, action, extra),
      checkpoint: (rec) => this.locked(rec.ID, async () => (d.store.find(rec.ID) === rec ? d.store.checkpoint(rec) : undefined)),
      log: d.log,
    });
  }

  get store(): ContainerStore {
    return this.d.store;
  }

  /** Serialise state changes of one container. */
  private async locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(id, next.catch(() => undefined));
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.d.store.all();
    const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = all.filter((c) => c.State.Paused).length;
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  /** Images the containers use (for image removal rules). */
  containersUsing(imageId: Digest): { id: string; running: boolean }[] {
    return this.d.store.all().filter((c) => c.Image === imageId).map((c) => ({ id: c.ID, running: c.State.Running }));
  }

  private event(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.d.events.publish('container', action, rec.ID, { ...rec.Config.Labels, image: rec.ImageName, name: rec.Name.slice(1), ...extra });
  }

  // ---- create -------------------------------------------------------------------------

  async create(body: unknown, name: string | undefined): Promise<{ Id: string; Warnings: string[] }> {
    const { config, hostConfig } = parseCreateBody(body);
    if (!config.Image) throw new InvalidParameterError('No image specified');
    let cname: string;
    if (name) {
      cname = checkName(name);
      const taken = this.d.store.nameTaken(cname);
      if (taken) {
        throw new ConflictError(nameInUse(cname, taken.ID));
      }
    } else cname = generateName((n) => Boolean(this.d.store.nameTaken(n)));
    const image = this.d.images.tryResolve(config.Image);
    if (!image) {
      let shown = config.Image;
      try {
        shown = familiarString(withDefaultTag(parseReference(config.Image)));
      } catch {
        /* an ID or invalid name: shown as given */
      }
      throw new NotFoundError(`No such image: ${shown}`);
    }
    const ic = image.config.config ?? {};
    const entrypoint = config.Entrypoint ?? ic.Entrypoint ?? null;
    const cmd = config.Cmd ?? (config.Entrypoint ? null : (ic.Cmd ?? null));
    const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
    if (argv.length === 0) throw new InvalidParameterError('No command specified');

    const id = randomBytes(32).toString('hex');
    const top = image.chain[image.chain.length - 1];
    const parentCache = top ? this.d.images.layers.get(top)!.cacheId : null;
    const initLayer = `${id}-init`;
    const removeLayers = async () => {
      await this.d.storage.remove(id).catch(() => undefined);
      await this.d.storage.remove(initLayer).catch(() => undefined);
    };
    // Both at once, usable before they are on disk: a driver that can (overlay2) flushes the two
    // layers and, below, the record together. A crash that keeps the record and loses a layer
    // is repaired at the next start (repairLayers).
    const made = await Promise.allSettled([this.d.storage.createUsable(initLayer, parentCache), this.d.storage.createUsable(id, initLayer)]);
    const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await removeLayers();
      throw failed.reason;
    }
    const layersDurable = Promise.all(made.map((r) => (r as PromiseFulfilledResult<{ durable: Promise<void> }>).value.durable));
    // The image's defaults fill what the request left empty (as in inspect's Config).
    const merged = {
      ...config,
      Env: mergeEnv(ic.Env ?? [], config.Env ?? []),
      Cmd: cmd,
      Entrypoint: config.Entrypoint ?? ic.Entrypoint ?? null,
      WorkingDir: config.WorkingDir || ic.WorkingDir || '',
      User: config.User || ic.User || '',
      Labels: { ...(ic.Labels ?? {}), ...config.Labels },
      // dockerd's runconfig.Merge: the image's volumes are added to the request's.
      Volumes: Object.keys(config.Volumes ?? {}).length ? { ...config.Volumes, ...ic.Volumes } : (ic.Volumes ?? null),
      ExposedPorts: config.ExposedPorts ?? ic.ExposedPorts ?? undefined,
      StopSignal: config.StopSignal ?? ic.StopSignal,
      Healthcheck: mergeHealthConfig(config.Healthcheck, ic.Healthcheck),
      Hostname: config.Hostname || id.slice(0, 12),
    };
    if (merged.ExposedPorts === undefined) delete merged.ExposedPorts;
    if (merged.StopSignal === undefined) delete merged.StopSignal;
    if (merged.Healthcheck === undefined) delete merged.Healthcheck;
    let mountPoints: MountPoint[];
    try {
      mountPoints = await this.d.mounts.create(id, id, hostConfig, merged.Volumes);
    } catch (e) {
      await layersDurable.catch(() => undefined);
      await removeLayers();
      throw e;
    }
    if (!hostConfig.LogConfig.Type) hostConfig.LogConfig = { Type: this.d.config.logDriver, Config: { ...this.d.config.logOpts, ...hostConfig.LogConfig.Config } };
    const rec: ContainerRecord = {
      ID: id,
      Created: now(),
      Path: argv[0]!,
      Args: argv.slice(1),
      Config: merged,
      HostConfig: hostConfig,
      Image: image.id,
      ImageName: config.Image,
      Name: `/${cname}`,
      RestartCount: 0,
      State: newState(),
      Networks: {},
      MountPoints: mountPoints,
      HasBeenManuallyStopped: false,
      HasBeenStartedBefore: false,
      RWLayer: id,
      InitLayer: initLayer,
      Driver: this.d.storage.name,
      LogPath: hostConfig.LogConfig.Type === 'json-file' ? join(this.d.store.dir(id), `${id}-json.log`) : '',
    };
    const stored = await Promise.allSettled([layersDurable, this.d.store.save(rec)]);
    const notStored = stored.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (notStored) {
      // Nothing of it may stay: the record without its layers, or the layers without a record.
      await this.d.store.delete(id).catch(() => undefined);
      await this.d.mounts.remove(rec, true).catch(() => undefined);
      await removeLayers();
      throw notStored.reason;
    }
    this.event(rec, 'create');
    return { Id: id, Warnings: [] };
  }

  // ---- start / exit ------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.locked(rec.ID, async () => {
      if (rec.State.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
      if (rec.State.Running) throw new NotModifiedError('container already started');
      if (rec.State.Status === 'removing' || rec.State.Dead) throw new ConflictError(`container is marked for removal and cannot be started`);
      rec.HasBeenManuallyStopped = false;
      try {
        await this.startProcess(rec);
      } catch (e) {
        // As dockerd: a container that cannot start is removed when it was made with --rm
        // (the docker CLI waits for that removal before it reports the error).
        if (rec.HostConfig.AutoRemove) await this.removeNow(rec, { removeVolumes: true }).catch(() => undefined);
        throw e;
      }
    });
  }

  private async startProcess(rec: ContainerRecord): Promise<void> {
    this.clearRestartTimer(rec.ID);
    const rootfs = await this.d.storage.get(rec.RWLayer);
    let runtime: ContainerRuntime;
    let mounted = false;
    try {
      const mounts = await this.d.mounts.start(rec);
      mounted = true;
      const spec = buildSpec(rec, rootfs, this.d.config, this.d.store.dir(rec.ID), mounts);
      const proc = await this.d.exec.start(spec);
      runtime = new ContainerRuntime(proc, this.d.openLog(rec), this.output(rec.ID));
      this.runtimes.set(rec.ID, runtime);
      this.notifyStarted(rec.ID, runtime);
      rec.State = { ...rec.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: proc.pid, ExitCode: 0, Error: '', StartedAt: now() };
      rec.HasBeenStartedBefore = true;
      this.health.start(rec);
      // On its way to disk meanwhile (the record's later writes queue behind it): a daemon that
      // dies first finds the container through its monitor, and dockerd too only logs a
      // failure to store the started state.
      void this.d.store.checkpoint(rec).catch((e: unknown) => this.d.log.error({ err: e, id: rec.ID }, 'failed to store the started container'));
    } catch (e) {
      await this.d.storage.put(rec.RWLayer).catch(() => undefined);
      if (mounted) await this.d.mounts.stopped(rec);
      const exitCode = isDockerError(e) && e.code === 'NotFound' ? 127 : isDockerError(e) && e.code === 'Forbidden' ? 126 : 128;
      rec.State = { ...rec.State, Status: rec.HasBeenStartedBefore ? 'exited' : 'created', Running: false, Restarting: false, ExitCode: exitCode, Error: (e as Error).message, Pid: 0 };
      await this.d.store.save(rec);
      if (isDockerError(e) && (e.code === 'NotFound' || e.code === 'Forbidden')) {
        throw new InvalidParameterError(`OCI runtime create failed: container_linux.go:380: starting container process caused: ${(e as Error).message}: unknown`);
      }
      throw e;
    }
    this.event(rec, 'start');
    void runtime.done.then((status) => this.onExit(rec.ID, runtime, status));
  }

  private async onExit(id: string, runtime: ContainerRuntime, status: ExitStatus): Promise<void> {
    await this.locked(id, async () => {
      const rec = this.d.store.find(id);
      if (!rec || this.runtimes.get(id) !== runtime) return;
      this.runtimes.delete(id);
      if (this.outputs.get(id) === runtime.output) this.outputs.delete(id);
      const restart = !this.shuttingDown && this.shouldRestart(rec, status);
      const autoRemove = !restart && rec.HostConfig.AutoRemove && !this.shuttingDown;
      // The runtime's state and the rootfs mount are independent: both go at once. A container
      // removed right away leaves both to the removal, which also does them at once and detaches
      // the still-mounted rootfs (its unmount ends in the background, see deleteMountedLayer).
      if (!autoRemove) await Promise.all([this.d.exec.delete(id).catch(() => undefined), this.d.storage.put(rec.RWLayer).catch(() => undefined)]);
      await this.d.mounts.stopped(rec);
      rec.State = { ...rec.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: status.exitCode, OOMKilled: status.oomKilled, FinishedAt: now() };
      this.health.stop(rec);
      if (status.oomKilled) this.event(rec, 'oom');
      this.event(rec, 'die', { exitCode: String(status.exitCode) });
      if (restart) {
        rec.State.Restarting = true;
        rec.State.Status = 'restarting';
      }
      // A container removed right away is not saved as exited first: a crash in between finds it
      // "running" with its monitor gone, and AutoRemove removes it at the next start.
      if (!autoRemove) await this.d.store.checkpoint(rec);
      this.notifyWaiters(rec, ['not-running', 'next-exit']);
      if (restart) this.scheduleRestart(rec);
      else if (autoRemove) await this.removeNow(rec, { removeVolumes: true, ended: true });
    });
  }

  private shouldRestart(rec: ContainerRecord, status: ExitStatus): boolean {
    if (rec.HasBeenManuallyStopped) return false;
    const p = rec.HostConfig.RestartPolicy;
    if (p.Name === 'always' || p.Name === 'unless-stopped') return true;
    if (p.Name === 'on-failure') return status.exitCode !== 0 && (p.MaximumRetryCount === 0 || rec.RestartCount < p.MaximumRetryCount);
    return false;
  }

  private scheduleRestart(rec: ContainerRecord): void {
    // Docker's back-off: 100 ms doubling, capped at a minute.
    const delay = Math.min(60_000, 100 * 2 ** Math.min(rec.RestartCount, 10));
    const timer = setTimeout(() => {
      this.restartTimers.delete(rec.ID);
      void this.locked(rec.ID, async () => {
        const cur = this.d.store.find(rec.ID);
        if (!cur || !cur.State.Restarting) return;
        cur.RestartCount++;
        await this.startProcess(cur).catch((e: unknown) => this.d.log.warn({ err: e, id: cur.ID }, 'restart failed'));
        this.event(cur, 'restart');
      });
    }, delay);
    timer.unref();
    this.restartTimers.set(rec.ID, timer);
  }

  private clearRestartTimer(id: string): void {
    const t = this.restartTimers.get(id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(id);
  }

  // ---- stop / kill / restart / pause ---------------------------------------------------

  async stop(ref: string, timeoutSec?: number): Promise<void> {
    const rec = this.d.store.get(ref);
    if (rec.State.Restarting) {
      this.clearRestartTimer(rec.ID);
      rec.HasBeenManuallyStopped = true;
      rec.State = { ...rec.State, Restarting: false, Status: 'exited' };
      await this.d.store.save(rec);
      this.event(rec, 'stop');
      return;
    }
    if (!rec.State.Running) throw new NotModifiedError('container already stopped');
    rec.HasBeenManuallyStopped = true;
    await this.d.store.save(rec);
    const runtime = this.runtimes.get(rec.ID);
    const t = timeoutSec ?? rec.Config.StopTimeout ?? 10;
    const sig = rec.Config.StopSignal ?? 'SIGTERM';
    if (rec.State.Paused) await this.unpause(rec.ID).catch(() => undefined);
    if (runtime) {
      await this.signal(rec, sig).catch(() => undefined);
      const exited = await waitFor(runtime.done, t < 0 ? Infinity : t * 1000);
      if (!exited) {
        this.d.log.info({ id: rec.ID, timeout: t }, `Container failed to exit within ${t} seconds of signal ${sig} - using the force`);
        await this.signal(rec, 'SIGKILL').catch(() => undefined);
        await runtime.done;
      }
      await this.settled(rec.ID);
    }
    this.event(rec, 'stop');
  }

  private async signal(rec: ContainerRecord, sig: string): Promise<void> {
    this.event(rec, 'kill', { signal: String(signalNumber(sig)) });
    await this.d.exec.signal(rec.ID, sig);
  }

  /** Wait until the exit handling of a container has run. */
  private async settled(id: string): Promise<void> {
    await (this.locks.get(id) ?? Promise.resolve());
    while (this.runtimes.has(id)) await new Promise((r) => setTimeout(r, 5));
    await (this.locks.get(id) ?? Promise.resolve());
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.d.store.get(ref);
    if (signalNumber(signal) === 0) throw new InvalidParameterError(`Invalid signal: ${signal}`);
    if (!rec.State.Running) throw new ConflictError(`Cannot kill container: ${ref}: Container ${rec.ID} is not running`);
    const n = signalNumber(signal);
    // Killing with SIGKILL or the stop signal is a user stop (restart policies stand down).
    if (n === 9 || n === signalNumber(rec.Config.StopSignal ?? 'SIGTERM')) {
      rec.HasBeenManuallyStopped = true;
      await this.d.store.save(rec);
    }
    await this.signal(rec, signal);
    if (n === 9) {
      await this.runtimes.get(rec.ID)?.done;
      await this.settled(rec.ID);
    }
  }

  async restart(ref: string, timeoutSec?: number): Promise<void> {
    const rec = this.d.store.get(ref);
    if (rec.State.Running) await this.stop(rec.ID, timeoutSec);
    await this.locked(rec.ID, async () => {
      rec.HasBeenManuallyStopped = false;
      await this.startProcess(rec);
    });
    this.event(rec, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.locked(rec.ID, async () => {
      if (!rec.State.Running) throw new ConflictError(`Container ${rec.ID} is not running`);
      if (rec.State.Paused) throw new ConflictError(`Container ${rec.ID} is already paused`);
      await this.d.exec.pause(rec.ID);
      rec.State = { ...rec.State, Paused: true, Status: 'paused' };
      this.health.pause(rec);
      await this.d.store.save(rec);
      this.event(rec, 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.d.store.get(ref);
    await this.locked(rec.ID, async () => {
      if (!rec.State.Paused) throw new ConflictError(`Container ${rec.ID} is not paused`);
      await this.d.exec.resume(rec.ID);
      rec.State = { ...rec.State, Paused: false, Status: 'running' };
      this.health.resume(rec);
      await this.d.store.save(rec);
      this.event(rec, 'unpause');
    });
  }

  // ---- wait / remove / rename -------------------------------------------------------------

  async wait(ref: string, condition: WaitCondition = 'not-running', signal?: AbortSignal): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.d.store.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameterError(`invalid condition: "${condition}"`);
    if (condition === 'not-running' && !rec.State.Running && !rec.State.Restarting) return { StatusCode: rec.State.ExitCode, Error: null };
    return new Promise((resolve, reject) => {
      const w: Waiter = { condition, resolve };
      const list = this.waiters.get(rec.ID) ?? [];
      list.push(w);
      this.waiters.set(rec.ID, list);
      signal?.addEventListener('abort', () => {
        const l = this.waiters.get(rec.ID);
        if (l) this.waiters.set(rec.ID, l.filter((x) => x !== w));
        reject(new UnavailableError('wait cancelled'));
      });
    });
  }

  private notifyWaiters(rec: ContainerRecord, conditions: WaitCondition[]): void {
    const list = this.waiters.get(rec.ID);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (conditions.includes(w.condition) && !(w.condition === 'not-running' && rec.State.Restarting)) w.resolve({ StatusCode: rec.State.ExitCode, Error: rec.State.Error ? { Message: rec.State.Error } : null });
      else keep.push(w);
    }
    if (keep.length) this.waiters.set(rec.ID, keep);
    else this.waiters.delete(rec.ID);
  }

  async remove(ref: string, opts: { force?: boolean; removeVolumes?: boolean } = {}): Promise<void> {
    const rec = this.d.store.get(ref);
    if (rec.State.Running || rec.State.Restarting) {
      if (!opts.force) {
        const how = rec.State.Paused ? `paused container ${rec.ID}. Unpause and then stop` : `running container ${rec.ID}. Stop`;
        throw new ConflictError(`You cannot remove a ${how} the container before attempting removal or force remove`);
      }
      this.clearRestartTimer(rec.ID);
      rec.HasBeenManuallyStopped = true;
      rec.HostConfig.AutoRemove = false;
      if (rec.State.Paused) await this.unpause(rec.ID).catch(() => undefined);
      if (this.runtimes.has(rec.ID)) await this.kill(rec.ID, 'SIGKILL').catch(() => undefined);
    }
    await this.locked(rec.ID, () => this.removeNow(rec, opts));
  }

  /** `ended`: the container's process is known to have exited (its runtime state and its layers then go at once). */
  private async removeNow(rec: ContainerRecord, opts: { removeVolumes?: boolean; ended?: boolean }): Promise<void> {
    if (rec.State.Status === 'removing') throw new ConflictError(`removal of container ${rec.ID} is already in progress`);
    rec.State.Status = 'removing';
    this.health.stop(rec);
    try {
      const runtimeGone = this.d.exec.delete(rec.ID).catch(() => undefined);
      if (!opts.ended) await runtimeGone;
      if (await this.d.storage.exists(rec.RWLayer)) await this.d.storage.remove(rec.RWLayer);
      if (await this.d.storage.exists(rec.InitLayer)) await this.d.storage.remove(rec.InitLayer);
      await runtimeGone;
      await this.d.store.delete(rec.ID);
    } catch (e) {
      rec.State.Status = 'dead';
      rec.State.Dead = true;
      await this.d.store.save(rec).catch(() => undefined);
      throw new SystemError(`unable to remove filesystem for ${rec.ID}: ${(e as Error).message}`);
    }
    await this.d.mounts.remove(rec, Boolean(opts.removeVolumes));
    this.event(rec, 'destroy');
    this.notifyWaiters(rec, ['removed', 'not-running', 'next-exit']);
    this.notifyStarted(rec.ID, undefined);
    this.onRemoved?.(rec.ID);
    this.outputs.get(rec.ID)?.end();
    this.outputs.delete(rec.ID);
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.d.store.get(ref);
    if (!newName) throw new InvalidParameterError('Neither old nor new names may be empty');
    const name = newName.replace(/^\//, '');
    if (`/${name}` === rec.Name) throw new InvalidParameterError('Renaming a container with the same name as its current name');
    const allocating = 'Error when allocating new name: ';
    try {
      checkName(`/${name}`);
    } catch (e) {
      throw new InvalidParameterError(`${allocating}${(e as Error).message}`);
    }
    const taken = this.d.store.nameTaken(name);
    if (taken) throw new ConflictError(`${allocating}${nameInUse(name, taken.ID)}`);
    const old = rec.Name;
    rec.Name = `/${name}`;
    await this.d.store.save(rec);
    this.event(rec, 'rename', { oldName: old });
  }

  // ---- attach ------------------------------------------------------------------------------

  runtime(id: string): ContainerRuntime | undefined {
    return this.runtimes.get(id);
  }

  /** The output fan-out of the container's current run, or of its next one when it is not running. */
  output(id: string): Broadcaster {
    let b = this.outputs.get(id);
    if (!b || b.isEnded) {
      b = new Broadcaster({ onDrop: (i) => this.d.log.info({ id, ...i }, 'dropped an attached client that fell behind') });
      this.outputs.set(id, b);
    }
    return b;
  }

  /** Resolves with the runtime once the container runs (at once when it already does); undefined if it is removed first. */
  whenStarted(id: string): Promise<ContainerRuntime | undefined> {
    const rt = this.runtimes.get(id);
    if (rt) return Promise.resolve(rt);
    return new Promise((resolve) => {
      const list = this.startWaiters.get(id) ?? [];
      list.push(resolve);
      this.startWaiters.set(id, list);
    });
  }

  private notifyStarted(id: string, rt: ContainerRuntime | undefined): void {
    const list = this.startWaiters.get(id);
    this.startWaiters.delete(id);
    for (const r of list ?? []) r(rt);
  }

  /** Publish the `attach` event. */
  attached(id: string): void {
    const rec = this.d.store.find(id);
    if (rec) this.event(rec, 'attach');
  }

  /** A reader for the container's logs: the live driver while it runs, else a fresh one on its files. */
  logReader(id: string): { driver: LogDriver; stopped: Promise<void>; running: boolean } {
    const rec = this.d.store.get(id);
    const rt = this.runtimes.get(rec.ID);
    if (rt) return { driver: rt.log, stopped: rt.done.then(() => undefined), running: true };
    return { driver: this.d.openLog(rec), stopped: Promise.resolve(), running: false };
  }

  // ---- daemon life ---------------------------------------------------------------------------

  /**
   * After a daemon restart: containers whose processes outlived the daemon (a driver with a
   * monitor) are followed again; the others that were running are marked exited (255). Restart
   * policies then apply.
   */
  async restore(): Promise<void> {
    const survivors = new Map((await this.d.exec.restore?.()) ?.map((r) => [r.id, r]) ?? []);
    for (const rec of await this.d.store.load()) {
      this.d.mounts.restore(rec);
      if (rec.State.Status === 'removing') {
        await this.removeNow(rec, {}).catch(() => undefined);
        continue;
      }
      await this.repairLayers(rec);
      const survivor = survivors.get(rec.ID);
      if (survivor) {
        await this.d.storage.get(rec.RWLayer).catch((e: unknown) => this.d.log.warn({ err: e, id: rec.ID }, 'could not re-mount a restored container'));
        const runtime = new ContainerRuntime(survivor.process, this.d.openLog(rec), this.output(rec.ID));
        this.runtimes.set(rec.ID, runtime);
        if (survivor.running) {
          this.health.start(rec);
          rec.State = { ...rec.State, Status: rec.State.Paused ? 'paused' : 'running', Running: true, Restarting: false, Pid: survivor.process.pid };
          await this.d.store.save(rec);
        }
        const exitHandled = runtime.done.then((status) => this.onExit(rec.ID, runtime, status));
        // An exit while the daemon was down is recorded before the API answers (as dockerd's restore).
        if (!survivor.running) await exitHandled;
        continue;
      }
      const wasRunning = rec.State.Running || rec.State.Restarting;
      if (wasRunning) {
        rec.State = { ...rec.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: 255, FinishedAt: now() };
        await this.d.store.save(rec);
      }
      if (restartsAtDaemonStart(rec)) {
        // A fresh restart manager, as dockerd's: `always` comes back even after a user stop.
        rec.HasBeenManuallyStopped = false;
        await this.locked(rec.ID, () => this.startProcess(rec)).catch((e: unknown) => this.d.log.warn({ err: e, id: rec.ID }, 'could not restart container after daemon start'));
      } else if (rec.HostConfig.AutoRemove && wasRunning) {
        await this.locked(rec.ID, () => this.removeNow(rec, {})).catch(() => undefined);
      }
    }
  }

  /**
   * A record whose layers did not reach the disk with it (a crash right after a create: the two
   * flush together) gets them again; both were empty then (volumes are seeded outside them).
   * Not for a container of another storage driver (the daemon started with another -s): its
   * layers are elsewhere, and an empty rootfs in their place would hide them.
   */
  private async repairLayers(rec: ContainerRecord): Promise<void> {
    if (rec.Driver !== this.d.storage.name || (await this.d.storage.exists(rec.RWLayer))) return;
    const image = this.d.images.tryResolve(rec.Image);
    if (!image) {
      this.d.log.warn({ id: rec.ID, image: rec.Image }, 'container has no rootfs layer and its image is gone: it cannot start');
      return;
    }
    const top = image.chain[image.chain.length - 1];
    const parentCache = top ? (this.d.images.layers.get(top)?.cacheId ?? null) : null;
    try {
      if (!(await this.d.storage.exists(rec.InitLayer))) await this.d.storage.create(rec.InitLayer, parentCache);
      await this.d.storage.create(rec.RWLayer, rec.InitLayer);
      this.d.log.warn({ id: rec.ID }, 'container rootfs layers were missing (a crash right after its create): made again');
    } catch (e) {
      this.d.log.warn({ err: e, id: rec.ID }, 'could not make the missing rootfs layers of a container');
    }
  }

  /**
   * Daemon shutdown. With a driver whose containers outlive the daemon (a monitor), they keep
   * running and are found again at the next start; otherwise they are stopped (and restarted
   * at the next start per their restart policy).
   */
  async shutdown(timeoutSec = 10): Promise<void> {
    this.shuttingDown = true;
    this.health.close();
    for (const t of this.restartTimers.values()) clearTimeout(t);
    if (this.d.exec.restore) {
      await this.d.exec.close?.();
      return;
    }
    await Promise.all(
      [...this.runtimes.keys()].map(async (id) => {
        const rec = this.d.store.find(id);
        if (!rec) return;
        const manual = rec.HasBeenManuallyStopped;
        await this.stop(id, Math.min(timeoutSec, rec.Config.StopTimeout ?? timeoutSec)).catch(() => undefined);
        // A daemon stop is not a user stop: keep restart policies armed.
        rec.HasBeenManuallyStopped = manual;
        await this.d.store.save(rec).catch(() => undefined);
      }),
    );
  }

  statusOf(rec: ContainerRecord): Status {
    return rec.State.Status;
  }
}

/**
 * dockerd's rule at daemon start (restartmanager.ShouldRestart for a container started before):
 * `always` always, `unless-stopped` unless the user stopped it, `on-failure` after a non-zero
 * exit with retries left.
 */
function restartsAtDaemonStart(rec: ContainerRecord): boolean {
  const p = rec.HostConfig.RestartPolicy;
  if (!rec.HasBeenStartedBefore) return false;
  if (p.Name === 'always') return true;
  if (p.Name === 'unless-stopped') return !rec.HasBeenManuallyStopped;
  if (p.Name === 'on-failure') return rec.State.ExitCode !== 0 && (p.MaximumRetryCount === 0 || rec.RestartCount < p.MaximumRetryCount);
  return false;
}

/** Docker's message for a name already taken (create and rename). */
function nameInUse(name: string, id: string): string {
  return `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`;
}

function mergeEnv(base: string[], over: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const eq = e.indexOf('=');
    out.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  return [...out.values()];
}

async function waitFor<T>(p: Promise<T>, ms: number): Promise<boolean> {
  if (ms === Infinity) {
    await p;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => true), new Promise<boolean>((res) => (timer = setTimeout(() => res(false), ms)))]);
  clearTimeout(timer);
  return r;
}
