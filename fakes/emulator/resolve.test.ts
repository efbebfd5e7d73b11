import { Volume } from 'memfs';
import { describe, expect, it } from 'vitest';
import { builtinApplets } from './applets/index';
import { StartError } from './emulator';
import { APPLET_MARKER, resolveCommand, type ResolveOptions } from './resolve';
import { busyboxRoot, memHostFs, runProcess, testEmulator } from './test-support';

const applets = builtinApplets();

async function options(setup?: (vol: Volume) => void): Promise<ResolveOptions> {
  const vol = new Volume();
  vol.mkdirSync('/bin', { recursive: true });
  vol.mkdirSync('/usr/local/bin', { recursive: true });
  vol.writeFileSync('/bin/busybox', `${APPLET_MARKER}busybox\n`, { mode: 0o755 });
  vol.symlinkSync('busybox', '/bin/ls');
  vol.symlinkSync('/bin/busybox', '/bin/sh');
  setup?.(vol);
  return { fs: memHostFs(vol), env: { PATH: '/usr/local/bin:/bin' }, cwd: '/', isApplet: (n) => applets.has(n), mode: 'shell' };
}

describe('resolveCommand', () => {
  it('finds a PATH entry whose marker names the applet (busybox dispatches on argv[0])', async () => {
    expect(await resolveCommand(['ls', '-l'], await options())).toEqual({ kind: 'applet', applet: 'busybox', path: '/bin/ls', argv: ['ls', '-l'] });
    expect(await resolveCommand(['/bin/sh', '-c', 'x'], await options())).toMatchObject({ kind: 'applet', applet: 'busybox', argv: ['/bin/sh', '-c', 'x'] });
  });

  it('runs a binary as the applet its name or link target names (a real busybox image)', async () => {
    const opts = await options((vol) => {
      vol.writeFileSync('/bin/real-busybox', '\x7fELF\x02\x01\x01\0binary', { mode: 0o755 });
      vol.linkSync('/bin/real-busybox', '/bin/cat');
      vol.symlinkSync('real-busybox', '/bin/echo');
      vol.writeFileSync('/bin/mystery', '\x7fELF\x02\x01\x01\0binary', { mode: 0o755 });
    });
    expect(await resolveCommand(['cat'], opts)).toMatchObject({ kind: 'applet', applet: 'cat' });
    expect(await resolveCommand(['echo'], opts)).toMatchObject({ kind: 'applet', applet: 'echo' });
    expect(await resolveCommand(['mystery'], opts)).toMatchObject({ kind: 'error', error: 'exec-format' });
  });

  it('runs #! scripts through their interpreter', async () => {
    const opts = await options((vol) => {
      vol.writeFileSync('/usr/local/bin/go.sh', '#!/bin/sh -e\necho hi\n', { mode: 0o755 });
      vol.writeFileSync('/usr/local/bin/bad.sh', '#!/nope/interp\n', { mode: 0o755 });
    });
    expect(await resolveCommand(['go.sh', 'a'], opts)).toMatchObject({ kind: 'applet', applet: 'busybox', argv: ['/bin/sh', '-e', 'go.sh', 'a'] });
    expect(await resolveCommand(['bad.sh'], opts)).toMatchObject({ kind: 'error', error: 'not-found' });
  });

  it('tells not found from not executable', async () => {
    const opts = await options((vol) => vol.writeFileSync('/usr/local/bin/data', 'x', { mode: 0o644 }));
    expect(await resolveCommand(['nosuch'], opts)).toMatchObject({ kind: 'error', error: 'not-found' });
    expect(await resolveCommand(['data'], opts)).toMatchObject({ kind: 'error', error: 'permission-denied' });
    expect(await resolveCommand(['data'], { ...opts, mode: 'exec' })).toMatchObject({ kind: 'error', error: 'not-found' });
    expect(await resolveCommand(['/bin'], opts)).toMatchObject({ kind: 'error', error: 'permission-denied' });
    expect(await resolveCommand(['./nothing'], opts)).toMatchObject({ kind: 'error', error: 'not-found' });
  });

  it('finds tsdocker-script even when no file provides it', async () => {
    expect(await resolveCommand(['tsdocker-script'], await options())).toMatchObject({ kind: 'applet', applet: 'tsdocker-script' });
  });
});

describe('start errors for the daemon', () => {
  it.each([
    [['nosuchcmd'], 'not-found', 127, 'exec: "nosuchcmd": executable file not found in $PATH'],
    [['/nope/x'], 'not-found', 127, 'exec: "/nope/x": stat /nope/x: no such file or directory'],
    [['/etc/passwd'], 'permission-denied', 126, 'exec: "/etc/passwd": permission denied'],
    [['/tmp'], 'permission-denied', 126, 'exec: "/tmp": permission denied'],
  ])('%j', async (argv, kind, exitCode, message) => {
    const emulator = await testEmulator();
    const err = await emulator.checkStart({ argv });
    expect(err).toBeInstanceOf(StartError);
    expect(err).toMatchObject({ kind, exitCode, message });
    await expect(emulator.spawn({ argv })).rejects.toMatchObject({ kind, exitCode });
    expect(emulator.table.list()).toEqual([]);
  });

  it('an unknown user is a start error; a runnable command is not', async () => {
    const emulator = await testEmulator();
    expect(await emulator.checkStart({ argv: ['ls'], user: 'ghost' })).toMatchObject({ kind: 'user', message: 'unable to find user ghost: no matching entries in passwd file' });
    expect(await emulator.checkStart({ argv: ['ls'], user: '1234:5678' })).toBeNull();
    expect(await emulator.checkStart({ argv: ['ls'] })).toBeNull();
  });

  it('runs the hello-world image', async () => {
    const vol = new Volume();
    vol.writeFileSync('/hello', `${APPLET_MARKER}hello\n`, { mode: 0o755 });
    const emulator = await testEmulator({ fs: memHostFs(vol) });
    const r = await runProcess(emulator, { argv: ['/hello'], env: ['PATH=/usr/bin:/bin'] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hello from Docker!');
  });

  it('user, HOME and env reach the process', async () => {
    const emulator = await testEmulator({ fs: await busyboxRoot() });
    const r = await runProcess(emulator, { argv: ['sh', '-c', 'id; whoami; echo $HOME $FOO $HOSTNAME; pwd'], user: 'user', env: ['FOO=bar'], cwd: '/tmp' });
    expect(r.stdout).toBe('uid=1000(user) gid=1000(user) groups=1000(user)\nuser\n/home/user bar test-host\n/tmp\n');
  });
});
