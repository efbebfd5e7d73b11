import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import type { SpawnedProcess } from './emulator';
import { NoSuchProcessError } from './process-table';
import { runProcess, testEmulator } from './test-support';

/** Everything a process has printed so far. */
function capture(stream: Readable): { text: () => string } {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return { text: () => Buffer.concat(parts).toString() };
}

async function virtual() {
  const clock = new VirtualClock();
  const emulator = await testEmulator({ clock });
  return { clock, emulator };
}

const exited = (p: SpawnedProcess): Promise<boolean> => Promise.race([p.exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);

describe('signals and PID 1', () => {
  it('sh -c "sleep 100" as PID 1 ignores TERM and dies of KILL with 137', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'sleep 100'] });
    await clock.settle();
    expect(proc.pid).toBe(1);
    proc.signal('TERM');
    proc.signal('SIGINT');
    proc.signal(1);
    await clock.advance(1000);
    expect(await exited(proc)).toBe(false);
    proc.signal('KILL');
    expect(await proc.exit).toEqual({ code: 137, signal: 'SIGKILL' });
  });

  it('the last command of sh -c replaces the shell (exec), as busybox ash does', async () => {
    const { clock, emulator } = await virtual();
    await emulator.spawn({ argv: ['sh', '-c', 'sleep 100'] });
    await clock.settle();
    expect(emulator.table.list().map((p) => p.command)).toEqual(['sleep 100']);
  });

  it('a TERM trap runs after the foreground sleep and exits 0', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'trap "echo bye; exit 0" TERM; while true; do sleep 1; done'] });
    const out = capture(proc.stdout);
    await clock.advance(2500);
    proc.signal('TERM');
    await clock.advance(1000);
    expect(await proc.exit).toEqual({ code: 0 });
    expect(out.text()).toBe('bye\n');
  });

  it('wait is interrupted by a trapped signal', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'trap "echo trapped" USR1; sleep 100 & wait; echo "wait=$?"'] });
    const out = capture(proc.stdout);
    await clock.settle();
    proc.signal('USR1');
    await clock.settle();
    await proc.exit;
    expect(out.text()).toBe('trapped\nwait=138\n');
  });

  it('a process other than PID 1 dies of TERM with 143', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'sleep 100 & pid=$!; kill $pid; wait $pid; echo "status=$?"'] });
    expect(r.stdout).toBe('status=143\n');
  });

  it('kill inside the container cannot kill PID 1 without a handler, not even with KILL', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'kill -9 1; kill -TERM $$; echo alive'] });
    expect(r).toMatchObject({ stdout: 'alive\n', code: 0 });
  });

  it('kill reports unknown pids and bad signals', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'kill 999; echo $?; kill -FOO 1; echo $?; kill -0 1 && echo probe'] });
    expect(r.stdout).toBe('1\n1\nprobe\n');
    expect(r.stderr).toBe("kill: can't kill pid 999: No such process\nkill: bad signal name 'FOO'\n");
  });

  it('trap "" ignores a signal; EXIT traps run at the end', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'trap "echo bye" EXIT; sh -c \'trap "" TERM; kill $$; echo survived\'; echo hi'] });
    expect(r.stdout).toBe('survived\nhi\nbye\n');
  });

  it('when PID 1 exits, the other processes of the container are killed', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'sleep 100 & sleep 1'] });
    await clock.settle();
    expect(emulator.table.list()).toHaveLength(2);
    await clock.advance(1000);
    await proc.exit;
    expect(emulator.table.list()).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('a pipeline writer dies of SIGPIPE when the reader goes', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'yes | head -n 1; (yes; echo "yes ended: $?" >&2) | head -c 1 >/dev/null'] });
    expect(r).toMatchObject({ stdout: 'y\n', stderr: 'yes ended: 141\n', code: 0 });
  });

  it('the table refuses unknown pids and signals', async () => {
    const { emulator } = await virtual();
    expect(() => emulator.table.kill(42, 'TERM')).toThrow(NoSuchProcessError);
    await emulator.spawn({ argv: ['sleep', '10'] });
    expect(() => emulator.table.kill(1, 'NOPE')).toThrow(/invalid signal/);
  });
});

