import { ConflictError } from '../src/errors';
import type { ClockControl } from '../src/kernel';
import { RealClock, VirtualClock, type Clock } from './emulator/clock';

interface Armed {
  /** When it falls due, in the time of the clock it is armed on. */
  due: number;
  fn: () => void;
  cancel: () => void;
}

/**
 * The fake kernel's one clock for every container (see ClockControl for the contract): real
 * time by default, a VirtualClock while a test asks for one. Switching mode re-arms every
 * pending timer on the new clock with the time it still had to run.
 */
export class SwitchableClock implements Clock, ClockControl {
  private readonly real = new RealClock();
  private virtual: VirtualClock | undefined;
  private readonly armed = new Set<Armed>();

  private get current(): Clock {
    return this.virtual ?? this.real;
  }

  now(): number {
    return this.current.now();
  }

  setTimer(ms: number, fn: () => void): () => void {
    const t: Armed = { due: this.now() + Math.max(0, ms), fn, cancel: () => undefined };
    this.arm(t, ms);
    return () => {
      t.cancel();
      this.armed.delete(t);
    };
  }

  mode(): 'real' | 'virtual' {
    return this.virtual ? 'virtual' : 'real';
  }

  setMode(mode: 'real' | 'virtual'): void {
    if (mode === this.mode()) return;
    const before = this.now();
    this.virtual = mode === 'virtual' ? new VirtualClock(before) : undefined;
    for (const t of [...this.armed]) {
      t.cancel();
      const remaining = Math.max(0, t.due - before);
      t.due = this.now() + remaining;
      this.arm(t, remaining);
    }
  }

  pending(): number {
    return this.armed.size;
  }

  async advance(ms: number): Promise<void> {
    if (!this.virtual) throw new ConflictError('the emulator clock is real: switch it to virtual before advancing it');
    await this.virtual.advance(ms);
  }

  private arm(t: Armed, ms: number): void {
    this.armed.add(t);
    t.cancel = this.current.setTimer(ms, () => {
      this.armed.delete(t);
      t.fn();
    });
  }
}
