/**
 * Property tests for `docker daemon` flag parsing. Random valid combinations of every option are
 * rendered to argv in random order and in every form Go's flag package accepts; the parsed config
 * must equal what a small model computes from the generated values. Then one option gets an
 * invalid value, and the parse must fail naming that option.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FlagError, parseDaemonArgs, type DaemonConfig } from '../src/config/daemon-options';
import type { HostAddress } from '../src/config/hosts';

const RUNS = { numRuns: 200 };

// ---------------------------------------------------------------------------------------------
// Option shapes, as the seed documents them (independent of the parser's own table).

type Kind = 'bool' | 'value' | 'list';
const SHAPES: Record<string, { kind: Kind; short?: string }> = {
  'api-cors-header': { kind: 'value' }, bridge: { kind: 'value', short: 'b' }, bip: { kind: 'value' },
  debug: { kind: 'bool', short: 'D' }, 'default-gateway': { kind: 'value' }, 'default-gateway-v6': { kind: 'value' },
  dns: { kind: 'list' }, 'dns-search': { kind: 'list' }, 'default-ulimit': { kind: 'list' },
  'exec-driver': { kind: 'value', short: 'e' }, 'exec-opt': { kind: 'list' }, 'exec-root': { kind: 'value' },
  'fixed-cidr': { kind: 'value' }, 'fixed-cidr-v6': { kind: 'value' }, group: { kind: 'value', short: 'G' },
  graph: { kind: 'value', short: 'g' }, host: { kind: 'list', short: 'H' }, help: { kind: 'bool', short: 'h' },
  icc: { kind: 'bool' }, 'insecure-registry': { kind: 'list' }, ip: { kind: 'value' }, 'ip-forward': { kind: 'bool' },
  'ip-masq': { kind: 'bool' }, iptables: { kind: 'bool' }, ipv6: { kind: 'bool' }, 'log-level': { kind: 'value', short: 'l' },
  label: { kind: 'list' }, 'log-driver': { kind: 'value' }, 'log-opt': { kind: 'list' }, mtu: { kind: 'value' },
  pidfile: { kind: 'value', short: 'p' }, 'registry-mirror': { kind: 'list' }, 'storage-driver': { kind: 'value', short: 's' },
  'selinux-enabled': { kind: 'bool' }, 'storage-opt': { kind: 'list' }, tls: { kind: 'bool' }, tlscacert: { kind: 'value' },
  tlscert: { kind: 'value' }, tlskey: { kind: 'value' }, tlsverify: { kind: 'bool' }, 'userland-proxy': { kind: 'bool' },
  backend: { kind: 'value' },
};

// ---------------------------------------------------------------------------------------------
// Value arbitraries, one per kind of value.

// A DNS label; not one with the ACE prefix `xn--`, which is a hostname only when the rest is valid
// punycode (IDNA, RFC 5891): URL parsers refuse `xn--a`, so it is no valid mirror or registry.
const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/).filter((l) => !l.startsWith('xn--'));
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();
const cidr4 = fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`);
const cidr6 = fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`);
const port = fc.integer({ min: 0, max: 65535 });
const iface = fc.stringMatching(/^[a-z][a-z0-9._-]{0,14}$/);
const absPath = fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/).filter((s) => s !== '.' && s !== '..'), { minLength: 1, maxLength: 4 }).map((xs) => `/${xs.join('/')}`);
const anyPath = fc.oneof(absPath, absPath.map((p) => p.slice(1)), absPath.map((p) => `~${p}`));
const bytes = fc.tuple(fc.nat(4096), fc.constantFrom('', 'b', 'k', 'K', 'kb', 'KiB', 'm', 'M', 'MB', 'g', 'G', 'gb', 't')).map(([n, u]) => `${n}${u}`);
const boolText = fc.constantFrom('true', 'false', '1', '0', 'T', 'F', 'TRUE', 'False');
const mixedCase = (s: string) => fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
const freeText = fc.string({ maxLength: 12 });

const LOG_LEVELS = ['debug', 'info', 'warn', 'warning', 'error', 'fatal', 'panic'];
const logLevel = fc.constantFrom(...LOG_LEVELS).chain(mixedCase);

const ULIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];
/** `name=soft[:hard]` with soft <= hard, -1 (unlimited) counting as the largest. */
const ulimit = fc.record({
  name: fc.constantFrom(...ULIMITS),
  soft: fc.oneof(fc.constant(-1), fc.nat(1 << 20)),
  extra: fc.option(fc.oneof(fc.constant(-1), fc.nat(1 << 20))),
}).map(({ name, soft, extra }) => {
  if (extra === null) return `${name}=${soft}`;
  const hard = extra === -1 || soft === -1 ? -1 : soft + extra;
  return `${name}=${soft}:${hard}`;
});

