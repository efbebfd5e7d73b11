import { InvalidParameterError } from '../../../src/errors';
import type { ContainerResources, ContainerSpec, ProcessSpec } from '../../../src/kernel';
import type { ResolvedUser } from './user';

/**
 * OCI runtime-spec 1.0 config.json, generated from the engine's ContainerSpec with Docker's
 * defaults (moby's `oci.DefaultSpec` plus `daemon/oci_linux.go`). Only the fields used here
 * are typed.
 */
export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciConfig {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: OciResources;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    devices?: { path: string; type: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }[];
  };
}

export interface OciResources {
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

/** Docker's default capability set (moby `caps.DefaultCapabilities`). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Every capability of Linux 5.x/6.x (what `--privileged` grants). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's masked and read-only /proc and /sys paths (not applied with --privileged). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The device cgroup rules Docker allows by default (after denying everything). */
const DEFAULT_DEVICE_RULES: NonNullable<OciResources['devices']> = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // tun
];

const normCap = (c: string) => {
  const up = c.trim().toUpperCase();
  return up === 'ALL' ? 'ALL' : up.startsWith('CAP_') ? up : `CAP_${up}`;
};

/**
 * The capability set from Docker's default set and `ContainerSpec.capabilities`, read as
 * `--cap-add`/`--cap-drop` adjustments: `NAME` or `+NAME` adds, `-NAME` drops, `ALL`/`-ALL` work
 * as in Docker (drops are applied first, then adds). Unknown names are refused.
 */
export function resolveCapabilities(adjust: string[], privileged: boolean): string[] {
  if (privileged) return [...ALL_CAPABILITIES];
  const adds: string[] = [];
  const drops: string[] = [];
  for (const raw of adjust) {
    const drop = raw.startsWith('-');
    const cap = normCap(raw.replace(/^[+-]/, ''));
    if (cap !== 'ALL' && !ALL_CAPABILITIES.includes(cap)) throw new InvalidParameterError(`invalid capability: ${raw}`);
    (drop ? drops : adds).push(cap);
  }
  let caps = drops.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
  caps = adds.includes('ALL') ? [...ALL_CAPABILITIES] : [...new Set([...caps, ...adds])];
  return caps;
}

const RLIMIT_NAMES: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE', nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME', sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

function rlimits(ulimits: ContainerSpec['ulimits']): OciProcess['rlimits'] {
  return ulimits.map((u) => {
    const type = RLIMIT_NAMES[u.Name];
    if (!type) throw new InvalidParameterError(`invalid ulimit type: ${u.Name}`);
    const lim = (n: number) => (n < 0 ? 2 ** 64 - 1 : n);
    return { type, soft: lim(u.Soft), hard: lim(u.Hard) };
  });
}

/** OCI resources from Docker's HostConfig fields (`--cpus` becomes a quota over a 100ms period). */
export function ociResources(r: ContainerResources): OciResources {
  const out: OciResources = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if (r.memory) memory.limit = r.memory;
  if (r.memorySwap) memory.swap = r.memorySwap;
  else if (r.memory) memory.swap = r.memory * 2; // Docker: swap defaults to twice the memory limit
  if (r.memoryReservation) memory.reservation = r.memoryReservation;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.cpuShares) cpu.shares = r.cpuShares;
  if (r.nanoCpus) {
    cpu.period = 100_000;
    cpu.quota = Math.round((r.nanoCpus * 100_000) / 1e9);
  } else {
    if (r.cpuQuota) cpu.quota = r.cpuQuota;
    if (r.cpuPeriod) cpu.period = r.cpuPeriod;
  }
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pidsLimit !== undefined && r.pidsLimit !== 0) out.pids = { limit: r.pidsLimit < 0 ? -1 : r.pidsLimit };
  if (r.blkioWeight) out.blockIO = { weight: r.blkioWeight };
  return out;
}

/**
 * Linux-only container options the engine's ContainerSpec does not carry yet; read when present
 * (`--security-opt no-new-privileges`, `--oom-score-adj`, `--shm-size`, `--device`).
 */
export interface LinuxSpecExtras {
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  shmSize?: number;
  resolvedDevices?: { pathOnHost: string; pathInContainer: string; type: 'c' | 'b'; major: number; minor: number; permissions: string }[];
}

/** What the driver resolved for the spec: namespace paths of other containers, host files, the user. */
export interface OciContext {
  user: ResolvedUser;
  cgroupsPath: string;
  /** Host paths of the managed files (/etc/hostname, /etc/hosts, /etc/resolv.conf). */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
  /** `/proc/<pid>/ns/<type>` of the container a namespace is shared with, by OCI namespace type. */
  joinPaths: Partial<Record<'network' | 'pid' | 'ipc', string>>;
  consoleSize?: { height: number; width: number };
}

