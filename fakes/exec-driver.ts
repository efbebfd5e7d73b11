import { PassThrough } from 'node:stream';
import { ConflictError, ForbiddenError, NotFoundError } from '../src/errors';
import type { ContainerProcess, ContainerResources, ContainerSpec, ExecDriver, ExitStatus, ProcessSpec, StatsSample } from '../src/kernel';
import { chrootFs } from '../src/kernel/chroot-fs';
import type { HostFs } from '../src/kernel/host-fs';
import { mountAll, type FsMount } from '../src/kernel/mount-table-fs';
import { nodeHostFs } from '../src/kernel/node-host-fs';
import { memfsHostFs } from './storage/memfs-host-fs';
import { createEmulator, StartError, type Clock, type Emulator, type SpawnedProcess } from './emulator';

interface Running {
  emulator: Emulator;
  init: SpawnedProcess;
  hostPid: number;
  resources: ContainerResources;
  started: number;
  /** Host-visible pid for each emulated pid (for inspect's State.Pid and exec inspect). */
  paused: boolean;
  /** Only a private network namespace has an eth0 to report in stats. */
  hasEth0: boolean;
}

let nextHostPid = 20_000;

function asDockerError(e: unknown): unknown {
  if (!(e instanceof StartError)) return e;
  if (e.kind === 'not-found') return new NotFoundError(e.message);
  return new ForbiddenError(e.message);
}

function exitStatus(r: { code: number; signal?: string }): ExitStatus {
  return { exitCode: r.code, oomKilled: false, ...(r.signal ? { signal: r.signal } : {}) };
}

/**
 * The container's filesystem as its processes see it: the root from the storage driver with
 * the spec's mounts over it. Binds and volumes are host directories (the fake keeps volume
 * data on disk); each tmpfs is a fresh in-memory filesystem (its `mode=` option applied).
 */
async function containerFs(spec: ContainerSpec): Promise<HostFs> {
  if (spec.mounts.length === 0) return chrootFs(spec.rootfs.fs, spec.rootfs.root);
  const host = nodeHostFs();
  const mounts: FsMount[] = [];
  for (const m of spec.mounts) {
    if (m.type !== 'tmpfs') {
      mounts.push({ target: m.destination, fs: host, root: m.source, readonly: m.readonly });
      continue;
    }
    const tmpfs = memfsHostFs();
    const mode = m.options?.find((o) => o.startsWith('mode='));
    await tmpfs.chmod('/', mode ? parseInt(mode.slice(5), 8) : 0o1777);
    mounts.push({ target: m.destination, fs: tmpfs, root: '/', readonly: m.readonly });
  }
  return mountAll({ fs: spec.rootfs.fs, root: spec.rootfs.root, readonly: false }, mounts);
}

/** Writes Docker's managed files; a read-only mount over /etc keeps what it has (runc would bind them). */
async function writeEtcFiles(fs: HostFs, etc: ContainerSpec['etc']): Promise<void> {
  const keepReadOnly = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EROFS') throw e;
  };
  await fs.mkdir('/etc', { recursive: true, mode: 0o755 }).catch(keepReadOnly);
  await fs.writeFileAtomic('/etc/hostname', etc.hostname, 0o644).catch(keepReadOnly);
  await fs.writeFileAtomic('/etc/hosts', etc.hosts, 0o644).catch(keepReadOnly);
  await fs.writeFileAtomic('/etc/resolv.conf', etc.resolvConf, 0o644).catch(keepReadOnly);
}

/**
 * The emulated execdriver: each container is an emulator (a pid namespace of emulated
 * processes running busybox-like applets) over the container's filesystem from the storage
 * driver. Docker's managed files (/etc/hostname, /etc/hosts, /etc/resolv.conf) are written into
 * the root before the first process starts. Every container's processes read `opts.clock`
 * (real time by default).
 */