const insecureRegistry = fc.oneof(cidr4, domain, fc.tuple(domain, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`));
const mirror = fc.tuple(fc.constantFrom('http', 'https'), domain, fc.option(fc.integer({ min: 1, max: 65535 })), fc.boolean())
  .map(([s, h, p, slash]) => `${s}://${h}${p === null ? '' : `:${p}`}${slash ? '/' : ''}`);
const dockerLabel = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.-]{0,10}$/), fc.string({ maxLength: 10 })).map(([k, v]) => `${k}=${v}`);

/** Storage options each driver takes, as the seed's reference lists them (plus our size options). */
const STORAGE_OPTS: Record<string, Record<string, fc.Arbitrary<string>>> = {
  devicemapper: {
    'dm.thinpooldev': absPath, 'dm.basesize': bytes, 'dm.loopdatasize': bytes, 'dm.loopmetadatasize': bytes,
    'dm.fs': fc.constantFrom('ext4', 'xfs'), 'dm.mkfsarg': freeText, 'dm.mountopt': freeText, 'dm.datadev': absPath,
    'dm.metadatadev': absPath, 'dm.blocksize': bytes, 'dm.blkdiscard': boolText, 'dm.override_udev_sync_check': boolText,
  },
  zfs: { 'zfs.fsname': fc.stringMatching(/^[a-z][a-z0-9_]{0,6}(\/[a-z0-9_]{1,6}){0,2}$/) },
  btrfs: { 'btrfs.min_space': bytes },
  overlay: { 'overlay.size': bytes },
  overlay2: { 'overlay2.size': bytes },
  vfs: { 'vfs.size': bytes },
  aufs: {},
};
const LOG_OPTS: Record<string, Record<string, fc.Arbitrary<string>>> = {
  'json-file': { 'max-size': bytes, 'max-file': fc.integer({ min: 1, max: 99 }).map(String), labels: freeText, env: freeText, compress: boolText },
  syslog: { 'syslog-address': freeText, 'syslog-facility': fc.constantFrom('daemon', 'local0'), tag: freeText },
  journald: { tag: freeText, labels: freeText },
  gelf: { 'gelf-address': freeText, tag: freeText },
  fluentd: { 'fluentd-address': freeText, tag: freeText },
  none: {},
};
const EXEC_OPTS: Record<string, fc.Arbitrary<string>> = {
  'native.cgroupdriver': fc.constantFrom('cgroupfs', 'systemd'),
  'native.runtime': fc.constantFrom('runc', 'crun'),
};
/** `key=value` items drawn from a table, keys optionally in random case. */
const keyValues = (table: Record<string, fc.Arbitrary<string>>, anyCase: boolean) => {
  const keys = Object.keys(table);
  if (keys.length === 0) return fc.constant([] as string[]);
  const item = fc.constantFrom(...keys).chain((k) => fc.tuple(anyCase ? mixedCase(k) : fc.constant(k), table[k]!)).map(([k, v]) => `${k}=${v}`);
  return fc.array(item, { maxLength: 4 });
};

