import { homedir } from 'node:os';
import { resolve, join } from 'node:path';
import { FlagError, scanGoFlags } from './go-flags';
import { formatHost, HostParseError, parseHost, type HostAddress } from './hosts';
import {
  isCidr, isDnsSearch, isIPAny, isIPv4, isIPv6, isInsecureRegistry, isInterfaceName, isMirrorUrl,
  normaliseLogLevel, parseBool, parseBytes, parseUlimit, splitKeyValue, LOG_LEVELS, type Check, type LogLevel, type Ulimit,
} from './validate';

export { FlagError };

/** The daemon's whole configuration: every seed option, parsed and validated. */
export interface DaemonConfig {
  apiCorsHeader: string;
  bridge: string;
  bip: string;
  debug: boolean;
  defaultGateway: string;
  defaultGatewayV6: string;
  dns: string[];
  dnsSearch: string[];
  defaultUlimits: Record<string, Ulimit>;
  execDriver: string;
  execOpts: Record<string, string>;
  execRoot: string;
  fixedCidr: string;
  fixedCidrV6: string;
  group: string;
  graph: string;
  hosts: HostAddress[];
  icc: boolean;
  insecureRegistries: string[];
  ip: string;
  ipForward: boolean;
  ipMasq: boolean;
  iptables: boolean;
  ipv6: boolean;
  logLevel: LogLevel;
  labels: string[];
  logDriver: string;
  logOpts: Record<string, string>;
  mtu: number;
  pidfile: string;
  registryMirrors: string[];
  storageDriver: string;
  selinuxEnabled: boolean;
  storageOpts: Record<string, string>;
  tls: boolean;
  tlscacert: string;
  tlscert: string;
  tlskey: string;
  tlsverify: boolean;
  userlandProxy: boolean;
  /** Which kernel backend runs containers; '' means "choose at start" (see cli/daemon-command). */
  backend: '' | 'linux' | 'fake';
}

type Kind = 'string' | 'bool' | 'int' | 'list';

export interface OptionSpec {
  long: string;
  short?: string;
  kind: Kind;
  /** Shown in --help the way the seed shows it. */
  shownDefault: string;
  help: string;
  check?: Check;
  hidden?: boolean;
}

export const STORAGE_DRIVERS = ['aufs', 'devicemapper', 'btrfs', 'zfs', 'overlay', 'overlay2', 'vfs'] as const;
export const LOG_DRIVERS = ['json-file', 'syslog', 'journald', 'gelf', 'fluentd', 'none'] as const;
export const EXEC_DRIVERS = ['native'] as const;

/** Storage options each driver understands (prefix.key, case-insensitive) and how each value is checked. */
const STORAGE_OPTS: Record<string, Record<string, Check>> = {
  dm: {
    thinpooldev: nonEmpty,
    basesize: bytes,
    loopdatasize: bytes,
    loopmetadatasize: bytes,
    fs: (v) => (v === 'ext4' || v === 'xfs' ? undefined : 'must be ext4 or xfs'),
    mkfsarg: () => undefined,
    mountopt: () => undefined,
    datadev: nonEmpty,
    metadatadev: nonEmpty,
    blocksize: bytes,
    blkdiscard: boolean,
    override_udev_sync_check: boolean,
  },
  zfs: { fsname: (v) => (/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/.test(v) ? undefined : 'not a valid zfs filesystem name') },
  btrfs: { min_space: bytes },
  overlay2: { size: bytes, override_kernel_check: boolean },
  overlay: { size: bytes, override_kernel_check: boolean },
  vfs: { size: bytes },
};
const STORAGE_PREFIX_DRIVER: Record<string, string> = {
  dm: 'devicemapper', zfs: 'zfs', btrfs: 'btrfs', overlay2: 'overlay2', overlay: 'overlay', vfs: 'vfs',
};

/** Exec driver options (case-insensitive keys). */
const EXEC_OPTS: Record<string, Check> = {
  'native.cgroupdriver': (v) => (v === 'cgroupfs' || v === 'systemd' ? undefined : 'must be cgroupfs or systemd'),
  'native.runtime': (v) => (v === 'runc' || v === 'crun' ? undefined : 'must be runc or crun'),
  'native.monitor': (v) => (v === 'shared' || v === 'conmon' ? undefined : 'must be shared or conmon'),
};

