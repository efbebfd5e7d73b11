import type { Applet } from '../context';
import { SCRIPT_APPLET } from '../resolve';
import { busybox } from './busybox';
import { basename, dirname, echo, env, falseApplet, hello, printf, pwd, seq, sleep, trueApplet, which, yes } from './core';
import { find } from './find';
import { chmod, chown, cp, ln, ls, mkdir, mv, readlink, rm, rmdir, stat, touch } from './files';
import { httpd, nc } from './net';
import { tsdockerScript } from './script';
import { sh } from './sh';
import { date, hostname, id, kill, ps, uname, whoami } from './system';
import { expr, test } from './test';
import { cat, cut, grep, head, sed, sort, tail, tee, tr, uniq, wc, xargs } from './text';

/** Every applet by the names it answers to. */
export function builtinApplets(): Map<string, Applet> {
  return new Map<string, Applet>([
    ['[', test], ['test', test], ['basename', basename], ['busybox', busybox], ['cat', cat], ['chmod', chmod],
    ['chown', chown], ['cp', cp], ['cut', cut], ['date', date], ['dirname', dirname], ['echo', echo],
    ['egrep', grep], ['env', env], ['expr', expr], ['false', falseApplet], ['fgrep', grep], ['find', find],
    ['grep', grep], ['head', head], ['hello', hello], ['hostname', hostname], ['httpd', httpd], ['id', id],
    ['kill', kill], ['ln', ln], ['ls', ls], ['mkdir', mkdir], ['mv', mv], ['nc', nc], ['printenv', printenvApplet],
    ['printf', printf], ['ps', ps], ['pwd', pwd], ['readlink', readlink], ['rm', rm], ['rmdir', rmdir],
    ['sed', sed], ['seq', seq], ['sh', sh], ['ash', sh], ['sleep', sleep], ['sort', sort], ['stat', stat],
    ['tail', tail], ['tee', tee], ['touch', touch], ['tr', tr], ['true', trueApplet], ['uname', uname],
    ['uniq', uniq], ['wc', wc], ['which', which], ['whoami', whoami], ['xargs', xargs], ['yes', yes],
    [SCRIPT_APPLET, tsdockerScript],
  ]);
}

/** printenv [NAME]...: the environment, or the named variables (status 1 if one is unset). */
const printenvApplet: Applet = async (ctx) => {
  const names = ctx.argv.slice(1);
  if (names.length === 0) {
    await ctx.stdout.write(Object.entries(ctx.env).map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  }
  let status = 0;
  for (const n of names) {
    const v = ctx.env[n];
    if (v === undefined) status = 1;
    else await ctx.stdout.write(`${v}\n`);
  }
  return status;
};