/** A -H value and the address it means (a function of whether TLS is on, for the default port). */
interface HostCase {
  text: string;
  addr: (tls: boolean) => HostAddress;
}
const hostname = fc.oneof(ipv4, domain);
const tcpHost: fc.Arbitrary<HostCase> = fc.record({
  host: fc.oneof(hostname.map((h): [string, string] => [h, h]), ipv6.map((h): [string, string] => [`[${h}]`, h]), fc.constant<[string, string]>(['', '127.0.0.1'])),
  port: fc.option(port),
  scheme: fc.boolean(),
}).map(({ host: [shown, host], port: p, scheme }): HostCase => ({
  text: `${scheme || shown === '' ? 'tcp://' : ''}${shown}${p === null ? '' : `:${p}`}`,
  addr: (tls) => ({ proto: 'tcp', host, port: p ?? (tls ? 2376 : 2375) }),
}));
const hostCase: fc.Arbitrary<HostCase> = fc.oneof(
  absPath.map((p): HostCase => ({ text: `unix://${p}`, addr: () => ({ proto: 'unix', path: p }) })),
  fc.constant<HostCase>({ text: 'fd://', addr: () => ({ proto: 'fd', fd: undefined }) }),
  fc.nat(64).map((n): HostCase => ({ text: `fd://${n}`, addr: () => ({ proto: 'fd', fd: n }) })),
  tcpHost,
);

// ---------------------------------------------------------------------------------------------
// A plan: for each option given, its occurrences in order. Bools carry booleans, others text.

type Plan = Record<string, (string | boolean)[]>;
interface Generated {
  plan: Plan;
  hosts: HostCase[];
  env: NodeJS.ProcessEnv;
}

const last = <T>(xs: T[] | undefined): T | undefined => (xs && xs.length ? xs[xs.length - 1] : undefined);
const some = <T>(arb: fc.Arbitrary<T>, max = 2) => fc.array(arb, { minLength: 1, maxLength: max });

const simpleOptions = fc.record(
  {
    'api-cors-header': some(freeText),
    debug: some(fc.boolean(), 3),
    'default-gateway': some(ipv4),
    'default-gateway-v6': some(ipv6),
    dns: some(fc.oneof(ipv4, ipv6), 4),
    'dns-search': some(fc.oneof(domain, fc.constant('.')), 4),
    'default-ulimit': some(ulimit, 4),
    'exec-driver': some(fc.constant('native')),
    'exec-opt': keyValues(EXEC_OPTS, true).filter((xs) => xs.length > 0),
    'exec-root': some(anyPath.filter((p) => !p.startsWith('~'))),
    'fixed-cidr': some(cidr4),
    'fixed-cidr-v6': some(cidr6),
    group: some(freeText),
    graph: some(anyPath.filter((p) => !p.startsWith('~'))),
    help: some(fc.boolean()),
    'insecure-registry': some(insecureRegistry, 4),
    ip: some(fc.oneof(ipv4, ipv6)),
    'ip-forward': some(fc.boolean(), 3),
    'ip-masq': some(fc.boolean(), 3),
    ipv6: some(fc.boolean(), 3),
    'log-level': some(logLevel),
    label: some(dockerLabel, 4),
    mtu: some(fc.oneof(fc.constant(0), fc.integer({ min: 68, max: 65535 })).map(String)),
    pidfile: some(anyPath.filter((p) => !p.startsWith('~'))),
    'registry-mirror': some(mirror, 3),
    'selinux-enabled': some(fc.boolean(), 3),
    tls: some(fc.boolean(), 3),
    tlscacert: some(anyPath),
    tlscert: some(anyPath),
    tlskey: some(anyPath),
    tlsverify: some(fc.boolean(), 3),
    'userland-proxy': some(fc.boolean(), 3),
    backend: some(fc.constantFrom('', 'linux', 'fake')),
  },
  { requiredKeys: [] },
);

