import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_OPTIONS, daemonUsage, FlagError, parseDaemonArgs, type DaemonConfig } from './daemon-options';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseDaemonArgs(argv, env);
const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => parse(argv, env).config;

/** Expect argv to be refused with a FlagError naming `flag`, carrying `value` and mentioning it. */
function expectFlagError(argv: string[], flag: string, value?: string, message?: string | RegExp): FlagError {
  let caught: unknown;
  try {
    parse(argv);
  } catch (e) {
    caught = e;
  }
  expect(caught, `${JSON.stringify(argv)} should be refused`).toBeInstanceOf(FlagError);
  const err = caught as FlagError;
  expect(err.flag).toBe(flag);
  if (value !== undefined) {
    expect(err.value).toBe(value);
    expect(err.message).toContain(value);
  }
  if (message !== undefined) expect(err.message).toMatch(message);
  return err;
}

type Key = keyof DaemonConfig;
const certs = join(homedir(), '.docker');

/** Every option: where it lands in the config and its default there (the seed's, resolved). */
const DEFAULTS: Record<string, [Key | 'help', unknown]> = {
  'api-cors-header': ['apiCorsHeader', ''],
  bridge: ['bridge', ''],
  bip: ['bip', ''],
  debug: ['debug', false],
  'default-gateway': ['defaultGateway', ''],
  'default-gateway-v6': ['defaultGatewayV6', ''],
  dns: ['dns', []],
  'dns-search': ['dnsSearch', []],
  'default-ulimit': ['defaultUlimits', {}],
  'exec-driver': ['execDriver', 'native'],
  'exec-opt': ['execOpts', {}],
  'exec-root': ['execRoot', '/var/run/docker'],
  'fixed-cidr': ['fixedCidr', ''],
  'fixed-cidr-v6': ['fixedCidrV6', ''],
  group: ['group', 'docker'],
  graph: ['graph', '/var/lib/docker'],
  host: ['hosts', []],
  help: ['help', false],
  icc: ['icc', true],
  'insecure-registry': ['insecureRegistries', []],
  ip: ['ip', '0.0.0.0'],
  'ip-forward': ['ipForward', true],
  'ip-masq': ['ipMasq', true],
  iptables: ['iptables', true],
  ipv6: ['ipv6', false],
  'log-level': ['logLevel', 'info'],
  label: ['labels', []],
  'log-driver': ['logDriver', 'json-file'],
  'log-opt': ['logOpts', {}],
  mtu: ['mtu', 0],
  pidfile: ['pidfile', '/var/run/docker.pid'],
  'registry-mirror': ['registryMirrors', []],
  'storage-driver': ['storageDriver', ''],
  'selinux-enabled': ['selinuxEnabled', false],
  'storage-opt': ['storageOpts', {}],
  tls: ['tls', false],
  tlscacert: ['tlscacert', join(certs, 'ca.pem')],
  tlscert: ['tlscert', join(certs, 'cert.pem')],
  tlskey: ['tlskey', join(certs, 'key.pem')],
  tlsverify: ['tlsverify', false],
  'userland-proxy': ['userlandProxy', true],
  backend: ['backend', ''],
};

const valueOf = (r: ReturnType<typeof parse>, key: Key | 'help') => (key === 'help' ? r.help : r.config[key]);

