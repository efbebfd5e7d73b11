import { AppletContext, type Applet } from '../context';
import { absPath, errnoText, statOrNull } from '../fs-util';
import { echo, falseApplet, printf, pwd, trueApplet } from '../applets/core';
import { kill } from '../applets/system';
import { test } from '../applets/test';
import { SIGNALS, signalName, signalNumber } from '../signals';
import { BreakSignal, ContinueSignal, ExitSignal, ReturnSignal } from './control';
import type { Shell } from './interpreter';
import { ulimit } from './ulimit';

/** A builtin runs inside the shell's process with the shell's (redirected) descriptors. */
export type Builtin = (sh: Shell, argv: string[]) => Promise<number>;

/** POSIX special builtins: their variable assignments persist, functions cannot override them. */
export const SPECIAL_BUILTINS: ReadonlySet<string> = new Set([':', '.', 'break', 'continue', 'eval', 'exec', 'exit', 'export', 'readonly', 'return', 'set', 'shift', 'trap', 'unset']);

/** Runs an applet in the shell's own process (echo, printf, test, kill ...). */
function appletBuiltin(applet: Applet): Builtin {
  return (sh, argv) =>
    applet(
      new AppletContext(sh.machine, sh.proc, argv, sh.stdio(), async (childArgv) => sh.runExternal(childArgv, [], false)),
    );
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const levels = async (sh: Shell, argv: string[]): Promise<number | null> => {
  const n = argv[1] === undefined ? 1 : Number(argv[1]);
  if (!Number.isInteger(n) || n < 1) {
    await sh.err(`${argv[0]}: Illegal number: ${argv[1]}`);
    return null;
  }
  return n;
};

export const BUILTINS: Readonly<Record<string, Builtin>> = {
  ':': async () => 0,
  true: appletBuiltin(trueApplet),
  false: appletBuiltin(falseApplet),
  echo: appletBuiltin(echo),
  printf: appletBuiltin(printf),
  test: appletBuiltin(test),
  '[': appletBuiltin(test),
  kill: appletBuiltin(kill),
  pwd: appletBuiltin(pwd),

  async cd(sh, argv) {
    let target = argv[1];
    if (target === undefined) target = sh.getVar('HOME') ?? '/';
    else if (target === '-') {
      target = sh.getVar('OLDPWD') ?? sh.proc.cwd;
      await sh.out(`${target}\n`);
    }
    const path = absPath(sh.proc.cwd, target);
    const st = await statOrNull(sh.machine.fs, path);
    if (!st || !st.isDirectory()) {
      await sh.err(`cd: can't cd to ${target}: ${st ? 'Not a directory' : 'No such file or directory'}`);
      return 2;
    }
    sh.setVar('OLDPWD', sh.proc.cwd);
    sh.proc.cwd = path;
    sh.setVar('PWD', path);
    return 0;
  },

  async exit(sh, argv) {
    const n = argv[1] === undefined ? sh.status : Number(argv[1]);
    if (!Number.isInteger(n)) {
      await sh.err(`exit: Illegal number: ${argv[1]}`);
      throw new ExitSignal(2);
    }
    throw new ExitSignal(n & 255);
  },

  async return(sh, argv) {
    throw new ReturnSignal(argv[1] === undefined ? sh.status : Number(argv[1]) & 255);
  },

  async break(sh, argv) {
    const n = await levels(sh, argv);
    if (n === null) return 1;
    if (sh.loopDepth === 0) return 0;
    throw new BreakSignal(Math.min(n, sh.loopDepth));
  },

  async continue(sh, argv) {
    const n = await levels(sh, argv);
    if (n === null) return 1;
    if (sh.loopDepth === 0) return 0;
    throw new ContinueSignal(Math.min(n, sh.loopDepth));
  },

  async export(sh, argv) {
    const args = argv.slice(1).filter((a) => a !== '-p');
    if (args.length === 0) {
      const lines = [...sh.vars].filter(([, v]) => v.exported).sort(([a], [b]) => (a < b ? -1 : 1));
      await sh.out(lines.map(([k, v]) => `export ${k}=${shellQuote(v.value)}\n`).join(''));
      return 0;
    }
    for (const a of args) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!NAME.test(name)) {
        await sh.err(`export: ${a}: bad variable name`);
        return 1;
      }
      if (eq < 0) {
        const v = sh.vars.get(name);
        if (v) v.exported = true;
      } else sh.setVar(name, a.slice(eq + 1), true);
    }
    return 0;
  },

  async readonly(sh, argv) {
    for (const a of argv.slice(1)) {
      const eq = a.indexOf('=');
      if (eq > 0) sh.setVar(a.slice(0, eq), a.slice(eq + 1));
    }
    return 0;
  },

  async local(sh, argv) {
    const frame = sh.localFrames[sh.localFrames.length - 1];
    if (!frame) {
      await sh.err('local: not in a function');
      return 1;
    }
    for (const a of argv.slice(1)) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!frame.has(name)) frame.set(name, sh.vars.get(name) && { ...sh.vars.get(name)! });
      sh.setVar(name, eq < 0 ? (sh.getVar(name) ?? '') : a.slice(eq + 1));
    }
    return 0;
  },

  async unset(sh, argv) {
    let functions = false;
    for (const a of argv.slice(1)) {
      if (a === '-f') functions = true;
      else if (a === '-v') functions = false;
      else if (functions) sh.functions.delete(a);
      else sh.vars.delete(a);
    }
    return 0;
  },

  async set(sh, argv) {
    const args = argv.slice(1);
    if (args.length === 0) {
      const lines = [...sh.vars].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${shellQuote(v.value)}\n`);
      await sh.out(lines.join(''));
      return 0;
    }
    const flags: Record<string, keyof Shell['options']> = { e: 'errexit', x: 'xtrace', u: 'nounset', f: 'noglob' };
    const long: Record<string, keyof Shell['options']> = { errexit: 'errexit', xtrace: 'xtrace', nounset: 'nounset', noglob: 'noglob' };
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--') {
        sh.positional = args.slice(i + 1);
        return 0;
      }
      if (!/^[-+]/.test(a) || a.length < 2) break;
      const on = a[0] === '-';
      for (const c of a.slice(1)) {
        if (c === 'o') {
          const name = args[++i];
          if (name === undefined) {
            await sh.out(Object.entries(sh.options).map(([k, v]) => `${k.padEnd(16)}${v ? 'on' : 'off'}\n`).join(''));
            continue;
          }
          const opt = long[name];
          if (opt) sh.options[opt] = on;
          else if (name !== 'pipefail' && name !== 'monitor' && name !== 'vi' && name !== 'emacs') {
            await sh.err(`set: illegal option -o ${name}`);
            return 2;
          }
          continue;
        }
        const opt = flags[c];
        if (opt) sh.options[opt] = on;
        else if (!'amnvbCh'.includes(c)) {
          await sh.err(`set: illegal option -${c}`);
          return 2;
        }
      }
    }
    if (i < args.length) sh.positional = args.slice(i);
    return 0;
  },

  async shift(sh, argv) {
    const n = argv[1] === undefined ? 1 : Number(argv[1]);
    if (!Number.isInteger(n) || n < 0 || n > sh.positional.length) {
      await sh.err(`shift: can't shift that many`);
      return 2;
    }
    sh.positional = sh.positional.slice(n);
    return 0;
  },

  async read(sh, argv) {
    let raw = false;
    let prompt: string | undefined;
    let i = 1;
    for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
      const a = argv[i]!;
      if (a === '-r') raw = true;
      else if (a === '-p') prompt = argv[++i];
      else if (a === '--') {
        i++;
        break;
      }
    }
    const names = argv.slice(i);
    if (names.length === 0) names.push('REPLY');
    const stdio = sh.stdio();
    if (prompt) await sh.proc.write(stdio.stderr, prompt);
    await sh.proc.checkpoint();
    let line = '';
    let eof = false;
    for (;;) {
      const part = await sh.proc.guard(stdio.stdin.readLine());
      if (part === null) {
        eof = true;
        break;
      }
      if (!raw && part.endsWith('\\')) {
        line += part.slice(0, -1);
        continue;
      }
      line += part;
      break;
    }
    if (!raw) line = line.replace(/\\(.)/g, '$1');
    const ifs = sh.getVar('IFS') ?? ' \t\n';
    const white = [...ifs].filter((c) => ' \t\n'.includes(c)).join('');
    const trimRe = white ? new RegExp(`^[${escapeClass(white)}]+|[${escapeClass(white)}]+$`, 'g') : null;
    let rest = trimRe ? line.replace(trimRe, '') : line;
    for (const [k, name] of names.entries()) {
      if (k === names.length - 1) {
        sh.setVar(name, rest);
        break;
      }
      const m = ifs ? new RegExp(`[${escapeClass(ifs)}]`).exec(rest) : null;
      if (!m) {
        sh.setVar(name, rest);
        rest = '';
        continue;
      }
      sh.setVar(name, rest.slice(0, m.index));
      rest = rest.slice(m.index + 1);
      if (trimRe) rest = rest.replace(new RegExp(`^[${escapeClass(white)}]+`), '');
    }
    return eof && line === '' ? 1 : eof ? 1 : 0;
  },

  async trap(sh, argv) {
    const args = argv.slice(1);
    if (args.length === 0) {
      const lines = [...sh.traps].map(([n, action]) => `trap -- ${shellQuote(action)} ${n === 0 ? 'EXIT' : signalName(n)}\n`);
      await sh.out(lines.join(''));
      return 0;
    }
    if (args[0] === '-l') {
      await sh.out(`${Object.entries(SIGNALS).map(([name, n]) => `${String(n).padStart(2)}) ${name}`).join('\n')}\n`);
      return 0;
    }
    let action: string | null = args[0]!;
    let sigs = args.slice(1);
    if (/^\d+$/.test(action) && signalNumber(action) !== undefined && sigs.length === 0) {
      sigs = [action];
      action = null;
    } else if (action === '-') action = null;
    let status = 0;
    for (const s of sigs) {
      const n = signalNumber(s);
      if (n === undefined) {
        await sh.err(`trap: ${s}: bad trap`);
        status = 1;
        continue;
      }
      if (action === null) {
        sh.traps.delete(n);
        if (n !== 0) sh.proc.dispositions.delete(n);
      } else {
        sh.traps.set(n, action);
        if (n !== 0 && n !== SIGNALS.KILL && n !== SIGNALS.STOP) sh.proc.dispositions.set(n, action === '' ? 'ignore' : 'catch');
      }
    }
    return status;
  },

  async wait(sh, argv) {
    const pids = argv.slice(1).map(Number);
    return sh.waitJobs(pids.length > 0 ? pids : null);
  },

  async exec(sh, argv) {
    if (argv.length > 1) return sh.execReplace(argv.slice(1));
    return 0;
  },

  async eval(sh, argv) {
    return sh.evalString(argv.slice(1).join(' '));
  },

  '.': source,
  source,

  async command(sh, argv) {
    const args = argv.slice(1);
    if (args[0] === '-v' || args[0] === '-V') {
      let status = 0;
      for (const name of args.slice(1)) {
        const found = await describeCommand(sh, name);
        if (found === null) status = 127;
        else await sh.out(`${args[0] === '-v' ? found.short : found.long}\n`);
      }
      return status;
    }
    if (args.length === 0) return 0;
    const builtin = BUILTINS[args[0]!];
    if (builtin) return builtin(sh, args);
    return sh.runExternal(args, [], false);
  },

  async type(sh, argv) {
    let status = 0;
    for (const name of argv.slice(1)) {
      const found = await describeCommand(sh, name);
      if (found === null) {
        await sh.out(`${name}: not found\n`);
        status = 127;
      } else await sh.out(`${found.long}\n`);
    }
    return status;
  },

  async umask(sh, argv) {
    if (argv.length === 1) await sh.out('0022\n');
    return 0;
  },

  ulimit,

  async hash() {
    return 0;
  },

  async jobs(sh) {
    const lines = [...sh.jobs.values()].map((p, i) => `[${i + 1}] ${p.exited ? 'Done' : 'Running'}                    ${p.argv.join(' ')}\n`);
    await sh.out(lines.join(''));
    return 0;
  },
};

