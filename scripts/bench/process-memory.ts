import { readFile, writeFile } from 'node:fs/promises';
import { parseKiBFields, parseStatPpid, readProcessMemory, type ProcessMemory } from './procfs';
import { sleep } from './processes';

/** Memory of a group of processes, summed, in MiB. */
export interface GroupMemory {
  rssMiB: number;
  pssMiB: number;
  /** USS: pages no other process maps (Private_Clean + Private_Dirty), what ending the processes would free. */
  ussMiB: number;
  /** The processes read, e.g. `dockerd[812] 60.1 MiB`; those gone while reading are left out. */
  procs: ProcessMemory[];
}

/** Private_Clean + Private_Dirty of a process in KiB, from /proc/<pid>/smaps_rollup; 0 when unreadable. */
async function ussKiB(pid: number): Promise<number> {
  try {
    const f = parseKiBFields(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return (f.get('Private_Clean') ?? 0) + (f.get('Private_Dirty') ?? 0);
  } catch {
    return 0;
  }
}

/** Sum VmRSS, Pss and USS over `pids`; a process that exited meanwhile counts as nothing. */
export async function groupMemory(pids: Iterable<number>): Promise<GroupMemory> {
  const read = async (pid: number) => {
    try {
      return { mem: await readProcessMemory(pid), uss: await ussKiB(pid) };
    } catch {
      return undefined;
    }
  };
  const found = (await Promise.all([...new Set(pids)].map(read))).filter((p) => p !== undefined);
  const procs = found.map((p) => p.mem);
  const sum = (f: (p: ProcessMemory) => number) => procs.reduce((a, p) => a + f(p), 0) / 1024;
  return { rssMiB: sum((p) => p.rssKiB), pssMiB: sum((p) => p.pssKiB ?? p.rssKiB), ussMiB: found.reduce((a, p) => a + p.uss, 0) / 1024, procs };
}

/** `name[pid] 12.3 MiB` for each process, largest first; processes of the same name past `max` are counted, not listed. */
export function describeGroup(g: GroupMemory, max = 4): string {
  const byName = new Map<string, ProcessMemory[]>();
  for (const p of [...g.procs].sort((a, b) => b.rssKiB - a.rssKiB)) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const parts: string[] = [];
  for (const [name, ps] of byName) {
    const shown = ps.slice(0, max).map((p) => `${name}[${p.pid}] ${(p.rssKiB / 1024).toFixed(1)} MiB`);
    if (ps.length > max) shown.push(`${ps.length - max} more ${name} (${(ps.slice(max).reduce((a, p) => a + p.rssKiB, 0) / 1024).toFixed(1)} MiB)`);
    parts.push(...shown);
  }
  return parts.join(' + ');
}

/** The parent pid of a live process, or undefined when it is gone. */
export async function parentOf(pid: number): Promise<number | undefined> {
  try {
    return parseStatPpid(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The argv of a live process (NUL-separated /proc/<pid>/cmdline), or undefined when it is gone or unreadable. */
export async function commandOf(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * The peak resident set of a group of processes over a period (e.g. a pull). `start` resets each
 * process's VmHWM (`echo 5 > /proc/<pid>/clear_refs`, root or the owner) and samples the summed
 * VmRSS every `intervalMs` as well; `stop` gives the sum of the VmHWMs when every reset worked
 * (exact per process; an upper bound of the simultaneous peak), else the largest sampled sum.
 */
export class PeakRss {
  private sampledMaxKiB = 0;
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly pids: number[],
    private readonly resetOk: boolean,
    private readonly intervalMs: number,
  ) {
    this.loop = (async () => {
      while (this.running) {
        const g = await groupMemory(this.pids);
        this.sampledMaxKiB = Math.max(this.sampledMaxKiB, g.rssMiB * 1024);
        await sleep(intervalMs);
      }
    })();
  }

  static async start(pids: readonly number[], intervalMs = 25): Promise<PeakRss> {
    const resets = await Promise.all(pids.map((p) => writeFile(`/proc/${p}/clear_refs`, '5').then(() => true, () => false)));
    return new PeakRss([...pids], pids.length > 0 && resets.every(Boolean), intervalMs);
  }

  async stop(): Promise<{ peakMiB: number; method: string }> {
    this.running = false;
    await this.loop;
    if (this.resetOk) {
      let hwm = 0;
      for (const p of this.pids) {
        try {
          hwm += parseKiBFields(await readFile(`/proc/${p}/status`, 'utf8')).get('VmHWM') ?? 0;
        } catch {
          /* exited: its peak is lost, the samples still hold it */
        }
      }
      if (hwm > 0) return { peakMiB: Math.max(hwm, this.sampledMaxKiB) / 1024, method: 'sum of VmHWM after resetting it (clear_refs)' };
    }
    return { peakMiB: this.sampledMaxKiB / 1024, method: `largest VmRSS sum sampled every ${this.intervalMs} ms (VmHWM could not be reset)` };
  }
}
