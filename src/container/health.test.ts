import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidParameterError, NotFoundError } from '../errors';
import type { ContainerProcess, ExitStatus, ProcessSpec } from '../kernel';
import { newState, type ContainerRecord, type HealthConfig } from './container';
import { goDuration, HealthMonitors, mergeHealthConfig, probeCommand, validateHealthConfig } from './health';

const MS = 1e6;

/** What a stub probe does: exit with a code after some output, never exit, or fail to start. */
type Behaviour = { exit: number; output?: string; afterMs?: number } | 'hang' | 'not-found';

function harness(healthcheck: HealthConfig | undefined, behaviours: Behaviour[]) {
  const rec = {
    ID: 'c1',
    Name: '/web',
    Config: { Healthcheck: healthcheck, Env: ['A=1'], Hostname: 'h', User: '', WorkingDir: '' },
    State: { ...newState(), Status: 'running', Running: true, StartedAt: new Date().toISOString() },
  } as unknown as ContainerRecord;
  const events: { action: string; extra?: Record<string, string> }[] = [];
  const specs: ProcessSpec[] = [];
  const signals: { sig: string; pid?: number }[] = [];
  const hanging: ((s: ExitStatus) => void)[] = [];
  let calls = 0;
  const exec = {
    async exec(_id: string, ps: ProcessSpec): Promise<ContainerProcess> {
      specs.push(ps);
      const b = behaviours[Math.min(calls++, behaviours.length - 1)]!;
      if (b === 'not-found') throw new NotFoundError('exec: "nosuch": executable file not found in $PATH');
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const exited = new Promise<ExitStatus>((resolve) => {
        const finish = (s: ExitStatus) => {
          stdout.end();
          stderr.end();
          setImmediate(() => resolve(s));
        };
        if (b === 'hang') hanging.push(finish);
        else {
          stdout.write(b.output ?? '');
          setTimeout(() => finish({ exitCode: b.exit, oomKilled: false }), b.afterMs ?? 1);
        }
      });
      return { pid: 100 + calls, stdin: null, stdout, stderr, exited };
    },
    async signal(_id: string, sig: string, pid?: number) {
      signals.push({ sig, pid });
      if (sig === 'SIGKILL') for (const f of hanging.splice(0)) f({ exitCode: 137, oomKilled: false });
    },
  };
  const monitors = new HealthMonitors({
    exec,
    find: (id) => (id === rec.ID ? rec : undefined),
    event: (_r, action, extra) => events.push({ action, extra }),
    checkpoint: async () => undefined,
    log: pino({ level: 'silent' }),
    newExecId: () => `exec${calls}`,
  });
  return { rec, events, specs, signals, monitors, actions: () => events.map((e) => e.action) };
}