async function source(sh: Shell, argv: string[]): Promise<number> {
  const file = argv[1];
  if (file === undefined) {
    await sh.err('.: missing filename');
    return 2;
  }
  let path: string | undefined;
  if (file.includes('/')) path = absPath(sh.proc.cwd, file);
  else {
    for (const dir of (sh.getVar('PATH') ?? '').split(':')) {
      const candidate = absPath(sh.proc.cwd, `${dir || '.'}/${file}`);
      if ((await statOrNull(sh.machine.fs, candidate))?.isFile()) {
        path = candidate;
        break;
      }
    }
    path ??= absPath(sh.proc.cwd, file);
  }
  let src: string;
  try {
    src = (await sh.machine.fs.readFile(path)).toString();
  } catch (err) {
    await sh.err(`.: can't open '${file}': ${errnoText(err)}`);
    throw new ExitSignal(2);
  }
  const savedPositional = sh.positional;
  if (argv.length > 2) sh.positional = argv.slice(2);
  try {
    return await sh.evalString(src);
  } catch (err) {
    if (err instanceof ReturnSignal) return err.status;
    throw err;
  } finally {
    if (argv.length > 2) sh.positional = savedPositional;
  }
}

async function describeCommand(sh: Shell, name: string): Promise<{ short: string; long: string } | null> {
  if (sh.functions.has(name)) return { short: name, long: `${name} is a function` };
  if (BUILTINS[name]) return { short: name, long: `${name} is a ${SPECIAL_BUILTINS.has(name) ? 'special ' : ''}shell builtin` };
  for (const dir of (sh.getVar('PATH') ?? '').split(':')) {
    const path = `${dir.replace(/\/$/, '')}/${name}`;
    const st = await statOrNull(sh.machine.fs, absPath(sh.proc.cwd, path));
    if (st?.isFile() && st.mode & 0o111) return { short: path, long: `${name} is ${path}` };
  }
  return null;
}

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, '\\$&').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}
