import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-options';
import { DAEMON_OPTIONS } from '../config/daemon-options';
import { formatHost } from '../config/hosts';
import { registryServiceConfig } from '../registry/registry-config';
import type { Job } from '../engine/engine';
import type { Kernel, HostFacts } from '../kernel';
import { API_VERSION, DAEMON_VERSION, GIT_COMMIT, MIN_API_VERSION } from '../version';

/** Counts that other services own; the system service only reports them. */
export interface DaemonCounters {
  containers(): { total: number; running: number; paused: number; stopped: number };
  images(): number;
  eventListeners(): number;
}

const NO_COUNTS: DaemonCounters = {
  containers: () => ({ total: 0, running: 0, paused: 0, stopped: 0 }),
  images: () => 0,
  eventListeners: () => 0,
};

const BUILD_TIME = new Date().toISOString();

/** Docker's GOARCH names for Node's process.arch. */
function goArch(arch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

/**
 * `/version` and `/info`, built from the config, the kernel's host facts and the other
 * services' counters. The daemon ID is made once and kept under the graph root.
 */
export class SystemService {
  private facts: HostFacts | undefined;
  private counters: DaemonCounters = NO_COUNTS;

  constructor(
    private readonly config: DaemonConfig,
    private readonly kernel: Kernel,
    private readonly log: Logger,
    readonly id: string,
    private readonly startupWarnings: string[],
  ) {}

  /** Read or create the daemon ID (the `engine-id` file under -g), Docker's 12x4 base32 form. */
  static async loadId(kernel: Kernel, graph: string): Promise<string> {
    const file = join(graph, 'engine-id');
    try {
      const id = (await kernel.hostFs.readFile(file)).toString('utf8').trim();
      if (id) return id;
    } catch {
      /* first start */
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const bytes = randomBytes(48);
    const chars = [...bytes].map((b) => alphabet[b % 32]).join('');
    const id = chars.match(/.{4}/g)!.join(':');
    await kernel.hostFs.writeFileAtomic(file, `${id}\n`, 0o600);
    return id;
  }

  setCounters(c: DaemonCounters): void {
    this.counters = c;
  }

  private async hostFacts(fresh: boolean): Promise<HostFacts> {
    if (!this.facts || fresh) this.facts = await this.kernel.hostInfo.read();
    return this.facts;
  }

  async version(_job: Job): Promise<Record<string, unknown>> {
    const f = await this.hostFacts(false);
    const arch = goArch(process.arch);
    const components: Record<string, unknown>[] = [
      {
        Name: 'Engine',
        Version: DAEMON_VERSION,
        Details: {
          ApiVersion: API_VERSION, Arch: arch, BuildTime: BUILD_TIME, Experimental: 'false', GitCommit: GIT_COMMIT,
          GoVersion: `node${process.versions.node}`, KernelVersion: f.kernelVersion, MinAPIVersion: MIN_API_VERSION, Os: 'linux',
          Backend: this.kernel.name,
        },
      },
    ];
    for (const [name, rt] of Object.entries(f.runtimes)) {
      if (rt.version) components.push({ Name: name, Version: rt.version, Details: { GitCommit: rt.commit ?? '' } });
    }
    return {
      Platform: { Name: `tsdocker (${this.kernel.name} backend)` },
      Components: components,
      Version: DAEMON_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: GIT_COMMIT,
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: arch,
      KernelVersion: f.kernelVersion,
      BuildTime: BUILD_TIME,
    };
  }

  async info(_job: Job): Promise<Record<string, unknown>> {
    const c = this.config;
    const f = await this.hostFacts(true);
    const counts = this.counters.containers();
    const storage = this.kernel.storage;
    const cgroupDriver = this.cgroupDriver(f);
    const defaultRuntime = c.execOpts['native.runtime'] ?? 'runc';
    const warnings = [...this.startupWarnings, ...f.warnings];
    const rt = f.runtimes[defaultRuntime];
    return {
      ID: this.id,
      Containers: counts.total,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: this.counters.images(),
      Driver: storage?.name ?? (c.storageDriver || 'none'),
      DriverStatus: storage ? await storage.status() : [],
      Plugins: {
        Volume: ['local'],
        Network: ['bridge', 'host', 'null'],
        Authorization: null,
        Log: ['json-file', 'none'],
      },
      MemoryLimit: f.features.memoryLimit,
      SwapLimit: f.features.swapLimit,
      KernelMemory: f.features.kernelMemory,
      KernelMemoryTCP: f.features.kernelMemoryTCP,
      CpuCfsPeriod: f.features.cpuCfsPeriod,
      CpuCfsQuota: f.features.cpuCfsQuota,
      CPUShares: f.features.cpuShares,
      CPUSet: f.features.cpuSet,
      PidsLimit: f.features.pidsLimit,
      IPv4Forwarding: f.features.ipv4Forwarding,
      BridgeNfIptables: f.features.bridgeNfIptables,
      BridgeNfIp6tables: f.features.bridgeNfIp6tables,
      Debug: c.debug,
      NFd: await openFdCount(),
      OomKillDisable: f.features.oomKillDisable,
      NGoroutines: process.getActiveResourcesInfo().length,
      SystemTime: rfc3339Nano(new Date()),
      LoggingDriver: c.logDriver,
      CgroupDriver: cgroupDriver,
      CgroupVersion: f.cgroupVersion,
      NEventsListener: this.counters.eventListeners(),
      KernelVersion: f.kernelVersion,
      OperatingSystem: f.operatingSystem,
      OSVersion: f.osVersion,
      OSType: 'linux',
      Architecture: f.architecture,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryServiceConfig(c),
      NCPU: f.ncpu,
      MemTotal: f.memTotal,
      GenericResources: null,
      DockerRootDir: c.graph,
      HttpProxy: maskProxy(process.env.HTTP_PROXY ?? process.env.http_proxy ?? ''),
      HttpsProxy: maskProxy(process.env.HTTPS_PROXY ?? process.env.https_proxy ?? ''),
      NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
      Name: f.hostname,
      Labels: c.labels,
      ExperimentalBuild: false,
      ServerVersion: DAEMON_VERSION,
      Runtimes: Object.fromEntries(Object.entries(f.runtimes).map(([n, r]) => [n, { path: r.path }])),
      DefaultRuntime: defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '', Expected: '' },
      RuncCommit: { ID: rt?.commit ?? '', Expected: rt?.commit ?? '' },
      InitCommit: { ID: '', Expected: '' },
      SecurityOptions: [...f.securityOptions, ...(c.selinuxEnabled ? ['name=selinux'] : [])],
      Warnings: warnings.length ? warnings : null,
      // Not in Docker's schema: this daemon's own facts, for operators and tooling.
      ExecRoot: c.execRoot,
      Backend: this.kernel.name,
      DaemonOptions: this.effectiveOptions(),
    };
  }

  private cgroupDriver(f: HostFacts): string {
    if (f.cgroupVersion === '') return 'none';
    const wanted = this.config.execOpts['native.cgroupdriver'];
    if (wanted === 'systemd' && f.systemd) return 'systemd';
    return 'cgroupfs';
  }

  /** Every daemon option with its effective value, keyed by flag name. */
  private effectiveOptions(): Record<string, unknown> {
    const c = this.config as unknown as Record<string, unknown>;
    const keyOf: Record<string, string> = {
      'api-cors-header': 'apiCorsHeader', 'default-ulimit': 'defaultUlimits', 'exec-opt': 'execOpts', host: 'hosts',
      'insecure-registry': 'insecureRegistries', label: 'labels', 'log-opt': 'logOpts', 'registry-mirror': 'registryMirrors',
      'storage-opt': 'storageOpts', 'selinux-enabled': 'selinuxEnabled', 'userland-proxy': 'userlandProxy',
    };
    const out: Record<string, unknown> = {};
    for (const o of DAEMON_OPTIONS) {
      if (o.long === 'help') continue;
      const key = keyOf[o.long] ?? o.long.replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
      let v = c[key];
      if (o.long === 'host') v = this.config.hosts.map(formatHost);
      if (o.long === 'default-ulimit') v = Object.values(this.config.defaultUlimits).map((u) => `${u.Name}=${u.Soft}:${u.Hard}`);
      if (o.long === 'backend') v = this.kernel.name;
      out[o.long] = v;
    }
    return out;
  }
}

async function openFdCount(): Promise<number> {
  try {
    const { readdir } = await import('node:fs/promises');
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return 0;
  }
}

function maskProxy(p: string): string {
  try {
    const u = new URL(p);
    if (u.password) u.password = 'xxxxx';
    return u.toString();
  } catch {
    return p;
  }
}

/**
 * RFC 3339 with nanoseconds, as Go formats time.Time in JSON (trailing zeros dropped). A Date
 * holds milliseconds only: for one taken in the current millisecond (`new Date()`) the
 * sub-millisecond part comes from the monotonic clock, increasing within the millisecond, so
 * times read like dockerd's (`.123456789Z`) and keep their order.
 */
export function rfc3339Nano(d: Date, extraNanos = subMillisecondNanos(d)): string {
  const iso = d.toISOString();
  const ms = iso.slice(20, 23);
  const nanos = `${ms}${String(extraNanos).padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${nanos ? `.${nanos}` : ''}Z`;
}

let lastNanoStamp = { ms: 0, nanos: 0 };

function subMillisecondNanos(d: Date): number {
  const ms = d.getTime();
  if (ms !== Date.now()) return 0;
  let nanos = Number(process.hrtime.bigint() % 1_000_000n);
  if (lastNanoStamp.ms === ms && nanos <= lastNanoStamp.nanos) nanos = Math.min(999_999, lastNanoStamp.nanos + 1);
  lastNanoStamp = { ms, nanos };
  return nanos;
}