describe('defaults', () => {
  it('the table covers every option: the seed\'s 41 (with -h) plus --backend', () => {
    expect(DAEMON_OPTIONS.map((o) => o.long).sort()).toEqual(Object.keys(DEFAULTS).sort());
    expect(DAEMON_OPTIONS.filter((o) => o.long !== 'backend')).toHaveLength(41);
    expect(DAEMON_OPTIONS.filter((o) => o.short).map((o) => o.short).sort()).toEqual(['D', 'G', 'H', 'b', 'e', 'g', 'h', 'l', 'p', 's']);
  });

  it.each(Object.entries(DEFAULTS))('--%s defaults as the seed says', (_long, [key, dflt]) => {
    const r = parse([]);
    expect(valueOf(r, key)).toEqual(dflt);
    expect(r.explicit.size).toBe(0);
  });

  it('shows in --help the default the seed shows', () => {
    const shown = (long: string) => DAEMON_OPTIONS.find((o) => o.long === long)!.shownDefault;
    expect(shown('exec-root')).toBe('"/var/run/docker"');
    expect(shown('mtu')).toBe('0');
    expect(shown('tlscacert')).toBe('"~/.docker/ca.pem"');
  });

  it('TLS files default to $DOCKER_CERT_PATH when set', () => {
    const c = config([], { DOCKER_CERT_PATH: '/etc/docker/certs' });
    expect([c.tlscacert, c.tlscert, c.tlskey]).toEqual(['/etc/docker/certs/ca.pem', '/etc/docker/certs/cert.pem', '/etc/docker/certs/key.pem']);
    expect(config([], { DOCKER_CERT_PATH: '' }).tlscacert).toBe(join(certs, 'ca.pem'));
  });

  it('a non-empty DOCKER_TLS_VERIFY makes --tlsverify (and so --tls) default to true', () => {
    expect(config([], { DOCKER_TLS_VERIFY: '1' })).toMatchObject({ tlsverify: true, tls: true });
    expect(config([], { DOCKER_TLS_VERIFY: 'anything' })).toMatchObject({ tlsverify: true, tls: true });
    expect(config([], { DOCKER_TLS_VERIFY: '' })).toMatchObject({ tlsverify: false, tls: false });
    expect(config(['--tlsverify=false'], { DOCKER_TLS_VERIFY: '1' })).toMatchObject({ tlsverify: false, tls: false });
  });

  it('the default tcp port follows TLS, from the flag or the environment', () => {
    expect(config(['-H', 'tcp://0.0.0.0']).hosts).toEqual([{ proto: 'tcp', host: '0.0.0.0', port: 2375 }]);
    expect(config(['-H', 'tcp://0.0.0.0', '--tls']).hosts).toEqual([{ proto: 'tcp', host: '0.0.0.0', port: 2376 }]);
    expect(config(['-H', 'tcp://0.0.0.0'], { DOCKER_TLS_VERIFY: '1' }).hosts).toEqual([{ proto: 'tcp', host: '0.0.0.0', port: 2376 }]);
  });
});

interface ValueCase {
  long: string;
  /** A valid value and what it becomes in the config. */
  valid: [string, unknown];
  /** A value refused by the option's check (absent: any string is accepted). */
  invalid?: string;
}

/** Every non-bool option with a valid and (where values are checked) an invalid value. */
const VALUE_CASES: ValueCase[] = [
  { long: 'api-cors-header', valid: ['*', '*'] },
  { long: 'bridge', valid: ['br0', 'br0'], invalid: 'a/b' },
  { long: 'bip', valid: ['172.17.42.1/16', '172.17.42.1/16'], invalid: '172.17.42.1' },
  { long: 'default-gateway', valid: ['172.17.42.254', '172.17.42.254'], invalid: 'fe80::1' },
  { long: 'default-gateway-v6', valid: ['fe80::1', 'fe80::1'], invalid: '10.0.0.1' },
  { long: 'dns', valid: ['8.8.8.8', ['8.8.8.8']], invalid: 'dns.google' },
  { long: 'dns-search', valid: ['example.com', ['example.com']], invalid: 'bad_domain' },
  { long: 'default-ulimit', valid: ['nofile=1024:2048', { nofile: { Name: 'nofile', Soft: 1024, Hard: 2048 } }], invalid: 'nofile=2048:1024' },
  { long: 'exec-driver', valid: ['native', 'native'], invalid: 'lxc' },
  { long: 'exec-opt', valid: ['native.cgroupdriver=cgroupfs', { 'native.cgroupdriver': 'cgroupfs' }], invalid: 'native.cgroupdriver=upstart' },
  { long: 'exec-root', valid: ['/run/tsd', '/run/tsd'], invalid: '' },
  { long: 'fixed-cidr', valid: ['10.20.0.0/16', '10.20.0.0/16'], invalid: '10.20.0.0/40' },
  { long: 'fixed-cidr-v6', valid: ['2001:db8::/64', '2001:db8::/64'], invalid: '10.20.0.0/16' },
  { long: 'group', valid: ['wheel', 'wheel'] },
  { long: 'graph', valid: ['/mnt/docker', '/mnt/docker'], invalid: '' },
  { long: 'host', valid: ['tcp://127.0.0.1:4243', [{ proto: 'tcp', host: '127.0.0.1', port: 4243 }]], invalid: 'http://127.0.0.1' },
  { long: 'insecure-registry', valid: ['10.1.0.0/16', ['10.1.0.0/16']], invalid: 'https://reg:5000' },
  { long: 'ip', valid: ['127.0.0.1', '127.0.0.1'], invalid: 'localhost' },
  { long: 'log-level', valid: ['error', 'error'], invalid: 'loud' },
  { long: 'label', valid: ['region=eu', ['region=eu']], invalid: 'region' },
  { long: 'log-driver', valid: ['syslog', 'syslog'], invalid: 'splunk-ish' },
  { long: 'log-opt', valid: ['max-size=10m', { 'max-size': '10m' }], invalid: 'max-size' },
  { long: 'mtu', valid: ['1450', 1450], invalid: '67' },
  { long: 'pidfile', valid: ['/run/tsd.pid', '/run/tsd.pid'], invalid: '' },
  { long: 'registry-mirror', valid: ['https://mirror.example.com/', ['https://mirror.example.com']], invalid: 'mirror.example.com' },
  { long: 'storage-driver', valid: ['overlay', 'overlay'], invalid: 'ext4' },
  { long: 'storage-opt', valid: ['dm.basesize=20G', { 'dm.basesize': '20G' }], invalid: 'dm.basesize=huge' },
  { long: 'tlscacert', valid: ['/certs/ca.pem', '/certs/ca.pem'] },
  { long: 'tlscert', valid: ['/certs/cert.pem', '/certs/cert.pem'] },
  { long: 'tlskey', valid: ['/certs/key.pem', '/certs/key.pem'] },
  { long: 'backend', valid: ['fake', 'fake'], invalid: 'qemu' },
];

