import type { Applet, AppletContext } from '../context';
import { absPath, errnoText } from '../fs-util';
import { SIGNALS } from '../signals';
import { ExitSignal } from '../shell/control';
import { Shell } from '../shell/interpreter';
import { ShellSyntaxError } from '../shell/lexer';
import { parseScript } from '../shell/parser';
import { usageError } from './args';

const SH_USAGE = '[-/+OPTIONS] [-/+o OPT]... [-c \'SCRIPT\' [ARG0 ARGS] | FILE ARGS | -s ARGS]';

/**
 * sh [-eux] [-c SCRIPT [ARG0 [ARG]...] | FILE [ARG]... | -s [ARG]...]: the shell. Without a
 * script it reads commands from stdin a line at a time (so commands can read the rest of
 * stdin), with a prompt on stderr when stdin is a terminal.
 */
export const sh: Applet = async (ctx) => {
  const shell = new Shell(ctx.machine, ctx.proc, ctx.stdio);
  const args = ctx.argv.slice(1);
  let command: string | undefined;
  let dashC = false;
  let interactive = false;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--' || a === '-') {
      i++;
      break;
    }
    if (!/^[-+]/.test(a) || a.length < 2) break;
    const on = a.startsWith('-');
    for (const c of a.slice(1)) {
      if (c === 'c') dashC = true;
      else if (c === 'e') shell.options.errexit = on;
      else if (c === 'x') shell.options.xtrace = on;
      else if (c === 'u') shell.options.nounset = on;
      else if (c === 'f') shell.options.noglob = on;
      else if (c === 'i') interactive = on;
      else if (c === 's' || c === 'l' || c === 'v' || c === 'a' || c === 'm' || c === 'n') continue;
      else if (c === 'o') i++;
      else return usageError(ctx, `invalid option -- '${c}'`, SH_USAGE);
    }
  }
  const operands = args.slice(i);
  if (dashC) {
    command = operands.shift();
    if (command === undefined) {
      await ctx.error("-c requires an argument");
      return 2;
    }
    shell.arg0 = operands.shift() ?? ctx.argv[0] ?? 'sh';
    shell.positional = operands;
    return shell.runScript(command, { execTail: true });
  }
  shell.arg0 = ctx.argv[0]?.split('/').pop() === 'sh' ? 'sh' : (ctx.argv[0] ?? 'sh');
  if (operands.length > 0) {
    const file = operands[0]!;
    shell.arg0 = file;
    shell.positional = operands.slice(1);
    let src: string;
    try {
      src = (await ctx.fs.readFile(absPath(ctx.cwd, file))).toString();
    } catch (err) {
      await ctx.stderr.write(`sh: can't open '${file}': ${errnoText(err)}\n`);
      return 2;
    }
    return shell.runScript(src);
  }
  return repl(ctx, shell, interactive || ctx.stdio.stdin.isTerminal);
};

/** Reads and runs commands from stdin until end of file or `exit`. */
async function repl(ctx: AppletContext, shell: Shell, interactive: boolean): Promise<number> {
  shell.interactive = interactive;
  if (interactive) {
    ctx.proc.dispositions.set(SIGNALS.TERM!, 'ignore');
    ctx.proc.dispositions.set(SIGNALS.QUIT!, 'ignore');
  }
  let buffer = '';
  for (;;) {
    if (interactive) await ctx.stderr.write(buffer ? '> ' : prompt(shell));
    const line = await ctx.stdin.readLine();
    if (line === null) {
      if (interactive) await ctx.stderr.write('\n');
      break;
    }
    buffer += `${line}\n`;
    let list;
    try {
      list = parseScript(buffer);
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err;
      if (/end of file|unterminated/.test(err.message)) continue;
      buffer = '';
      await shell.err(`syntax error: ${err.message}`);
      shell.status = 2;
      if (!interactive) return shell.finish(2);
      continue;
    }
    buffer = '';
    try {
      await shell.runList(list);
    } catch (err) {
      if (err instanceof ExitSignal) {
        if (interactive && shell.status !== err.status && err.status === 2) continue;
        return shell.finish(err.status);
      }
      throw err;
    }
  }
  return shell.finish(shell.status);
}

function prompt(shell: Shell): string {
  const ps1 = shell.getVar('PS1');
  const cwd = shell.proc.cwd;
  const home = shell.getVar('HOME');
  const shown = home && home !== '/' && cwd.startsWith(home) ? `~${cwd.slice(home.length)}` : cwd;
  if (ps1 !== undefined) return ps1.replace(/\\w/g, shown).replace(/\\\$/g, shell.proc.uid === 0 ? '#' : '$').replace(/\\h/g, shell.machine.hostname);
  return `${shown} ${shell.proc.uid === 0 ? '#' : '$'} `;
}
