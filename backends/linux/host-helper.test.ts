import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostHelper, MNT_DETACH, type HostHelper } from './host-helper';

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting needs root';
  try {
    execFileSync('sh', ['-c', 'command -v perl && command -v mount'], { stdio: 'ignore' });
  } catch {
    return 'perl or mount is not installed';
  }
  return undefined;
}

const reason = unavailable();
if (reason) console.log(`skipping the mount helper tests: ${reason}`);

async function mounted(path: string): Promise<boolean> {
  const [self, parent] = await Promise.all([stat(path), stat(join(path, '..'))]);
  return self.dev !== parent.dev;
}

describe.skipIf(reason !== undefined)('mount(2) and umount2(2) without a process per call', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsd-mount-'));
  });
  afterAll(async () => {
    for (const d of ['perl', 'commands', 'overlay/merged']) {
      if (await mounted(join(tmp, d)).catch(() => false)) execFileSync('umount', ['-l', join(tmp, d)]);
    }
    await rm(tmp, { recursive: true, force: true });
  });

  const cases: [string, () => HostHelper][] = [
    ['perl', () => createHostHelper()],
    // No perl where the daemon looks: the same calls through mount(8)/umount(8).
    ['commands', () => createHostHelper({ perl: '/nonexistent/perl' })],
  ];

  for (const [name, make] of cases) {
    it(`mounts with options, relative to a directory, and unmounts (${name})`, async () => {
      const m = make();
      const target = join(tmp, name);
      await mkdir(target);
      await m.mount('tmpfs', 'tsd-test', name, 'size=1m,mode=0711', tmp);
      expect(await mounted(target)).toBe(true);
      expect((await stat(target)).mode & 0o777).toBe(0o711);
      const line = (await readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === target);
      expect(line).toMatch(/^tsd-test \S+ tmpfs rw,.*size=1024k/);
      await writeFile(join(target, 'f'), 'x');
      await m.unmount(target);
      expect(await mounted(target)).toBe(false);
      await expect(stat(join(target, 'f'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it(`reports the errno's code (${name})`, async () => {
      const m = make();
      const dir = join(tmp, `${name}-plain`);
      await mkdir(dir);
      await expect(m.unmount(dir)).rejects.toMatchObject({ code: 'EINVAL' });
      await expect(m.mount('tmpfs', 'x', join(tmp, 'missing', 'dir'), '', tmp)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }

  for (const [name, make] of cases) {
    it(`starts a monitor: its own session, fd 3 the sync pipe, stderr to a file (${name})`, async () => {
      const h = make();
      const dir = join(tmp, `${name}-spawn`);
      await mkdir(dir);
      const err = join(dir, 'err');
      const script = 'echo "{\\"data\\": $$, \\"sid\\": $(cut -d" " -f6 /proc/$$/stat), \\"cwd\\": \\"$(pwd)\\"}" >&3; echo oops >&2; ls -l /proc/$$/fd/0 /proc/$$/fd/1 | grep -c /dev/null >&2; exec 3>&-; sleep 0.3';
      const m = await h.spawnMonitor(['/bin/sh', '-c', script], dir, err);
      const first = JSON.parse(m.firstLine) as { data: number; sid: number; cwd: string };
      expect(first).toEqual({ data: m.pid, sid: m.pid, cwd: dir });
      for (let i = 0; i < 100 && !(await readFile(err, 'utf8')).includes('2'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await readFile(err, 'utf8')).toBe('oops\n2\n');
    });

    it(`reports a program that closes the pipe without a line, and one that cannot run (${name})`, async () => {
      const h = make();
      const quiet = await h.spawnMonitor(['/bin/sh', '-c', 'echo "partial" >&2; exit 3'], tmp, join(tmp, `${name}-quiet.err`));
      expect(quiet.firstLine).toBe('');
      expect(quiet.pid).toBeGreaterThan(0);
      const missing = await h.spawnMonitor(['/nonexistent/conmon'], tmp, join(tmp, `${name}-missing.err`)).catch((e: Error) => e);
      // Node fails at once; the helper's child exits 127 with nothing on the pipe.
      if (!(missing instanceof Error)) expect(missing.firstLine).toBe('');
    });
  }

  it('mounts an overlay with short relative lower paths and detaches a busy mount', async () => {
    const m = createHostHelper();
    const base = join(tmp, 'overlay');
    for (const d of ['l1', 'l2', 'upper', 'work', 'merged']) await mkdir(join(base, d), { recursive: true });
    await writeFile(join(base, 'l2', 'a'), 'lower');
    await writeFile(join(base, 'l1', 'a'), 'upper wins');
    await m.mount('overlay', 'overlay', 'merged', 'lowerdir=l1:l2,upperdir=upper,workdir=work', base);
    expect(await readFile(join(base, 'merged', 'a'), 'utf8')).toBe('upper wins');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFile(join(base, 'merged', `f${i}`), String(i))));
    expect(await readFile(join(base, 'upper', 'f7'), 'utf8')).toBe('7');
    await m.unmount(join(base, 'merged'), MNT_DETACH);
    expect(await mounted(join(base, 'merged'))).toBe(false);
  });
});
