import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import * as fs from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { ConflictError, InvalidParameterError, NotFoundError, UnavailableError } from '../../../src/errors';
import type { ContainerProcess, ContainerResources, ContainerSpec, ExecDriver, ProcessSpec, StatsSample } from '../../../src/kernel';
import { CGROUP_PARENT, ContainerCgroup, cgroupsPathFor, probeCgroupLayout, systemCpuNs, type CgroupLayout } from './cgroups';
import { alive, follow, startMonitored, type MonitoredProcess, type MonitorRecord } from './monitor';
import { buildOciConfig, filterHostResolvConf, ociProcess, ociResources, type LinuxSpecExtras, type OciConfig } from './oci-spec';
import { OciRuntime, type RuntimeName } from './runtime';
import { SharedMonitor } from './shared-monitor';
import { resolveUser } from './user';
import { retireDir, sweepRetired } from '../../../src/util/retire';

const run = promisify(execFile);

export interface LinuxExecDriverOptions {
  /** The daemon's --exec-root: bundles, monitor state and the runtime's state root live here. */
  root: string;
  /** `--exec-opt native.runtime=` (default runc). */
  runtime?: RuntimeName;
  /** `--exec-opt native.cgroupdriver=` (cgroupfs; systemd is refused). */
  cgroupDriver?: string;
  log?: Logger;
  conmonPath?: string;
  /**
   * `--exec-opt native.monitor=`: `shared` (one python3 monitor for all containers, the default
   * where python3 is installed) or `conmon` (one conmon per process).
   */
  monitor?: 'shared' | 'conmon';
}

/** A container found by `restore`: still running, or exited while the daemon was down. */
export interface RestoredContainer {
  id: string;
  running: boolean;
  process: ContainerProcess;
}

export interface LinuxExecDriver extends ExecDriver {
  readonly runtime: OciRuntime;
  readonly cgroups: CgroupLayout;
  /**
   * After a daemon restart: the containers of the exec root that are still running (their output
   * continues where the previous daemon stopped reading, `exited` resolves when they end) and those
   * that exited meanwhile (`exited` already resolved with the status conmon recorded).
   */
  restore(): Promise<RestoredContainer[]>;
  /** Stop following every process; containers and monitors keep running (a daemon shutdown). */
  close(): Promise<void>;
  /** The cgroup of a container (for leak checks). */
  cgroupOf(id: string): ContainerCgroup;
}