describe('health check configuration', () => {
  it('turns Test into the probe command: CMD as is, CMD-SHELL through the shell, NONE and unknown types disabled', () => {
    expect(probeCommand({ Test: ['CMD', 'true', 'x'] }, undefined)).toEqual(['true', 'x']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'exit 0'] }, undefined)).toEqual(['/bin/sh', '-c', 'exit 0']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'exit 0'] }, ['/bin/ash', '-e', '-c'])).toEqual(['/bin/ash', '-e', '-c', 'exit 0']);
    expect(probeCommand({ Test: ['NONE'] }, undefined)).toBeUndefined();
    expect(probeCommand({ Test: ['BOGUS', 'x'] }, undefined)).toBeUndefined();
    expect(probeCommand({ Interval: 1 }, undefined)).toBeUndefined();
    expect(probeCommand(undefined, undefined)).toBeUndefined();
  });

  it('merges the create body over the image field by field, as dockerd does', () => {
    const image: HealthConfig = { Test: ['CMD', 'img'], Interval: 5e9, Retries: 7 };
    expect(mergeHealthConfig(undefined, image)).toEqual(image);
    expect(mergeHealthConfig({ Test: ['NONE'] }, image)).toEqual({ Test: ['NONE'], Interval: 5e9, Retries: 7 });
    expect(mergeHealthConfig({ Interval: 1e9 }, image)).toEqual({ Test: ['CMD', 'img'], Interval: 1e9, Retries: 7 });
    expect(mergeHealthConfig({ Test: ['CMD', 'x'] }, undefined)).toEqual({ Test: ['CMD', 'x'] });
  });

  it('refuses durations under 1ms and negative retries with dockerd\'s messages', () => {
    const bad: [HealthConfig, string][] = [
      [{ Interval: 10 }, 'Interval in Healthcheck cannot be less than 1ms'],
      [{ Timeout: 999_999 }, 'Timeout in Healthcheck cannot be less than 1ms'],
      [{ StartPeriod: 1 }, 'StartPeriod in Healthcheck cannot be less than 1ms'],
      [{ Retries: -1 }, 'Retries in Healthcheck cannot be negative'],
      [{ Interval: 1.5 as number }, 'invalid Healthcheck.Interval: must be an integer'],
      [{ Test: 'CMD true' as unknown as string[] }, 'invalid Healthcheck.Test: must be a list of strings'],
    ];
    for (const [h, message] of bad) {
      expect(() => validateHealthConfig(h)).toThrow(InvalidParameterError);
      expect(() => validateHealthConfig(h)).toThrow(message);
    }
    expect(() => validateHealthConfig({ Interval: 0, Timeout: MS, StartPeriod: 0, Retries: 0 })).not.toThrow();
  });

  it('formats durations as Go does', () => {
    expect(goDuration(30e9)).toBe('30s');
    expect(goDuration(200 * MS)).toBe('200ms');
    expect(goDuration(1.5e9)).toBe('1.5s');
    expect(goDuration(90e9)).toBe('1m30s');
    expect(goDuration(3600e9)).toBe('1h0m0s');
  });
});

