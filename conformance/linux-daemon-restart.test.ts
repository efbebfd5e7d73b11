/**
 * The Linux backend's "Done when", end to end: the BUILT daemon (`docker daemon --backend
 * linux`, spawned on temp roots) driven by the real docker CLI 28, as root with runc and conmon.
 * A container shows its own namespaces, cgroup (/tsdocker/<id>) and the daemon's
 * --default-ulimit; `-m 32m` that allocates more is OOM-killed and reported so; `run -d`
 * containers outlive `kill -9` of the daemon (still running, still logging, attachable, and one
 * that exited meanwhile keeps its exit code); after `rm -f` and a daemon stop nothing is left
 * (mounts, cgroups, monitor processes, runc state). Skips, saying why, where the Linux backend
 * cannot run (not root, no runc) or the docker CLI is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../src/client/client';
import { dockerCli, hasDockerCli } from './harness';
import { dockerSession } from './support/pty';
import { cleanup, ensureBuilt, makeTempRoot, spawnDaemon, type SpawnedDaemon } from './support/spawn-daemon';
import { busyboxRootfs } from './support/test-image';

const reason = hasDockerCli ? await (await import('../backends/linux')).linuxUnavailableReason() : 'the docker CLI is not installed at /usr/local/bin/docker';
if (reason) console.warn(`[linux-daemon-restart] skipped: ${reason}`);

const IMAGE = 'tsd-restart-busybox:latest';
const DAEMON_ARGS = ['--backend', 'linux', '--default-ulimit', 'nofile=2048:4096'];
const DETACH = '\x10\x11';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every daemon started here, so afterAll can remove their containers and stop them by PID. */
const daemons = new Set<SpawnedDaemon>();

async function startDaemon(root?: string): Promise<SpawnedDaemon> {
  const d = await spawnDaemon({ root, args: DAEMON_ARGS });
  daemons.add(d);
  void d.exited.then(() => daemons.delete(d));
  return d;
}

