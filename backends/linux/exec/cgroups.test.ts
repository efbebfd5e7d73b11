import { mkdir, mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerCgroup, cgroupsPathFor, type CgroupLayout } from './cgroups';

/** A cgroup tree laid out in a temp dir as the kernel shows it, to read both hierarchies' files anywhere. */
async function files(dir: string, entries: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, name), text);
}

describe('a container cgroup read from its files', () => {
  let tmp: string;
  const id = 'abc123';
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-cgroup-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('v2: one unified directory; stats from memory.current/max/stat, cpu.stat, pids.current, io.stat; OOM from memory.events', async () => {
    const root = join(tmp, 'v2');
    const layout: CgroupLayout = { mode: 'v2', v1: new Map(), unified: root };
    const cg = new ContainerCgroup(layout, cgroupsPathFor(id));
    const dir = join(root, 'tsdocker', id);
    expect(cg.allDirs()).toEqual([dir]);
    expect(cg.dir('memory')).toBe(dir);
    await files(dir, {
      'memory.current': '1048576\n',
      'memory.max': '33554432\n',
      'memory.stat': 'anon 4096\nfile 8192\nactive_anon 4096\n',
      'cpu.stat': 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n',
      'pids.current': '3\n',
      'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
      'memory.events': 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 0\n',
    });
    expect(await cg.sample()).toEqual({
      cpuTotalNs: 2_500_000,
      memoryUsage: 1048576,
      memoryLimit: 33554432,
      memoryStats: { anon: 4096, file: 8192, active_anon: 4096 },
      pids: 3,
      blkio: [
        { op: 'read', major: 8, minor: 0, value: 4096 },
        { op: 'write', major: 8, minor: 0, value: 8192 },
      ],
    });
    expect(await cg.oomKilled()).toBe(false);
    await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n');
    expect(await cg.oomKilled()).toBe(true);
    // No limit reads as `max`: no number.
    await writeFile(join(dir, 'memory.max'), 'max\n');
    expect((await cg.sample()).memoryLimit).toBe(0);
    expect(await cg.leftovers()).toEqual([dir]);
  });

  it('v1 (and hybrid): a directory per controller, plus the cgroup2 mount; stats from the v1 files', async () => {
    const root = join(tmp, 'v1');
    const m = (c: string) => join(root, c);
    const layout: CgroupLayout = {
      mode: 'hybrid',
      v1: new Map([['memory', m('memory')], ['cpu', m('cpu,cpuacct')], ['cpuacct', m('cpu,cpuacct')], ['pids', m('pids')], ['blkio', m('blkio')]]),
      unified: m('unified'),
    };
    const cg = new ContainerCgroup(layout, cgroupsPathFor(id));
    expect(cg.allDirs().sort()).toEqual(['blkio', 'cpu,cpuacct', 'memory', 'pids', 'unified'].map((c) => join(m(c), 'tsdocker', id)).sort());
    await files(join(m('memory'), 'tsdocker', id), {
      'memory.usage_in_bytes': '2097152\n',
      'memory.limit_in_bytes': '9223372036854771712\n',
      'memory.stat': 'cache 0\nrss 2097152\ntotal_rss 2097152\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
    });
    await files(join(m('cpu,cpuacct'), 'tsdocker', id), { 'cpuacct.usage': '123456789\n' });
    await files(join(m('pids'), 'tsdocker', id), { 'pids.current': '1\n' });
    await files(join(m('blkio'), 'tsdocker', id), { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 512\n8:0 Write 1024\n8:0 Total 1536\nTotal 1536\n' });
    expect(await cg.sample()).toEqual({
      cpuTotalNs: 123456789,
      memoryUsage: 2097152,
      memoryLimit: 9223372036854771712,
      memoryStats: { cache: 0, rss: 2097152, total_rss: 2097152 },
      pids: 1,
      blkio: [
        { op: 'read', major: 8, minor: 0, value: 512 },
        { op: 'write', major: 8, minor: 0, value: 1024 },
        { op: 'total', major: 8, minor: 0, value: 1536 },
      ],
    });
    expect(await cg.oomKilled()).toBe(false);
    await writeFile(join(m('memory'), 'tsdocker', id, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    expect(await cg.oomKilled()).toBe(true);
    // A controller whose directory is gone reads as nothing, not as an error.
    await rm(join(m('pids'), 'tsdocker', id), { recursive: true });
    expect((await cg.sample()).pids).toBe(0);
    expect((await cg.leftovers()).length).toBe(3);
    await rmdir(join(m('unified'), 'tsdocker', id)).catch(() => undefined);
  });
});