const BOOLS = DAEMON_OPTIONS.filter((o) => o.kind === 'bool').map((o) => o.long);

describe('every option', () => {
  it('has a value case or is a bool', () => {
    const covered = new Set([...VALUE_CASES.map((c) => c.long), ...BOOLS]);
    expect(DAEMON_OPTIONS.filter((o) => !covered.has(o.long)).map((o) => o.long)).toEqual([]);
  });

  describe.each(VALUE_CASES)('--$long', ({ long, valid, invalid }) => {
    const key = DEFAULTS[long]![0] as Key;
    it('takes a valid value as --flag=v and --flag v', () => {
      expect(config([`--${long}=${valid[0]}`])[key]).toEqual(valid[1]);
      const r = parse([`--${long}`, valid[0]]);
      expect(r.config[key]).toEqual(valid[1]);
      expect([...r.explicit]).toEqual([long]);
    });
    if (invalid !== undefined) {
      it(`refuses ${JSON.stringify(invalid)} naming --${long}`, () => {
        expectFlagError([`--${long}`, invalid], `--${long}`, invalid, new RegExp(`for flag --${long}: `));
        expectFlagError([`--${long}=${invalid}`], `--${long}`, invalid);
      });
    }
  });

  describe.each(BOOLS)('--%s', (long) => {
    const key = DEFAULTS[long]![0];
    const dflt = DEFAULTS[long]![1] as boolean;
    const value = (argv: string[]) => valueOf(parse(argv), key);
    it('accepts every form Go accepts, and --no-x', () => {
      expect(value([`--${long}`])).toBe(true);
      expect(value([`--no-${long}`])).toBe(false);
      for (const t of ['true', 'TRUE', 'True', 't', 'T', '1']) expect(value([`--${long}=${t}`])).toBe(true);
      for (const f of ['false', 'FALSE', 'False', 'f', 'F', '0']) expect(value([`--${long}=${f}`])).toBe(false);
    });
    it('keeps the last occurrence', () => {
      expect(value([`--${long}`, `--${long}=false`])).toBe(false);
      expect(value([`--no-${long}`, `--${long}`])).toBe(true);
      expect(value([`--${long}=${!dflt}`, `--${long}=${dflt}`])).toBe(dflt);
    });
    it('refuses a non-boolean naming the flag', () => {
      expectFlagError([`--${long}=maybe`], `--${long}`, 'maybe', `invalid value "maybe" for flag --${long}: must be true or false`);
      expectFlagError([`--${long}=`], `--${long}`, '');
      expectFlagError([`--${long}=yes`], `--${long}`, 'yes');
    });
    it('never takes the next argument as its value', () => {
      expectFlagError([`--${long}`, 'false'], '', 'false', /unexpected argument "false"/);
    });
  });
});

