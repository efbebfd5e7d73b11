import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Applet, AppletContext } from '../context';
import { absPath, errnoCode, errnoText, followLinks, lstatOrNull, statOrNull } from '../fs-util';
import { groupName, readGroups, readPasswd, userName } from '../users';
import { getopt, usageError } from './args';

/** `drwxr-xr-x` for a stat mode. */
export function modeString(st: Stats): string {
  // Linux symlinks always show full permissions, whatever the filesystem stored
  if (st.isSymbolicLink()) return 'lrwxrwxrwx';
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : st.isSocket() ? 's' : '-';
  const m = st.mode;
  const bit = (mask: number, c: string): string => (m & mask ? c : '-');
  const special = (x: boolean, s: boolean, lower: string, upper: string): string => (s ? (x ? lower : upper) : x ? 'x' : '-');
  return (
    type +
    bit(0o400, 'r') + bit(0o200, 'w') + special(!!(m & 0o100), !!(m & 0o4000), 's', 'S') +
    bit(0o040, 'r') + bit(0o020, 'w') + special(!!(m & 0o010), !!(m & 0o2000), 's', 'S') +
    bit(0o004, 'r') + bit(0o002, 'w') + special(!!(m & 0o001), !!(m & 0o1000), 't', 'T')
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function lsTime(mtime: Date, now: number): string {
  const recent = Math.abs(now - mtime.getTime()) < 182 * 86400 * 1000;
  const day = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2)}`;
  const tail = recent ? `${String(mtime.getUTCHours()).padStart(2, '0')}:${String(mtime.getUTCMinutes()).padStart(2, '0')}` : ` ${mtime.getUTCFullYear()}`;
  return `${day} ${tail}`;
}

/** ls [-1lAadnR] [FILE]...: one name a line (busybox's layout when not on a terminal). */
export const ls: Applet = async (ctx) => {
  const opts = await getopt(ctx, '1lAadnRhFCrtSLHipsxcue', '[-1AaCxdLHRFplinshrSXvctu] [-w WIDTH] [FILE]...');
  if (!opts) return 1;
  const long = opts.has('l') || opts.has('n');
  const passwd = long ? await readPasswd(ctx.fs) : [];
  const groups = long ? await readGroups(ctx.fs) : [];
  const now = ctx.proc.clock.now();
  const lines: string[] = [];
  const describe = async (path: string, name: string, st: Stats): Promise<string> => {
    let suffix = '';
    if (opts.has('F')) suffix = st.isDirectory() ? '/' : st.isSymbolicLink() ? '@' : st.mode & 0o111 ? '*' : '';
    if (!long) return `${name}${suffix}`;
    const owner = opts.has('n') ? String(st.uid) : userName(passwd, st.uid);
    const group = opts.has('n') ? String(st.gid) : groupName(groups, st.gid);
    const target = st.isSymbolicLink() ? await ctx.fs.readlink(path).catch(() => '?') : undefined;
    const size = target !== undefined ? Buffer.byteLength(target) : st.size;
    let line = `${modeString(st)} ${String(st.nlink).padStart(4)} ${owner.padEnd(8)} ${group.padEnd(8)} ${String(size).padStart(9)} ${lsTime(st.mtime, now)} ${name}`;
    if (target !== undefined) line += ` -> ${target}`;
    return line + suffix;
  };
  const listDir = async (dir: string, label: string | null): Promise<void> => {
    let names: string[];
    try {
      names = (await ctx.fs.readdir(dir)).sort();
    } catch (err) {
      await ctx.fsError(label ?? dir, err);
      status = 1;
      return;
    }
    if (label !== null) lines.push(`${label}:`);
    if (opts.has('a')) names = ['.', '..', ...names];
    else if (!opts.has('A')) names = names.filter((n) => !n.startsWith('.'));
    if (long) {
      let blocks = 0;
      for (const n of names) blocks += Math.ceil(((await lstatOrNull(ctx.fs, posix.join(dir, n)))?.size ?? 0) / 1024);
      lines.push(`total ${blocks}`);
    }
    const subdirs: string[] = [];
    for (const n of opts.has('r') ? names.reverse() : names) {
      const path = posix.join(dir, n);
      const st = await lstatOrNull(ctx.fs, path);
      if (!st) continue;
      lines.push(await describe(path, n, st));
      if (opts.has('R') && st.isDirectory() && n !== '.' && n !== '..') subdirs.push(n);
    }
    for (const s of subdirs) {
      lines.push('');
      await listDir(posix.join(dir, s), `${label ?? '.'}/${s}`.replace(/^\.\/\.\//, './'));
    }
  };
  let status = 0;
  const operands = opts.operands.length > 0 ? opts.operands : ['.'];
  const files: string[] = [];
  const dirs: string[] = [];
  for (const op of operands) {
    const path = absPath(ctx.cwd, op);
    const st = (opts.has('l') && !opts.has('L')) || opts.has('d') ? await lstatOrNull(ctx.fs, path) : await statOrNull(ctx.fs, path);
    const followed = st?.isSymbolicLink() && !opts.has('d') && !opts.has('l') ? await statOrNull(ctx.fs, path) : st;
    if (!st) {
      await ctx.error(`${op}: No such file or directory`);
      status = 1;
      continue;
    }
    if ((followed ?? st).isDirectory() && !opts.has('d') && !(st.isSymbolicLink() && opts.has('l'))) dirs.push(op);
    else lines.push(await describe(path, op, st)), files.push(op);
  }
  const multiple = operands.length > 1 || opts.has('R');
  for (const [i, d] of dirs.entries()) {
    if (multiple && (i > 0 || files.length > 0)) lines.push('');
    await listDir(absPath(ctx.cwd, d), multiple ? d : null);
  }
  if (lines.length > 0) await ctx.stdout.write(`${lines.join('\n')}\n`);
  return status;
};

/** `755`, `u+x`, `go-w,a+r` applied to a mode. */
export function applyMode(spec: string, mode: number, isDir: boolean): number | null {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let result = mode & 0o7777;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!m) return null;
    const who = m[1] || 'a';
    let bits = 0;
    for (const p of m[3]!) {
      if (p === 'r') bits |= 0o444;
      if (p === 'w') bits |= 0o222;
      if (p === 'x' || (p === 'X' && (isDir || mode & 0o111))) bits |= 0o111;
      if (p === 's') bits |= 0o6000;
      if (p === 't') bits |= 0o1000;
    }
    let mask = 0;
    if (who.includes('u') || who.includes('a')) mask |= 0o4700;
    if (who.includes('g') || who.includes('a')) mask |= 0o2070;
    if (who.includes('o') || who.includes('a')) mask |= 0o1007;
    const applied = bits & mask;
    if (m[2] === '+') result |= applied;
    else if (m[2] === '-') result &= ~applied;
    else result = (result & ~mask) | applied;
  }
  return result;
}

export const chmod: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  const recursive = args[0] === '-R';
  const [spec, ...files] = recursive ? args.slice(1) : args;
  if (!spec || files.length === 0) return usageError(ctx, 'missing operand', '[-Rcvf] MODE[,MODE]... FILE...');
  let status = 0;
  const apply = async (path: string, shown: string): Promise<void> => {
    try {
      const st = await ctx.fs.stat(path);
      const mode = applyMode(spec, st.mode, st.isDirectory());
      if (mode === null) {
        await ctx.error(`invalid mode '${spec}'`);
        status = 1;
        return;
      }
      await ctx.fs.chmod(path, mode);
      if (recursive && st.isDirectory()) for (const n of await ctx.fs.readdir(path)) await apply(posix.join(path, n), posix.join(shown, n));
    } catch (err) {
      status = await ctx.fsError(shown, err);
    }
  };
  for (const f of files) await apply(absPath(ctx.cwd, f), f);
  return status;
};

export const chown: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'RhLHPcfv', '[-Rh] USER[:[GRP]] FILE...');
  if (!opts) return 1;
  const [spec, ...files] = opts.operands;
  if (!spec || files.length === 0) return usageError(ctx, 'missing operand', '[-Rh] USER[:[GRP]] FILE...');
  const [u = '', g] = spec.split(/[:.]/, 2);
  const passwd = await readPasswd(ctx.fs);
  const groups = await readGroups(ctx.fs);
  const uid = u === '' ? undefined : /^\d+$/.test(u) ? Number(u) : passwd.find((p) => p.name === u)?.uid;
  const gid = g === undefined || g === '' ? undefined : /^\d+$/.test(g) ? Number(g) : groups.find((e) => e.name === g)?.gid;
  if (u !== '' && uid === undefined) {
    await ctx.error(`unknown user ${u}`);
    return 1;
  }
  if (g && gid === undefined) {
    await ctx.error(`unknown group ${g}`);
    return 1;
  }
  let status = 0;
  const apply = async (path: string, shown: string): Promise<void> => {
    try {
      const st = await ctx.fs.lstat(path);
      await ctx.fs.lchown(path, uid ?? st.uid, gid ?? st.gid);
      if (opts.has('R') && st.isDirectory()) for (const n of await ctx.fs.readdir(path)) await apply(posix.join(path, n), posix.join(shown, n));
    } catch (err) {
      status = await ctx.fsError(shown, err);
    }
  };
  for (const f of files) await apply(absPath(ctx.cwd, f), f);
  return status;
};

export const mkdir: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'pm:v', '[-m MODE] [-p] DIRECTORY...');
  if (!opts) return 1;
  if (opts.operands.length === 0) return usageError(ctx, 'missing operand', '[-m MODE] [-p] DIRECTORY...');
  const mode = opts.value('m') !== undefined ? applyMode(opts.value('m')!, 0o777, true) ?? 0o755 : 0o755;
  let status = 0;
  for (const d of opts.operands) {
    const path = absPath(ctx.cwd, d);
    try {
      if (opts.has('p')) {
        const st = await statOrNull(ctx.fs, path);
        if (st?.isDirectory()) continue;
      }
      await ctx.fs.mkdir(path, { recursive: opts.has('p'), mode });
    } catch (err) {
      await ctx.error(`can't create directory '${d}': ${errnoText(err)}`);
      status = 1;
    }
  }
  return status;
};

