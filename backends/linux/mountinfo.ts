import { readFileSync } from 'node:fs';

/** One line of /proc/<pid>/mountinfo, the fields this backend reads. */
export interface MountInfoEntry {
  mountPoint: string;
  fstype: string;
  superOptions: string;
}

/** Parse mountinfo text (proc(5): `id parent major:minor root mountpoint options [optional...] - fstype source superoptions`). */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype = '', , superOptions = ''] = right.split(' ');
    out.push({ mountPoint: unescapeMount(left.split(' ')[4] ?? ''), fstype, superOptions });
  }
  return out;
}

/** The daemon's mounts at or below `dir`, newest first (the order to unmount them in: a mount's children come after it in mountinfo). */
export function mountsUnder(dir: string, mountinfo = '/proc/self/mountinfo'): string[] {
  let text = '';
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return [];
  }
  const base = dir.replace(/\/+$/, '');
  return parseMountInfo(text)
    .map((m) => m.mountPoint)
    .filter((p) => p === base || p.startsWith(`${base}/`))
    .reverse();
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