describe('short forms', () => {
  it.each<[string, string, Key | 'help', unknown]>([
    ['-b', 'br1', 'bridge', 'br1'],
    ['-e', 'native', 'execDriver', 'native'],
    ['-G', 'staff', 'group', 'staff'],
    ['-g', '/srv/docker', 'graph', '/srv/docker'],
    ['-H', 'unix:///tmp/d.sock', 'hosts', [{ proto: 'unix', path: '/tmp/d.sock' }]],
    ['-l', 'warn', 'logLevel', 'warn'],
    ['-p', '/tmp/d.pid', 'pidfile', '/tmp/d.pid'],
    ['-s', 'vfs', 'storageDriver', 'vfs'],
  ])('%s VALUE, %s=VALUE and %sVALUE', (short, v, key, expected) => {
    for (const argv of [[short, v], [`${short}=${v}`], [`${short}${v}`]]) expect(valueOf(parse(argv), key)).toEqual(expected);
  });

  it('-D and -h are bools: -D, -D=true, -D=false', () => {
    expect(config(['-D']).debug).toBe(true);
    expect(config(['-D=true']).debug).toBe(true);
    expect(config(['-D=false']).debug).toBe(false);
    expect(config(['-D=1']).debug).toBe(true);
    expect(parse(['-h']).help).toBe(true);
    expect(parse(['-h=false']).help).toBe(false);
    expectFlagError(['-D=maybe'], '--debug', 'maybe');
  });

  it('refuses what Go refuses: combined bools, a single dash before a long name', () => {
    expectFlagError(['-Dh'], '-Dh', '-Dh', 'flag provided but not defined: -Dh');
    expectFlagError(['-icc=false'], '-icc', '-icc', 'flag provided but not defined: -icc');
    expectFlagError(['-x'], '-x', '-x');
  });

  it('short value errors name the long flag', () => {
    expectFlagError(['-e', 'lxc'], '--exec-driver', 'lxc', /lxc exec driver is not supported/);
    expectFlagError(['-e=lxc'], '--exec-driver', 'lxc');
    expectFlagError(['-l', 'loud'], '--log-level', 'loud');
    expectFlagError(['-H', 'tcp://h:99999'], '--host', 'tcp://h:99999', /Invalid bind address format/);
  });
});

describe('-H', () => {
  it('accepts every way of giving the value: -H=v, -H v, -Hv, --host=v, --host v', () => {
    for (const argv of [['-H=unix:///x'], ['-H', 'unix:///x'], ['-Hunix:///x'], ['--host=unix:///x'], ['--host', 'unix:///x']]) {
      expect(config(argv).hosts).toEqual([{ proto: 'unix', path: '/x' }]);
    }
  });

  it('keeps several in order and drops exact repeats', () => {
    const c = config(['-H', 'unix:///var/run/docker.sock', '-H', 'tcp://192.168.59.106', '--host=tcp://10.10.10.2', '-H', 'fd://', '-H', 'tcp://192.168.59.106:2375']);
    expect(c.hosts).toEqual([
      { proto: 'unix', path: '/var/run/docker.sock' },
      { proto: 'tcp', host: '192.168.59.106', port: 2375 },
      { proto: 'tcp', host: '10.10.10.2', port: 2375 },
      { proto: 'fd', fd: undefined },
    ]);
  });

  it('takes the next argument even when it starts with a dash, as Go does', () => {
    expectFlagError(['-H', '-D'], '--host', '-D', /Invalid bind address format: -D/);
  });
});