export function createFakeExecDriver(opts: { clock?: Clock } = {}): ExecDriver {
  const containers = new Map<string, Running>();
  const get = (id: string) => {
    const c = containers.get(id);
    if (!c) throw new ConflictError(`Container ${id} is not running`);
    return c;
  };
  const toProcess = (p: SpawnedProcess, hostPid: number, tty: boolean, stdin: PassThrough | null): ContainerProcess => ({
    pid: hostPid,
    stdin,
    stdout: p.stdout,
    stderr: tty ? null : p.stderr,
    exited: p.exit.then(exitStatus),
  });

  return {
    name: 'emulator',
    async start(spec: ContainerSpec) {
      const fs = await containerFs(spec);
      await writeEtcFiles(fs, spec.etc);
      const rlimits = Object.fromEntries(spec.ulimits.map((u) => [u.Name, { soft: u.Soft, hard: u.Hard }]));
      const emulator = createEmulator({ fs, hostname: spec.hostname, clock: opts.clock, rlimits });
      const stdin = spec.process.openStdin ? new PassThrough() : null;
      let init: SpawnedProcess;
      try {
        init = await emulator.spawn({ argv: spec.process.args, env: spec.process.env, cwd: spec.process.cwd, user: spec.process.user, tty: spec.process.tty, stdin });
      } catch (e) {
        throw asDockerError(e);
      }
      const hostPid = nextHostPid++;
      containers.set(spec.id, { emulator, init, hostPid, resources: spec.resources, started: Date.now(), paused: false, hasEth0: spec.namespaces.network === 'private' });
      void init.exit.then(() => {
        // Like a pid namespace: when PID 1 ends, every other process is killed.
        for (const p of emulator.table.list()) if (p.pid !== 1) emulator.table.kill(p.pid, 'SIGKILL');
      });
      return toProcess(init, hostPid, spec.process.tty, stdin);
    },
    async exec(id: string, ps: ProcessSpec) {
      const c = get(id);
      const stdin = ps.openStdin ? new PassThrough() : null;
      let p: SpawnedProcess;
      try {
        p = await c.emulator.spawn({ argv: ps.args, env: ps.env, cwd: ps.cwd, user: ps.user, tty: ps.tty, stdin });
      } catch (e) {
        throw asDockerError(e);
      }
      if (c.paused) p.signal('SIGSTOP');
      // Host pids as `top` shows them: the container's first pid plus the emulated pid.
      return toProcess(p, c.hostPid + p.pid - 1, ps.tty, stdin);
    },
    async signal(id: string, signal: string, pid?: number) {
      const c = get(id);
      if (pid !== undefined) {
        try {
          c.emulator.table.kill(pid - c.hostPid + 1, signal);
        } catch {
          throw new NotFoundError(`no such process ${pid} in container ${id}`);
        }
      }
      else c.init.signal(signal);
    },
    async pause(id: string) {
      const c = get(id);
      for (const p of c.emulator.table.list()) c.emulator.table.kill(p.pid, 'SIGSTOP');
      c.paused = true;
    },
    async resume(id: string) {
      const c = get(id);
      for (const p of c.emulator.table.list()) c.emulator.table.kill(p.pid, 'SIGCONT');
      c.paused = false;
    },
    async resize() {},
    async top(id: string, psArgs: string) {
      const c = get(id);
      const procs = c.emulator.table.list();
      const stime = (t: number) => new Date(t).toISOString().slice(11, 16);
      if (psArgs && /\baux\b|^-?aux$/.test(psArgs.trim())) {
        return {
          Titles: ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND'],
          Processes: procs.map((p) => [p.user, String(c.hostPid + p.pid - 1), '0.0', '0.0', '1024', '512', '?', p.state === 'stopped' ? 'T' : 'S', stime(p.startTime), '0:00', p.command]),
        };
      }
      return {
        Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
        Processes: procs.map((p) => [p.user, String(c.hostPid + p.pid - 1), String(p.ppid ? c.hostPid + p.ppid - 1 : 0), '0', stime(p.startTime), '?', '00:00:00', p.command]),
      };
    },
    async stats(id: string): Promise<StatsSample> {
      const c = get(id);
      const n = c.emulator.table.list().length;
      const usage = 512 * 1024 + n * 128 * 1024;
      const elapsedNs = (Date.now() - c.started) * 1e6;
      return {
        read: new Date(),
        cpuTotalNs: Math.floor(elapsedNs * 0.001 * n),
        systemCpuNs: Math.floor(elapsedNs * 2),
        onlineCpus: 2,
        memoryUsage: usage,
        memoryLimit: c.resources.memory ?? 2 ** 33,
        memoryStats: { cache: 0, rss: usage, active_anon: usage, inactive_file: 0 },
        pids: n,
        blkio: [],
        networks: c.hasEth0 ? { eth0: { rx_bytes: 0, rx_packets: 0, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 } } : {},
      };
    },
    async update(id: string, r: ContainerResources) {
      const c = containers.get(id);
      if (c) c.resources = { ...c.resources, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) };
    },
    async delete(id: string) {
      const c = containers.get(id);
      if (!c) return;
      for (const p of c.emulator.table.list()) c.emulator.table.kill(p.pid, 'SIGKILL');
      containers.delete(id);
    },
  };
}
