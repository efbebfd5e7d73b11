import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerSpec } from '../../../src/kernel';
import { nodeHostFs } from '../../../src/kernel/node-host-fs';
import { CGROUP_PARENT, type CgroupLayout } from './cgroups';

/** Why the exec driver's tests cannot run here (they need root, runc, conmon and busybox-static). */
export function execTestsUnavailable(runtime = 'runc'): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const bin of [runtime, 'conmon', 'perl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed`;
    }
  }
  if (!existsSync('/bin/busybox')) return 'busybox-static (/bin/busybox) is not installed';
  return undefined;
}

/** A root filesystem of Debian's static busybox with every applet linked, and a passwd/group. */
export async function makeBusyboxRootfs(parent: string): Promise<string> {
  const root = await mkdtemp(join(parent, 'rootfs-'));
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/tester']) await mkdir(join(root, d), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin/busybox'));
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) await symlink('busybox', join(root, 'bin', a)).catch(() => undefined);
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ntester:x:1000:\nwheel:x:10:tester\nnogroup:x:65534:\n');
  return root;
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A ContainerSpec like the engine's `buildSpec` makes, for a busybox rootfs. */
export function busyboxSpec(id: string, rootfs: string, stateDir: string, args: string[], over: Partial<ContainerSpec> & Record<string, unknown> = {}): ContainerSpec {
  const { process: proc, ...rest } = over;
  return {
    id,
    rootfs: { fs: nodeHostFs(), root: rootfs },
    hostname: id.slice(0, 12),
    domainname: '',
    process: { args, env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${id.slice(0, 12)}`], cwd: '/', user: '', tty: false, openStdin: false, ...proc },
    ulimits: [],
    resources: {},
    etc: { hostname: `${id.slice(0, 12)}\n`, hosts: '127.0.0.1\tlocalhost\n', resolvConf: 'nameserver 192.0.2.1\n' },
    namespaces: { network: 'private', pid: 'private', ipc: 'private', uts: 'private' },
    mounts: [],
    capabilities: [],
    privileged: false,
    readonlyRootfs: false,
    stopSignal: 'SIGTERM',
    stateDir,
    ...rest,
  };
}

/** Everything a stream produces, as text. */
export async function collect(s: Readable | null): Promise<string> {
  if (!s) return '';
  let out = '';
  for await (const chunk of s) out += String(chunk);
  return out;
}

/** Resolves with what was read once `text` has appeared; the stream is paused for the next reader. */
export function waitForText(s: Readable, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        s.off('data', onData);
        s.pause();
        resolve(seen);
      }
    };
    s.on('data', onData);
    s.once('end', () => (seen.includes(text) ? resolve(seen) : reject(new Error(`stream ended before ${JSON.stringify(text)}; got ${JSON.stringify(seen)}`))));
  });
}

/** Remove the shared parent cgroup the runtime made, where it is empty (rmdir refuses otherwise). */
export async function removeEmptyCgroupParent(layout: CgroupLayout): Promise<void> {
  const mounts = new Set([...layout.v1.values(), ...(layout.unified ? [layout.unified] : [])]);
  for (const m of mounts) await rmdir(join(m, CGROUP_PARENT)).catch(() => undefined);
}

let counter = 0;
export function newId(): string {
  return `tsdtest${process.pid}x${(counter++).toString(36)}${Date.now().toString(36)}`;
}