describe('repeatable options accumulate in order', () => {
  it.each<[string, string[], Key, unknown]>([
    ['dns', ['8.8.8.8', '::1', '8.8.4.4'], 'dns', ['8.8.8.8', '::1', '8.8.4.4']],
    ['dns-search', ['b.example', 'a.example', '.'], 'dnsSearch', ['b.example', 'a.example', '.']],
    ['label', ['z=1', 'a=2', 'z=3'], 'labels', ['z=1', 'a=2', 'z=3']],
    ['insecure-registry', ['reg:5000', '10.0.0.0/8'], 'insecureRegistries', ['reg:5000', '10.0.0.0/8']],
    ['registry-mirror', ['https://m2.example', 'http://m1.example'], 'registryMirrors', ['https://m2.example', 'http://m1.example']],
  ])('--%s', (long, values, key, expected) => {
    const argv = values.flatMap((v, i) => (i % 2 ? [`--${long}=${v}`] : [`--${long}`, v]));
    expect(config(argv)[key]).toEqual(expected);
  });

  it('key=value options keep the first position of a key and its last value', () => {
    const c = config([
      '--storage-opt', 'dm.basesize=10G', '--storage-opt', 'dm.fs=xfs', '--storage-opt', 'dm.basesize=20G',
      '--exec-opt', 'native.runtime=crun', '--exec-opt', 'native.cgroupdriver=systemd',
      '--log-opt', 'max-file=3', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=5',
    ]);
    expect(Object.entries(c.storageOpts)).toEqual([['dm.basesize', '20G'], ['dm.fs', 'xfs']]);
    expect(Object.entries(c.execOpts)).toEqual([['native.runtime', 'crun'], ['native.cgroupdriver', 'systemd']]);
    expect(Object.entries(c.logOpts)).toEqual([['max-file', '5'], ['max-size', '1m']]);
  });

  it('--default-ulimit keeps one limit per name, the last one', () => {
    const c = config(['--default-ulimit', 'nofile=1024:2048', '--default-ulimit', 'nproc=512', '--default-ulimit', 'nofile=100:200']);
    expect(c.defaultUlimits).toEqual({ nofile: { Name: 'nofile', Soft: 100, Hard: 200 }, nproc: { Name: 'nproc', Soft: 512, Hard: 512 } });
  });

  it('storage and exec option keys are case-insensitive and stored lower-case', () => {
    const c = config(['-s', 'devicemapper', '--storage-opt', 'DM.BaseSize=1G', '--exec-opt', 'Native.CgroupDriver=cgroupfs']);
    expect(c.storageOpts).toEqual({ 'dm.basesize': '1G' });
    expect(c.execOpts).toEqual({ 'native.cgroupdriver': 'cgroupfs' });
  });

  it('keys differing only in case are one key, and its last value wins', () => {
    const c = config(['--storage-opt', 'Vfs.Size=1G', '--storage-opt', 'vfs.size=2G', '--storage-opt', 'VFS.SIZE=3G', '--exec-opt', 'native.runtime=runc', '--exec-opt', 'NATIVE.RUNTIME=crun']);
    expect(c.storageOpts).toEqual({ 'vfs.size': '3G' });
    expect(c.execOpts).toEqual({ 'native.runtime': 'crun' });
  });
});

