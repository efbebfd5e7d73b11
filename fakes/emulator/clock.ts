/**
 * Time as the emulated processes see it. `sleep`, `date`, timeouts and `ps` start times all
 * read the emulator's clock, so a test can swap the real clock for a `VirtualClock` and move
 * time forward without waiting.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds of this clock's time; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Wall-clock time and Node timers: sleeping costs one timer, never a busy loop. */
export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): () => void {
    // Node timers overflow above 2^31-1 ms; re-arm in steps for longer waits.
    const MAX = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    let remaining = ms;
    const arm = (): void => {
      const step = Math.min(remaining, MAX);
      remaining -= step;
      handle = setTimeout(() => (remaining > 0 ? arm() : fn()), step);
    };
    arm();
    return () => clearTimeout(handle);
  }
}

interface VirtualTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/** Yields to the event loop once (microtasks and pending I/O callbacks run). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that only moves when told to. `advance(ms)` fires the timers that fall due in
 * order, letting the processes they wake run (and arm new timers) between firings, so
 * `sleep 1; echo a; sleep 1; echo b` under `advance(2000)` prints both lines.
 */
export class VirtualClock implements Clock {
  private current: number;
  private timers: VirtualTimer[] = [];
  private seq = 0;

  constructor(start = Date.parse('2024-01-01T00:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: VirtualTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** How many timers are armed (a sleeping process holds one). */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order. Between firings it lets the
   * event loop run until no new timer has been armed for a few turns, so processes woken by
   * one timer get to schedule their next one before time moves on.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await this.settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.due);
      next.fn();
      await this.settle();
    }
    this.current = target;
    await this.settle();
  }

  /** Lets the event loop run until the set of armed timers stops changing. */
  async settle(): Promise<void> {
    let quiet = 0;
    let lastSeq = this.seq;
    let lastCount = this.timers.length;
    for (let i = 0; i < 2000 && quiet < 8; i++) {
      await turn();
      if (this.seq === lastSeq && this.timers.length === lastCount) quiet++;
      else {
        quiet = 0;
        lastSeq = this.seq;
        lastCount = this.timers.length;
      }
    }
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    return best;
  }
}

/** A mutable reference to the clock in use, so `setClock` affects every later timer. */
export class ClockRef implements Clock {
  constructor(public clock: Clock) {}
  now(): number {
    return this.clock.now();
  }
  setTimer(ms: number, fn: () => void): () => void {
    return this.clock.setTimer(ms, fn);
  }
}
