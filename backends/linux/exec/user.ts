import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../../../src/errors';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A file of the container's root, read without following a symlink out of it (missing → ''). */
async function readInRoot(root: string, path: string): Promise<string> {
  const p = join(root, path);
  try {
    // Small files of the container's own disk: read synchronously (see overlay.ts).
    if (lstatSync(p).isSymbolicLink()) return '';
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((l) => {
    const f = l.split(':');
    if (f.length < 7 || l.startsWith('#')) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }];
  });
}

function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').flatMap((l) => {
    const f = l.split(':');
    if (f.length < 4 || l.startsWith('#')) return [];
    return [{ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) }];
  });
}

const isNumeric = (s: string) => /^\d+$/.test(s);

/**
 * Resolve `-u` (`user`, `uid`, `user:group`, `uid:gid`, or '' for root) against the container's
 * /etc/passwd and /etc/group, as Docker does: a name must exist (InvalidParameterError naming
 * it), a number need not; the primary group is the passwd entry's unless given; supplementary
 * groups are those listing the user as a member.
 */
export async function resolveUser(root: string, spec: string): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parsePasswd(await readInRoot(root, 'etc/passwd'));
  let user: PasswdEntry | undefined;
  if (userPart === '') user = passwd.find((u) => u.uid === 0) ?? { name: 'root', uid: 0, gid: 0, home: '/root' };
  else if (isNumeric(userPart)) user = passwd.find((u) => u.uid === Number(userPart)) ?? { name: '', uid: Number(userPart), gid: 0, home: '/' };
  else {
    user = passwd.find((u) => u.name === userPart);
    if (!user) throw new InvalidParameterError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  const groups = parseGroup(await readInRoot(root, 'etc/group'));
  let gid = user.gid;
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new InvalidParameterError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const additionalGids = user.name ? groups.filter((g) => g.members.includes(user.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid: user.uid, gid, additionalGids: [...new Set(additionalGids)], home: user.home };
}
