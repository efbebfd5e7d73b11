import os from 'node:os';
import type { Applet, AppletContext } from '../context';
import { NoSuchProcessError } from '../process-table';
import { SIGNALS, signalName, signalNumber } from '../signals';
import { groupName, readGroups, readPasswd, userName } from '../users';
import { getopt, usageError } from './args';

/** The container's hostname: the emulator's, else /etc/hostname. */
async function containerHostname(ctx: AppletContext): Promise<string> {
  if (ctx.machine.hostname) return ctx.machine.hostname;
  try {
    return (await ctx.fs.readFile('/etc/hostname')).toString().trim();
  } catch {
    return 'localhost';
  }
}

export const hostname: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'sfdi', '[-sfdi] [HOSTNAME | -F FILE]');
  if (!opts) return 1;
  if (opts.operands.length > 0) {
    await ctx.error('sethostname: Operation not permitted');
    return 1;
  }
  const name = await containerHostname(ctx);
  await ctx.stdout.write(`${opts.has('s') ? name.split('.')[0] : name}\n`);
  return 0;
};

export const uname: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'asnrvmpio', '[-snrvmio]');
  if (!opts) return 1;
  const fields: [string, string][] = [
    ['s', 'Linux'],
    ['n', await containerHostname(ctx)],
    ['r', os.release()],
    ['v', os.version()],
    ['m', os.machine()],
    ['o', 'GNU/Linux'],
  ];
  const all = opts.has('a');
  const chosen = fields.filter(([f]) => all || opts.has(f));
  if (chosen.length === 0) chosen.push(fields[0]!);
  await ctx.stdout.write(`${chosen.map(([, v]) => v).join(' ')}\n`);
  return 0;
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** strftime over UTC (containers without TZ data run in UTC). */
export function strftime(format: string, d: Date): string {
  return format.replace(/%([a-zA-Z%])/g, (m, c: string) => {
    switch (c) {
      case 'Y': return String(d.getUTCFullYear());
      case 'y': return p2(d.getUTCFullYear() % 100);
      case 'm': return p2(d.getUTCMonth() + 1);
      case 'd': return p2(d.getUTCDate());
      case 'e': return String(d.getUTCDate()).padStart(2, ' ');
      case 'H': return p2(d.getUTCHours());
      case 'I': return p2(d.getUTCHours() % 12 || 12);
      case 'M': return p2(d.getUTCMinutes());
      case 'S': return p2(d.getUTCSeconds());
      case 'N': return String(d.getUTCMilliseconds() * 1e6).padStart(9, '0');
      case 'p': return d.getUTCHours() < 12 ? 'AM' : 'PM';
      case 's': return String(Math.floor(d.getTime() / 1000));
      case 'a': return DAYS[d.getUTCDay()]!;
      case 'A': return ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][d.getUTCDay()]!;
      case 'b': case 'h': return MONTHS[d.getUTCMonth()]!;
      case 'B': return ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][d.getUTCMonth()]!;
      case 'j': return String(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1).padStart(3, '0');
      case 'u': return String(d.getUTCDay() || 7);
      case 'w': return String(d.getUTCDay());
      case 'Z': return 'UTC';
      case 'z': return '+0000';
      case 'T': return strftime('%H:%M:%S', d);
      case 'D': return strftime('%m/%d/%y', d);
      case 'F': return strftime('%Y-%m-%d', d);
      case 'R': return strftime('%H:%M', d);
      case 'c': return strftime('%a %b %e %H:%M:%S %Y', d);
      case 'n': return '\n';
      case 't': return '\t';
      case '%': return '%';
      default: return m;
    }
  });
}

/** date [-u] [-d @SECONDS|DATE] [+FORMAT] */
export const date: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'uRId:D:r:', '[OPTIONS] [+FMT] [[-s] TIME]');
  if (!opts) return 1;
  let when = new Date(ctx.proc.clock.now());
  const d = opts.value('d');
  if (d !== undefined) {
    const parsed = d.startsWith('@') ? new Date(Number(d.slice(1)) * 1000) : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(d) ? d : `${d.replace(' ', 'T')}Z`);
    if (Number.isNaN(parsed.getTime())) {
      await ctx.error(`invalid date '${d}'`);
      return 1;
    }
    when = parsed;
  }
  const fmtArg = opts.operands.find((o) => o.startsWith('+'));
  const format = fmtArg ? fmtArg.slice(1) : opts.has('R') ? '%a, %d %b %Y %H:%M:%S %z' : opts.has('I') ? '%Y-%m-%d' : '%a %b %e %H:%M:%S %Z %Y';
  await ctx.stdout.write(`${strftime(format, when)}\n`);
  return 0;
};

