import { join } from 'node:path';
import { InvalidParameterError } from '../errors';
import type { Filters } from '../image/image-service';
import type { ContainerRecord } from './container';

type Json = Record<string, unknown>;

/** Docker's HumanDuration, as in `Up 2 minutes`. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

/** `docker ps`' Status column. */
export function statusText(rec: ContainerRecord, nowMs = Date.now()): string {
  const st = rec.State;
  const since = (t: string) => humanDuration(nowMs - Date.parse(t));
  switch (st.Status) {
    case 'running': {
      const health = st.Health && st.Health.Status !== 'none' ? ` (${st.Health.Status === 'starting' ? 'health: starting' : st.Health.Status})` : '';
      return `Up ${since(st.StartedAt)}${health}`;
    }
    case 'paused':
      return `Up ${since(st.StartedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${st.ExitCode}) ${since(st.FinishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'exited':
      return `Exited (${st.ExitCode}) ${since(st.FinishedAt)} ago`;
    default:
      return 'Created';
  }
}

const HOSTCONFIG_DEFAULTS: Json = {
  Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default', PortBindings: {},
  RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null, CapAdd: null, CapDrop: null,
  CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null,
  OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '',
  ShmSize: 67108864, Runtime: 'runc', ConsoleSize: [0, 0], Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
  BlkioWeightDevice: [], BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0,
  CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null,
  KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null, OomKillDisable: false, PidsLimit: null,
  Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
  MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
  ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
};

function networkSettings(rec: ContainerRecord): Json {
  const primary = Object.values(rec.Networks)[0];
  return {
    Bridge: '',
    SandboxID: rec.State.Running ? rec.ID.split('').reverse().join('') : '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: rec.State.Running ? ports(rec) : {},
    SandboxKey: rec.State.Running ? `/var/run/docker/netns/${rec.ID.slice(0, 12)}` : '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: primary?.EndpointID ?? '',
    Gateway: primary?.Gateway ?? '',
    GlobalIPv6Address: primary?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: primary?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: primary?.IPAddress ?? '',
    IPPrefixLen: primary?.IPPrefixLen ?? 0,
    IPv6Gateway: primary?.IPv6Gateway ?? '',
    MacAddress: primary?.MacAddress ?? '',
    Networks: networks(rec),
  };
}

function networks(rec: ContainerRecord): Json {
  if (Object.keys(rec.Networks).length) return rec.Networks;
  const mode = rec.HostConfig.NetworkMode;
  const name = mode === 'default' ? 'bridge' : mode.startsWith('container:') ? undefined : mode;
  if (!name) return {};
  return {
    [name]: { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null },
  };
}

function ports(rec: ContainerRecord): Json {
  const out: Json = {};
  for (const p of Object.keys(rec.Config.ExposedPorts ?? {})) out[p] = null;
  for (const [p, b] of Object.entries(rec.HostConfig.PortBindings ?? {})) out[p] = b;
  return out;
}

/** GET /containers/{id}/json */
export function inspectView(rec: ContainerRecord, opts: { stateDir: string; execIds: string[]; size?: { rw: number; rootfs: number } }): Json {
  return {
    Id: rec.ID,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: rec.State,
    Image: rec.Image,
    ResolvConfPath: join(opts.stateDir, 'resolv.conf'),
    HostnamePath: join(opts.stateDir, 'hostname'),
    HostsPath: join(opts.stateDir, 'hosts'),
    LogPath: rec.LogPath,
    Name: rec.Name,
    RestartCount: rec.RestartCount,
    Driver: rec.Driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: opts.execIds.length ? opts.execIds : null,
    HostConfig: { ...HOSTCONFIG_DEFAULTS, ...rec.HostConfig },
    GraphDriver: { Data: null, Name: rec.Driver },
    ...(opts.size ? { SizeRw: opts.size.rw, SizeRootFs: opts.size.rootfs } : {}),
    Mounts: rec.MountPoints,
    Config: rec.Config,
    NetworkSettings: networkSettings(rec),
  };
}

/** One row of GET /containers/json */
export function listView(rec: ContainerRecord, size?: { rw: number; rootfs: number }): Json {
  const p: Json[] = [];
  if (rec.State.Running) {
    for (const k of Object.keys(rec.Config.ExposedPorts ?? {})) {
      const [port, type] = k.split('/');
      const binds = rec.HostConfig.PortBindings?.[k];
      if (binds?.length) for (const b of binds) p.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type ?? 'tcp' });
      else p.push({ PrivatePort: Number(port), Type: type ?? 'tcp' });
    }
  }
  return {
    Id: rec.ID,
    Names: [rec.Name],
    Image: rec.ImageName,
    ImageID: rec.Image,
    Command: [rec.Path, ...rec.Args].join(' '),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: p,
    ...(size ? { SizeRw: size.rw, SizeRootFs: size.rootfs } : {}),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode },
    NetworkSettings: { Networks: networks(rec) },
    Mounts: rec.MountPoints,
  };
}

const LIST_FILTERS = ['id', 'name', 'label', 'exited', 'status', 'ancestor', 'before', 'since', 'volume', 'network', 'health', 'isolation', 'is-task', 'publish', 'expose'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** Apply GET /containers/json's `all`, `limit`, `before`/`since` and filters; newest first. */
export function filterContainers(all: ContainerRecord[], opts: { all: boolean; limit?: number; filters: Filters; resolve: (ref: string) => ContainerRecord; imageMatches: (rec: ContainerRecord, ancestor: string) => boolean }): ContainerRecord[] {
  const f = opts.filters;
  for (const k of Object.keys(f)) if (!LIST_FILTERS.includes(k)) throw new InvalidParameterError(`Invalid filter '${k}'`);
  for (const s of f.status ?? []) if (!STATUSES.includes(s)) throw new InvalidParameterError(`Invalid filter 'status=${s}'`);
  for (const e of f.exited ?? []) if (!/^-?\d+$/.test(e)) throw new InvalidParameterError(`invalid filter 'exited=${e}'`);
  for (const h of f.health ?? []) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new InvalidParameterError(`Unrecognised filter value for health: ${h}`);
  let list = [...all].sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created) || (b.ID < a.ID ? -1 : 1));
  const before = f.before?.[0] ? opts.resolve(f.before[0]) : undefined;
  const since = f.since?.[0] ? opts.resolve(f.since[0]) : undefined;
  const showAll = opts.all || (opts.limit !== undefined && opts.limit > 0) || Boolean(before) || Boolean(since) || Boolean(f.status?.length) || Boolean(f.exited?.length);
  if (!showAll) list = list.filter((c) => c.State.Running || c.State.Restarting);
  if (before) list = list.filter((c) => Date.parse(c.Created) < Date.parse(before.Created));
  if (since) list = list.filter((c) => Date.parse(c.Created) > Date.parse(since.Created));
  const any = <T>(vals: T[] | undefined, pred: (v: T) => boolean) => !vals?.length || vals.some(pred);
  list = list.filter(
    (c) =>
      any(f.id, (v) => c.ID.startsWith(v)) &&
      any(f.name, (v) => new RegExp(v).test(c.Name.slice(1)) || c.Name.slice(1).includes(v)) &&
      (f.label ?? []).every((l) => {
        const eq = l.indexOf('=');
        return eq < 0 ? l in (c.Config.Labels ?? {}) : c.Config.Labels?.[l.slice(0, eq)] === l.slice(eq + 1);
      }) &&
      any(f.status, (v) => c.State.Status === v) &&
      any(f.exited, (v) => c.State.Status === 'exited' && c.State.ExitCode === Number(v)) &&
      any(f.ancestor, (v) => opts.imageMatches(c, v)) &&
      any(f.health, (v) => (c.State.Health?.Status ?? 'none') === v) &&
      any(f.volume, (v) => c.MountPoints.some((m) => m.Name === v || m.Destination === v || m.Source === v)) &&
      any(f.network, (v) => v in networks(c)) &&
      any(f.expose, (v) => Object.keys(c.Config.ExposedPorts ?? {}).some((p) => p === v || p.split('/')[0] === v)) &&
      any(f.publish, (v) => Object.entries(c.HostConfig.PortBindings ?? {}).some(([, b]) => (b ?? []).some((x) => x.HostPort === v.split('/')[0]))),
  );
  if (opts.limit !== undefined && opts.limit > 0) list = list.slice(0, opts.limit);
  return list;
}
