import type { Shell } from './interpreter';

/** One resource limit in the kernel's units (bytes, seconds, counts); -1 is unlimited. */
export interface Rlimit {
  soft: number;
  hard: number;
}

/**
 * The limits of a container whose spec names none: Docker's (containerd's LimitNOFILE=1048576
 * is what a container inherits); every other resource is unlimited.
 */
export const DEFAULT_RLIMITS: Readonly<Record<string, Rlimit>> = { nofile: { soft: 1048576, hard: 1048576 } };

/** busybox ash's table: option letter → Docker's ulimit name, the unit shift (kernel units >> shift), the description. */
const TABLE: readonly { opt: string; name: string; shift: number; desc: string }[] = [
  { opt: 'c', name: 'core', shift: 9, desc: 'core file size (blocks)' },
  { opt: 'd', name: 'data', shift: 10, desc: 'data seg size (kb)' },
  { opt: 'e', name: 'nice', shift: 0, desc: 'scheduling priority' },
  { opt: 'f', name: 'fsize', shift: 9, desc: 'file size (blocks)' },
  { opt: 'i', name: 'sigpending', shift: 0, desc: 'pending signals' },
  { opt: 'l', name: 'memlock', shift: 10, desc: 'max locked memory (kb)' },
  { opt: 'm', name: 'rss', shift: 10, desc: 'max memory size (kb)' },
  { opt: 'n', name: 'nofile', shift: 0, desc: 'open files' },
  { opt: 'q', name: 'msgqueue', shift: 0, desc: 'POSIX message queues (bytes)' },
  { opt: 'r', name: 'rtprio', shift: 0, desc: 'real-time priority' },
  { opt: 's', name: 'stack', shift: 10, desc: 'stack size (kb)' },
  { opt: 't', name: 'cpu', shift: 0, desc: 'cpu time (seconds)' },
  { opt: 'u', name: 'nproc', shift: 0, desc: 'max user processes' },
  { opt: 'v', name: 'as', shift: 10, desc: 'virtual memory (kb)' },
  { opt: 'x', name: 'locks', shift: 0, desc: 'file locks' },
  { opt: 'R', name: 'rttime', shift: 0, desc: 'max rt time (us)' },
];

const UNLIMITED = -1;
/** Whether limit `a` is higher than limit `b` (unlimited is the highest). */
const above = (a: number, b: number) => b !== UNLIMITED && (a === UNLIMITED || a > b);

/**
 * busybox ash's `ulimit [-HSa] [-cdefilmnqrstuvxR] [N|unlimited]`: prints the soft (default, or
 * -S) or hard (-H) limit of a resource (-f when none is named), or every limit with -a. Setting
 * a value sets the soft (-S), hard (-H) or both limits for this shell only (the emulator's
 * children do not inherit it); raising a limit above the hard one fails as for a process
 * without CAP_SYS_RESOURCE (Docker's default capabilities).
 */
export async function ulimit(sh: Shell, argv: string[]): Promise<number> {
  let hard = false;
  let soft = false;
  let all = false;
  const picked: (typeof TABLE)[number][] = [];
  let value: string | undefined;
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('-') && arg.length > 1) {
      for (const ch of arg.slice(1)) {
        if (ch === 'H') hard = true;
        else if (ch === 'S') soft = true;
        else if (ch === 'a') all = true;
        else {
          const row = TABLE.find((r) => r.opt === ch);
          if (!row) {
            await sh.err(`ulimit: invalid option -- '${ch}'`);
            return 1;
          }
          picked.push(row);
        }
      }
    } else value = arg;
  }
  const limitOf = (name: string): Rlimit => sh.limits.get(name) ?? sh.machine.rlimits.get(name) ?? { soft: UNLIMITED, hard: UNLIMITED };
  const show = (row: (typeof TABLE)[number]) => {
    const v = limitOf(row.name)[hard && !soft ? 'hard' : 'soft'];
    return v < 0 ? 'unlimited' : String(Math.floor(v / 2 ** row.shift));
  };
  if (all) {
    await sh.out(TABLE.map((r) => `-${r.opt}: ${r.desc.padEnd(32)}${show(r)}\n`).join(''));
    return 0;
  }
  const rows = picked.length ? picked : [TABLE.find((r) => r.opt === 'f')!];
  if (value === undefined) {
    await sh.out(rows.map((r) => `${show(r)}\n`).join(''));
    return 0;
  }
  const n = value === 'unlimited' ? UNLIMITED : Number(value);
  if (n !== UNLIMITED && (!/^\d+$/.test(value) || !Number.isSafeInteger(n))) {
    await sh.err(`ulimit: invalid number '${value}'`);
    return 1;
  }
  for (const row of rows) {
    const cur = limitOf(row.name);
    const raw = n === UNLIMITED ? UNLIMITED : n * 2 ** row.shift;
    if (above(raw, cur.hard)) {
      await sh.err('ulimit: error setting limit (Operation not permitted)');
      return 1;
    }
    // Neither -H nor -S sets both, as ash does.
    const setHard = hard || !soft;
    const setSoft = soft || !hard;
    sh.limits.set(row.name, { soft: setSoft ? raw : above(cur.soft, raw) && setHard ? raw : cur.soft, hard: setHard ? raw : cur.hard });
  }
  return 0;
}