describe('values', () => {
  it('--mtu is 0 or 68-65535', () => {
    for (const ok of ['0', '68', '1500', '9000', '65535']) expect(config(['--mtu', ok]).mtu).toBe(Number(ok));
    for (const bad of ['67', '65536', '-1', '1.5', '1e3', '0x10', ' 1500', '', 'abc']) {
      expectFlagError(['--mtu', bad], '--mtu', bad, /MTU must be 0/);
    }
  });

  it('--log-level reads like logrus, and -D wins over it', () => {
    expect(config(['-l', 'WARNING']).logLevel).toBe('warn');
    expect(config(['-l', 'Debug']).logLevel).toBe('debug');
    expect(config(['-D']).logLevel).toBe('debug');
    expect(config(['-D', '-l', 'error']).logLevel).toBe('debug');
    expect(config(['-D=false', '-l', 'error']).logLevel).toBe('error');
  });

  it('paths are made absolute and ~ is expanded in TLS paths', () => {
    const c = config(['-g', 'rel/graph', '--exec-root', 'rel/exec', '-p', 'rel/d.pid', '--tlscert', '~/c.pem']);
    expect([c.graph, c.execRoot, c.pidfile]).toEqual([resolve('rel/graph'), resolve('rel/exec'), resolve('rel/d.pid')]);
    expect(c.tlscert).toBe(join(homedir(), 'c.pem'));
  });

  it('-e lxc is refused', () => {
    expectFlagError(['-e', 'lxc'], '--exec-driver', 'lxc', 'invalid value "lxc" for flag --exec-driver: the lxc exec driver is not supported; use native');
  });

  it('unknown exec options are refused', () => {
    expectFlagError(['--exec-opt', 'native.foo=bar'], '--exec-opt', 'native.foo=bar', /unknown exec option native.foo/);
    expectFlagError(['--exec-opt', 'nokey'], '--exec-opt', 'nokey', /key=value/);
  });

  it('keys that name Object.prototype members are plain unknown keys', () => {
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expectFlagError(['--log-opt', `${k}=x`], '--log-opt', `${k}=x`, new RegExp(`unknown log opt '${k}'`));
      expectFlagError(['--exec-opt', `${k}=x`], '--exec-opt', `${k}=x`, /unknown exec option/);
      expectFlagError(['--storage-opt', `dm.${k}=x`], '--storage-opt', `dm.${k}=x`, /unknown option/);
      expectFlagError(['--storage-opt', `${k}.x=1`], '--storage-opt', `${k}.x=1`, /unknown storage option/);
    }
  });

  it('value flags take a following argument that looks like a flag', () => {
    expect(config(['--label', '-D=false']).labels).toEqual(['-D=false']);
    expect(config(['--api-cors-header', '--icc=maybe'])).toMatchObject({ apiCorsHeader: '--icc=maybe', icc: true, debug: false });
  });
});

describe('cross-flag rules', () => {
  it('-b with --bip is refused', () => {
    const err = expectFlagError(['-b', 'br0', '--bip', '10.0.0.1/24'], '--bip');
    expect(err.value).toBe('10.0.0.1/24');
    expect(err.message).toBe('You specified -b & --bip, mutually exclusive options. Please specify only one.');
    expectFlagError(['--bridge=none', '--bip=10.0.0.1/24'], '--bip');
    expect(config(['-b', '', '--bip', '10.0.0.1/24']).bip).toBe('10.0.0.1/24');
  });

  it('--iptables=false with --icc=false is refused', () => {
    const err = expectFlagError(['--iptables=false', '--icc=false'], '--icc');
    expect(err.message).toBe('You specified --iptables=false with --icc=false. ICC uses iptables to function. Please set --icc or --iptables to true.');
    expectFlagError(['--no-icc', '--no-iptables'], '--icc');
  });

  it('--iptables=false turns IP masquerading off, whatever --ip-masq says', () => {
    expect(config(['--iptables=false'])).toMatchObject({ iptables: false, ipMasq: false });
    expect(config(['--ip-masq=true', '--iptables=false'])).toMatchObject({ iptables: false, ipMasq: false });
    expect(config(['--ip-masq=false'])).toMatchObject({ iptables: true, ipMasq: false });
  });

  it('--tlsverify implies --tls, even against --tls=false', () => {
    expect(config(['--tlsverify'])).toMatchObject({ tls: true, tlsverify: true });
    expect(config(['--tls=false', '--tlsverify'])).toMatchObject({ tls: true, tlsverify: true });
    expect(config(['--tls'])).toMatchObject({ tls: true, tlsverify: false });
  });

  it('storage options of another driver than -s are refused', () => {
    expectFlagError(['-s', 'overlay', '--storage-opt', 'dm.basesize=10G'], '--storage-opt', 'dm.basesize=10G', /belongs to the devicemapper storage driver, not overlay/);
    expectFlagError(['--storage-opt', 'zfs.fsname=zroot/docker', '-s', 'btrfs'], '--storage-opt', 'zfs.fsname=zroot/docker', /zfs storage driver, not btrfs/);
    expect(config(['-s', 'zfs', '--storage-opt', 'zfs.fsname=zroot/docker']).storageOpts).toEqual({ 'zfs.fsname': 'zroot/docker' });
    expect(config(['-s', 'overlay2', '--storage-opt', 'overlay.size=1G']).storageOpts).toEqual({ 'overlay.size': '1G' });
    // Without -s the driver is chosen at start: any known driver's options pass.
    expect(config(['--storage-opt', 'dm.basesize=10G', '--storage-opt', 'zfs.fsname=a']).storageOpts).toEqual({ 'dm.basesize': '10G', 'zfs.fsname': 'a' });
  });

  it('storage option values are checked', () => {
    expectFlagError(['--storage-opt', 'dm.fs=ext3'], '--storage-opt', 'dm.fs=ext3', /ext4 or xfs/);
    expectFlagError(['--storage-opt', 'dm.blkdiscard=maybe'], '--storage-opt', 'dm.blkdiscard=maybe', /true or false/);
    expectFlagError(['--storage-opt', 'size=1G'], '--storage-opt', 'size=1G', /unknown storage option size/);
    expectFlagError(['--storage-opt', 'dm.nosuch=1'], '--storage-opt', 'dm.nosuch=1', /unknown option dm.nosuch for storage driver devicemapper/);
  });

  it('log options are checked against --log-driver', () => {
    expect(config(['--log-opt', 'max-size=10m', '--log-opt', 'max-file=3']).logOpts).toEqual({ 'max-size': '10m', 'max-file': '3' });
    expect(config(['--log-driver', 'syslog', '--log-opt', 'syslog-facility=daemon']).logOpts).toEqual({ 'syslog-facility': 'daemon' });
    expectFlagError(['--log-driver', 'syslog', '--log-opt', 'max-size=10m'], '--log-opt', 'max-size=10m', /unknown log opt 'max-size' for syslog log driver/);
    expectFlagError(['--log-opt', 'syslog-facility=daemon'], '--log-opt', 'syslog-facility=daemon', /for json-file log driver/);
    expectFlagError(['--log-driver', 'none', '--log-opt', 'tag=x'], '--log-opt', 'tag=x');
    expectFlagError(['--log-opt', 'max-file=0'], '--log-opt', 'max-file=0', /positive integer/);
  });

  it('a ulimit with soft above hard is refused', () => {
    expectFlagError(['--default-ulimit', 'nofile=2048:1024'], '--default-ulimit', 'nofile=2048:1024', /soft limit must be less than or equal to hard limit: 2048 > 1024/);
    expectFlagError(['--default-ulimit', 'nofile=-1:1024'], '--default-ulimit', 'nofile=-1:1024');
    expect(config(['--default-ulimit', 'memlock=-1']).defaultUlimits).toEqual({ memlock: { Name: 'memlock', Soft: -1, Hard: -1 } });
  });
});

