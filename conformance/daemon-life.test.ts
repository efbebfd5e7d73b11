/**
 * The daemon's life cycle, end to end, through the built executable: flag errors before
 * anything is bound, --help and the legacy `docker -d`, the pidfile, graceful stop on
 * SIGTERM/SIGINT, unix socket mode/group/stale handling, several -H listeners, and systemd
 * socket activation (fd://).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDaemonArgs } from '../src/config/daemon-options';
import {
  cleanup, DOCKER_BIN, ensureBuilt, freePort, httpGet, makeTempRoot, portIsFree, runDocker, socketActivation, spawnDaemon, type SpawnedDaemon,
} from './support/spawn-daemon';

beforeAll(ensureBuilt, 120_000);
afterEach(cleanup);

const ping = (d: SpawnedDaemon) => httpGet({ socketPath: d.socket }, '/_ping');

/** Start a daemon that is expected to refuse to start: do not wait for it to be ready. */
const spawnRefused = (opts: Parameters<typeof spawnDaemon>[0]) => spawnDaemon({ ...opts, wait: false });

describe('bad flag values', () => {
  it.each([
    ['--mtu', 'abc'],
    ['--bip', '300.1.1.1/24'],
    ['--default-ulimit', 'nofile=10:5'],
  ])('%s %s exits 125 before binding, naming the flag and the value', async (flag, value) => {
    const d = await spawnRefused({ args: [flag, value] });
    const exit = await d.exited;
    expect(exit).toEqual({ code: 125, signal: null });
    expect(d.stderr()).toContain(flag);
    expect(d.stderr()).toContain(value);
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(d.pidfile)).toBe(false);
    expect(existsSync(join(d.root, 'g'))).toBe(false);
  });
});

