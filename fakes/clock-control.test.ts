import { describe, expect, it } from 'vitest';
import { ConflictError } from '../src/errors';
import { SwitchableClock } from './clock-control';

describe('SwitchableClock', () => {
  it('is real by default and refuses to advance then', async () => {
    const clock = new SwitchableClock();
    expect(clock.mode()).toBe('real');
    await expect(clock.advance(10)).rejects.toBeInstanceOf(ConflictError);
  });

  it('in virtual mode fires timers only when advanced, in order', async () => {
    const clock = new SwitchableClock();
    clock.setMode('virtual');
    const fired: string[] = [];
    clock.setTimer(2000, () => fired.push('b'));
    clock.setTimer(1000, () => fired.push('a'));
    const cancel = clock.setTimer(1500, () => fired.push('cancelled'));
    cancel();
    expect(clock.pending()).toBe(2);
    await clock.advance(999);
    expect(fired).toEqual([]);
    await clock.advance(1001);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.pending()).toBe(0);
  });

  it('keeps the time a timer still had when switching real → virtual → real', async () => {
    const clock = new SwitchableClock();
    let fired = false;
    clock.setTimer(3_600_000, () => (fired = true));
    clock.setMode('virtual');
    expect(clock.pending()).toBe(1);
    await clock.advance(3_599_990);
    expect(fired).toBe(false);
    clock.setMode('real');
    expect(clock.pending()).toBe(1);
    await new Promise<void>((resolve) => {
      const poll = () => (fired ? resolve() : setTimeout(poll, 5));
      poll();
    });
    expect(clock.pending()).toBe(0);
  });
});