interface Tracked {
  id: string;
  bundle: string;
  rootfs: string;
  cgroup: ContainerCgroup;
  init: MonitoredProcess;
  running: boolean;
  networkMode: ContainerSpec['namespaces']['network'];
  /** The first process has a pid namespace of its own (its exit ends the container's processes). */
  privatePid: boolean;
  execs: Map<string, MonitoredProcess>;
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

function checkId(id: string): void {
  if (!ID_RE.test(id)) throw new InvalidParameterError(`invalid container id ${JSON.stringify(id)}`);
}

/** `SIGTERM`, `term`, `15` → what runc/crun `kill` accept. */
function normalizeSignal(sig: string): string {
  const s = sig.trim().toUpperCase();
  if (/^\d+$/.test(s)) return s;
  if (!/^(SIG)?[A-Z0-9+-]+$/.test(s)) throw new InvalidParameterError(`invalid signal: ${sig}`);
  return s.startsWith('SIG') ? s : `SIG${s}`;
}

/**
 * The Linux execdriver: OCI bundles run by runc (or crun) under one conmon per process.
 * See monitor.ts for the monitor and oci-spec.ts for what goes into config.json.
 */
export async function createLinuxExecDriver(opts: LinuxExecDriverOptions): Promise<LinuxExecDriver> {
  if (opts.cgroupDriver && opts.cgroupDriver !== 'cgroupfs') {
    throw new UnavailableError(`cgroup driver ${opts.cgroupDriver} is not available: only cgroupfs is supported`);
  }
  const log = opts.log;
  const layout = await probeCgroupLayout();
  await mkdir(join(opts.root, 'containers'), { recursive: true, mode: 0o700 });
  await sweepRetired(join(opts.root, 'containers'));
  const runtime = await OciRuntime.create(opts.runtime ?? 'runc', opts.root, layout);
  const shared = await sharedMonitorFor(opts);
  const containers = new Map<string, Tracked>();
  const bundleOf = (id: string) => join(opts.root, 'containers', id);
  const cgroupOf = (id: string) => new ContainerCgroup(layout, cgroupsPathFor(id));

  const running = (id: string): Tracked => {
    const c = containers.get(id);
    if (!c || !c.running) throw new ConflictError(`Container ${id} is not running`);
    return c;
  };

  const toProcess = (p: MonitoredProcess): ContainerProcess => ({ pid: p.record.pid, stdin: p.stdin, stdout: p.stdout, stderr: p.stderr, exited: p.exited });

  const track = (id: string, bundle: string, rootfs: string, init: MonitoredProcess, networkMode: Tracked['networkMode'], privatePid: boolean): Tracked => {
    const t: Tracked = { id, bundle, rootfs, cgroup: cgroupOf(id), init, running: true, networkMode, privatePid, execs: new Map() };
    containers.set(id, t);
    void init.exited.then(() => {
      t.running = false;
    });
    return t;
  };

  /** Remove the cgroup directories; false when one still holds processes. */
  const removeCgroups = async (id: string): Promise<boolean> => {
    let all = true;
    for (const dir of cgroupOf(id).allDirs()) {
      try {
        fs.rmdirSync(dir); // an empty cgroup's rmdir returns at once
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') all = false;
      }
    }
    return all;
  };

  /**
   * Remove runtime state, the bundle and the cgroup. `ended`: the container's first process has
   * exited and had a pid namespace of its own (the kernel has then ended every other process of
   * the container), so the runtime's `delete` is done here without a runtime process: its state
   * directory and the cgroup directories go. Otherwise, or when a cgroup is still busy, the
   * runtime's `delete --force` kills what is left and removes them.
   */
  const cleanup = async (id: string, ended = false): Promise<void> => {
    const bundle = bundleOf(id);
    // Nothing was ever made (the usual first start): the bundle is made before anything else
    // and removed last.
    if (!fs.existsSync(bundle) && !fs.existsSync(join(runtime.root, id))) return;
    const cgroupsGone = ended && (await removeCgroups(id));
    const [records] = await Promise.all([
      monitorRecords(bundle),
      cgroupsGone ? runtime.forgetStopped(id) : runtime.delete(id).catch((e: unknown) => log?.warn({ err: e, id }, 'runtime delete failed')),
    ]);
    await Promise.all(
      records.map(async (rec) => {
        // The shared monitor lets go of a process by itself once it has ended.
        if (rec.monitor === 'shared' || !(await alive(rec.conmonPid))) return;
        try {
          process.kill(rec.conmonPid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }),
    );
    if (!cgroupsGone) await removeCgroups(id);
    // The bundle (with the monitor's log) is renamed aside and deleted in the background.
    await retireDir(bundle);
  };

  /** The managed /etc files: small writes, made synchronously on the start path (see overlay.ts). */
  const writeEtcFiles = (spec: ContainerSpec) => {
    fs.mkdirSync(spec.stateDir, { recursive: true });
    let hostResolv = '';
    if (!spec.etc.resolvConf) {
      try {
        hostResolv = fs.readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        /* none */
      }
    }
    const resolv = spec.etc.resolvConf || filterHostResolvConf(hostResolv);
    const files = { hostname: join(spec.stateDir, 'hostname'), hosts: join(spec.stateDir, 'hosts'), resolvConf: join(spec.stateDir, 'resolv.conf') };
    fs.writeFileSync(files.hostname, spec.etc.hostname, { mode: 0o644 });
    fs.writeFileSync(files.hosts, spec.etc.hosts, { mode: 0o644 });
    fs.writeFileSync(files.resolvConf, resolv, { mode: 0o644 });
    return files;
  };

  const joinPath = (mode: unknown, type: 'net' | 'pid' | 'ipc', what: string): string | undefined => {
    if (typeof mode !== 'object' || mode === null) return undefined;
    const other = (mode as { container: string }).container;
    const c = containers.get(other);
    if (!c || !c.running) throw new ConflictError(`cannot join ${what} namespace of a non running container: ${other}`);
    return `/proc/${c.init.record.pid}/ns/${type}`;
  };

  const driver: LinuxExecDriver = {
    name: runtime.name,
    runtime,
    cgroups: layout,
    cgroupOf,

    async start(spec: ContainerSpec): Promise<ContainerProcess> {
      checkId(spec.id);
      if (containers.get(spec.id)?.running) throw new ConflictError(`Container ${spec.id} is already running`);
      containers.delete(spec.id);
      await cleanup(spec.id);
      const bundle = bundleOf(spec.id);
      fs.mkdirSync(bundle, { recursive: true, mode: 0o700 });
      try {
        const etcFiles = writeEtcFiles(spec);
        const user = await resolveUser(spec.rootfs.root, spec.process.user);
        const net = joinPath(spec.namespaces.network, 'net', 'network');
        const pid = joinPath(spec.namespaces.pid, 'pid', 'pid');
        const ipc = joinPath(spec.namespaces.ipc, 'ipc', 'ipc');
        const devices = await resolveDevices(spec.devices ?? []);
        const config = buildOciConfig({ ...spec, resolvedDevices: devices }, {
          user,
          cgroupsPath: cgroupsPathFor(spec.id),
          etcFiles,
          joinPaths: { ...(net ? { network: net } : {}), ...(pid ? { pid } : {}), ...(ipc ? { ipc } : {}) },
        });
        fs.writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
        const init = await startMonitored({
          runtime,
          dir: bundle,
          containerId: spec.id,
          kind: 'init',
          tty: spec.process.tty,
          openStdin: spec.process.openStdin,
          oomKilled: () => cgroupOf(spec.id).oomKilled(),
          conmonPath: opts.conmonPath,
          shared,
        });
        track(spec.id, bundle, spec.rootfs.root, init, spec.namespaces.network, spec.namespaces.pid === 'private');
        log?.debug({ id: spec.id, pid: init.record.pid, conmon: init.record.conmonPid }, 'container started');
        return toProcess(init);
      } catch (e) {
        await cleanup(spec.id);
        throw e;
      }
    },

    async exec(id: string, ps: ProcessSpec): Promise<ContainerProcess> {
      const c = running(id);
      const config = JSON.parse(await readFile(join(c.bundle, 'config.json'), 'utf8')) as OciConfig;
      const user = await resolveUser(c.rootfs, ps.user);
      const base = config.process;
      const spec = ociProcess(ps, user, base.capabilities.bounding, { rlimits: base.rlimits, noNewPrivileges: base.noNewPrivileges });
      const execId = randomBytes(8).toString('hex');
      const dir = join(c.bundle, 'exec', execId);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, 'process.json'), JSON.stringify(spec));
      let p: MonitoredProcess;
      try {
        p = await startMonitored({ runtime, dir, containerId: id, kind: 'exec', tty: ps.tty, openStdin: ps.openStdin, oomKilled: async () => false, conmonPath: opts.conmonPath, shared });
      } catch (e) {
        await rm(dir, { recursive: true, force: true });
        throw e;
      }
      c.execs.set(execId, p);
      void p.exited.then(async () => {
        c.execs.delete(execId);
        await rm(dir, { recursive: true, force: true });
      });
      return toProcess(p);
    },

    async signal(id: string, signal: string, pid?: number): Promise<void> {
      running(id);
      const sig = normalizeSignal(signal);
      if (pid === undefined) return runtime.kill(id, sig);
      if (!(await runtime.ps(id)).includes(pid)) throw new NotFoundError(`no such process ${pid} in container ${id}`);
      process.kill(pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    },

    async pause(id: string) {
      running(id);
      await runtime.pause(id);
    },

    async resume(id: string) {
      running(id);
      await runtime.resume(id);
    },

    async resize(id: string, cols: number, rows: number, pid?: number) {
      const c = running(id);
      const target = pid === undefined ? c.init : [...c.execs.values()].find((p) => p.record.pid === pid);
      if (!target) throw new NotFoundError(`no such process ${pid} in container ${id}`);
      await target.resize(cols, rows);
    },

    async top(id: string, psArgs: string) {
      running(id);
      const pids = new Set(await runtime.ps(id));
      const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
      let stdout: string;
      try {
        ({ stdout } = await run('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
      } catch (e) {
        throw new InvalidParameterError(`Error running ps: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
      }
      const [header = '', ...lines] = stdout.split('\n').filter((l) => l.trim());
      const titles = header.trim().split(/\s+/);
      const pidCol = titles.indexOf('PID');
      if (pidCol < 0) throw new InvalidParameterError(`Couldn't find PID field in ps output`);
      const processes = lines
        .map((l) => {
          const f = l.trim().split(/\s+/);
          return [...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')];
        })
        .filter((row) => pids.has(Number(row[pidCol])));
      return { Titles: titles, Processes: processes };
    },

    async stats(id: string): Promise<StatsSample> {
      const c = running(id);
      const [sample, systemCpu, networks] = await Promise.all([c.cgroup.sample(), systemCpuNs(), netStats(c.init.record.pid, c.networkMode)]);
      return { read: new Date(), ...sample, systemCpuNs: systemCpu, onlineCpus: cpus().length, networks };
    },

    async update(id: string, resources: ContainerResources) {
      const c = running(id);
      await runtime.update(id, ociResources(resources), c.bundle);
    },

    async delete(id: string) {
      const c = containers.get(id);
      if (c?.running) {
        await runtime.killAll(id, 'SIGKILL');
        await Promise.race([c.init.exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      }
      for (const p of c?.execs.values() ?? []) await p.detach();
      containers.delete(id);
      const ended = Boolean(c && c.privatePid && (await c.init.exitedYet()));
      await cleanup(id, ended);
    },

    async restore(): Promise<RestoredContainer[]> {
      const out: RestoredContainer[] = [];
      for (const id of await readdir(join(opts.root, 'containers')).catch(() => [] as string[])) {
        if (containers.has(id) || !ID_RE.test(id)) continue;
        const bundle = bundleOf(id);
        const rec = (await monitorRecords(bundle)).find((r) => r.kind === 'init');
        if (!rec) continue;
        const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as OciConfig;
        const init = await follow(bundle, rec, { fresh: false, oomKilled: () => cgroupOf(id).oomKilled() });
        const netNs = config.linux.namespaces.find((n) => n.type === 'network');
        const pidNs = config.linux.namespaces.find((n) => n.type === 'pid');
        const t = track(id, bundle, config.root.path, init, netNs ? 'private' : 'host', Boolean(pidNs && !pidNs.path));
        const isRunning = (await alive(rec.conmonPid)) && !(await init.exitedYet());
        t.running = isRunning;
        out.push({ id, running: isRunning, process: toProcess(init) });
      }
      log?.info({ count: out.length }, 'restored containers');
      return out;
    },

    async close() {
      for (const c of containers.values()) {
        await c.init.detach();
        for (const p of c.execs.values()) await p.detach();
      }
      containers.clear();
      await shared?.shutdown();
    },
  };
  return driver;
}

/** The shared monitor unless conmon is asked for, or python3 is missing (then conmon). */
async function sharedMonitorFor(opts: LinuxExecDriverOptions): Promise<SharedMonitor | undefined> {
  if (opts.monitor === 'conmon') return undefined;
  const { which } = await import('../host-info');
  const python = await which('python3');
  if (!python) {
    if (opts.monitor === 'shared') throw new UnavailableError('native.monitor=shared needs python3, which is not installed');
    opts.log?.info('python3 is not installed: one conmon per container');
    return undefined;
  }
  return new SharedMonitor(opts.root, python);
}

async function monitorRecords(bundle: string): Promise<MonitorRecord[]> {
  const read = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch {
      return fallback;
    }
  };
  const dirs = [bundle, ...read(() => fs.readdirSync(join(bundle, 'exec')), [] as string[]).map((e) => join(bundle, 'exec', e))];
  const out: MonitorRecord[] = [];
  for (const d of dirs) {
    const text = read(() => fs.readFileSync(join(d, 'monitor.json'), 'utf8'), '');
    if (text) out.push(JSON.parse(text) as MonitorRecord);
  }
  return out;
}

/** docker stats' `networks`: the container's interfaces from its network namespace (none with the host's). */
async function netStats(pid: number, mode: ContainerSpec['namespaces']['network']): Promise<StatsSample['networks']> {
  if (mode === 'host') return {};
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => '');
  const out: StatsSample['networks'] = {};
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!name || rest === undefined || name.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    out[name.trim()] = {
      rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

export { CGROUP_PARENT };

/** `--device` host nodes with their type and numbers, as Docker reads them (stat of the host path). */
async function resolveDevices(list: NonNullable<ContainerSpec['devices']>): Promise<NonNullable<LinuxSpecExtras['resolvedDevices']>> {
  const out: NonNullable<LinuxSpecExtras['resolvedDevices']> = [];
  for (const d of list) {
    const st = await stat(d.pathOnHost).catch((e: NodeJS.ErrnoException) => {
      throw new InvalidParameterError(`error gathering device information while adding custom device "${d.pathOnHost}": ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
    });
    if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidParameterError(`error gathering device information while adding custom device "${d.pathOnHost}": not a device node`);
    const rdev = Number(st.rdev);
    out.push({
      pathOnHost: d.pathOnHost,
      pathInContainer: d.pathInContainer || d.pathOnHost,
      type: st.isCharacterDevice() ? 'c' : 'b',
      major: (rdev >> 8) & 0xfff,
      minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
      permissions: d.permissions || 'rwm',
    });
  }
  return out;
}
