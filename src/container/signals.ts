import { constants } from 'node:os';

const SIGNALS = constants.signals as Record<string, number>;

/** A signal by name (`SIGTERM`, `TERM`, `term`) or number, as Docker accepts it; 0 when unknown. */
export function signalNumber(sig: string | number): number {
  if (typeof sig === 'number') return sig > 0 && sig < 65 ? sig : 0;
  const s = sig.trim();
  if (/^\d+$/.test(s)) return Number(s) > 0 && Number(s) < 65 ? Number(s) : 0;
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  if (/^SIGRTMIN(\+\d+)?$/.test(name)) return 34 + Number(name.split('+')[1] ?? 0);
  if (/^SIGRTMAX(-\d+)?$/.test(name)) return 64 - Number(name.split('-')[1] ?? 0);
  return SIGNALS[name] ?? 0;
}

/** The canonical name (`SIGTERM`) of a signal given by name or number. */
export function signalName(sig: string | number): string {
  const n = signalNumber(sig);
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return name;
  return `SIG${n}`;
}