/** The process section for a container's first process or an exec (`runc exec --process`). */
export function ociProcess(p: ProcessSpec, user: ResolvedUser, caps: string[], extra: { rlimits?: OciProcess['rlimits']; noNewPrivileges?: boolean; oomScoreAdj?: number } = {}): OciProcess {
  if (p.args.length === 0) throw new InvalidParameterError('No command specified');
  const env = [...p.env];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
  return {
    terminal: p.tty,
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    args: p.args,
    env,
    cwd: p.cwd || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    ...(extra.rlimits?.length ? { rlimits: extra.rlimits } : {}),
    ...(extra.noNewPrivileges ? { noNewPrivileges: true } : {}),
    ...(extra.oomScoreAdj !== undefined ? { oomScoreAdj: extra.oomScoreAdj } : {}),
  };
}

/** config.json for a container, with Docker's default mounts, devices, masks and namespaces. */
export function buildOciConfig(spec: ContainerSpec & LinuxSpecExtras, ctx: OciContext): OciConfig {
  const caps = resolveCapabilities(spec.capabilities, spec.privileged);
  const process = ociProcess(spec.process, ctx.user, caps, { rlimits: rlimits(spec.ulimits), noNewPrivileges: spec.noNewPrivileges, oomScoreAdj: spec.oomScoreAdj });
  if (ctx.consoleSize && spec.process.tty) process.consoleSize = ctx.consoleSize;

  const namespaces: OciConfig['linux']['namespaces'] = [{ type: 'mount' }];
  const ns = spec.namespaces;
  const share = (type: 'network' | 'pid' | 'ipc', mode: unknown) => {
    if (mode === 'host') return;
    const path = typeof mode === 'object' ? ctx.joinPaths[type] : undefined;
    if (typeof mode === 'object' && !path) throw new InvalidParameterError(`no namespace path for ${type} of container ${(mode as { container: string }).container}`);
    namespaces.push(path ? { type, path } : { type });
  };
  share('network', ns.network);
  share('pid', ns.pid);
  share('ipc', ns.ipc);
  if (ns.uts !== 'host') namespaces.push({ type: 'uts' });

  const ro = !spec.privileged;
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    // A sysfs of the host's network namespace cannot be mounted from another: bind it then.
    ns.network === 'host'
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ro ? 'ro' : 'rw'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ro ? 'ro' : 'rw'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ro ? 'ro' : 'rw'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
  if (ns.ipc === 'host') mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  else mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${spec.shmSize ?? 64 * 1024 * 1024}`] });
  mounts.push(
    { destination: '/etc/resolv.conf', type: 'bind', source: ctx.etcFiles.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: ctx.etcFiles.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: ctx.etcFiles.hosts, options: ['rbind', 'rprivate'] },
  );
  for (const m of spec.mounts) {
    if (!m.destination.startsWith('/')) throw new InvalidParameterError(`invalid mount destination ${m.destination}: not an absolute path`);
    if (m.type === 'tmpfs') mounts.push({ destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(m.readonly ? ['ro'] : []), ...(m.options ?? [])] });
    else mounts.push({ destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw', ...(m.options ?? ['rprivate'])] });
  }

  const resources = ociResources(spec.resources);
  resources.devices = spec.privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_DEVICE_RULES];
  const devices: NonNullable<OciConfig['linux']['devices']> = [];
  for (const d of spec.resolvedDevices ?? []) {
    devices.push({ path: d.pathInContainer, type: d.type, major: d.major, minor: d.minor, fileMode: 0o666, uid: 0, gid: 0 });
    resources.devices.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions || 'rwm' });
  }

  return {
    ociVersion: '1.0.2',
    process,
    root: { path: spec.rootfs.root, readonly: spec.readonlyRootfs },
    ...(ns.uts !== 'host' && spec.hostname ? { hostname: spec.hostname } : {}),
    ...(ns.uts !== 'host' && spec.domainname ? { domainname: spec.domainname } : {}),
    mounts,
    linux: {
      namespaces,
      cgroupsPath: ctx.cgroupsPath,
      resources,
      ...(spec.privileged ? {} : { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS }),
      ...(devices.length ? { devices } : {}),
    },
  };
}

/** /etc/resolv.conf for a container without DNS options: the host's, minus loopback servers (Docker's rule). */
export function filterHostResolvConf(host: string): string {
  const lines = host.split('\n').filter((l) => l.trim() !== '' && !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return `${lines.join('\n').trim()}\n`;
}