export const rmdir: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'p', '[-p] DIRECTORY...');
  if (!opts) return 1;
  if (opts.operands.length === 0) return usageError(ctx, 'missing operand', '[-p] DIRECTORY...');
  let status = 0;
  for (const d of opts.operands) {
    let path = absPath(ctx.cwd, d);
    for (;;) {
      try {
        const st = await ctx.fs.lstat(path);
        if (!st.isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
        if ((await ctx.fs.readdir(path)).length > 0) throw Object.assign(new Error('ENOTEMPTY'), { code: 'ENOTEMPTY' });
        await ctx.fs.rm(path, { recursive: true });
      } catch (err) {
        await ctx.error(`'${d}': ${errnoText(err)}`);
        status = 1;
        break;
      }
      if (!opts.has('p') || posix.dirname(path) === path || posix.dirname(path) === absPath(ctx.cwd, '.')) break;
      path = posix.dirname(path);
      if (path === '/') break;
    }
  }
  return status;
};

export const rm: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'rRfiv', '[-irf] FILE...');
  if (!opts) return 1;
  const force = opts.has('f');
  if (opts.operands.length === 0) return force ? 0 : usageError(ctx, 'missing operand', '[-irf] FILE...');
  let status = 0;
  for (const f of opts.operands) {
    const path = absPath(ctx.cwd, f);
    const st = await lstatOrNull(ctx.fs, path);
    if (!st) {
      if (!force) {
        await ctx.error(`can't remove '${f}': No such file or directory`);
        status = 1;
      }
      continue;
    }
    if (st.isDirectory() && !opts.has('r') && !opts.has('R')) {
      await ctx.error(`'${f}' is a directory`);
      status = 1;
      continue;
    }
    try {
      await ctx.fs.rm(path, { recursive: true, force: true });
    } catch (err) {
      await ctx.error(`can't remove '${f}': ${errnoText(err)}`);
      status = 1;
    }
  }
  return status;
};

