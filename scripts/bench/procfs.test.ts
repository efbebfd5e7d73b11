import { describe, expect, it } from 'vitest';
import { descendants, isRunning, parseKiBFields, parseSsListeners, parseStatPpid, readProcessMemory } from './procfs';
import { startProcess } from './processes';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('parsers', () => {
  it('reads the kB fields of /proc/<pid>/status', () => {
    const f = parseKiBFields('Name:\tdockerd\nVmHWM:\t  128148 kB\nVmRSS:\t   86640 kB\nThreads:\t17\n');
    expect([f.get('VmRSS'), f.get('VmHWM'), f.has('Threads')]).toEqual([86640, 128148, false]);
  });

  it('finds the parent pid past a command name with spaces and parens', () => {
    expect(parseStatPpid('4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560')).toBe(17);
  });

  it('takes the pids of the listeners of exactly the given socket from ss -xlp', () => {
    const ss = [
      'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess',
      'u_str LISTEN 0      4096   /tmp/b/docker.sock 51234            * 0    users:(("dockerd",pid=12778,fd=9))',
      'u_str LISTEN 0      4096   /tmp/b/docker.sock.other 51235      * 0    users:(("x",pid=1,fd=3))',
      'u_str LISTEN 0      4096   /run/containerd/containerd.sock 1 * 0 users:(("containerd",pid=12786,fd=7),("containerd",pid=12787,fd=7))',
    ].join('\n');
    expect(parseSsListeners(ss, '/tmp/b/docker.sock')).toEqual([12778]);
    expect(parseSsListeners(ss, '/run/containerd/containerd.sock')).toEqual([12786, 12787]);
    expect(parseSsListeners(ss, '/nowhere.sock')).toEqual([]);
  });
});

describe('live processes', () => {
  it('reads this process’s memory and names a missing pid in the error', async () => {
    const m = await readProcessMemory(process.pid);
    expect(m.rssKiB).toBeGreaterThan(0);
    expect(m.hwmKiB).toBeGreaterThanOrEqual(m.rssKiB);
    await expect(readProcessMemory(2 ** 22 + 1)).rejects.toThrow(/pid 4194305/);
  });

  it('finds a grandchild among the descendants, and stop() ends both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-procfs-'));
    try {
      const script = "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'inherit' }); console.log(c.pid); setInterval(() => {}, 1e6);";
      const p = startProcess([process.execPath, '-e', script], join(dir, 'log'));
      let kids: number[] = [];
      while (kids.length === 0) kids = await descendants(p.pid);
      expect(await isRunning(kids[0]!)).toBe(true);
      await p.stop(300);
      expect(await isRunning(p.pid)).toBe(false);
      expect(await isRunning(kids[0]!)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
