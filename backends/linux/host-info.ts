import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { cpus, hostname, machine, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import type { HostFacts, HostInfo } from '../../src/kernel';

const run = promisify(execFile);
const exists = (p: string) => access(p).then(() => true, () => false);
const readTrim = (p: string) => readFile(p, 'utf8').then((s) => s.trim(), () => undefined);

/** Find an executable on PATH. */
export async function which(name: string, path = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    const p = join(dir, name);
    try {
      await access(p, 1);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export async function osRelease(): Promise<{ pretty: string; versionId: string }> {
  const text = (await readTrim('/etc/os-release')) ?? (await readTrim('/usr/lib/os-release')) ?? '';
  const get = (k: string) => (text.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1] ?? '').replace(/^"|"$/g, '');
  return { pretty: get('PRETTY_NAME') || 'Linux', versionId: get('VERSION_ID') };
}

/** Cgroup version and the features /info reports, probed from /sys/fs/cgroup. */
export async function probeCgroups(root = '/sys/fs/cgroup'): Promise<{ version: '1' | '2' | ''; features: Partial<HostFacts['features']> }> {
  if (await exists(join(root, 'cgroup.controllers'))) {
    const ctrls = new Set(((await readTrim(join(root, 'cgroup.controllers'))) ?? '').split(/\s+/));
    const mem = ctrls.has('memory');
    return {
      version: '2',
      features: {
        memoryLimit: mem, swapLimit: mem,
        kernelMemory: false, kernelMemoryTCP: false,
        cpuCfsPeriod: ctrls.has('cpu'), cpuCfsQuota: ctrls.has('cpu'), cpuShares: ctrls.has('cpu'),
        cpuSet: ctrls.has('cpuset'), pidsLimit: ctrls.has('pids'), oomKillDisable: false,
      },
    };
  }
  if (!(await exists(join(root, 'memory'))) && !(await exists(join(root, 'cpu')))) return { version: '', features: {} };
  const f = (p: string) => exists(join(root, p));
  const [memoryLimit, swapLimit, kernelMemory, kernelMemoryTCP, cpuCfsPeriod, cpuCfsQuota, cpuShares, cpuSet, pidsLimit, oomKillDisable] = await Promise.all([
    f('memory/memory.limit_in_bytes'), f('memory/memory.memsw.limit_in_bytes'), f('memory/memory.kmem.limit_in_bytes'),
    f('memory/memory.kmem.tcp.limit_in_bytes'), f('cpu/cpu.cfs_period_us'), f('cpu/cpu.cfs_quota_us'), f('cpu/cpu.shares'),
    f('cpuset/cpuset.cpus'), f('pids/pids.max').then(async (x) => x || f('pids')), f('memory/memory.oom_control'),
  ]);
  return { version: '1', features: { memoryLimit, swapLimit, kernelMemory, kernelMemoryTCP, cpuCfsPeriod, cpuCfsQuota, cpuShares, cpuSet, pidsLimit, oomKillDisable } };
}

async function runtimeVersion(path: string): Promise<{ version?: string; commit?: string }> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 3000 });
    const version = /version\s+(\S+)/i.exec(stdout)?.[1];
    const commit = /commit:\s*(\S+)/i.exec(stdout)?.[1];
    return { version, commit };
  } catch {
    return {};
  }
}

/** Host facts read from /proc, /sys and /etc; runtimes found on PATH. */
export function linuxHostInfo(): HostInfo {
  let runtimes: Promise<HostFacts['runtimes']> | undefined;
  let stable: Promise<{ os: { pretty: string; versionId: string }; cg: Awaited<ReturnType<typeof probeCgroups>>; systemd: boolean; seccomp: boolean; apparmor: boolean }> | undefined;
  return {
    async read() {
      runtimes ??= (async () => {
        const out: HostFacts['runtimes'] = {};
        for (const name of ['runc', 'crun']) {
          const path = await which(name);
          if (path) out[name] = { path, ...(await runtimeVersion(path)) };
        }
        return out;
      })();
      stable ??= (async () => ({
        os: await osRelease(),
        cg: await probeCgroups(),
        systemd: await exists('/run/systemd/system'),
        seccomp: /Seccomp:\s*\d/.test((await readTrim('/proc/self/status')) ?? ''),
        apparmor: (await readTrim('/sys/module/apparmor/parameters/enabled')) === 'Y',
      }))();
      const [s, rts, fwd, nf4, nf6] = await Promise.all([
        stable, runtimes, readTrim('/proc/sys/net/ipv4/ip_forward'),
        readTrim('/proc/sys/net/bridge/bridge-nf-call-iptables'), readTrim('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
      ]);
      const features: HostFacts['features'] = {
        memoryLimit: false, swapLimit: false, kernelMemory: false, kernelMemoryTCP: false, cpuCfsPeriod: false,
        cpuCfsQuota: false, cpuShares: false, cpuSet: false, pidsLimit: false, oomKillDisable: false,
        ...s.cg.features,
        ipv4Forwarding: fwd === '1',
        bridgeNfIptables: nf4 === '1',
        bridgeNfIp6tables: nf6 === '1',
      };
      const warnings: string[] = [];
      if (!features.memoryLimit) warnings.push('WARNING: No memory limit support');
      if (!features.swapLimit) warnings.push('WARNING: No swap limit support');
      if (!features.ipv4Forwarding) warnings.push('WARNING: IPv4 forwarding is disabled');
      if (nf4 !== undefined && !features.bridgeNfIptables) warnings.push('WARNING: bridge-nf-call-iptables is disabled');
      if (nf6 !== undefined && !features.bridgeNfIp6tables) warnings.push('WARNING: bridge-nf-call-ip6tables is disabled');
      return {
        kernelVersion: release(),
        operatingSystem: s.os.pretty,
        osVersion: s.os.versionId,
        osType: 'linux',
        architecture: machine(),
        ncpu: cpus().length,
        memTotal: totalmem(),
        hostname: hostname(),
        cgroupVersion: s.cg.version,
        features,
        systemd: s.systemd,
        runtimes: rts,
        securityOptions: [],
        warnings,
      };
    },
  };
}
