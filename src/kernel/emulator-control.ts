/**
 * Controls that only an emulated kernel offers (the fake backend), for client-tooling authors
 * who use the daemon as a test double. A kernel without them (Linux) leaves `Kernel.emulator`
 * undefined and the daemon serves no control API.
 */
export interface EmulatorControl {
  readonly clock: ClockControl;
}

/**
 * The time every container process sees (sleep, date, timeouts, behaviour scripts). Contract:
 * - `setMode('virtual')` freezes time at the current instant; it then moves only by `advance`.
 *   `setMode('real')` follows the wall clock again. Either way, a process already sleeping
 *   keeps the time it still had to sleep.
 * - `advance(ms)` fires, in order, the timers falling due within `ms` and lets the woken
 *   processes run before time moves on; in real mode it fails with ConflictError.
 * - `pending()` is the number of armed timers (a sleeping process holds one), so a test can
 *   wait for a process to be asleep before advancing.
 */
export interface ClockControl {
  mode(): 'real' | 'virtual';
  setMode(mode: 'real' | 'virtual'): void;
  /** Milliseconds since the epoch on the containers' clock. */
  now(): number;
  pending(): number;
  advance(ms: number): Promise<void>;
}
