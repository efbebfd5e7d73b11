import type { HostFs } from '../../src/kernel/host-fs';

/** Who a process runs as. */
export interface Identity {
  user: string;
  uid: number;
  gid: number;
  /** Supplementary groups (from /etc/group member lists), the primary group first. */
  groups: number[];
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The user spec names a user or group that the container's files do not list. */
export class UnknownUserError extends Error {
  constructor(message: string) {
    super(message);
  }
}

async function readLines(fs: HostFs, path: string): Promise<string[][]> {
  try {
    const text = (await fs.readFile(path)).toString();
    return text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export async function readPasswd(fs: HostFs): Promise<PasswdEntry[]> {
  return (await readLines(fs, '/etc/passwd'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/', shell: f[6] ?? '/bin/sh' }));
}

export async function readGroups(fs: HostFs): Promise<GroupEntry[]> {
  return (await readLines(fs, '/etc/group'))
    .filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

/**
 * Resolves Docker's `--user` forms (`name`, `uid`, `name:group`, `uid:gid`; empty = root)
 * against the container's /etc/passwd and /etc/group, with Docker's errors for names the
 * files do not list (numeric ids need not be listed).
 */
export async function resolveUser(fs: HostFs, spec: string | undefined): Promise<Identity> {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2);
  const passwd = await readPasswd(fs);
  const groups = await readGroups(fs);
  const u = userPart === '' ? passwd.find((p) => p.uid === 0) ?? { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' }
    : isNumeric(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (!u && !isNumeric(userPart)) throw new UnknownUserError(`unable to find user ${userPart}: no matching entries in passwd file`);
  const uid = u?.uid ?? Number(userPart);
  let gid = u?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    const g = isNumeric(groupPart) ? { gid: Number(groupPart) } : groups.find((e) => e.name === groupPart);
    if (!g) throw new UnknownUserError(`unable to find group ${groupPart}: no matching entries in group file`);
    gid = g.gid;
  }
  const name = u?.name ?? String(uid);
  const supplementary = groups.filter((g) => u && g.members.includes(u.name) && g.gid !== gid).map((g) => g.gid);
  return { user: name, uid, gid, groups: [gid, ...supplementary], home: u?.home ?? '/' };
}

/** Name for a uid (or its digits when /etc/passwd does not list it). */
export function userName(passwd: PasswdEntry[], uid: number): string {
  return passwd.find((p) => p.uid === uid)?.name ?? String(uid);
}

export function groupName(groups: GroupEntry[], gid: number): string {
  return groups.find((g) => g.gid === gid)?.name ?? String(gid);
}