/** -b and --bip are exclusive: give one of them (or neither). */
const bridgeOrBip = fc.oneof(
  fc.constant({}),
  some(fc.oneof(fc.constant(''), fc.constant('none'), iface)).map((v) => ({ bridge: v })),
  some(fc.oneof(fc.constant(''), cidr4)).map((v) => ({ bip: v })),
);
/** --iptables=false with --icc=false is refused: never both. */
const iccIptables = fc.record({ icc: fc.option(some(fc.boolean(), 3)), iptables: fc.option(some(fc.boolean(), 3)) })
  .filter(({ icc, iptables }) => !(last(icc ?? []) === false && last(iptables ?? []) === false))
  .map(({ icc, iptables }) => ({ ...(icc ? { icc } : {}), ...(iptables ? { iptables } : {}) }));
/** Storage options all for one driver; -s names it, or is absent. */
const storage = fc.constantFrom(...Object.keys(STORAGE_OPTS)).chain((driver) =>
  fc.tuple(fc.boolean(), keyValues(STORAGE_OPTS[driver]!, true)).map(([given, opts]) => ({
    ...(given ? { 'storage-driver': [driver] } : {}),
    ...(opts.length ? { 'storage-opt': opts } : {}),
  })),
);
/** Log options all for --log-driver (json-file when absent). */
const logging = fc.constantFrom(...Object.keys(LOG_OPTS)).chain((driver) =>
  fc.tuple(fc.boolean(), keyValues(LOG_OPTS[driver]!, false)).map(([given, opts]) => ({
    ...(given || driver !== 'json-file' ? { 'log-driver': [driver] } : {}),
    ...(opts.length ? { 'log-opt': opts } : {}),
  })),
);
const envArb = fc.record({
  DOCKER_TLS_VERIFY: fc.option(fc.constantFrom('', '1', 'yes')),
  DOCKER_CERT_PATH: fc.option(absPath),
}).map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== null)) as NodeJS.ProcessEnv);

const generated: fc.Arbitrary<Generated> = fc
  .tuple(simpleOptions, bridgeOrBip, iccIptables, storage, logging, fc.array(hostCase, { maxLength: 4 }), envArb)
  .map(([simple, bb, ii, st, lg, hosts, env]) => {
    const plan: Plan = { ...simple, ...bb, ...ii, ...st, ...lg };
    if (hosts.length) plan.host = hosts.map((h) => h.text);
    return { plan, hosts, env };
  });

// ---------------------------------------------------------------------------------------------
// Rendering: each occurrence in a random form, occurrences of different options interleaved at
// random, occurrences of one option kept in their order.

const TRUE_TEXTS = ['true', 'TRUE', 'True', 't', 'T', '1'];
const FALSE_TEXTS = ['false', 'FALSE', 'False', 'f', 'F', '0'];

function forms(long: string, value: string | boolean): string[][] {
  const { kind, short } = SHAPES[long]!;
  if (kind === 'bool') {
    const texts = value ? TRUE_TEXTS : FALSE_TEXTS;
    const out = [value ? [`--${long}`] : [`--no-${long}`], ...texts.map((t) => [`--${long}=${t}`])];
    if (short) out.push(...(value ? [[`-${short}`]] : []), ...texts.map((t) => [`-${short}=${t}`]));
    return out;
  }
  const v = value as string;
  const out = [[`--${long}=${v}`], [`--${long}`, v]];
  if (short) {
    out.push([`-${short}`, v], [`-${short}=${v}`]);
    if (v !== '' && !v.startsWith('=')) out.push([`-${short}${v}`]);
  }
  return out;
}

