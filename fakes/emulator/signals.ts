/** Linux signal numbers (x86-64 and arm64 share these for the standard signals). */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29,
  PWR: 30, SYS: 31,
};

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(SIGNALS).map(([name, n]) => [n, name]));

/** Signals whose default action is to do nothing (the rest terminate, STOP/CONT aside). */
export const DEFAULT_IGNORED: ReadonlySet<number> = new Set([SIGNALS.CHLD!, SIGNALS.URG!, SIGNALS.WINCH!, SIGNALS.CONT!]);

/** `TERM`, `SIGTERM`, `term`, `15` → 15; undefined when not a signal. `0` is valid (probe). */
export function signalNumber(sig: string | number): number | undefined {
  if (typeof sig === 'number') return Number.isInteger(sig) && sig >= 0 && sig <= 64 ? sig : undefined;
  if (/^\d+$/.test(sig)) return signalNumber(Number(sig));
  const name = sig.toUpperCase().replace(/^SIG/, '');
  if (name === 'EXIT') return 0;
  return SIGNALS[name];
}

/** 15 → `TERM`; unnamed numbers come back as their digits. */
export function signalName(n: number): string {
  return NAMES.get(n) ?? String(n);
}
