import type { Readable } from 'node:stream';
import { Volume } from 'memfs';
import type { HostFs } from '../../src/kernel/host-fs';
import { memfsHostFs } from '../storage/memfs-host-fs';
import { builtinApplets } from './applets/index';
import type { Clock } from './clock';
import type { EmulatorHooks } from './context';
import { createEmulator, type Emulator, type SpawnOptions } from './emulator';
import { APPLET_MARKER } from './resolve';

/**
 * Test support: the fake backend's own HostFs over a memfs volume, and a busybox-like root
 * filesystem laid out as the emulated registry's busybox image is.
 */
export function memHostFs(vol: Volume = new Volume()): HostFs {
  return memfsHostFs(vol);
}

/** A root like the emulated busybox image: /bin/busybox marker, applets as symlinks, passwd, group. */
export async function busyboxRoot(): Promise<HostFs> {
  const vol = new Volume();
  for (const d of ['/bin', '/etc', '/tmp', '/root', '/home', '/usr/bin', '/var/www']) vol.mkdirSync(d, { recursive: true });
  vol.writeFileSync('/bin/busybox', `${APPLET_MARKER}busybox\n`, { mode: 0o755 });
  for (const name of builtinApplets().keys()) {
    if (name === 'busybox' || name === 'hello' || name.startsWith('tsdocker')) continue;
    vol.symlinkSync('busybox', `/bin/${name}`);
  }
  vol.writeFileSync('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  vol.writeFileSync('/etc/group', 'root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\nuser:x:1000:\n');
  return memHostFs(vol);
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
  signal?: string;
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => resolve(Buffer.concat(parts).toString()));
  });
}

export interface TestEmulatorOptions {
  fs?: HostFs;
  clock?: Clock;
  hooks?: EmulatorHooks;
  hostname?: string;
}

/** An emulator over a fresh busybox root. */
export async function testEmulator(opts: TestEmulatorOptions = {}): Promise<Emulator & { fs: HostFs }> {
  const fs = opts.fs ?? (await busyboxRoot());
  const emulator = createEmulator({ fs, hostname: opts.hostname ?? 'test-host', clock: opts.clock, hooks: opts.hooks });
  return Object.assign(emulator, { fs });
}

/** Spawns and collects output until exit. */
export async function runProcess(emulator: Emulator, opts: SpawnOptions): Promise<RunResult> {
  const proc = await emulator.spawn(opts);
  const [stdout, stderr, exit] = await Promise.all([collect(proc.stdout), opts.tty ? Promise.resolve('') : collect(proc.stderr), proc.exit]);
  return { stdout, stderr, code: exit.code, signal: exit.signal };
}

/** Runs `sh -c script` in a fresh emulator (or the given one). */
export async function sh(script: string, opts: TestEmulatorOptions & { emulator?: Emulator; stdin?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const emulator = opts.emulator ?? (await testEmulator(opts));
  const { Readable } = await import('node:stream');
  return runProcess(emulator, {
    argv: ['sh', '-c', script],
    env: opts.env,
    stdin: opts.stdin !== undefined ? Readable.from([Buffer.from(opts.stdin)]) : undefined,
  });
}
