import type { DaemonConfig } from '../config/daemon-options';
import type { ContainerSpec, MountedFs } from '../kernel';
import type { ContainerRecord } from './container';

/** Files Docker manages in every container (bind-mounted there): not the user's changes, never committed. */
export const MANAGED_FILES: ReadonlySet<string> = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment of a process in the container, as dockerd's CreateDaemonEnvironment: the
 * container's Env, with PATH (the default when unset), HOSTNAME, and TERM=xterm for a TTY added
 * when missing; then `extra` (an exec's `-e`) replacing or appending by name.
 */
export function processEnv(c: { Env?: string[] | null; Hostname: string }, tty: boolean, extra: string[] = []): string[] {
  const env = [...(c.Env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.unshift(`HOSTNAME=${c.Hostname}`);
  if (tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  for (const e of extra) {
    const key = e.split('=', 1)[0]!;
    const i = env.findIndex((x) => x.split('=', 1)[0] === key);
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  return env;
}

/** The OCI-like spec for a container's first process, from its record, the daemon's options and its resolved mounts. */
export function buildSpec(rec: ContainerRecord, rootfs: MountedFs, config: DaemonConfig, stateDir: string, mounts: ContainerSpec['mounts'] = []): ContainerSpec {
  const c = rec.Config;
  const h = rec.HostConfig;
  const env = processEnv(c, c.Tty);
  const ulimits = new Map(Object.values(config.defaultUlimits).map((u) => [u.Name, u]));
  for (const u of h.Ulimits ?? []) ulimits.set(u.Name, u);
  const dns = h.Dns?.length ? h.Dns : config.dns;
  const search = h.DnsSearch?.length ? h.DnsSearch : config.dnsSearch;
  const resolvConf = [...(search.length ? [`search ${search.join(' ')}`] : []), ...dns.map((d) => `nameserver ${d}`), ...(h.DnsOptions?.length ? [`options ${h.DnsOptions.join(' ')}`] : [])].join('\n');
  const fqdn = c.Domainname ? `${c.Hostname}.${c.Domainname}` : c.Hostname;
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    ...(h.ExtraHosts ?? []).map((e) => {
      const i = e.indexOf(':');
      return `${e.slice(i + 1)}\t${e.slice(0, i)}`;
    }),
    ...Object.values(rec.Networks).filter((n) => n.IPAddress).map((n) => `${n.IPAddress}\t${fqdn}${fqdn !== c.Hostname ? ` ${c.Hostname}` : ''}`),
  ].join('\n');
  const mode = (m: string | undefined) => (!m || m === 'default' ? 'private' : m === 'host' ? 'host' : m.startsWith('container:') ? { container: m.slice(10) } : 'private');
  const net = h.NetworkMode;
  return {
    id: rec.ID,
    rootfs,
    hostname: c.Hostname,
    domainname: c.Domainname,
    process: { args: [rec.Path, ...rec.Args], env, cwd: c.WorkingDir || '/', user: c.User, tty: c.Tty, openStdin: c.OpenStdin },
    ulimits: [...ulimits.values()],
    resources: {
      memory: h.Memory || undefined,
      memorySwap: h.MemorySwap || undefined,
      memoryReservation: h.MemoryReservation || undefined,
      cpuShares: h.CpuShares || undefined,
      cpuQuota: h.CpuQuota || undefined,
      cpuPeriod: h.CpuPeriod || undefined,
      nanoCpus: h.NanoCpus || undefined,
      cpusetCpus: h.CpusetCpus || undefined,
      cpusetMems: h.CpusetMems || undefined,
      pidsLimit: h.PidsLimit ?? undefined,
      blkioWeight: h.BlkioWeight || undefined,
    },
    etc: { hostname: `${c.Hostname}\n`, hosts: `${hosts}\n`, resolvConf: resolvConf ? `${resolvConf}\n` : '' },
    namespaces: {
      network: net === 'host' ? 'host' : net === 'none' ? 'none' : net.startsWith('container:') ? { container: net.slice(10) } : 'private',
      pid: mode(h.PidMode) as ContainerSpec['namespaces']['pid'],
      ipc: mode(h.IpcMode) as ContainerSpec['namespaces']['ipc'],
      uts: h.UTSMode === 'host' ? 'host' : 'private',
    },
    mounts,
    // Adjustments to Docker's default set: NAME adds, -NAME drops (the driver applies them).
    capabilities: [...(h.CapAdd ?? []), ...(h.CapDrop ?? []).map((c) => `-${c}`)],
    privileged: h.Privileged,
    readonlyRootfs: h.ReadonlyRootfs,
    stopSignal: c.StopSignal ?? 'SIGTERM',
    stateDir,
    noNewPrivileges: (h.SecurityOpt as string[] | null | undefined)?.some((o) => /^no-new-privileges(:true|=true)?$/.test(o)) ?? false,
    oomScoreAdj: (h.OomScoreAdj as number | undefined) || undefined,
    shmSize: h.ShmSize || undefined,
    devices: ((h.Devices as { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[] | null | undefined) ?? []).map((d) => ({
      pathOnHost: d.PathOnHost ?? '',
      pathInContainer: d.PathInContainer ?? '',
      permissions: d.CgroupPermissions ?? 'rwm',
    })),
  };
}
