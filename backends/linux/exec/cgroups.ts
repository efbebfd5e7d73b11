import type { StatsSample } from '../../../src/kernel';
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMountInfo } from '../mountinfo';

/**
 * The host's cgroup layout, probed once from /proc/self/mountinfo:
 * - `v1`: one hierarchy per controller (this is what runc's cgroupfs driver fills);
 * - `v2`: the unified hierarchy mounted at /sys/fs/cgroup;
 * - `hybrid`: v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified). runc uses the
 *   v1 hierarchies; crun refuses hybrid hosts whose v2 mount holds controllers (see runtime.ts).
 */
export interface CgroupLayout {
  mode: 'v1' | 'v2' | 'hybrid';
  /** v1: controller name (cpu, memory, name=systemd ...) to its mount point. */
  v1: Map<string, string>;
  /** The cgroup2 mount point, when there is one. */
  unified?: string;
}

/** The parent of every container cgroup (Docker's is `docker`). */
export const CGROUP_PARENT = 'tsdocker';

export function cgroupsPathFor(id: string): string {
  return `/${CGROUP_PARENT}/${id}`;
}

export async function probeCgroupLayout(mountinfo = '/proc/self/mountinfo'): Promise<CgroupLayout> {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const { mountPoint, fstype, superOptions } of parseMountInfo(await readFile(mountinfo, 'utf8'))) {
    if (fstype === 'cgroup2') unified ??= mountPoint;
    else if (fstype === 'cgroup') {
      for (const opt of superOptions.split(',')) {
        if (['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'clone_children', 'xattr'].includes(opt) || opt.startsWith('release_agent=')) continue;
        if (!v1.has(opt)) v1.set(opt, mountPoint);
      }
    }
  }
  const mode = v1.size === 0 ? 'v2' : unified ? 'hybrid' : 'v1';
  return { mode, v1, ...(unified ? { unified } : {}) };
}

/** Read a cgroup file, or undefined when it does not exist (controller absent, cgroup gone). */
async function read(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

const num = (s: string | undefined) => (s === undefined || s === 'max' ? undefined : Number(s));

/** What the cgroup files tell of a container: the cgroup part of the kernel's StatsSample. */
export type CgroupSample = Pick<StatsSample, 'cpuTotalNs' | 'memoryUsage' | 'memoryLimit' | 'memoryStats' | 'pids' | 'blkio'>;

/** Paths of one container's cgroup in each place it lives. */
export class ContainerCgroup {
  constructor(
    private readonly layout: CgroupLayout,
    readonly path: string,
  ) {}

  /** v1: the cgroup directory for a controller; v2: the unified directory (controller ignored). */
  dir(controller: string): string | undefined {
    if (this.layout.mode === 'v2') return this.layout.unified && join(this.layout.unified, this.path);
    const mount = this.layout.v1.get(controller);
    return mount && join(mount, this.path);
  }

  /** Every directory that holds this cgroup (for leak checks and final cleanup). */
  allDirs(): string[] {
    if (this.layout.mode === 'v2') return this.layout.unified ? [join(this.layout.unified, this.path)] : [];
    // On a hybrid host runc also makes the cgroup in the cgroup2 mount.
    const mounts = new Set(this.layout.v1.values());
    if (this.layout.unified) mounts.add(this.layout.unified);
    return [...mounts].map((m) => join(m, this.path));
  }

  /** Whether the kernel OOM-killed a process of this cgroup (read before the cgroup is deleted). */
  async oomKilled(): Promise<boolean> {
    const dir = this.dir('memory');
    if (!dir) return false;
    let text = '';
    try {
      // One small kernel file, read at once on the exit path.
      text = readFileSync(join(dir, this.layout.mode === 'v2' ? 'memory.events' : 'memory.oom_control'), 'utf8');
    } catch {
      return false;
    }
    return (keyValues(text).oom_kill ?? 0) > 0;
  }

  async sample(): Promise<CgroupSample> {
    return this.layout.mode === 'v2' ? this.sampleV2() : this.sampleV1();
  }

  private async sampleV1(): Promise<CgroupSample> {
    const mem = this.dir('memory');
    const cpuacct = this.dir('cpuacct');
    const pids = this.dir('pids');
    const blkio = this.dir('blkio');
    const [usage, limit, stat, cpu, pidCount, io] = await Promise.all([
      mem ? read(join(mem, 'memory.usage_in_bytes')) : undefined,
      mem ? read(join(mem, 'memory.limit_in_bytes')) : undefined,
      mem ? read(join(mem, 'memory.stat')) : undefined,
      cpuacct ? read(join(cpuacct, 'cpuacct.usage')) : undefined,
      pids ? read(join(pids, 'pids.current')) : undefined,
      blkio ? read(join(blkio, 'blkio.throttle.io_service_bytes_recursive')) : undefined,
    ]);
    return {
      cpuTotalNs: num(cpu) ?? 0,
      memoryUsage: num(usage) ?? 0,
      memoryLimit: num(limit) ?? 0,
      memoryStats: keyValues(stat),
      pids: num(pidCount) ?? 0,
      blkio: parseBlkio(io),
    };
  }

  private async sampleV2(): Promise<CgroupSample> {
    const dir = this.dir('')!;
    const [usage, limit, stat, cpu, pidCount, io] = await Promise.all(
      ['memory.current', 'memory.max', 'memory.stat', 'cpu.stat', 'pids.current', 'io.stat'].map((f) => read(join(dir, f))),
    );
    const ioRows: CgroupSample['blkio'] = [];
    for (const line of (io ?? '').split('\n')) {
      const [dev, ...kvs] = line.trim().split(/\s+/);
      const [major, minor] = (dev ?? '').split(':').map(Number);
      if (major === undefined || minor === undefined || Number.isNaN(major)) continue;
      for (const kv of kvs) {
        const [k, v] = kv.split('=');
        if (k === 'rbytes') ioRows.push({ op: 'read', major, minor, value: Number(v) });
        if (k === 'wbytes') ioRows.push({ op: 'write', major, minor, value: Number(v) });
      }
    }
    return {
      cpuTotalNs: (keyValues(cpu).usage_usec ?? 0) * 1000,
      memoryUsage: num(usage) ?? 0,
      memoryLimit: num(limit) ?? 0,
      memoryStats: keyValues(stat),
      pids: num(pidCount) ?? 0,
      blkio: ioRows,
    };
  }

  /** The directories of this cgroup that still exist (empty after a clean delete). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const d of this.allDirs()) {
      try {
        await readdir(d);
        out.push(d);
      } catch {
        /* gone */
      }
    }
    return out;
  }
}

function parseBlkio(text: string | undefined): CgroupSample['blkio'] {
  const rows: CgroupSample['blkio'] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, op, value] = line.trim().split(/\s+/);
    const [major, minor] = (dev ?? '').split(':').map(Number);
    if (!op || value === undefined || major === undefined || minor === undefined || Number.isNaN(major)) continue;
    rows.push({ op: op.toLowerCase(), major, minor, value: Number(value) });
  }
  return rows;
}

/** The host's total CPU time in nanoseconds (the `system_cpu_usage` of docker stats), from /proc/stat. */
export async function systemCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n').find((l) => l.startsWith('cpu '));
  const ticks = (line ?? '').split(/\s+/).slice(1, 8).reduce((s, v) => s + (Number(v) || 0), 0);
  return ticks * (1e9 / 100); // USER_HZ is 100 on Linux
}