describe('stop, continue, pause', () => {
  it('STOP freezes a process (its output stops) until CONT', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'echo a; sleep 1; echo b'] });
    const out = capture(proc.stdout);
    await clock.settle();
    proc.signal('STOP');
    expect(emulator.table.list()[0]?.state).toBe('stopped');
    await clock.advance(5000);
    expect(out.text()).toBe('a\n');
    proc.signal('CONT');
    await clock.settle();
    await proc.exit;
    expect(out.text()).toBe('a\nb\n');
  });

  it('pause keeps sleeps from advancing; resume continues where they were', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'sleep 10; echo done'] });
    const out = capture(proc.stdout);
    await clock.advance(4000);
    emulator.table.pause();
    expect(emulator.table.paused).toBe(true);
    await clock.advance(100_000);
    emulator.table.resume();
    await clock.advance(5000);
    expect(out.text()).toBe('');
    await clock.advance(1000);
    await proc.exit;
    expect(out.text()).toBe('done\n');
  });

  it('signals other than KILL wait while stopped and are delivered on CONT', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'sleep 100 & wait'] });
    await clock.settle();
    const child = emulator.table.list().find((p) => p.pid !== 1)!;
    emulator.table.kill(child.pid, 'STOP');
    emulator.table.kill(child.pid, 'TERM');
    await clock.settle();
    expect(emulator.table.get(child.pid)?.state).toBe('stopped');
    emulator.table.kill(child.pid, 'CONT');
    expect(await proc.exit).toEqual({ code: 143 });
  });
});

describe('clock', () => {
  it('a virtual clock drives sleep and date without real waiting', async () => {
    const { clock, emulator } = await virtual();
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'date -u +%FT%T; sleep 3600; date -u "+%H:%M %s"; sleep 0.5; date +%N'] });
    const out = capture(proc.stdout);
    await clock.advance(3600_000 + 500);
    await proc.exit;
    expect(out.text()).toBe('2024-01-01T00:00:00\n01:00 1704070800\n500000000\n');
  });

  it('sleeping processes cost one timer each', async () => {
    const { clock, emulator } = await virtual();
    for (let i = 0; i < 50; i++) await emulator.spawn({ argv: ['sleep', '1000'] });
    await clock.settle();
    expect(clock.pending).toBe(50);
    await clock.advance(1000_000);
    expect(clock.pending).toBe(0);
    expect(emulator.table.list()).toEqual([]);
  });

  it('setClock switches the clock used by later sleeps', async () => {
    const emulator = await testEmulator();
    const clock = new VirtualClock();
    emulator.setClock(clock);
    const proc = await emulator.spawn({ argv: ['sleep', 'infinity'] });
    await clock.advance(10 ** 9);
    expect(await exited(proc)).toBe(false);
    proc.signal('KILL');
    await proc.exit;
  });

  it('real time: sleep waits on a timer', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['sh', '-c', 'sleep 0.02 && echo slept'] });
    expect(r.stdout).toBe('slept\n');
  });
});

describe('process table', () => {
  it('lists pid, ppid, user, start time and command line', async () => {
    const { clock, emulator } = await virtual();
    await emulator.spawn({ argv: ['sh', '-c', 'sleep 50 & sleep 60'], user: 'user' });
    await clock.settle();
    const rows = emulator.table.list();
    expect(rows.map(({ pid, ppid, user, uid, command, startTime }) => ({ pid, ppid, user, uid, command, startTime }))).toEqual([
      { pid: 1, ppid: 0, user: 'user', uid: 1000, command: 'sleep 60', startTime: clock.now() },
      { pid: 2, ppid: 1, user: 'user', uid: 1000, command: 'sleep 50', startTime: clock.now() },
    ]);
  });

  it('ps prints busybox format', async () => {
    const r = await runProcess(await testEmulator(), { argv: ['ps'] });
    expect(r.stdout).toBe('PID   USER     TIME  COMMAND\n    1 root      0:00 ps\n');
  });
});

describe('tty', () => {
  it('merges stdout and stderr and writes \\n as \\r\\n', async () => {
    const emulator = await testEmulator();
    const r = await runProcess(emulator, { argv: ['sh', '-c', 'echo out; echo err >&2'], tty: true });
    expect(r.stdout).toBe('out\r\nerr\r\n');
  });

  it('echoes input, turns Enter into a newline and prompts', async () => {
    const emulator = await testEmulator();
    const stdin = new PassThrough();
    const proc = await emulator.spawn({ argv: ['sh'], tty: true, stdin });
    expect(proc.stdout).toBe(proc.stderr);
    const out = capture(proc.stdout);
    stdin.write('echo hi\r');
    while (!out.text().endsWith('hi\r\n/ # ')) await new Promise((r) => setTimeout(r, 1));
    stdin.end('exit 3\r');
    expect(await proc.exit).toEqual({ code: 3 });
    expect(out.text()).toBe('/ # echo hi\r\nhi\r\n/ # exit 3\r\n');
  });
});