/** id [-u|-g|-G] [-n] [-r] [USER] */
export const id: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'ugGnr', '[-ugGnr] [USER]');
  if (!opts) return 1;
  const passwd = await readPasswd(ctx.fs);
  const groups = await readGroups(ctx.fs);
  let uid = ctx.proc.uid;
  let gid = ctx.proc.gid;
  let gids = ctx.proc.groups;
  const who = opts.operands[0];
  if (who !== undefined) {
    const entry = passwd.find((p) => p.name === who || String(p.uid) === who);
    if (!entry) {
      await ctx.error(`unknown user ${who}`);
      return 1;
    }
    uid = entry.uid;
    gid = entry.gid;
    gids = [gid, ...groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)];
  }
  const named = (n: number, name: string): string => (opts.has('n') ? name : String(n));
  if (opts.has('u')) await ctx.stdout.write(`${named(uid, userName(passwd, uid))}\n`);
  else if (opts.has('g')) await ctx.stdout.write(`${named(gid, groupName(groups, gid))}\n`);
  else if (opts.has('G')) await ctx.stdout.write(`${gids.map((g) => named(g, groupName(groups, g))).join(' ')}\n`);
  else {
    const fmt = (n: number, name: string): string => (name === String(n) ? String(n) : `${n}(${name})`);
    const list = gids.map((g) => fmt(g, groupName(groups, g))).join(',');
    await ctx.stdout.write(`uid=${fmt(uid, userName(passwd, uid))} gid=${fmt(gid, groupName(groups, gid))} groups=${list}\n`);
  }
  return 0;
};

export const whoami: Applet = async (ctx) => {
  const passwd = await readPasswd(ctx.fs);
  const name = passwd.find((p) => p.uid === ctx.proc.uid)?.name;
  if (!name) {
    await ctx.error(`unknown uid ${ctx.proc.uid}`);
    return 1;
  }
  await ctx.stdout.write(`${name}\n`);
  return 0;
};

/** ps in busybox's default format: `PID   USER     TIME  COMMAND`. BSD/SysV option letters are accepted and ignored. */
export const ps: Applet = async (ctx) => {
  const rows = ctx.machine.table.list();
  const passwd = await readPasswd(ctx.fs);
  const lines = ['PID   USER     TIME  COMMAND'];
  for (const p of rows) {
    const user = userName(passwd, p.uid).slice(0, 8);
    // emulated processes use no CPU time worth showing
    lines.push(`${String(p.pid).padStart(5)} ${user.padEnd(8)} ${'0:00'.padStart(5)} ${p.command}`);
  }
  await ctx.stdout.write(`${lines.join('\n')}\n`);
  return 0;
};

/** kill [-s SIG | -SIG] PID... | kill -l [N]: signals sent from inside the container. */
export const kill: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  if (args[0] === '-l' || args[0] === '-L') {
    const rest = args.slice(1);
    if (rest.length === 0) {
      const lines = Object.entries(SIGNALS).map(([name, n]) => `${String(n).padStart(2)}) ${name}`);
      await ctx.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    for (const r of rest) {
      // a number (an exit status above 128 counts as 128+n) gives the name, a name the number
      const n = /^\d+$/.test(r) ? signalNumber(Number(r) > 128 ? Number(r) - 128 : Number(r)) : signalNumber(r);
      if (n === undefined) {
        await ctx.error(`bad signal name '${r}'`);
        return 1;
      }
      await ctx.stdout.write(`${/^\d+$/.test(r) ? signalName(n) : n}\n`);
    }
    return 0;
  }
  let sig: string = 'TERM';
  let i = 0;
  if (args[0] === '-s' || args[0] === '-n') {
    sig = args[1] ?? '';
    i = 2;
  } else if (args[0] && args[0].startsWith('-') && args[0] !== '--' && args[0].length > 1 && args.length > 1) {
    sig = args[0]!.slice(1);
    i = 1;
  }
  if (args[i] === '--') i++;
  if (signalNumber(sig) === undefined) {
    await ctx.error(`bad signal name '${sig}'`);
    return 1;
  }
  const pids = args.slice(i);
  if (pids.length === 0) return usageError(ctx, 'missing operand', '[-s SIG | -SIG] PID...');
  let status = 0;
  for (const p of pids) {
    if (!/^-?\d+$/.test(p)) {
      await ctx.error(`invalid number '${p}'`);
      status = 1;
      continue;
    }
    const targets = Number(p) === -1 ? ctx.machine.table.list().map((r) => r.pid).filter((x) => x !== 1 && x !== ctx.proc.pid) : [Math.abs(Number(p))];
    for (const pid of targets) {
      try {
        ctx.machine.table.kill(pid, sig, { fromOutside: false });
      } catch (err) {
        if (!(err instanceof NoSuchProcessError)) throw err;
        await ctx.error(`can't kill pid ${pid}: No such process`);
        status = 1;
      }
    }
  }
  return status;
};