async function importImage(d: SpawnedDaemon): Promise<void> {
  const [repo, tag] = IMAGE.split(':') as [string, string];
  const client = new DockerClient({ host: { proto: 'unix', path: d.socket } });
  const r = await client.raw('POST', '/images/create', { query: { fromSrc: '-', repo, tag }, body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
  if (r.status !== 200 || r.body.toString().includes('"error"')) throw new Error(`import of the test image failed: ${r.status} ${r.body.toString()}`);
}

/** `docker ARGS` against `d` that must succeed; resolves with its trimmed stdout. */
async function ok(d: SpawnedDaemon, args: string[]): Promise<string> {
  const r = await dockerCli(d.host, args);
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function until<T>(probe: () => T | Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 400; i++) {
    last = await probe();
    if (check(last)) return last;
    await sleep(50);
  }
  throw new Error(`never happened: ${what}; last: ${JSON.stringify(last)}`);
}

const runcRoot = (d: SpawnedDaemon) => join(d.root, 'e', 'runtime-runc');

/**
 * The containers runc knows under the daemon's exec root (none when the state dir is gone).
 * `runc list` fails when a container's state directory goes between its readdir and its stat (a
 * container of the list ending meanwhile, as a restarting one does): asked again then.
 */
function runcList(d: SpawnedDaemon): string[] {
  for (let attempt = 1; ; attempt++) {
    if (!existsSync(runcRoot(d))) return [];
    try {
      return execFileSync('runc', ['--root', runcRoot(d), 'list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n').filter(Boolean);
    } catch (e) {
      if (attempt >= 5 || !/no such file or directory/.test(String((e as { stderr?: unknown }).stderr))) throw e;
    }
  }
}

function runcStatus(d: SpawnedDaemon, id: string): string {
  try {
    return (JSON.parse(execFileSync('runc', ['--root', runcRoot(d), 'state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { status: string }).status;
  } catch {
    return 'gone';
  }
}

/** PIDs of monitors (a conmon, or the shared monitor) whose command line names a path under `root`. */
function monitorsUnder(root: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const monitor = cmd[0]?.endsWith('conmon') || cmd.includes('tsdocker-monitor');
      if (monitor && cmd.some((a) => a.includes(root))) pids.push(Number(p));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** Cgroup directories of container `id` under any hierarchy (v1 controllers or the v2 root). */
function cgroupsOf(id: string): string[] {
  const base = '/sys/fs/cgroup';
  const dirs = [join(base, 'tsdocker', id), ...readdirSync(base).map((c) => join(base, c, 'tsdocker', id))];
  return dirs.filter((p) => existsSync(p));
}

/** After `rm -f` of `ids` and a clean stop of `d`: no mounts, cgroups, monitors or runtime state of ours. */
async function expectNothingLeft(d: SpawnedDaemon, ids: string[]): Promise<void> {
  expect(await d.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(d.root))).toEqual([]);
  for (const id of ids) expect(cgroupsOf(id), `cgroups of ${id}`).toEqual([]);
  expect(monitorsUnder(d.root)).toEqual([]);
  expect(runcList(d)).toEqual([]);
}

describe.skipIf(!!reason)('the Linux backend through the built daemon and the docker CLI', () => {
  let d: SpawnedDaemon;

  beforeAll(async () => {
    await ensureBuilt();
    d = await startDaemon();
    await importImage(d);
  }, 180_000);

  afterAll(async () => {
    for (const daemon of [...daemons]) {
      const ids = (await dockerCli(daemon.host, ['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await dockerCli(daemon.host, ['rm', '-f', ...ids]);
      await daemon.stop('SIGTERM');
    }
    await cleanup();
  }, 60_000);

  it('a container shows its own namespaces, its cgroup /tsdocker/<id>, its hostname and the daemon\'s --default-ulimit', async () => {
    const cidfile = join(makeTempRoot('tsd-cid-'), 'cid');
    const out = await ok(d, ['run', '--rm', '--cidfile', cidfile, IMAGE, 'sh', '-c', 'cat /proc/1/cgroup; hostname; ulimit -n; ulimit -Hn; for n in pid mnt uts ipc net; do readlink /proc/1/ns/$n; done']);
    const id = readFileSync(cidfile, 'utf8').trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const lines = out.split('\n');
    const cgroupLines = lines.filter((l) => /^\d+:[^:]*:/.test(l));
    expect(cgroupLines.length).toBeGreaterThan(0);
    for (const l of cgroupLines) expect(l).toMatch(new RegExp(`:/tsdocker/${id}$`));
    const [hostname, soft, hard, ...ns] = lines.slice(cgroupLines.length);
    expect(hostname).toBe(id.slice(0, 12));
    expect([soft, hard]).toEqual(['2048', '4096']);
    const names = ['pid', 'mnt', 'uts', 'ipc', 'net'];
    expect(ns).toHaveLength(names.length);
    names.forEach((n, i) => {
      expect(ns[i]).toMatch(new RegExp(`^${n}:\\[\\d+\\]$`));
      expect(ns[i], `the ${n} namespace is the container's own`).not.toBe(readlinkSync(`/proc/self/ns/${n}`));
    });
    expect(cgroupsOf(id)).toEqual([]);
    expect(await ok(d, ['run', '--rm', '--ulimit', 'nofile=1234:1234', IMAGE, 'sh', '-c', 'ulimit -n'])).toBe('1234');
  });

  it('--device gives the container the host node (type and numbers) and a bad one is refused', async () => {
    const out = await ok(d, ['run', '--rm', '--device', '/dev/null:/dev/xnull', IMAGE, 'sh', '-c', 'test -c /dev/xnull && echo char; echo hi > /dev/xnull && echo writable']);
    expect(out.split('\n').map((l) => l.trim())).toEqual(['char', 'writable']);
    const bad = await dockerCli(d.host, ['run', '--rm', '--device', '/nonexistent-device', IMAGE, 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('error gathering device information while adding custom device "/nonexistent-device"');
  });

  it('-m 32m and more allocated: OOM-killed, exit 137, State.OOMKilled and an oom event', async () => {
    const name = 'lr-oom';
    const since = (Date.now() / 1000).toFixed(3);
    const r = await dockerCli(d.host, ['run', '--name', name, '-m', '32m', IMAGE, 'sh', '-c', 'head -c 200m /dev/zero | tail']);
    expect(r.code).toBe(137);
    expect(await ok(d, ['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}', name])).toBe(`true 137 ${32 * 1024 * 1024}`);
    const until = ((Date.now() + 1) / 1000).toFixed(3);
    const actions = (await ok(d, ['events', '--since', since, '--until', until, '--filter', `container=${name}`, '--format', '{{.Action}} {{index .Actor.Attributes "exitCode"}}'])).split('\n').map((l) => l.trim());
    expect(actions).toContain('oom');
    expect(actions).toContain('die 137');
    expect(actions.indexOf('oom')).toBeLessThan(actions.indexOf('die 137'));
    await ok(d, ['rm', name]);
  });

  it('run -d containers survive kill -9 of the daemon: running, logging meanwhile, attachable, and an exit meanwhile keeps its code; then nothing is left', async () => {
    const k = await startDaemon();
    await importImage(k);
    const trig = makeTempRoot('tsd-trig-');
    const count = () => Number(readFileSync(join(trig, 'count'), 'utf8').trim() || '0');
    const tick = await ok(k, ['run', '-d', '--name', 'lr-tick', '-v', `${trig}:/trig`, IMAGE, 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; echo $i > /trig/count; sleep 0.1; done']);
    const dies = await ok(k, ['run', '-d', '--name', 'lr-dies', '-v', `${trig}:/trig`, IMAGE, 'sh', '-c', 'while [ ! -e /trig/go ]; do sleep 0.1; done; echo bye; exit 5']);
    const tty = await ok(k, ['run', '-dit', '--name', 'lr-tty', IMAGE, 'sh']);
    await until(() => existsSync(join(trig, 'count')) && count() >= 3, Boolean, 'the ticker counting');

    expect(await k.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = count();
    writeFileSync(join(trig, 'go'), '');
    await until(() => runcStatus(k, dies), (s) => s === 'stopped', 'lr-dies exiting while the daemon is down');
    const beforeRestart = await until(count, (c) => c >= atKill + 5, 'the ticker logging while the daemon is down');

    const k2 = await startDaemon(k.root);
    const ps = (await ok(k2, ['ps', '-a', '--filter', 'name=lr-', '--format', '{{.Names}} {{.Status}}'])).split('\n').sort();
    expect(ps).toHaveLength(3);
    expect(ps[0]).toMatch(/^lr-dies Exited \(5\) /);
    expect(ps[1]).toMatch(/^lr-tick Up /);
    expect(ps[2]).toMatch(/^lr-tty Up /);
    expect(await ok(k2, ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', 'lr-dies'])).toBe('exited 5 false');
    expect(await ok(k2, ['wait', 'lr-dies'])).toBe('5');
    expect(await ok(k2, ['logs', 'lr-dies'])).toBe('bye');

    // Every line written while the daemon was down is in the log, in order, and it keeps growing.
    const logged = (await ok(k2, ['logs', 'lr-tick'])).split('\n');
    const gap = Array.from({ length: beforeRestart - atKill }, (_, i) => `tick ${atKill + 1 + i}`);
    const at = logged.indexOf(gap[0]!);
    expect(at, 'the first line written after the kill').toBeGreaterThanOrEqual(0);
    expect(logged.slice(at, at + gap.length)).toEqual(gap);
    const follow = dockerSession(k2.host, ['logs', '-f', '--tail', '0', 'lr-tick']);
    await follow.waitFor(/tick \d+\n/);
    await follow.kill();

    // exec and attach work on the restored containers.
    expect(await ok(k2, ['exec', 'lr-tick', 'sh', '-c', 'echo exec-ok; cat /trig/count >/dev/null'])).toBe('exec-ok');
    const attached = dockerSession(k2.host, ['attach', '--no-stdin', 'lr-tick']);
    const seen = Number(/tick (\d+)\n/.exec(await attached.waitFor(/tick \d+\n/))![1]);
    expect(seen).toBeGreaterThan(beforeRestart);
    await attached.kill();
    const s = dockerSession(k2.host, ['attach', 'lr-tty'], { pty: true });
    await sleep(200);
    s.write('echo post$((2+3))\r');
    await s.waitFor('post5\r\n');
    s.write(DETACH);
    await s.exited;
    expect(await ok(k2, ['inspect', '-f', '{{.State.Status}}', 'lr-tty'])).toBe('running');

    expect((await ok(k2, ['rm', '-f', 'lr-tick', 'lr-dies', 'lr-tty'])).split('\n')).toEqual(['lr-tick', 'lr-dies', 'lr-tty']);
    await expectNothingLeft(k2, [tick, dies, tty]);
  });

  it('a container whose layers had not reached the disk with its record (a crash right after create) gets them again at the next start, and runs', async () => {
    const d = await startDaemon();
    await importImage(d);
    const id = await ok(d, ['create', IMAGE, 'sh', '-c', 'echo repaired; ls /etc/hostname']);
    await d.stop();
    // What open() finds after such a crash: the layers without their completion marker.
    const home = join(d.root, 'g', 'overlay2');
    for (const layer of [id, `${id}-init`]) rmSync(join(home, layer, 'parent'));
    const again = await startDaemon(d.root);
    expect(await ok(again, ['start', '-a', id])).toBe('repaired\n/etc/hostname');
    expect(again.stderr()).toContain('container rootfs layers were missing');
    await ok(again, ['rm', id]);
    await again.stop();
  });

  it('after rm -f of running, TTY and exec\'ing containers and a daemon stop nothing is left', async () => {
    const c = await startDaemon();
    await importImage(c);
    const ids = [
      await ok(c, ['run', '-d', IMAGE, 'sleep', '100']),
      await ok(c, ['run', '-dit', IMAGE, 'sh']),
      await ok(c, ['run', '-d', '--restart', 'always', IMAGE, 'sh', '-c', 'sleep 0.2; exit 1']),
    ];
    await ok(c, ['exec', '-d', ids[0]!, 'sleep', '100']);
    expect(runcList(c).sort()).toEqual(expect.arrayContaining([ids[0], ids[1]]));
    expect(monitorsUnder(c.root).length).toBeGreaterThanOrEqual(1);
    await ok(c, ['rm', '-f', ...ids]);
    await expectNothingLeft(c, ids);
  });
});