describe('command-line syntax', () => {
  it('unknown options are refused, named as given', () => {
    expectFlagError(['--bogus'], '--bogus', '--bogus', 'flag provided but not defined: --bogus');
    expectFlagError(['--bogus=1'], '--bogus', '--bogus');
    expectFlagError(['--no-mtu'], '--no-mtu', '--no-mtu');
    expectFlagError(['--no-icc=false'], '--no-icc', '--no-icc');
    expectFlagError(['-Z'], '-Z');
  });

  it('stray positional arguments are refused, also after --', () => {
    expectFlagError(['stray'], '', 'stray', 'unexpected argument "stray": only flags are accepted');
    expectFlagError(['-D', 'daemon'], '', 'daemon');
    expectFlagError(['--', '-D'], '', '-D');
    expectFlagError(['-'], '', '-');
    expect(config(['-D', '--']).debug).toBe(true);
  });

  it('a value flag at the end is missing its value', () => {
    expectFlagError(['--mtu'], '--mtu', '', 'flag needs an argument: --mtu');
    expectFlagError(['-D', '-l'], '--log-level', '', 'flag needs an argument: --log-level');
    expectFlagError(['--dns'], '--dns', '');
  });

  it('records which options were given', () => {
    expect([...parse(['-D', '-g', '/x', '--dns', '1.1.1.1', '--no-icc']).explicit].sort()).toEqual(['debug', 'dns', 'graph', 'icc']);
  });

  it('the first bad argument is reported', () => {
    expectFlagError(['--mtu', '1', '--ip', 'x'], '--mtu', '1');
    expectFlagError(['--ip', 'x', '--mtu', '1'], '--ip', 'x');
    expectFlagError(['--ip', 'x', '--bogus'], '--ip', 'x');
    expectFlagError(['--bogus', '--ip', 'x'], '--bogus');
  });
});

