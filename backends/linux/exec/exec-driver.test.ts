import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError } from '../../../src/errors';
import type { ContainerProcess, ContainerSpec } from '../../../src/kernel';
import { createLinuxExecDriver, type LinuxExecDriver } from './index';
import { CGROUP_PARENT } from './cgroups';
import { busyboxSpec, collect, execTestsUnavailable, makeBusyboxRootfs, makeTempDir, newId, removeEmptyCgroupParent, waitForText } from './test-support';

const reason = execTestsUnavailable('runc');
if (reason) console.log(`skipping the Linux exec driver tests: ${reason}`);

for (const monitor of ['shared', 'conmon'] as const) {
describe.skipIf(reason !== undefined)(`linux exec driver (runc, ${monitor} monitor)`, () => {
  let tmp: string;
  let rootfs: string;
  let execRoot: string;
  let driver: LinuxExecDriver;
  const drivers: LinuxExecDriver[] = [];
  const started: { driver: LinuxExecDriver; id: string }[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('tsd-exec-');
    rootfs = await makeBusyboxRootfs(tmp);
    execRoot = join(tmp, 'exec');
    driver = await createLinuxExecDriver({ root: execRoot, monitor });
    drivers.push(driver);
  });

  afterEach(async () => {
    for (const { driver: d, id } of started.splice(0)) await d.delete(id).catch(() => undefined);
  });

  afterAll(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    if (driver) await removeEmptyCgroupParent(driver.cgroups);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const spec = (args: string[], over: Partial<ContainerSpec> & Record<string, unknown> = {}, d = driver) => {
    const id = newId();
    started.push({ driver: d, id });
    return busyboxSpec(id, rootfs, join(tmp, 'state', id), args, over);
  };

  const run = async (args: string[], over: Partial<ContainerSpec> & Record<string, unknown> = {}, d = driver) => {
    const s = spec(args, over, d);
    const p = await d.start(s);
    const [stdout, stderr, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
    return { id: s.id, stdout, stderr, status, p };
  };

  /** Nothing of the container is left: runtime state, bundle, cgroup, mounts, monitor. */
  async function expectClean(id: string, d = driver) {
    expect((await d.runtime.list()).map((s) => s.id)).not.toContain(id);
    expect(existsSync(join(execRoot, 'containers', id))).toBe(false);
    expect(await d.cgroupOf(id).leftovers()).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(id);
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(id);
  }

  it('runs a command: stdout, stderr and its exit code; delete leaves nothing behind', async () => {
    const t0 = performance.now();
    const r = await run(['sh', '-c', 'echo hi; echo oops >&2; exit 3']);
    console.log(`start → exit of sh -c '...; exit 3' through the ${monitor} monitor and runc: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.status).toEqual({ exitCode: 3, oomKilled: false });
    await driver.delete(r.id);
    await expectClean(r.id);
  });

  it('measures `true` wall time (start to deleted) and reports it', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await run(['true']);
      await driver.delete(r.id);
      times.push(performance.now() - t0);
      expect(r.status.exitCode).toBe(0);
    }
    console.log(`run --rm true through the driver (runc): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  });

  it('starts the container with no blocked or ignored signals (a monitor handling or ignoring one must not pass it on)', async () => {
    for (const tty of [false, true]) {
      const r = await run(['cat', '/proc/self/status'], { process: { ...busyboxSpec('x', rootfs, tmp, []).process, args: ['cat', '/proc/self/status'], tty } });
      const field = (name: string) => new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(r.stdout)?.[1];
      expect(field('SigBlk'), r.stdout).toMatch(/^0+$/);
      expect(field('SigIgn'), r.stdout).toMatch(/^0+$/);
      expect(r.status.exitCode).toBe(0);
    }
  });

  it('passes stdin and closes it at the end', async () => {
    const s = spec(['sh', '-c', 'cat; echo done'], { process: { args: [], env: ['PATH=/bin'], cwd: '/', user: '', tty: false, openStdin: true } });
    s.process.args = ['sh', '-c', 'cat; echo done'];
    const p = await driver.start(s);
    expect(p.stdin).not.toBeNull();
    p.stdin!.write('hello\n');
    p.stdin!.end('world\n');
    const [out, status] = await Promise.all([collect(p.stdout), p.exited]);
    expect(out).toBe('hello\nworld\ndone\n');
    expect(status.exitCode).toBe(0);
  });

  it('gives a TTY (no stderr), and resizes it', async () => {
    const s = spec([], { process: { args: ['sh', '-c', 'sleep 0.5; [ -t 1 ] && echo is-a-tty; stty size'], env: ['PATH=/bin', 'TERM=xterm'], cwd: '/', user: '', tty: true, openStdin: false } });
    const p = await driver.start(s);
    expect(p.stderr).toBeNull();
    await driver.resize(s.id, 100, 40);
    const [out, status] = await Promise.all([collect(p.stdout), p.exited]);
    expect(out).toContain('is-a-tty');
    expect(out).toContain('40 100');
    expect(status.exitCode).toBe(0);
  });

  it('delivers signals: a trapped TERM, then KILL (137)', async () => {
    const s = spec(['sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
    const p = await driver.start(s);
    const seen = await waitForText(p.stdout, 'ready');
    const rest = collect(p.stdout);
    await driver.signal(s.id, 'SIGTERM');
    expect((await p.exited).exitCode).toBe(7);
    expect(seen + (await rest)).toContain('got-term');
    await expect(driver.signal(s.id, 'KILL')).rejects.toBeInstanceOf(ConflictError);

    const k = spec(['sleep', '1000']);
    const kp = await driver.start(k);
    void collect(kp.stdout);
    await driver.signal(k.id, '9');
    expect(await kp.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('pauses and resumes through the freezer', async () => {
    const s = spec(['sleep', '1000']);
    const p = await driver.start(s);
    void collect(p.stdout);
    const freezer = driver.cgroupOf(s.id).dir('freezer');
    await driver.pause(s.id);
    if (freezer) expect((await readFile(join(freezer, 'freezer.state'), 'utf8')).trim()).toBe('FROZEN');
    expect((await driver.runtime.state(s.id))?.status).toBe('paused');
    await driver.resume(s.id);
    if (freezer) expect((await readFile(join(freezer, 'freezer.state'), 'utf8')).trim()).toBe('THAWED');
    expect((await driver.runtime.state(s.id))?.status).toBe('running');
    await driver.signal(s.id, 'SIGKILL');
    await p.exited;
  });

  it('runs in its own namespaces, cgroup and limits; loopback only', async () => {
    const r = await run(['sh', '-c', 'cat /proc/1/cgroup; hostname; ulimit -n; echo pid=$$; ls /sys/class/net; cat /sys/class/net/lo/operstate; cat /etc/hostname /etc/resolv.conf'], {
      ulimits: [{ Name: 'nofile', Soft: 1234, Hard: 2345 }],
      hostname: 'box1',
      etc: { hostname: 'box1\n', hosts: '127.0.0.1\tlocalhost\n', resolvConf: 'nameserver 192.0.2.53\n' },
    });
    expect(r.status.exitCode).toBe(0);
    expect(r.stdout).toContain(`/${CGROUP_PARENT}/${r.id}`);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('box1');
    expect(lines).toContain('1234');
    expect(lines).toContain('pid=1');
    expect(r.stdout).toMatch(/\nlo\nunknown\n/); // only lo, and it is up ("unknown" is lo's operstate when up)
    expect(r.stdout).toContain('nameserver 192.0.2.53');
  });

  it('shares the host network and another container network namespace when asked', async () => {
    const host = await run(['ls', '/sys/class/net'], { namespaces: { network: 'host', pid: 'private', ipc: 'private', uts: 'private' } });
    expect(host.stdout.trim().split('\n').sort()).toEqual(execFileSync('ls', ['/sys/class/net']).toString().trim().split('\n').sort());

    const a = spec(['sleep', '1000']);
    const ap = await driver.start(a);
    void collect(ap.stdout);
    const b = await run(['readlink', '/proc/self/ns/net'], { namespaces: { network: { container: a.id }, pid: 'private', ipc: 'private', uts: 'private' } });
    expect(b.stdout.trim()).toBe(readlinkSync(`/proc/${ap.pid}/ns/net`));
    await expect(driver.start(spec(['true'], { namespaces: { network: { container: 'nosuchcontainer' }, pid: 'private', ipc: 'private', uts: 'private' } }))).rejects.toBeInstanceOf(ConflictError);
  });

  it('resolves -u from the image passwd and group files', async () => {
    expect((await run(['id'], { process: { args: ['id'], env: ['PATH=/bin'], cwd: '/', user: 'tester', tty: false, openStdin: false } })).stdout.trim()).toBe('uid=1000 gid=1000 groups=10');
    expect((await run(['id'], { process: { args: ['id', '-u'], env: ['PATH=/bin'], cwd: '/', user: '4242:10', tty: false, openStdin: false } })).stdout.trim()).toBe('4242');
    await expect(driver.start(spec([], { process: { args: ['id'], env: [], cwd: '/', user: 'nosuchuser', tty: false, openStdin: false } }))).rejects.toThrow(/unable to find user nosuchuser/);
  });

  it('reports an OOM kill under a memory limit', async () => {
    const r = await run(['sh', '-c', 'head -c 200m /dev/zero | tail'], { resources: { memory: 32 * 1024 * 1024 } });
    expect(r.status.oomKilled).toBe(true);
    expect(r.status.exitCode).toBe(137);
  });

  it('execs into a running container, with stdin; top, stats and update', async () => {
    const s = spec(['sleep', '1000'], { resources: { memory: 64 * 1024 * 1024, pidsLimit: 50 } });
    const p = await driver.start(s);
    void collect(p.stdout);

    const e = await driver.exec(s.id, { args: ['sh', '-c', 'hostname; read line; echo got:$line; exit 5'], env: ['PATH=/bin'], cwd: '/tmp', user: '', tty: false, openStdin: true });
    e.stdin!.end('abc\n');
    const [eout, estatus] = await Promise.all([collect(e.stdout), e.exited]);
    expect(eout).toBe(`${s.hostname}\ngot:abc\n`);
    expect(estatus.exitCode).toBe(5);

    const top = await driver.top(s.id, '');
    expect(top.Titles).toContain('PID');
    expect(top.Processes.map((row) => row.at(-1))).toContain('sleep 1000');
    expect(top.Processes.map((row) => Number(row[top.Titles.indexOf('PID')]))).toContain(p.pid);

    const stats = await driver.stats(s.id);
    expect(stats.memoryLimit).toBe(64 * 1024 * 1024);
    expect(stats.memoryUsage).toBeGreaterThan(0);
    expect(stats.pids).toBe(1);
    expect(stats.systemCpuNs).toBeGreaterThan(0);
    expect(stats.networks).toEqual({});

    await driver.update(s.id, { memory: 96 * 1024 * 1024, memorySwap: 192 * 1024 * 1024 });
    expect((await driver.stats(s.id)).memoryLimit).toBe(96 * 1024 * 1024);

    await driver.signal(s.id, 'KILL');
    await p.exited;
    await expect(driver.exec(s.id, { args: ['true'], env: [], cwd: '/', user: '', tty: false, openStdin: false })).rejects.toBeInstanceOf(ConflictError);
  });

  it('fails with NotFound for a missing command and Forbidden for a non-executable one, leaving nothing', async () => {
    const nf = spec(['nosuch']);
    const err = await driver.start(nf).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('exec: "nosuch": executable file not found in $PATH');
    await expectClean(nf.id);

    const nx = spec(['/etc/passwd']);
    const err2 = await driver.start(nx).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ForbiddenError);
    expect((err2 as Error).message).toMatch(/^exec: "\/etc\/passwd": permission denied/);
    await expectClean(nx.id);
  });

  it('keeps containers across a driver restart: running ones stay attached, exited ones keep their code', async () => {
    const d1 = await createLinuxExecDriver({ root: execRoot, monitor });
    drivers.push(d1);
    const gate = join(rootfs, 'tmp', `go-${process.pid}`);
    const a = spec(['sh', '-c', `echo one; while [ ! -f /tmp/${gate.split('/').pop()} ]; do sleep 0.1; done; echo two; exit 4`], {}, d1);
    const ap = await d1.start(a);
    await waitForText(ap.stdout, 'one');
    const b = spec(['sleep', '1000'], {}, d1);
    const bp = await d1.start(b);
    void collect(bp.stdout);
    await d1.close(); // the daemon goes away; conmon keeps both containers

    process.kill(bp.pid, 'SIGKILL'); // b exits while nobody watches
    for (let i = 0; i < 100 && !existsSync(join(execRoot, 'containers', b.id, 'exit')); i++) await new Promise((r) => setTimeout(r, 50));

    const d2 = await createLinuxExecDriver({ root: execRoot, monitor });
    drivers.push(d2);
    started.push({ driver: d2, id: a.id }, { driver: d2, id: b.id });
    const restored = await d2.restore();
    const ra = restored.find((r) => r.id === a.id);
    const rb = restored.find((r) => r.id === b.id);
    expect(ra?.running).toBe(true);
    expect(rb?.running).toBe(false);
    expect(await rb!.process.exited).toMatchObject({ exitCode: 137 });

    const rest = collect(ra!.process.stdout);
    await writeFile(gate, '');
    expect(await ra!.process.exited).toEqual({ exitCode: 4, oomKilled: false });
    expect(await rest).toBe('two\n');
    await rm(gate, { force: true });
  });

  it('signals a restored container', async () => {
    const d1 = await createLinuxExecDriver({ root: execRoot, monitor });
    drivers.push(d1);
    const s = spec(['sh', '-c', 'trap "exit 9" TERM; echo up; while true; do sleep 0.1; done'], {}, d1);
    const p = await d1.start(s);
    await waitForText(p.stdout, 'up');
    await d1.close();
    const d2 = await createLinuxExecDriver({ root: execRoot, monitor });
    drivers.push(d2);
    started.push({ driver: d2, id: s.id });
    const r = (await d2.restore()).find((x) => x.id === s.id)!;
    void collect(r.process.stdout);
    await d2.signal(s.id, 'TERM');
    expect((await r.process.exited).exitCode).toBe(9);
    await d2.delete(s.id);
    await expectClean(s.id, d2);
  });

  it(`measures the monitor memory (${monitor} RSS) per running container`, async () => {
    const procs: ContainerProcess[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = spec(['sleep', '1000']);
      ids.push(s.id);
      const p = await driver.start(s);
      void collect(p.stdout);
      procs.push(p);
    }
    const rss = await Promise.all(
      ids.map(async (id) => {
        const rec = JSON.parse(await readFile(join(execRoot, 'containers', id, 'monitor.json'), 'utf8')) as { conmonPid: number };
        const rollup = await readFile(`/proc/${rec.conmonPid}/smaps_rollup`, 'utf8');
        const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
        return { pid: rec.conmonPid, rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
      }),
    );
    console.log(`${monitor} monitor, ${new Set(rss.map((r) => r.pid)).size} for ${ids.length} running containers: Rss ${rss.map((r) => r.rss).join(', ')} kB; Pss ${rss.map((r) => r.pss).join(', ')} kB; private (USS) ${rss.map((r) => r.uss).join(', ')} kB`);
    expect(rss.every((r) => r.rss > 0)).toBe(true);
    expect(new Set(rss.map((r) => r.pid)).size).toBe(monitor === 'shared' ? 1 : ids.length);
  });

  // The shared monitor's own contracts (declared for it alone, not skipped for conmon).
  if (monitor === 'shared') it('a monitor killed with -9: its containers end as 255, delete cleans them, the next start gets a new monitor', async () => {
    const a = spec(['sleep', '1000']);
    const b = spec(['sh', '-c', 'while true; do echo x; sleep 0.05; done']);
    const pa = await driver.start(a);
    const pb = await driver.start(b);
    await waitForText(pb.stdout, 'x\n');
    pb.stdout.resume();
    const rec = JSON.parse(await readFile(join(execRoot, 'containers', a.id, 'monitor.json'), 'utf8')) as { conmonPid: number };
    process.kill(rec.conmonPid, 'SIGKILL');
    const [sa, sb] = await Promise.all([pa.exited, pb.exited]);
    expect(sa.exitCode).toBe(255);
    expect(sb.exitCode).toBe(255);
    await driver.delete(a.id);
    await driver.delete(b.id);
    await expectClean(a.id);
    await expectClean(b.id);
    const c = await run(['echo', 'after']);
    expect(c.stdout).toBe('after\n');
    const recC = JSON.parse(await readFile(join(execRoot, 'containers', c.id, 'monitor.json'), 'utf8')).conmonPid as number;
    expect(recC).not.toBe(rec.conmonPid);
  });

  if (monitor === 'shared') it('replaces the log file when it passes the size limit; the output reads through whole', async () => {
    // 16 MiB is the limit: 17 MiB of output (plus the log's own line prefixes) crosses it once.
    const bytes = 17 * 1024 * 1024;
    const r = await run(['sh', '-c', `head -c ${bytes} /dev/zero | tr '\\0' b | fold -w 1023`]);
    expect(r.status.exitCode).toBe(0);
    expect(r.stdout.length).toBe(bytes + Math.floor(bytes / 1023));
    expect(r.stdout.replace(/\n/g, '')).toBe('b'.repeat(bytes));
    expect(r.stdout.split('\n').every((l) => l.length <= 1023)).toBe(true);
  });


  if (monitor === 'shared') it('one monitor watches every container, outlives a driver, and ends with nothing to watch', async () => {
    const root = join(tmp, 'exec-shared');
    const d1 = await createLinuxExecDriver({ root, monitor });
    const a = spec(['sh', '-c', 'echo a; sleep 1000'], {}, d1);
    const b = spec(['sh', '-c', 'read x; echo "got $x"; exit 4'], {}, d1);
    b.process.openStdin = true;
    const pa = await d1.start(a);
    await waitForText(pa.stdout, 'a\n');
    await d1.start(b);
    const monitorOf = async (id: string) => (JSON.parse(await readFile(join(root, 'containers', id, 'monitor.json'), 'utf8')) as { conmonPid: number; monitor: string });
    const [ma, mb] = [await monitorOf(a.id), await monitorOf(b.id)];
    expect(ma).toMatchObject({ monitor: 'shared' });
    expect(mb.conmonPid).toBe(ma.conmonPid);
    expect(readFileSync(`/proc/${ma.conmonPid}/cmdline`, 'utf8').split('\0')).toContain('tsdocker-monitor');
    // The driver goes (a daemon stop): the monitor stays for its running processes.
    await d1.close();
    expect(existsSync(`/proc/${ma.conmonPid}`)).toBe(true);
    const d2 = await createLinuxExecDriver({ root, monitor });
    drivers.push(d2);
    const restored = await d2.restore();
    expect(restored.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    const rb = restored.find((r) => r.id === b.id)!;
    expect(rb.running).toBe(true);
    await d2.delete(b.id);
    await d2.delete(a.id);
    expect((await rb.process.exited).exitCode).toBe(137);
    // Nothing left to watch: the driver's stop ends the monitor too.
    await d2.close();
    for (let i = 0; i < 50 && existsSync(`/proc/${ma.conmonPid}/cmdline`) && readFileSync(`/proc/${ma.conmonPid}/cmdline`, 'utf8').includes('tsdocker-monitor'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(`/proc/${ma.conmonPid}/cmdline`) && readFileSync(`/proc/${ma.conmonPid}/cmdline`, 'utf8').includes('tsdocker-monitor')).toBe(false);
    expect(existsSync(join(root, 'monitor.sock'))).toBe(false);

    // Stopped while a process still runs: the monitor ends right after that process, not 30 s later.
    const d3 = await createLinuxExecDriver({ root, monitor });
    const s = spec(['sleep', '0.3'], {}, d3);
    await d3.start(s);
    const m3 = await monitorOf(s.id);
    await d3.close();
    const alive = () => existsSync(`/proc/${m3.conmonPid}/cmdline`) && readFileSync(`/proc/${m3.conmonPid}/cmdline`, 'utf8').includes('tsdocker-monitor');
    expect(alive()).toBe(true);
    for (let i = 0; i < 150 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
    expect(readFileSync(join(root, 'containers', s.id, 'exit'), 'utf8')).toBe('0');
    const d4 = await createLinuxExecDriver({ root, monitor });
    drivers.push(d4);
    await d4.restore();
    await d4.delete(s.id);
  });
});
}

const crunReason = execTestsUnavailable('crun');
if (crunReason) console.log(`skipping the crun exec driver tests: ${crunReason}`);

describe.skipIf(crunReason !== undefined)('linux exec driver (crun, shared monitor)', () => {
  let tmp: string;
  let rootfs: string;
  let driver: LinuxExecDriver;
  const ids: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('tsd-crun-');
    rootfs = await makeBusyboxRootfs(tmp);
    driver = await createLinuxExecDriver({ root: join(tmp, 'exec'), runtime: 'crun' });
  });
  afterAll(async () => {
    for (const id of ids) await driver.delete(id).catch(() => undefined);
    await driver?.close();
    if (driver) await removeEmptyCgroupParent(driver.cgroups);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('runs a container with crun: output, exit code, limits, cgroup, and cleans up', async () => {
    const id = newId();
    ids.push(id);
    const t0 = performance.now();
    const p = await driver.start(busyboxSpec(id, rootfs, join(tmp, 'state', id), ['sh', '-c', 'cat /proc/1/cgroup; ulimit -n; echo err >&2; exit 3'], { ulimits: [{ Name: 'nofile', Soft: 777, Hard: 777 }], resources: { memory: 48 * 1024 * 1024 } }));
    const [out, err, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
    console.log(`crun: start → exit ${(performance.now() - t0).toFixed(0)} ms`);
    expect(status.exitCode).toBe(3);
    expect(err).toBe('err\n');
    expect(out).toContain(`/${CGROUP_PARENT}/${id}`);
    expect(out.split('\n')).toContain('777');
    await driver.delete(id);
    expect(await driver.cgroupOf(id).leftovers()).toEqual([]);
    expect((await driver.runtime.list()).map((s) => s.id)).not.toContain(id);
  });

  it('maps a missing command to NotFound with crun too', async () => {
    const id = newId();
    ids.push(id);
    await expect(driver.start(busyboxSpec(id, rootfs, join(tmp, 'state', id), ['nosuch']))).rejects.toBeInstanceOf(NotFoundError);
  });
});
