import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** Memory of one process, in KiB, from /proc/<pid>/status and /proc/<pid>/smaps_rollup. */
export interface ProcessMemory {
  pid: number;
  name: string;
  /** VmRSS: resident set now. */
  rssKiB: number;
  /** VmHWM: the resident set's peak over the process's life. */
  hwmKiB: number;
  /** Pss: resident set with shared pages divided among their sharers (undefined if unreadable). */
  pssKiB: number | undefined;
}

/** The `Key:   123 kB` fields of a /proc status-like text, in KiB. */
export function parseKiBFields(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Read a live process's memory; throws naming the pid when it is gone. */
export async function readProcessMemory(pid: number): Promise<ProcessMemory> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch (e) {
    throw new Error(`cannot read /proc/${pid}/status (is pid ${pid} running?): ${(e as Error).message}`);
  }
  const f = parseKiBFields(status);
  const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
  let pssKiB: number | undefined;
  try {
    pssKiB = parseKiBFields(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8')).get('Pss');
  } catch {
    pssKiB = undefined;
  }
  return { pid, name, rssKiB: f.get('VmRSS') ?? 0, hwmKiB: f.get('VmHWM') ?? 0, pssKiB };
}

/** The parent pid from the text of /proc/<pid>/stat (the command name may hold spaces and parens). */
export function parseStatPpid(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** Every live descendant of `pid` (children, grandchildren, ...), found by scanning /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = parseStatPpid(await readFile(`/proc/${entry}/stat`, 'utf8'));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited while scanning */
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** True while `pid` exists (a zombie counts as gone: it holds no memory). */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The pids listening on unix socket `path`, from the text of `ss -xlp`: the lines whose local
 * address is exactly `path`, and every `pid=N` in their `users:((...))` column.
 */
export function parseSsListeners(ssOutput: string, path: string): number[] {
  const pids = new Set<number>();
  for (const line of ssOutput.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields.includes(path)) continue;
    for (const m of line.matchAll(/pid=(\d+)/g)) pids.add(Number(m[1]));
  }
  return [...pids];
}

/** Ask `ss -xlp` which processes listen on unix socket `path`; empty when ss is missing or says nothing. */
export async function socketOwners(path: string): Promise<number[]> {
  try {
    const { stdout } = await promisify(execFile)('ss', ['-xlpn'], { maxBuffer: 16 << 20 });
    return parseSsListeners(stdout, path);
  } catch {
    return [];
  }
}