describe('HealthMonitors', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts as "starting", probes after each Interval and becomes healthy on exit 0, with probe events', async () => {
    const h = harness({ Test: ['CMD-SHELL', 'echo ok'], Interval: 1000 * MS }, [{ exit: 0, output: 'ok\n' }]);
    h.monitors.start(h.rec);
    expect(h.rec.State.Health).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });
    await vi.advanceTimersByTimeAsync(999);
    expect(h.specs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(h.rec.State.Health?.Status).toBe('healthy');
    expect(h.rec.State.Health?.Log).toHaveLength(1);
    expect(h.rec.State.Health?.Log[0]).toMatchObject({ ExitCode: 0, Output: 'ok\n' });
    expect(h.specs[0]).toMatchObject({ args: ['/bin/sh', '-c', 'echo ok'], tty: false, openStdin: false, cwd: '/' });
    expect(h.specs[0]!.env).toEqual(expect.arrayContaining(['A=1', 'HOSTNAME=h', expect.stringMatching(/^PATH=/)]));
    expect(h.actions()).toEqual(['exec_create: /bin/sh -c echo ok', 'exec_start: /bin/sh -c echo ok', 'exec_die', 'health_status: healthy']);
    expect(h.events[2]!.extra).toMatchObject({ exitCode: '0' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.specs).toHaveLength(2);
    expect(h.actions().filter((a) => a.startsWith('health_status'))).toHaveLength(1);
    h.monitors.stop(h.rec);
  });

  it('counts consecutive failures up to Retries, keeps the last 5 results and 4096 bytes of output', async () => {
    const long = 'x'.repeat(5000);
    const h = harness({ Test: ['CMD', 'check'], Interval: 100 * MS, Retries: 2 }, [{ exit: 0 }, { exit: 1, output: long }, { exit: 2 }]);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(110);
    expect(h.rec.State.Health).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    await vi.advanceTimersByTimeAsync(100);
    expect(h.rec.State.Health).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    expect(h.rec.State.Health?.Log[1]!.Output).toBe(`${'x'.repeat(4096)}...`);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.rec.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
    await vi.advanceTimersByTimeAsync(500);
    expect(h.rec.State.Health?.FailingStreak).toBeGreaterThanOrEqual(6);
    expect(h.rec.State.Health?.Log).toHaveLength(5);
    expect(h.rec.State.Health?.Log.every((l) => l.ExitCode === 2)).toBe(true);
    expect(h.actions().filter((a) => a.startsWith('health_status'))).toEqual(['health_status: healthy', 'health_status: unhealthy']);
    h.monitors.stop(h.rec);
  });

  it('does not count failures while starting within StartPeriod, and uses 3 retries by default', async () => {
    const h = harness({ Test: ['CMD', 'check'], Interval: 100 * MS, StartPeriod: 250 * MS }, [{ exit: 1 }]);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(210);
    expect(h.rec.State.Health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(h.rec.State.Health?.Log).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(h.rec.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 3 });
    h.monitors.stop(h.rec);
  });

  it('kills a probe that outlives Timeout and records exit code -1 with Docker\'s message', async () => {
    const h = harness({ Test: ['CMD', 'sleep', '9'], Interval: 100 * MS, Timeout: 200 * MS, Retries: 1 }, ['hang']);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(301);
    expect(h.rec.State.Health?.Status).toBe('unhealthy');
    expect(h.rec.State.Health?.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (200ms)' });
    expect(h.signals).toEqual([{ sig: 'SIGKILL', pid: 101 }]);
    expect(h.events.find((e) => e.action === 'exec_die')?.extra).toMatchObject({ exitCode: '137' });
    h.monitors.stop(h.rec);
  });

  it('records a probe that cannot start as exit code -1 with the runtime\'s message', async () => {
    const h = harness({ Test: ['CMD', 'nosuch'], Interval: 100 * MS, Retries: 1 }, ['not-found']);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(110);
    expect(h.rec.State.Health?.Log[0]).toMatchObject({
      ExitCode: -1,
      Output: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
    });
    expect(h.rec.State.Health?.Status).toBe('unhealthy');
    h.monitors.stop(h.rec);
  });

  it('pause stops the probes (unhealthy, as dockerd); unpause probes again and keeps the state until a result', async () => {
    const h = harness({ Test: ['CMD', 'true'], Interval: 100 * MS }, [{ exit: 0 }]);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(110);
    expect(h.rec.State.Health?.Status).toBe('healthy');
    h.monitors.pause(h.rec);
    expect(h.rec.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 0 });
    await vi.advanceTimersByTimeAsync(500);
    expect(h.specs).toHaveLength(1);
    h.monitors.resume(h.rec);
    expect(h.rec.State.Health?.Status).toBe('unhealthy');
    await vi.advanceTimersByTimeAsync(110);
    expect(h.specs).toHaveLength(2);
    expect(h.rec.State.Health).toMatchObject({ Status: 'healthy', Log: [{ ExitCode: 0 }, { ExitCode: 0 }] });
    expect(h.actions().filter((a) => a.startsWith('health_status'))).toEqual(['health_status: healthy', 'health_status: healthy']);
    h.monitors.close();
  });

  it('on stop: no more probes, the status becomes unhealthy, the log stays; a restart resets status and streak', async () => {
    const h = harness({ Test: ['CMD', 'check'], Interval: 100 * MS }, [{ exit: 0 }, { exit: 1 }]);
    h.monitors.start(h.rec);
    await vi.advanceTimersByTimeAsync(210);
    expect(h.rec.State.Health).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    h.monitors.stop(h.rec);
    expect(h.rec.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 1 });
    await vi.advanceTimersByTimeAsync(500);
    expect(h.specs).toHaveLength(2);
    h.monitors.start(h.rec);
    expect(h.rec.State.Health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(h.rec.State.Health?.Log).toHaveLength(2);
    h.monitors.close();
  });

  it('gives containers without an enabled check no Health at all', () => {
    for (const hc of [undefined, { Test: ['NONE'] }, { Interval: 1e9 }]) {
      const h = harness(hc, [{ exit: 0 }]);
      h.monitors.start(h.rec);
      expect(h.rec.State.Health).toBeUndefined();
      h.monitors.stop(h.rec);
      expect(h.rec.State.Health).toBeUndefined();
    }
  });
});