const LOG_OPTS: Record<string, Record<string, Check>> = {
  'json-file': { 'max-size': bytes, 'max-file': positiveInt, labels: () => undefined, env: () => undefined, 'env-regex': () => undefined, compress: boolean },
  syslog: { 'syslog-address': () => undefined, 'syslog-facility': () => undefined, 'syslog-tag': () => undefined, tag: () => undefined },
  journald: { tag: () => undefined, labels: () => undefined, env: () => undefined },
  gelf: { 'gelf-address': () => undefined, 'gelf-tag': () => undefined, tag: () => undefined },
  fluentd: { 'fluentd-address': () => undefined, 'fluentd-tag': () => undefined, tag: () => undefined },
  none: {},
};

function nonEmpty(v: string) {
  return v === '' ? 'must not be empty' : undefined;
}
function bytes(v: string) {
  try {
    parseBytes(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
function boolean(v: string) {
  return parseBool(v) === undefined ? 'must be true or false' : undefined;
}
function positiveInt(v: string) {
  return /^[1-9]\d*$/.test(v) ? undefined : 'must be a positive integer';
}

/** An own entry of a lookup table: keys like `constructor` or `__proto__` are not options. */
function lookup<T>(table: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The option table: one row per seed option, in the seed's order. It drives parsing, help and /info. */
export const DAEMON_OPTIONS: readonly OptionSpec[] = [
  { long: 'api-cors-header', kind: 'string', shownDefault: '""', help: 'Set CORS headers in the remote API' },
  { long: 'bridge', short: 'b', kind: 'string', shownDefault: '""', help: 'Attach containers to a network bridge', check: (v) => (v === '' || v === 'none' ? undefined : isInterfaceName(v)) },
  { long: 'bip', kind: 'string', shownDefault: '""', help: 'Specify network bridge IP', check: (v) => (v === '' ? undefined : isCidr(4)(v)) },
  { long: 'debug', short: 'D', kind: 'bool', shownDefault: 'false', help: 'Enable debug mode' },
  { long: 'default-gateway', kind: 'string', shownDefault: '""', help: 'Container default gateway IPv4 address', check: (v) => (v === '' ? undefined : isIPv4(v)) },
  { long: 'default-gateway-v6', kind: 'string', shownDefault: '""', help: 'Container default gateway IPv6 address', check: (v) => (v === '' ? undefined : isIPv6(v)) },
  { long: 'dns', kind: 'list', shownDefault: '[]', help: 'DNS server to use', check: isIPAny },
  { long: 'dns-search', kind: 'list', shownDefault: '[]', help: 'DNS search domains to use', check: isDnsSearch },
  { long: 'default-ulimit', kind: 'list', shownDefault: '[]', help: 'Set default ulimit settings for containers', check: (v) => wrap(() => parseUlimit(v)) },
  { long: 'exec-driver', short: 'e', kind: 'string', shownDefault: '"native"', help: 'Exec driver to use', check: (v) => (v === 'native' ? undefined : v === 'lxc' ? 'the lxc exec driver is not supported; use native' : 'unknown exec driver (supported: native)') },
  { long: 'exec-opt', kind: 'list', shownDefault: '[]', help: 'Set exec driver options', check: checkExecOpt },
  { long: 'exec-root', kind: 'string', shownDefault: '"/var/run/docker"', help: 'Root of the Docker execdriver', check: nonEmpty },
  { long: 'fixed-cidr', kind: 'string', shownDefault: '""', help: 'IPv4 subnet for fixed IPs', check: (v) => (v === '' ? undefined : isCidr(4)(v)) },
  { long: 'fixed-cidr-v6', kind: 'string', shownDefault: '""', help: 'IPv6 subnet for fixed IPs', check: (v) => (v === '' ? undefined : isCidr(6)(v)) },
  { long: 'group', short: 'G', kind: 'string', shownDefault: '"docker"', help: 'Group for the unix socket' },
  { long: 'graph', short: 'g', kind: 'string', shownDefault: '"/var/lib/docker"', help: 'Root of the Docker runtime', check: nonEmpty },
  { long: 'host', short: 'H', kind: 'list', shownDefault: '[]', help: 'Daemon socket(s) to connect to', check: (v) => wrap(() => parseHost(v)) },
  { long: 'help', short: 'h', kind: 'bool', shownDefault: 'false', help: 'Print usage' },
  { long: 'icc', kind: 'bool', shownDefault: 'true', help: 'Enable inter-container communication' },
  { long: 'insecure-registry', kind: 'list', shownDefault: '[]', help: 'Enable insecure registry communication', check: isInsecureRegistry },
  { long: 'ip', kind: 'string', shownDefault: '0.0.0.0', help: 'Default IP when binding container ports', check: isIPAny },
  { long: 'ip-forward', kind: 'bool', shownDefault: 'true', help: 'Enable net.ipv4.ip_forward' },
  { long: 'ip-masq', kind: 'bool', shownDefault: 'true', help: 'Enable IP masquerading' },
  { long: 'iptables', kind: 'bool', shownDefault: 'true', help: 'Enable addition of iptables rules' },
  { long: 'ipv6', kind: 'bool', shownDefault: 'false', help: 'Enable IPv6 networking' },
  { long: 'log-level', short: 'l', kind: 'string', shownDefault: '"info"', help: 'Set the logging level', check: (v) => (normaliseLogLevel(v) ? undefined : `not a valid log level (use ${LOG_LEVELS.join(', ')})`) },
  { long: 'label', kind: 'list', shownDefault: '[]', help: 'Set key=value labels to the daemon', check: (v) => (splitKeyValue(v) ? undefined : 'labels must be key=value') },
  { long: 'log-driver', kind: 'string', shownDefault: '"json-file"', help: 'Default driver for container logs', check: (v) => ((LOG_DRIVERS as readonly string[]).includes(v) ? undefined : `unknown log driver (supported: ${LOG_DRIVERS.join(', ')})`) },
  { long: 'log-opt', kind: 'list', shownDefault: '[]', help: 'Log driver specific options', check: (v) => (splitKeyValue(v) ? undefined : 'log options must be key=value') },
  { long: 'mtu', kind: 'int', shownDefault: '0', help: 'Set the containers network MTU', check: (v) => (/^\d+$/.test(v) && (Number(v) === 0 || (Number(v) >= 68 && Number(v) <= 65535)) ? undefined : 'MTU must be 0 (the default, 1500) or between 68 and 65535') },
  { long: 'pidfile', short: 'p', kind: 'string', shownDefault: '"/var/run/docker.pid"', help: 'Path to use for daemon PID file', check: nonEmpty },
  { long: 'registry-mirror', kind: 'list', shownDefault: '[]', help: 'Preferred Docker registry mirror', check: isMirrorUrl },
  { long: 'storage-driver', short: 's', kind: 'string', shownDefault: '""', help: 'Storage driver to use', check: (v) => (v === '' || (STORAGE_DRIVERS as readonly string[]).includes(v) ? undefined : `unknown storage driver (supported: ${STORAGE_DRIVERS.join(', ')})`) },
  { long: 'selinux-enabled', kind: 'bool', shownDefault: 'false', help: 'Enable selinux support' },
  { long: 'storage-opt', kind: 'list', shownDefault: '[]', help: 'Set storage driver options', check: checkStorageOptSyntax },
  { long: 'tls', kind: 'bool', shownDefault: 'false', help: 'Use TLS; implied by --tlsverify' },
  { long: 'tlscacert', kind: 'string', shownDefault: '"~/.docker/ca.pem"', help: 'Trust certs signed only by this CA' },
  { long: 'tlscert', kind: 'string', shownDefault: '"~/.docker/cert.pem"', help: 'Path to TLS certificate file' },
  { long: 'tlskey', kind: 'string', shownDefault: '"~/.docker/key.pem"', help: 'Path to TLS key file' },
  { long: 'tlsverify', kind: 'bool', shownDefault: 'false', help: 'Use TLS and verify the remote' },
  { long: 'userland-proxy', kind: 'bool', shownDefault: 'true', help: 'Use userland proxy for loopback traffic' },
  { long: 'backend', kind: 'string', shownDefault: '""', help: 'Kernel backend: linux or fake (default: linux as root with an OCI runtime, else fake)', check: (v) => (v === '' || v === 'linux' || v === 'fake' ? undefined : 'must be linux or fake') },
];

function wrap(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function checkStorageOptSyntax(v: string): string | undefined {
  const kv = splitKeyValue(v);
  if (!kv) return 'storage options must be key=value';
  const [key, value] = kv;
  const dot = key.indexOf('.');
  const prefix = dot < 0 ? '' : key.slice(0, dot).toLowerCase();
  const table = lookup(STORAGE_OPTS, prefix);
  if (!table) return `unknown storage option ${key}`;
  const check = lookup(table, key.slice(dot + 1).toLowerCase());
  if (!check) return `unknown option ${key} for storage driver ${STORAGE_PREFIX_DRIVER[prefix]}`;
  return check(value);
}

function checkExecOpt(v: string): string | undefined {
  const kv = splitKeyValue(v);
  if (!kv) return 'exec options must be key=value';
  const check = lookup(EXEC_OPTS, kv[0].toLowerCase());
  if (!check) return `unknown exec option ${kv[0]} (supported: ${Object.keys(EXEC_OPTS).join(', ')})`;
  return check(kv[1]);
}

/** Where the TLS files default to: $DOCKER_CERT_PATH or ~/.docker. */
export function defaultCertPath(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CERT_PATH || join(homedir(), '.docker');
}

export interface ParseResult {
  config: DaemonConfig;
  help: boolean;
  /** Long names of the options given on the command line (the rest took their defaults). */
  explicit: Set<string>;
}

/**
 * Parse `docker daemon` arguments (Go flag syntax, see scanGoFlags) into a validated config.
 * Throws FlagError naming the first bad flag (its long form) and its value: unknown flags, missing
 * values, stray arguments, bad values, and the seed's cross-flag conflicts. Options absent from argv
 * take the seed's defaults; DOCKER_TLS_VERIFY (non-empty) makes --tlsverify default to true and
 * DOCKER_CERT_PATH (else ~/.docker) is where the TLS files default to. Nothing is bound or written.
 */
export function parseDaemonArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  const raw = scanGoFlags(argv, DAEMON_OPTIONS.map((o) => ({ ...o, kind: o.kind === 'bool' || o.kind === 'list' ? o.kind : 'value' })));

  const str = (long: string, dflt: string) => (raw.get(long) as string | undefined) ?? dflt;
  const bool = (long: string, dflt: boolean) => (raw.get(long) as boolean | undefined) ?? dflt;
  const list = (long: string) => (raw.get(long) as string[] | undefined) ?? [];
  const tlsverify = bool('tlsverify', (env.DOCKER_TLS_VERIFY ?? '') !== '');
  const tls = bool('tls', false) || tlsverify;
  const certPath = defaultCertPath(env);

  const ulimits: Record<string, Ulimit> = {};
  for (const u of list('default-ulimit').map(parseUlimit)) ulimits[u.Name] = u;

  const logDriver = str('log-driver', 'json-file');
  for (const item of list('log-opt')) {
    const [k, v] = splitKeyValue(item)!;
    const check = lookup(LOG_OPTS[logDriver] ?? {}, k);
    if (!check) throw new FlagError('--log-opt', item, `unknown log opt '${k}' for ${logDriver} log driver`);
    const reason = check(v);
    if (reason) throw new FlagError('--log-opt', item, reason);
  }
  const logOpts = toMap(list('log-opt'));

  const storageDriver = str('storage-driver', '');
  if (storageDriver) {
    for (const item of list('storage-opt')) {
      const key = splitKeyValue(item)![0];
      const owner = STORAGE_PREFIX_DRIVER[key.slice(0, key.indexOf('.')).toLowerCase()];
      if (owner !== storageDriver && !(storageDriver.startsWith('overlay') && owner?.startsWith('overlay'))) {
        throw new FlagError('--storage-opt', item, `option ${key} belongs to the ${owner} storage driver, not ${storageDriver}`);
      }
    }
  }
  const storageOpts = toMap(list('storage-opt'), true);

  const hosts = list('host').map((h) => parseHost(h, tls));
  const config: DaemonConfig = {
    apiCorsHeader: str('api-cors-header', ''),
    bridge: str('bridge', ''),
    bip: str('bip', ''),
    debug: bool('debug', false),
    defaultGateway: str('default-gateway', ''),
    defaultGatewayV6: str('default-gateway-v6', ''),
    dns: list('dns'),
    dnsSearch: list('dns-search'),
    defaultUlimits: ulimits,
    execDriver: str('exec-driver', 'native'),
    execOpts: toMap(list('exec-opt'), true),
    execRoot: resolve(str('exec-root', '/var/run/docker')),
    fixedCidr: str('fixed-cidr', ''),
    fixedCidrV6: str('fixed-cidr-v6', ''),
    group: str('group', 'docker'),
    graph: resolve(str('graph', '/var/lib/docker')),
    hosts: dedupeHosts(hosts),
    icc: bool('icc', true),
    insecureRegistries: list('insecure-registry'),
    ip: str('ip', '0.0.0.0'),
    ipForward: bool('ip-forward', true),
    ipMasq: bool('ip-masq', true),
    iptables: bool('iptables', true),
    ipv6: bool('ipv6', false),
    // -D wins over -l, as in Docker (it sets the debug level after applying --log-level).
    logLevel: bool('debug', false) ? 'debug' : normaliseLogLevel(str('log-level', 'info'))!,
    labels: list('label'),
    logDriver,
    logOpts,
    mtu: Number(str('mtu', '0')),
    pidfile: resolve(str('pidfile', '/var/run/docker.pid')),
    registryMirrors: list('registry-mirror').map((m) => m.replace(/\/$/, '')),
    storageDriver,
    selinuxEnabled: bool('selinux-enabled', false),
    storageOpts,
    tls,
    tlscacert: expandHome(str('tlscacert', join(certPath, 'ca.pem'))),
    tlscert: expandHome(str('tlscert', join(certPath, 'cert.pem'))),
    tlskey: expandHome(str('tlskey', join(certPath, 'key.pem'))),
    tlsverify,
    userlandProxy: bool('userland-proxy', true),
    backend: str('backend', '') as DaemonConfig['backend'],
  };
  checkCombinations(config);
  const explicit = new Set(DAEMON_OPTIONS.filter((o) => raw.get(o.long) !== undefined).map((o) => o.long));
  return { config, help: bool('help', false), explicit };
}

/** Cross-flag rules of the seed's daemon. */
function checkCombinations(c: DaemonConfig): void {
  const conflict = (flag: string, value: string, message: string) => new FlagError(flag, value, 'conflicting options', message);
  if (c.bridge !== '' && c.bip !== '') {
    throw conflict('--bip', c.bip, 'You specified -b & --bip, mutually exclusive options. Please specify only one.');
  }
  if (!c.iptables && !c.icc) {
    throw conflict('--icc', 'false', 'You specified --iptables=false with --icc=false. ICC uses iptables to function. Please set --icc or --iptables to true.');
  }
  // Masquerading is done with iptables rules: without iptables it is off (as in Docker 1.8).
  if (!c.iptables) c.ipMasq = false;
}

/**
 * `key=value` items as a map: the last value of a key wins (keys compared lower-cased when
 * `lowerKeys`, and stored so); safe for any key, `__proto__` included.
 */
function toMap(items: string[], lowerKeys = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const [k, v] = splitKeyValue(item)!;
    Object.defineProperty(out, lowerKeys ? k.toLowerCase() : k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
function expandHome(p: string): string {
  return p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}
function dedupeHosts(hosts: HostAddress[]): HostAddress[] {
  const seen = new Set<string>();
  return hosts.filter((h) => {
    const k = formatHost(h);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
export { HostParseError };

/** `docker daemon --help`, laid out like the seed's usage text. */
export function daemonUsage(): string {
  const rows = DAEMON_OPTIONS.filter((o) => !o.hidden).map((o) => {
    const left = `${o.short ? `-${o.short}, ` : ''}--${o.long}=${o.shownDefault}`;
    return `  ${left.padEnd(39)}${o.help}`;
  });
  return [
    'Usage: docker daemon [OPTIONS]',
    '',
    'A self-sufficient runtime for linux containers.',
    '',
    'Options:',
    ...rows,
    '',
    'Options with [] may be specified multiple times.',
    '',
  ].join('\n');
}