export const touch: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'cd:r:t:amh', '[-c] [-d DATE] [-t DATE] [-r FILE] FILE...');
  if (!opts) return 1;
  if (opts.operands.length === 0) return usageError(ctx, 'missing operand', '[-c] [-d DATE] [-t DATE] [-r FILE] FILE...');
  const when = new Date(ctx.proc.clock.now());
  let status = 0;
  for (const f of opts.operands) {
    const path = absPath(ctx.cwd, f);
    try {
      const st = await statOrNull(ctx.fs, path);
      if (!st) {
        if (opts.has('c')) continue;
        const parent = await statOrNull(ctx.fs, posix.dirname(path));
        if (!parent?.isDirectory()) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        await ctx.fs.writeFileAtomic(path, '', 0o644);
      }
      await ctx.fs.lutimes(opts.has('h') ? path : await followLinks(ctx.fs, path), when, when);
    } catch (err) {
      status = await ctx.fsError(f, err);
    }
  }
  return status;
};

/** Copies `from` to `to` (recursively with `recursive`); `preserve` keeps links, owners and times. */
async function copyTree(ctx: AppletContext, from: string, to: string, recursive: boolean, preserve: boolean, shown: string): Promise<boolean> {
  const st = preserve ? await ctx.fs.lstat(from) : await ctx.fs.stat(from);
  if (st.isDirectory()) {
    if (!recursive) {
      await ctx.error(`omitting directory '${shown}'`);
      return false;
    }
    if (!(await statOrNull(ctx.fs, to))) await ctx.fs.mkdir(to, { mode: st.mode & 0o7777 });
    let ok = true;
    for (const n of await ctx.fs.readdir(from)) ok = (await copyTree(ctx, posix.join(from, n), posix.join(to, n), recursive, preserve, posix.join(shown, n))) && ok;
    if (preserve) await ctx.fs.lutimes(to, st.atime, st.mtime);
    return ok;
  }
  if (st.isSymbolicLink()) {
    await ctx.fs.rm(to, { force: true });
    await ctx.fs.symlink(await ctx.fs.readlink(from), to);
  } else {
    const existing = await statOrNull(ctx.fs, to);
    await ctx.fs.writeFileAtomic(to, await ctx.fs.readFile(from), preserve || !existing ? st.mode & 0o7777 : existing.mode & 0o7777);
  }
  if (preserve) {
    await ctx.fs.lchown(to, st.uid, st.gid);
    if (!st.isSymbolicLink()) await ctx.fs.lutimes(to, st.atime, st.mtime);
  }
  return true;
}

