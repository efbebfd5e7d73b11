import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator';
import { busyboxRoot, sh } from '../test-support';

const limited = async () => createEmulator({ fs: await busyboxRoot(), hostname: 'h', rlimits: { nofile: { soft: 1234, hard: 4096 }, stack: { soft: 8388608, hard: -1 } } });

describe('ulimit', () => {
  it('reports Docker\'s default open-files limit and unlimited for the rest', async () => {
    expect((await sh('ulimit -n; ulimit -Hn; ulimit; ulimit -c')).stdout).toBe('1048576\n1048576\nunlimited\nunlimited\n');
  });

  it('reports the container\'s limits, soft by default, hard with -H, in ash\'s units', async () => {
    const r = await sh('ulimit -n; ulimit -Sn; ulimit -Hn; ulimit -s; ulimit -Hs', { emulator: await limited() });
    expect(r.stdout).toBe('1234\n1234\n4096\n8192\nunlimited\n');
    expect((await sh('ulimit -a', { emulator: await limited() })).stdout).toMatch(/^-n: open files {22}1234$/m);
  });

  it('lowers limits for the shell; raising above the hard limit is not permitted', async () => {
    expect((await sh('ulimit -n 100; ulimit -n; ulimit -Hn', { emulator: await limited() })).stdout).toBe('100\n100\n');
    expect((await sh('ulimit -Sn 2000; ulimit -n; ulimit -Hn', { emulator: await limited() })).stdout).toBe('2000\n4096\n');
    const r = await sh('ulimit -n 5000', { emulator: await limited() });
    expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining('Operation not permitted') });
    expect((await sh('ulimit -n x')).code).toBe(1);
    expect((await sh('ulimit -k')).code).toBe(1);
  });
});
