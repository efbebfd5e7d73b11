import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError, NotFoundError, ForbiddenError } from '../../../src/errors';
import { probeCgroupLayout } from './cgroups';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, MASKED_PATHS, buildOciConfig, filterHostResolvConf, ociResources, resolveCapabilities, type OciContext } from './oci-spec';
import { hybridPerlWrapper, runtimeError, runWrapper } from './runtime';
import { busyboxSpec, makeTempDir } from './test-support';
import { resolveUser } from './user';

const ctx: OciContext = {
  user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
  cgroupsPath: '/tsdocker/abc',
  etcFiles: { hostname: '/s/hostname', hosts: '/s/hosts', resolvConf: '/s/resolv.conf' },
  joinPaths: {},
};

describe('OCI config from a ContainerSpec', () => {
  it("has Docker's defaults: namespaces, capabilities, masks, mounts, cgroup path", () => {
    const c = buildOciConfig(busyboxSpec('abc', '/rootfs', '/s', ['sh']), ctx);
    expect(c.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(c.process.capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(c.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(c.linux.cgroupsPath).toBe('/tsdocker/abc');
    expect(c.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts']);
    expect(c.mounts.find((m) => m.destination === '/dev/shm')?.options).toContain('size=67108864');
    expect(c.mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(c.process.env).toContain('HOME=/root');
    expect(c.hostname).toBe('abc');
    expect(c.root).toEqual({ path: '/rootfs', readonly: false });
  });

  it('shares namespaces with the host or another container', () => {
    const spec = busyboxSpec('abc', '/r', '/s', ['sh'], { namespaces: { network: 'host', pid: { container: 'other' }, ipc: 'host', uts: 'host' } });
    const c = buildOciConfig(spec, { ...ctx, joinPaths: { pid: '/proc/42/ns/pid' } });
    expect(c.linux.namespaces).toEqual([{ type: 'mount' }, { type: 'pid', path: '/proc/42/ns/pid' }]);
    expect(c.hostname).toBeUndefined();
    expect(() => buildOciConfig(spec, ctx)).toThrow(InvalidParameterError);
  });

  it('privileged: every capability, no masks, all devices, writable /sys', () => {
    const c = buildOciConfig(busyboxSpec('abc', '/r', '/s', ['sh'], { privileged: true }), ctx);
    expect(c.process.capabilities.bounding).toEqual(ALL_CAPABILITIES);
    expect(c.linux.maskedPaths).toBeUndefined();
    expect(c.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(c.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
  });

  it('reads cap-add/cap-drop adjustments', () => {
    expect(resolveCapabilities(['NET_ADMIN', '-MKNOD'], false)).toEqual([...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD'), 'CAP_NET_ADMIN']);
    expect(resolveCapabilities(['-ALL', 'chown'], false)).toEqual(['CAP_CHOWN']);
    expect(() => resolveCapabilities(['FLY'], false)).toThrow(/invalid capability: FLY/);
  });

  it('maps resources, rlimits, no-new-privileges and read-only rootfs', () => {
    expect(ociResources({ memory: 32 << 20, nanoCpus: 1.5e9, cpuShares: 512, pidsLimit: 10, blkioWeight: 300, cpusetCpus: '0' })).toEqual({
      memory: { limit: 32 << 20, swap: 64 << 20 },
      cpu: { shares: 512, period: 100000, quota: 150000, cpus: '0' },
      pids: { limit: 10 },
      blockIO: { weight: 300 },
    });
    const c = buildOciConfig(busyboxSpec('abc', '/r', '/s', ['sh'], { ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }], readonlyRootfs: true, noNewPrivileges: true }), ctx);
    expect(c.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }]);
    expect(c.process.noNewPrivileges).toBe(true);
    expect(c.root.readonly).toBe(true);
    expect(() => buildOciConfig(busyboxSpec('abc', '/r', '/s', ['sh'], { ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }), ctx)).toThrow(/invalid ulimit type: bogus/);
  });

  it("filters loopback name servers from the host's resolv.conf", () => {
    expect(filterHostResolvConf('nameserver 127.0.0.53\nsearch lan\n')).toBe('search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(filterHostResolvConf('nameserver 10.0.0.1\n')).toBe('nameserver 10.0.0.1\n');
  });
});

describe('user resolution from the image', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeTempDir('tsd-user-');
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/false\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nweb:x:33:\nstaff:x:50:web\n');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('resolves names and numbers as Docker does', async () => {
    expect(await resolveUser(root, '')).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
    expect(await resolveUser(root, 'web')).toEqual({ uid: 33, gid: 33, additionalGids: [50], home: '/var/www' });
    expect(await resolveUser(root, 'web:staff')).toMatchObject({ uid: 33, gid: 50, additionalGids: [] });
    expect(await resolveUser(root, '1234:5')).toEqual({ uid: 1234, gid: 5, additionalGids: [], home: '/' });
    await expect(resolveUser(root, 'nobody')).rejects.toThrow('unable to find user nobody: no matching entries in passwd file');
    await expect(resolveUser(root, 'web:nogroup')).rejects.toThrow('unable to find group nogroup: no matching entries in group file');
  });
});

describe('runtime errors', () => {
  it("maps runc and crun start failures to Docker's 127/126 errors", () => {
    const runc = '{"level":"error","msg":"runc create failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH","time":"x"}';
    const e = runtimeError('runc create', runc);
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e.message).toBe('exec: "nosuch": executable file not found in $PATH');
    expect(runtimeError('runc create', 'level=error msg="runc create failed: unable to start container process: exec: \\"/etc/passwd\\": permission denied"')).toBeInstanceOf(ForbiddenError);
    const crun = runtimeError('crun create', '{"msg":"executable file `nosuch` not found in $PATH: No such file or directory","level":"error"}');
    expect(crun).toBeInstanceOf(NotFoundError);
    expect(crun.message).toBe('exec: "nosuch": executable file not found in $PATH');
  });
});

describe('cgroup layout', () => {
  it('detects v1, v2 and hybrid hosts from mountinfo', async () => {
    const dir = await makeTempDir('tsd-mi-');
    const write = async (text: string) => {
      await writeFile(join(dir, 'mi'), text);
      return probeCgroupLayout(join(dir, 'mi'));
    };
    const v2 = await write('30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n');
    expect(v2.mode).toBe('v2');
    const hybrid = await write('31 1 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n32 1 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n33 1 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n');
    expect(hybrid.mode).toBe('hybrid');
    expect(hybrid.v1.get('cpuacct')).toBe('/sys/fs/cgroup/cpu,cpuacct');
    expect((await write('31 1 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n')).mode).toBe('v1');
    await rm(dir, { recursive: true, force: true });
  });
});

describe("conmon's runtime wrapper", () => {
  it('turns the first `create` into `run --detach` and keeps every other argument as it was', async () => {
    const dir = await makeTempDir('tsd-wrap-');
    const script = join(dir, 'runtime-run');
    await writeFile(script, runWrapper('/usr/bin/printf'), { mode: 0o755 });
    const out = execFileSync(script, ['[%s]', '--root', '/x y', 'create', '--bundle', "b'c", '--pid-file', 'p', 'create']).toString();
    expect(out).toBe("[--root][/x y][run][--detach][--bundle][b'c][--pid-file][p][create]");
    // An exec (or anything else) passes through untouched.
    expect(execFileSync(script, ['[%s]', 'exec', '--detach', 'id']).toString()).toBe('[exec][--detach][id]');
    await rm(dir, { recursive: true, force: true });
  });
});

describe.runIf(process.platform === 'linux' && process.getuid?.() === 0 && ['x64', 'arm64'].includes(process.arch))("crun's wrapper on a hybrid cgroup host (perl)", () => {
  it('hides the given mount in a mount namespace of its own, then execs the runtime', async () => {
    const dir = await makeTempDir('tsd-hyb-');
    const hidden = join(dir, 'unified');
    await mkdir(hidden);
    execFileSync('mount', ['-t', 'tmpfs', 'tsd-hidden', hidden]);
    try {
      const make = hybridPerlWrapper('/bin/sh', hidden)!;
      const probe = ['-c', `echo "$@"; grep -c ' ${hidden} ' /proc/self/mountinfo || true`, 'sh'];
      await writeFile(join(dir, 'plain'), make(false), { mode: 0o755 });
      await writeFile(join(dir, 'run'), make(true), { mode: 0o755 });
      expect(execFileSync(join(dir, 'plain'), [...probe, 'create', 'x']).toString()).toBe('create x\n0\n');
      expect(execFileSync(join(dir, 'run'), [...probe, '--root', '/r', 'create', 'x', 'create']).toString()).toBe('--root /r run --detach x create\n0\n');
      // The host's own mount table is untouched.
      expect(execFileSync('grep', ['-c', ` ${hidden} `, '/proc/self/mountinfo']).toString()).toBe('1\n');
    } finally {
      execFileSync('umount', [hidden]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
