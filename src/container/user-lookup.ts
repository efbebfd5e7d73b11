import { InvalidParameterError } from '../errors';
import type { HostFs } from '../kernel/host-fs';

/**
 * The uid/gid of a container's `User` (`name`, `uid`, `name:group`, `uid:gid`; empty is root)
 * looked up in the container's own /etc/passwd and /etc/group, as dockerd does for
 * `copyUIDGID`. A numeric user absent from passwd keeps gid 0; a named user or group that
 * is not there is refused with dockerd's words.
 */
export async function lookupOwner(fs: HostFs, user: string): Promise<{ uid: number; gid: number }> {
  if (!user) return { uid: 0, gid: 0 };
  const [userPart = '', groupPart] = user.split(':', 2);
  const passwd = await table(fs, '/etc/passwd');
  const entry = passwd.find((f) => f[0] === userPart || (isNumber(userPart) && f[2] === userPart));
  let uid: number;
  let gid: number;
  if (entry) {
    uid = Number(entry[2]);
    gid = Number(entry[3] ?? 0);
  } else if (isNumber(userPart)) {
    uid = Number(userPart);
    gid = 0;
  } else {
    throw new InvalidParameterError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const groups = await table(fs, '/etc/group');
    const g = groups.find((f) => f[0] === groupPart || (isNumber(groupPart) && f[2] === groupPart));
    if (g) gid = Number(g[2]);
    else if (isNumber(groupPart)) gid = Number(groupPart);
    else throw new InvalidParameterError(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  return { uid, gid };
}

const isNumber = (s: string) => /^\d+$/.test(s);

/** The colon-separated rows of a passwd-like file; a missing file is an empty table. */
async function table(fs: HostFs, path: string): Promise<string[][]> {
  const text = await fs.readFile(path).then(
    (b) => b.toString('utf8'),
    () => '',
  );
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split(':'));
}