/** Where `src` goes: into `dest` when it is a directory (or several sources are given). */
async function target(ctx: AppletContext, src: string, dest: string, many: boolean): Promise<string | null> {
  const destPath = absPath(ctx.cwd, dest);
  const st = await statOrNull(ctx.fs, destPath);
  if (st?.isDirectory()) return posix.join(destPath, posix.basename(src.replace(/\/+$/, '')));
  if (many) {
    await ctx.error(`'${dest}' is not a directory`);
    return null;
  }
  return destPath;
}

export const cp: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'rRapfidPLHnuvT', '[-arPLHpfinlsTu] SOURCE... DEST');
  if (!opts) return 1;
  if (opts.operands.length < 2) return usageError(ctx, 'missing file operand', '[-arPLHpfinlsTu] SOURCE... DEST');
  const dest = opts.operands[opts.operands.length - 1]!;
  const sources = opts.operands.slice(0, -1);
  const recursive = opts.has('r') || opts.has('R') || opts.has('a');
  const preserve = opts.has('a') || opts.has('p') || opts.has('d') || opts.has('P');
  let status = 0;
  for (const s of sources) {
    const to = await target(ctx, s, dest, sources.length > 1);
    if (!to) return 1;
    try {
      if (!(await copyTree(ctx, absPath(ctx.cwd, s), to, recursive, preserve, s))) status = 1;
    } catch (err) {
      await ctx.error(`can't stat '${s}': ${errnoText(err)}`);
      status = 1;
    }
  }
  return status;
};

export const mv: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'finvT', '[-fin] SOURCE DEST');
  if (!opts) return 1;
  if (opts.operands.length < 2) return usageError(ctx, 'missing file operand', '[-fin] SOURCE DEST');
  const dest = opts.operands[opts.operands.length - 1]!;
  const sources = opts.operands.slice(0, -1);
  let status = 0;
  for (const s of sources) {
    const to = await target(ctx, s, dest, sources.length > 1);
    if (!to) return 1;
    const from = absPath(ctx.cwd, s);
    try {
      if (!(await lstatOrNull(ctx.fs, from))) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      if (opts.has('n') && (await lstatOrNull(ctx.fs, to))) continue;
      const existing = await lstatOrNull(ctx.fs, to);
      if (existing && !existing.isDirectory()) await ctx.fs.rm(to, { force: true });
      await ctx.fs.rename(from, to);
    } catch (err) {
      await ctx.error(`can't rename '${s}': ${errnoText(err)}`);
      status = 1;
    }
  }
  return status;
};

export const ln: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'sfnvT', '[-sfnbtv] [-S SUF] TARGET... LINK|DIR');
  if (!opts) return 1;
  const ops = opts.operands;
  if (ops.length === 0) return usageError(ctx, 'missing file operand', '[-sfnbtv] [-S SUF] TARGET... LINK|DIR');
  const dest = ops.length === 1 ? '.' : ops[ops.length - 1]!;
  const targets = ops.length === 1 ? ops : ops.slice(0, -1);
  let status = 0;
  for (const t of targets) {
    let link = absPath(ctx.cwd, dest);
    const st = opts.has('n') ? await lstatOrNull(ctx.fs, link) : await statOrNull(ctx.fs, link);
    if (st?.isDirectory() && !(opts.has('n') && st.isSymbolicLink())) link = posix.join(link, posix.basename(t));
    try {
      if (opts.has('f') && (await lstatOrNull(ctx.fs, link))) await ctx.fs.rm(link, { force: true });
      if (opts.has('s')) await ctx.fs.symlink(t, link);
      else await ctx.fs.link(absPath(ctx.cwd, t), link);
    } catch (err) {
      await ctx.error(`${errnoCode(err) === 'EEXIST' ? link.replace(absPath(ctx.cwd, '.') + '/', '') : t}: ${errnoText(err)}`);
      status = 1;
    }
  }
  return status;
};