describe('usage and the legacy form', () => {
  /** The option rows of the seed's `docker daemon --help` (reference/cli/daemon-v1.8.0.md). */
  const SEED_OPTIONS = [
    '--api-cors-header=""', '-b, --bridge=""', '--bip=""', '-D, --debug=false', '--default-gateway=""', '--default-gateway-v6=""',
    '--dns=[]', '--dns-search=[]', '--default-ulimit=[]', '-e, --exec-driver="native"', '--exec-opt=[]', '--exec-root="/var/run/docker"',
    '--fixed-cidr=""', '--fixed-cidr-v6=""', '-G, --group="docker"', '-g, --graph="/var/lib/docker"', '-H, --host=[]', '-h, --help=false',
    '--icc=true', '--insecure-registry=[]', '--ip=0.0.0.0', '--ip-forward=true', '--ip-masq=true', '--iptables=true', '--ipv6=false',
    '-l, --log-level="info"', '--label=[]', '--log-driver="json-file"', '--log-opt=[]', '--mtu=0', '-p, --pidfile="/var/run/docker.pid"',
    '--registry-mirror=[]', '-s, --storage-driver=""', '--selinux-enabled=false', '--storage-opt=[]', '--tls=false',
    '--tlscacert="~/.docker/ca.pem"', '--tlscert="~/.docker/cert.pem"', '--tlskey="~/.docker/key.pem"', '--tlsverify=false', '--userland-proxy=true',
  ];

  it('docker daemon --help prints every seed option and exits 0', async () => {
    const r = await runDocker(['daemon', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:\s+docker daemon \[OPTIONS\]/);
    const missing = SEED_OPTIONS.filter((row) => !r.stdout.split('\n').some((l) => l.trimStart().startsWith(`${row} `)));
    expect(missing).toEqual([]);
  });

  it('a reader that has gone away (docker daemon --help | true) ends the client quietly, as SIGPIPE ends the Go one', () => {
    // `true` exits without reading, long before node has started: the help meets a closed pipe.
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${DOCKER_BIN}" daemon --help | true`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(['hosts-first', 'd-first'] as const)('docker -d starts a daemon (%s)', async (legacy) => {
    const d = await spawnDaemon({ legacy });
    expect((await ping(d)).body).toBe('OK');
    expect(await d.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('pidfile', () => {
  it('holds the daemon PID while it runs and is removed on a clean exit', async () => {
    const d = await spawnDaemon();
    expect(readFileSync(d.pidfile, 'utf8').trim()).toBe(String(d.pid));
    expect(await d.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(d.pidfile)).toBe(false);
  });

  it('a second daemon with the same pidfile refuses to start and leaves the first alone', async () => {
    const first = await spawnDaemon();
    const second = await spawnRefused({ root: makeTempRoot(), pidfile: first.pidfile });
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toContain('pid file found');
    expect(existsSync(second.socket)).toBe(false);
    expect(readFileSync(first.pidfile, 'utf8').trim()).toBe(String(first.pid));
    expect((await ping(first)).body).toBe('OK');
  });

  it('a stale pidfile naming a dead process is replaced', async () => {
    const root = makeTempRoot();
    const deadPid = spawnSync('true').pid!;
    writeFileSync(join(root, 'pid'), `${deadPid}\n`);
    const d = await spawnDaemon({ root });
    expect(readFileSync(d.pidfile, 'utf8').trim()).toBe(String(d.pid));
  });
});

describe('graceful stop', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: exit 0, socket and pidfile removed', async (sig) => {
    const d = await spawnDaemon();
    expect(await d.stop(sig)).toEqual({ code: 0, signal: null });
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(d.pidfile)).toBe(false);
    expect(d.stderr()).toContain(`Processing signal '${sig}'`);
    expect(d.stderr()).toContain('Daemon shutdown complete');
  });

  it('requests in flight finish or are cut off; none keeps the daemon alive', async () => {
    const d = await spawnDaemon();
    // A client that sent half a request and went quiet.
    const half = connect(d.socket);
    await new Promise((r) => half.once('connect', r));
    half.write('GET /info HTTP/1.1\r\nHost: docker\r\n');
    const halfClosed = new Promise((r) => half.once('close', r));
    half.on('error', () => undefined);
    // Complete requests racing the signal.
    const requests = Array.from({ length: 10 }, () => httpGet({ socketPath: d.socket }, '/info').then((r) => r.status, (e: Error) => e));
    const exit = await d.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    for (const r of await Promise.all(requests)) {
      if (typeof r === 'number') expect([200, 503]).toContain(r);
      else expect(r).toBeInstanceOf(Error);
    }
    await halfClosed;
  });
});

describe('unix socket', () => {
  const groups: string[] = [];
  afterAll(() => {
    for (const g of groups) spawnSync('groupdel', [g]);
  });

  it('is a socket with mode 0660', async () => {
    const d = await spawnDaemon();
    const st = statSync(d.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it('belongs to the group given with -G', async () => {
    const group = `tsde2e${process.pid}`;
    execFileSync('groupadd', [group]);
    groups.push(group);
    const gid = Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
    const d = await spawnDaemon({ args: ['-G', group] });
    expect(statSync(d.socket).gid).toBe(gid);
    expect(statSync(d.socket).mode & 0o777).toBe(0o660);
  });

  it('an explicit -G group that does not exist fails cleanly', async () => {
    const d = await spawnRefused({ args: ['-G', 'tsd-no-such-group'] });
    expect((await d.exited).code).toBe(1);
    expect(d.stderr()).toContain('group tsd-no-such-group not found');
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(d.pidfile)).toBe(false);
  });

  it('a stale socket left by a killed daemon is removed and a new daemon starts', async () => {
    const killed = await spawnDaemon();
    expect(await killed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(statSync(killed.socket).isSocket()).toBe(true);
    const d = await spawnDaemon({ root: killed.root });
    expect((await ping(d)).body).toBe('OK');
    expect(readFileSync(d.pidfile, 'utf8').trim()).toBe(String(d.pid));
  });

  it('the socket of a live daemon is refused', async () => {
    const live = await spawnDaemon();
    const other = await spawnRefused({ root: makeTempRoot(), hosts: [live.host] });
    expect((await other.exited).code).toBe(1);
    expect(other.stderr()).toContain('another daemon is listening on it');
    expect(existsSync(other.pidfile)).toBe(false);
    expect((await ping(live)).body).toBe('OK');
  });

  it('a regular file at the socket path is refused and kept', async () => {
    const root = makeTempRoot();
    writeFileSync(join(root, 'd.sock'), 'precious');
    const d = await spawnRefused({ root });
    expect((await d.exited).code).toBe(1);
    expect(d.stderr()).toContain('is not a socket');
    expect(readFileSync(d.socket, 'utf8')).toBe('precious');
    expect(existsSync(d.pidfile)).toBe(false);
  });
});

describe('several -H listeners', () => {
  it('unix and tcp both answer; tcp without --tlsverify is warned about in the log and /info', async () => {
    const port = await freePort();
    const root = makeTempRoot();
    const d = await spawnDaemon({ root, hosts: [`unix://${join(root, 'd.sock')}`, `tcp://127.0.0.1:${port}`] });
    expect((await ping(d)).body).toBe('OK');
    expect((await httpGet({ port }, '/_ping')).body).toBe('OK');
    expect(d.stderr()).toContain("DON'T BIND ON ANY IP ADDRESS WITHOUT setting --tlsverify");
    const info = JSON.parse((await httpGet({ port }, '/info')).body) as { Warnings: string[] };
    expect(info.Warnings.join('\n')).toContain(`API is accessible on http://127.0.0.1:${port} without encryption`);
  });

  it('tcp without a port means 2375', async () => {
    expect(parseDaemonArgs(['-H', 'tcp://127.0.0.1']).config.hosts).toEqual([{ proto: 'tcp', host: '127.0.0.1', port: 2375 }]);
    expect(parseDaemonArgs(['-H', 'tcp://']).config.hosts).toEqual([{ proto: 'tcp', host: '127.0.0.1', port: 2375 }]);
    // Bound for real only when nothing else holds the port on this machine.
    if (await portIsFree(2375)) {
      const d = await spawnDaemon({ hosts: ['tcp://127.0.0.1'] });
      expect((await httpGet({ port: 2375 }, '/_ping')).body).toBe('OK');
      expect(d.stderr()).toContain('API listen on tcp://127.0.0.1:2375');
    }
  });
});

describe('systemd socket activation (fd://)', () => {
  it('-H fd:// serves on the unix socket systemd passed', async () => {
    const root = makeTempRoot();
    const path = join(root, 'activated.sock');
    const d = await spawnDaemon({ root, hosts: ['fd://'], launcher: socketActivation('unix', path) });
    expect((await httpGet({ socketPath: path }, '/_ping')).body).toBe('OK');
    expect(d.stderr()).toContain('API listen on fd://3');
    expect(readFileSync(d.pidfile, 'utf8').trim()).toBe(String(d.pid));
    expect(await d.stop()).toEqual({ code: 0, signal: null });
  });

  it('-H fd://3 serves on the tcp socket systemd passed', async () => {
    const port = await freePort();
    const d = await spawnDaemon({ hosts: ['fd://3'], launcher: socketActivation('tcp', String(port)) });
    expect((await httpGet({ port }, '/_ping')).body).toBe('OK');
    expect(await d.stop()).toEqual({ code: 0, signal: null });
  });

  it('-H fd:// without LISTEN_FDS fails naming socket activation', async () => {
    const d = await spawnRefused({ hosts: ['fd://'] });
    expect((await d.exited).code).toBe(1);
    expect(d.stderr()).toContain('socket activation');
    expect(existsSync(d.pidfile)).toBe(false);
  });

  it('-H fd://7 when only fd 3 was passed fails naming the fd', async () => {
    const root = makeTempRoot();
    const d = await spawnRefused({ root, hosts: ['fd://7'], launcher: socketActivation('unix', join(root, 'activated.sock')) });
    expect((await d.exited).code).toBe(1);
    expect(d.stderr()).toContain('fd 7');
  });
});