/** The seed's option lines (reference/cli/daemon-v1.8.0.md, `docker daemon --help`). */
const SEED_USAGE = `
  --api-cors-header=""                   Set CORS headers in the remote API
  -b, --bridge=""                        Attach containers to a network bridge
  --bip=""                               Specify network bridge IP
  -D, --debug=false                      Enable debug mode
  --default-gateway=""                   Container default gateway IPv4 address
  --default-gateway-v6=""                Container default gateway IPv6 address
  --dns=[]                               DNS server to use
  --dns-search=[]                        DNS search domains to use
  --default-ulimit=[]                    Set default ulimit settings for containers
  -e, --exec-driver="native"             Exec driver to use
  --exec-opt=[]                          Set exec driver options
  --exec-root="/var/run/docker"          Root of the Docker execdriver
  --fixed-cidr=""                        IPv4 subnet for fixed IPs
  --fixed-cidr-v6=""                     IPv6 subnet for fixed IPs
  -G, --group="docker"                   Group for the unix socket
  -g, --graph="/var/lib/docker"          Root of the Docker runtime
  -H, --host=[]                          Daemon socket(s) to connect to
  -h, --help=false                       Print usage
  --icc=true                             Enable inter-container communication
  --insecure-registry=[]                 Enable insecure registry communication
  --ip=0.0.0.0                           Default IP when binding container ports
  --ip-forward=true                      Enable net.ipv4.ip_forward
  --ip-masq=true                         Enable IP masquerading
  --iptables=true                        Enable addition of iptables rules
  --ipv6=false                           Enable IPv6 networking
  -l, --log-level="info"                 Set the logging level
  --label=[]                             Set key=value labels to the daemon
  --log-driver="json-file"               Default driver for container logs
  --log-opt=[]                           Log driver specific options
  --mtu=0                                Set the containers network MTU
  -p, --pidfile="/var/run/docker.pid"    Path to use for daemon PID file
  --registry-mirror=[]                   Preferred Docker registry mirror
  -s, --storage-driver=""                Storage driver to use
  --selinux-enabled=false                Enable selinux support
  --storage-opt=[]                       Set storage driver options
  --tls=false                            Use TLS; implied by --tlsverify
  --tlscacert="~/.docker/ca.pem"         Trust certs signed only by this CA
  --tlscert="~/.docker/cert.pem"         Path to TLS certificate file
  --tlskey="~/.docker/key.pem"           Path to TLS key file
  --tlsverify=false                      Use TLS and verify the remote
  --userland-proxy=true                  Use userland proxy for loopback traffic
`.split('\n').filter((l) => l !== '');

describe('daemonUsage', () => {
  const usage = daemonUsage();
  const lines = usage.split('\n');

  it('starts and ends like the seed', () => {
    expect(lines.slice(0, 5)).toEqual(['Usage: docker daemon [OPTIONS]', '', 'A self-sufficient runtime for linux containers.', '', 'Options:']);
    expect(usage).toContain('\nOptions with [] may be specified multiple times.\n');
  });

  it.each(SEED_USAGE.map((line) => [line.trim().split(/\s{2,}/)[0], line]))('shows %s and its help as the seed does', (_flagAndDefault, seedLine) => {
    expect(lines).toContain(seedLine);
  });

  it('lays the columns out as the seed does (help text at column 42)', () => {
    expect(lines).toContain('  -b, --bridge=""                        Attach containers to a network bridge');
    expect(lines).toContain('  -p, --pidfile="/var/run/docker.pid"    Path to use for daemon PID file');
    expect(lines).toContain('  --mtu=0                                Set the containers network MTU');
    for (const line of lines.filter((l) => l.startsWith('  -'))) expect(line.slice(40, 42), line).toMatch(/^ \S$/);
  });

  it('lists exactly the options of the table, in its order', () => {
    const flags = lines.filter((l) => l.startsWith('  -')).map((l) => /--([a-z0-9-]+)=/.exec(l)![1]);
    expect(flags).toEqual(DAEMON_OPTIONS.map((o) => o.long));
  });
});