export const readlink: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'fnevq', '[-fnv] FILE');
  if (!opts) return 1;
  const f = opts.operands[0];
  if (f === undefined) return usageError(ctx, 'missing operand', '[-fnv] FILE');
  const path = absPath(ctx.cwd, f);
  try {
    let out: string;
    if (opts.has('f') || opts.has('e')) {
      out = await canonical(ctx, path);
    } else out = await ctx.fs.readlink(path);
    await ctx.stdout.write(opts.has('n') ? out : `${out}\n`);
    return 0;
  } catch {
    return 1;
  }
};

async function canonical(ctx: AppletContext, path: string): Promise<string> {
  let resolved = '/';
  const parts = path.split('/').filter(Boolean);
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const candidate = posix.join(resolved, parts[i]!);
    const st = await lstatOrNull(ctx.fs, candidate);
    if (st?.isSymbolicLink() && hops++ < 40) {
      const target = await ctx.fs.readlink(candidate);
      const rest = parts.slice(i + 1);
      parts.splice(0, parts.length, ...posix.resolve(resolved, target).split('/').filter(Boolean), ...rest);
      resolved = '/';
      i = -1;
      continue;
    }
    resolved = candidate;
  }
  return resolved;
}

/** stat [-c FORMAT] FILE... (busybox's long layout by default). */
export const stat: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'c:Lft', '[-ltf] [-c FMT] FILE...');
  if (!opts) return 1;
  if (opts.operands.length === 0) return usageError(ctx, 'missing operand', '[-ltf] [-c FMT] FILE...');
  const passwd = await readPasswd(ctx.fs);
  const groups = await readGroups(ctx.fs);
  let status = 0;
  for (const f of opts.operands) {
    const path = absPath(ctx.cwd, f);
    const st = opts.has('L') ? await statOrNull(ctx.fs, path) : await lstatOrNull(ctx.fs, path);
    if (!st) {
      await ctx.error(`can't stat '${f}': No such file or directory`);
      status = 1;
      continue;
    }
    const kind = st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symbolic link' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character special file' : st.isBlockDevice() ? 'block special file' : st.size === 0 ? 'regular empty file' : 'regular file';
    const fmt = opts.value('c');
    const iso = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '000000 +0000').replace(/\.(\d{3})0+/, '.$1000000');
    if (fmt !== undefined) {
      const out = fmt.replace(/%([a-zA-Z%])/g, (m, c: string) => {
        switch (c) {
          case 'n': return f;
          case 's': return String(st.size);
          case 'a': return (st.mode & 0o7777).toString(8);
          case 'A': return modeString(st);
          case 'u': return String(st.uid);
          case 'g': return String(st.gid);
          case 'U': return userName(passwd, st.uid);
          case 'G': return groupName(groups, st.gid);
          case 'F': return kind;
          case 'h': return String(st.nlink);
          case 'i': return String(st.ino);
          case 'X': return String(Math.floor(st.atimeMs / 1000));
          case 'Y': return String(Math.floor(st.mtimeMs / 1000));
          case 'Z': return String(Math.floor(st.ctimeMs / 1000));
          case 'y': return iso(st.mtime);
          case '%': return '%';
          default: return m;
        }
      });
      await ctx.stdout.write(`${out}\n`);
      continue;
    }
    const name = st.isSymbolicLink() ? `'${f}' -> '${await ctx.fs.readlink(path)}'` : `${f}`;
    await ctx.stdout.write(
      [
        `  File: ${name}`,
        `  Size: ${String(st.size).padEnd(10)}\tBlocks: ${String(Math.ceil(st.size / 512)).padEnd(10)} IO Block: 4096   ${kind}`,
        `Device: ${st.dev.toString(16)}h/${st.dev}d\tInode: ${String(st.ino).padEnd(11)} Links: ${st.nlink}`,
        `Access: (${(st.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(st)})  Uid: (${String(st.uid).padStart(5)}/${userName(passwd, st.uid).padStart(8)})   Gid: (${String(st.gid).padStart(5)}/${groupName(groups, st.gid).padStart(8)})`,
        `Access: ${iso(st.atime)}`,
        `Modify: ${iso(st.mtime)}`,
        `Change: ${iso(st.ctime)}`,
      ].join('\n') + '\n',
    );
  }
  return status;
};