/** argv for a plan, given random choices (form index and sort key per occurrence). */
function render(plan: Plan, choices: number[]): string[] {
  let c = 0;
  const next = () => choices[c++ % choices.length] ?? 0;
  const groups: { long: string; key: number; tokens: string[] }[] = [];
  for (const [long, values] of Object.entries(plan)) {
    for (const value of values) {
      const fs = forms(long, value);
      groups.push({ long, key: next(), tokens: fs[next() % fs.length]! });
    }
  }
  // Shuffle by key, then give each option its slots back in its own order.
  const slots = groups.map((g, i) => ({ g, i })).sort((a, b) => a.g.key - b.g.key || a.i - b.i);
  const byOption = new Map<string, string[][]>();
  for (const g of groups) byOption.set(g.long, [...(byOption.get(g.long) ?? []), g.tokens]);
  return slots.flatMap(({ g }) => byOption.get(g.long)!.shift()!);
}

// ---------------------------------------------------------------------------------------------
// The model: what the config must be, computed from the plan alone.

function model({ plan, hosts, env }: Generated): { config: DaemonConfig; help: boolean } {
  const str = (long: string, dflt: string) => (last(plan[long]) as string | undefined) ?? dflt;
  const bool = (long: string, dflt: boolean) => (last(plan[long]) as boolean | undefined) ?? dflt;
  const list = (long: string) => (plan[long] ?? []) as string[];
  const home = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : p);
  const certDir = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  const kv = (items: string[], lower: boolean) => {
    const m: Record<string, string> = {};
    for (const item of items) {
      const i = item.indexOf('=');
      m[lower ? item.slice(0, i).toLowerCase() : item.slice(0, i)] = item.slice(i + 1);
    }
    return m;
  };
  const ulimits: DaemonConfig['defaultUlimits'] = {};
  for (const u of list('default-ulimit')) {
    const [name, limits] = u.split('=') as [string, string];
    const [soft, hard = soft] = limits.split(':').map(Number) as [number, number?];
    ulimits[name] = { Name: name, Soft: soft, Hard: hard };
  }
  const tlsverify = bool('tlsverify', (env.DOCKER_TLS_VERIFY ?? '') !== '');
  const tls = bool('tls', false) || tlsverify;
  const seen = new Set<string>();
  const addrs = hosts.map((h) => h.addr(tls)).filter((a) => {
    const k = JSON.stringify(a);
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const level = str('log-level', 'info').toLowerCase();
  const iptables = bool('iptables', true);
  return {
    help: bool('help', false),
    config: {
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
      execOpts: kv(list('exec-opt'), true),
      execRoot: resolve(str('exec-root', '/var/run/docker')),
      fixedCidr: str('fixed-cidr', ''),
      fixedCidrV6: str('fixed-cidr-v6', ''),
      group: str('group', 'docker'),
      graph: resolve(str('graph', '/var/lib/docker')),
      hosts: addrs,
      icc: bool('icc', true),
      insecureRegistries: list('insecure-registry'),
      ip: str('ip', '0.0.0.0'),
      ipForward: bool('ip-forward', true),
      ipMasq: iptables && bool('ip-masq', true),
      iptables,
      ipv6: bool('ipv6', false),
      logLevel: bool('debug', false) ? 'debug' : ((level === 'warning' ? 'warn' : level) as DaemonConfig['logLevel']),
      labels: list('label'),
      logDriver: str('log-driver', 'json-file'),
      logOpts: kv(list('log-opt'), false),
      mtu: Number(str('mtu', '0')),
      pidfile: resolve(str('pidfile', '/var/run/docker.pid')),
      registryMirrors: list('registry-mirror').map((m) => (m.endsWith('/') ? m.slice(0, -1) : m)),
      storageDriver: str('storage-driver', ''),
      selinuxEnabled: bool('selinux-enabled', false),
      storageOpts: kv(list('storage-opt'), true),
      tls,
      tlscacert: home(str('tlscacert', join(certDir, 'ca.pem'))),
      tlscert: home(str('tlscert', join(certDir, 'cert.pem'))),
      tlskey: home(str('tlskey', join(certDir, 'key.pem'))),
      tlsverify,
      userlandProxy: bool('userland-proxy', true),
      backend: str('backend', '') as DaemonConfig['backend'],
    },
  };
}

const choicesArb = fc.array(fc.nat(1000), { minLength: 1, maxLength: 64 });

describe('daemon flags: valid combinations', () => {
  it('the model covers every option of the seed plus --backend', () => {
    const r = parseDaemonArgs([], {});
    expect(Object.keys(model({ plan: {}, hosts: [], env: {} }).config).sort()).toEqual(Object.keys(r.config).sort());
    expect(Object.keys(SHAPES)).toHaveLength(42);
  });

  it('parse(render(plan)) equals the model, whatever the order and forms', () => {
    fc.assert(
      fc.property(generated, choicesArb, (g, choices) => {
        const argv = render(g.plan, choices);
        const r = parseDaemonArgs(argv, g.env);
        const m = model(g);
        expect(r.config).toEqual(m.config);
        expect(r.help).toBe(m.help);
        expect([...r.explicit].sort()).toEqual(Object.keys(g.plan).sort());
      }),
      RUNS,
    );
  });

  it('two renderings of one plan parse to the same config', () => {
    fc.assert(
      fc.property(generated, choicesArb, choicesArb, (g, a, b) => {
        expect(parseDaemonArgs(render(g.plan, a), g.env)).toEqual(parseDaemonArgs(render(g.plan, b), g.env));
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Invalid values, per option. Each is refused by the option's own check, whatever else is given.

const notIn = (valid: string[]) => (s: string) => !valid.includes(s);
const junk = fc.string({ minLength: 1, maxLength: 10 });
const bad = {
  bool: junk.filter((s) => ![...TRUE_TEXTS, ...FALSE_TEXTS].includes(s)),
  ip: fc.oneof(domain, junk).filter((s) => !/^[0-9a-fA-F:.]+$/.test(s)),
  cidr4: fc.oneof(ipv4, ipv4.map((a) => `${a}/33`), cidr6, junk.map((s) => `x${s}/8`)),
  cidr6: fc.oneof(ipv6, ipv6.map((a) => `${a}/129`), cidr4),
  path: fc.constant(''),
};
const INVALID: Record<string, fc.Arbitrary<string>> = {
  bridge: fc.oneof(fc.string({ minLength: 16, maxLength: 20 }), iface.map((s) => `${s}/x`), iface.map((s) => `${s} x`)),
  bip: bad.cidr4,
  'default-gateway': fc.oneof(ipv6, bad.ip),
  'default-gateway-v6': fc.oneof(ipv4, bad.ip),
  dns: bad.ip,
  'dns-search': fc.oneof(domain.map((d) => `-${d}`), domain.map((d) => `${d}_x`), domain.map((d) => `${d}..x`)),
  'default-ulimit': fc.oneof(
    fc.tuple(fc.constantFrom(...ULIMITS), fc.nat(1000), fc.integer({ min: 1, max: 1000 })).map(([n, h, d]) => `${n}=${h + d}:${h}`),
    fc.tuple(fc.constantFrom(...ULIMITS), fc.nat(1000)).map(([n, h]) => `${n}=-1:${h}`),
    label.filter(notIn(ULIMITS)).map((n) => `${n}=1`),
    fc.constantFrom(...ULIMITS).map((n) => `${n}=many`),
    fc.constantFrom(...ULIMITS),
  ),
  'exec-driver': fc.oneof(fc.constant('lxc'), junk.filter(notIn(['native']))),
  'exec-opt': fc.oneof(label.map((k) => `native.${k}x=1`), fc.constant('native.cgroupdriver=upstart'), label),
  'exec-root': bad.path,
  'fixed-cidr': bad.cidr4,
  'fixed-cidr-v6': bad.cidr6,
  graph: bad.path,
  host: fc.oneof(
    fc.tuple(domain, fc.integer({ min: 65536, max: 10_000_000 })).map(([h, p]) => `tcp://${h}:${p}`),
    fc.tuple(domain, label).map(([h, p]) => `tcp://${h}:2375/${p}`),
    fc.tuple(fc.constantFrom('http', 'https', 'udp', 'ssh', 'npipe'), domain).map(([s, h]) => `${s}://${h}`),
    label.map((l) => `fd://${l}`),
  ),
  'insecure-registry': fc.tuple(fc.constantFrom('http', 'https'), domain).map(([s, h]) => `${s}://${h}`),
  ip: bad.ip,
  'log-level': junk.filter((s) => !LOG_LEVELS.includes(s.toLowerCase())),
  label: fc.oneof(label, label.map((v) => `=${v}`)),
  'log-driver': junk.filter(notIn(Object.keys(LOG_OPTS))),
  'log-opt': fc.oneof(label, label.map((k) => `zz-${k}=1`)),
  mtu: fc.oneof(fc.integer({ min: 1, max: 67 }), fc.integer({ min: 65536, max: 1 << 30 }), fc.integer({ min: -1000, max: -1 })).map(String),
  pidfile: bad.path,
  'registry-mirror': fc.oneof(domain, domain.map((d) => `ftp://${d}`), fc.tuple(domain, label).map(([d, p]) => `https://${d}/${p}`)),
  'storage-driver': junk.filter(notIn(['', ...Object.keys(STORAGE_OPTS)])),
  'storage-opt': fc.oneof(label.map((k) => `${k}=1`), label.map((k) => `dm.${k}zz=1`), junk.map((j) => `dm.basesize=x${j}`), fc.constant('dm.fs=ext3')),
  backend: junk.filter(notIn(['linux', 'fake'])),
};
for (const [long, { kind }] of Object.entries(SHAPES)) if (kind === 'bool') INVALID[long] = bad.bool;

describe('daemon flags: one invalid value', () => {
  it('there is an invalid generator for every checked option and every bool', () => {
    const unchecked = Object.keys(SHAPES).filter((l) => !INVALID[l]);
    expect(unchecked.sort()).toEqual(['api-cors-header', 'group', 'tlscacert', 'tlscert', 'tlskey']);
  });

  const invalidCase = fc.constantFrom(...Object.keys(INVALID)).chain((long) => fc.tuple(fc.constant(long), INVALID[long]!));

  it('replacing one option\'s value by an invalid one fails naming that option and the value', () => {
    fc.assert(
      fc.property(generated, invalidCase, choicesArb, fc.nat(), fc.boolean(), (g, [long, value], choices, at, spaced) => {
        const { [long]: _dropped, ...rest } = g.plan;
        const argv = render(rest, choices);
        const given = SHAPES[long]!.kind === 'bool' || !spaced ? [`--${long}=${value}`] : [`--${long}`, value];
        // Insert between two groups: never between a value flag and its value.
        const boundaries = boundariesOf(argv);
        const pos = boundaries[at % boundaries.length]!;
        argv.splice(pos, 0, ...given);
        let caught: unknown;
        try {
          parseDaemonArgs(argv, g.env);
        } catch (e) {
          caught = e;
        }
        expect(caught, `${JSON.stringify(argv)} should be refused`).toBeInstanceOf(FlagError);
        const err = caught as FlagError;
        expect(err.flag).toBe(`--${long}`);
        expect(err.value).toBe(value);
        expect(err.message).toContain(`"${value}"`);
      }),
      RUNS,
    );
  });
});

/** Indices in argv where a new flag may start (not right after a value flag given without `=`). */
function boundariesOf(argv: string[]): number[] {
  const out = [0];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const long = /^--([a-z0-9-]+)$/.exec(a)?.[1];
    const short = /^-([A-Za-z])$/.exec(a)?.[1];
    const shape = long ? SHAPES[long] : short ? Object.values(SHAPES).find((s) => s.short === short) : undefined;
    if (shape && shape.kind !== 'bool') i++;
    out.push(i + 1);
  }
  return out;
}
