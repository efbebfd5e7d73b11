import type { Applet, AppletContext } from '../context';
import { usageError } from './args';
import { interpretEscapes } from './escapes';

export const trueApplet: Applet = async () => 0;
export const falseApplet: Applet = async () => 1;

/** busybox echo: `-n` no newline, `-e` escapes, `-E` none (the default). */
export const echo: Applet = async (ctx) => {
  let args = ctx.argv.slice(1);
  let newline = true;
  let escapes = false;
  while (args[0] && /^-[neE]+$/.test(args[0])) {
    for (const c of args[0].slice(1)) {
      if (c === 'n') newline = false;
      else escapes = c === 'e';
    }
    args = args.slice(1);
  }
  let text = args.join(' ');
  if (escapes) {
    const r = interpretEscapes(text, { octalNeedsZero: true });
    text = r.text;
    if (r.stopped) newline = false;
  }
  await ctx.stdout.write(newline ? `${text}\n` : text);
  return 0;
};

const CONVERSION = /%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?([diouxXcsfeEgGb%])/y;

/** printf FORMAT [ARG]...: the format is reused while arguments remain. */
export const printf: Applet = async (ctx) => {
  const [format, ...args] = ctx.argv.slice(1);
  if (format === undefined) return usageError(ctx, 'missing format', 'FORMAT [ARG]...');
  let status = 0;
  let argi = 0;
  let out = '';
  const nextArg = (): string | undefined => args[argi++];
  const number = (text: string | undefined): number => {
    if (text === undefined || text === '') return 0;
    if (/^['"]/.test(text)) return text.codePointAt(1) ?? 0;
    const t = text.trim();
    const n = /^[+-]?0[xX][0-9a-fA-F]+$/.test(t) ? parseInt(t, 16) : /^[+-]?0[0-7]+$/.test(t) ? parseInt(t, 8) : Number(t);
    if (Number.isNaN(n)) {
      status = 1;
      errors.push(`invalid number '${text}'`);
      return parseFloat(t) || 0;
    }
    return n;
  };
  const errors: string[] = [];
  for (;;) {
    const startArg = argi;
    let i = 0;
    while (i < format.length) {
      const c = format[i]!;
      if (c === '\\') {
        const m = /^\\(0[0-7]{0,3}|[0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/s.exec(format.slice(i))!;
        const r = interpretEscapes(m[0]);
        if (m[0] === '\\c') {
          await ctx.stdout.write(out);
          return status;
        }
        out += r.text;
        i += m[0].length;
        continue;
      }
      if (c !== '%') {
        out += c;
        i++;
        continue;
      }
      CONVERSION.lastIndex = i;
      const m = CONVERSION.exec(format);
      if (!m) {
        await ctx.error(`%${format[i + 1] ?? ''}: invalid format`);
        return 1;
      }
      i += m[0].length;
      const [, flags = '', widthSpec, precSpec, conv] = m;
      if (conv === '%') {
        out += '%';
        continue;
      }
      const width = widthSpec === '*' ? number(nextArg()) : widthSpec ? Number(widthSpec) : 0;
      const prec = precSpec === '*' ? number(nextArg()) : precSpec !== undefined ? Number(precSpec || 0) : undefined;
      const arg = nextArg();
      let body: string;
      switch (conv) {
        case 's':
          body = arg ?? '';
          if (prec !== undefined) body = body.slice(0, prec);
          break;
        case 'b': {
          const r = interpretEscapes(arg ?? '', { octalNeedsZero: true });
          body = r.text;
          break;
        }
        case 'c':
          body = (arg ?? '').slice(0, 1);
          break;
        case 'd':
        case 'i':
        case 'u': {
          const n = Math.trunc(number(arg));
          body = Math.abs(n).toString();
          if (prec !== undefined) body = body.padStart(prec, '0');
          body = (n < 0 ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '') + body;
          break;
        }
        case 'o':
        case 'x':
        case 'X': {
          const n = Math.trunc(number(arg));
          body = (n >>> 0).toString(conv === 'o' ? 8 : 16);
          if (conv === 'X') body = body.toUpperCase();
          if (flags.includes('#') && n !== 0) body = (conv === 'o' ? '0' : conv === 'x' ? '0x' : '0X') + body;
          break;
        }
        default: {
          const n = number(arg);
          const p = prec ?? 6;
          body = conv === 'f' ? n.toFixed(p) : conv === 'e' || conv === 'E' ? n.toExponential(p).replace(/e([+-])(\d)$/, 'e$10$2') : String(Number(n.toPrecision(p || 1)));
          if (conv === 'E' || conv === 'G') body = body.toUpperCase();
          if (n >= 0 && flags.includes('+')) body = `+${body}`;
        }
      }
      if (body.length < width) {
        if (flags.includes('-')) body = body.padEnd(width);
        else if (flags.includes('0') && /[diouxXfeEgG]/.test(conv!)) {
          const sign = /^[+-]/.test(body) ? body[0]! : '';
          body = sign + body.slice(sign.length).padStart(width - sign.length, '0');
        } else body = body.padStart(width);
      }
      out += body;
    }
    if (argi >= args.length || argi === startArg) break;
  }
  await ctx.stdout.write(out);
  for (const e of errors) await ctx.error(e);
  return status;
};

/** Seconds for a sleep argument: `1.5`, `2m`, `1h`, `infinity`; NaN when invalid. */
export function sleepSeconds(text: string): number {
  if (/^inf(inity)?$/i.test(text)) return Infinity;
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(text);
  if (!m) return NaN;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** sleep N[smhd]... | infinity: waits on the emulator's clock. */
export const sleep: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  if (args.length === 0) return usageError(ctx, 'missing operand', '[N]...');
  let total = 0;
  for (const a of args) {
    const s = sleepSeconds(a);
    if (Number.isNaN(s)) {
      await ctx.error(`invalid number '${a}'`);
      return 1;
    }
    total += s;
  }
  await ctx.proc.sleep(total * 1000);
  return 0;
};

/** yes [STRING]...: repeats until the reader goes away (SIGPIPE). */
export const yes: Applet = async (ctx) => {
  const line = `${ctx.argv.length > 1 ? ctx.argv.slice(1).join(' ') : 'y'}\n`;
  const chunk = line.repeat(Math.max(1, Math.floor(4096 / line.length)));
  for (;;) await ctx.stdout.write(chunk);
};

/** seq [-w] [-s SEP] [FIRST [INC]] LAST */
export const seq: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  let sep = '\n';
  let pad = false;
  const nums: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-w') pad = true;
    else if (a === '-s') sep = args[++i] ?? '';
    else if (a.startsWith('-s')) sep = a.slice(2);
    else nums.push(a);
  }
  if (nums.length < 1 || nums.length > 3) return usageError(ctx, 'missing operand', '[-w] [-s SEP] [FIRST [INC]] LAST');
  const values = nums.map(Number);
  if (values.some(Number.isNaN)) {
    await ctx.error(`invalid number '${nums[values.findIndex(Number.isNaN)]}'`);
    return 1;
  }
  const [first, inc, last] = values.length === 1 ? [1, 1, values[0]!] : values.length === 2 ? [values[0]!, 1, values[1]!] : [values[0]!, values[1]!, values[2]!];
  const decimals = Math.max(...nums.map((n) => (n.includes('.') ? n.split('.')[1]!.length : 0)));
  const width = pad ? Math.max(...[first, last].map((n) => n.toFixed(decimals).length)) : 0;
  const lines: string[] = [];
  if (inc === 0) return 1;
  for (let v = first, k = 0; inc > 0 ? v <= last + 1e-9 : v >= last - 1e-9; k++, v = first + k * inc) {
    lines.push(v.toFixed(decimals).padStart(width, '0'));
    if (lines.length >= 4096) {
      await ctx.stdout.write(`${lines.join(sep)}${sep}`);
      lines.length = 0;
    }
  }
  if (lines.length > 0) await ctx.stdout.write(`${lines.join(sep)}\n`);
  return 0;
};

/** pwd: the working directory. */
export const pwd: Applet = async (ctx) => {
  await ctx.stdout.write(`${ctx.cwd}\n`);
  return 0;
};

export const basename: Applet = async (ctx) => {
  const [path, suffix] = ctx.argv.slice(1);
  if (path === undefined) return usageError(ctx, 'missing operand', 'FILE [SUFFIX]');
  let base = path.replace(/\/+$/, '').split('/').pop() || (path.startsWith('/') ? '/' : '');
  if (suffix && base !== suffix && base.endsWith(suffix)) base = base.slice(0, -suffix.length);
  await ctx.stdout.write(`${base}\n`);
  return 0;
};

export const dirname: Applet = async (ctx) => {
  const path = ctx.argv[1];
  if (path === undefined) return usageError(ctx, 'missing operand', 'FILENAME');
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  const dir = i < 0 ? '.' : trimmed.slice(0, i).replace(/\/+$/, '') || '/';
  await ctx.stdout.write(`${path.startsWith('/') && trimmed === '' ? '/' : dir}\n`);
  return 0;
};

/** env [-i] [-u NAME] [NAME=VALUE]... [COMMAND [ARG]...] */
export const env: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  let vars: Record<string, string> = { ...ctx.env };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-i' || a === '-') vars = {};
    else if (a === '-u') delete vars[args[++i] ?? ''];
    else if (a === '--') {
      i++;
      break;
    } else if (a.startsWith('-') && a.length > 1) return usageError(ctx, `invalid option -- '${a[1]}'`, '[-i] [-u NAME] [-] [NAME=VALUE]... [PROG ARGS]');
    else break;
  }
  for (; i < args.length && args[i]!.includes('='); i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    vars[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const command = args.slice(i);
  if (command.length === 0) {
    await ctx.stdout.write(Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join(''));
    return 0;
  }
  return ctx.run(command, ctx.stdio, vars);
};

/** The hello-world image's program: a short explanation of what just happened. */
export const hello: Applet = async (ctx) => {
  await ctx.stdout.write(
    [
      '',
      'Hello from Docker!',
      'This message shows that your installation appears to be working correctly.',
      '',
      'What happened, step by step:',
      ' 1. The docker client asked the daemon to run the "hello-world" image.',
      ' 2. The daemon fetched the image from the registry (if it was not here yet).',
      ' 3. The daemon made a new container from that image; its one program',
      '    wrote the text you are reading now.',
      ' 4. The daemon sent that output back to the docker client, which printed it',
      '    in your terminal.',
      '',
      'For something more ambitious, start a shell in a container:',
      ' $ docker run -it busybox sh',
      '',
      '(This copy of the message comes from the tsdocker emulator.)',
      '',
    ].join('\n') + '\n',
  );
  return 0;
};

/** which NAME...: the first executable of each name on PATH. */
export const which: Applet = async (ctx) => {
  const names = ctx.argv.slice(1);
  if (names.length === 0) return usageError(ctx, 'missing operand', '[COMMAND]...');
  let status = 0;
  for (const name of names) {
    const found = await findOnPath(ctx, name);
    if (found) await ctx.stdout.write(`${found}\n`);
    else status = 1;
  }
  return status;
};

async function findOnPath(ctx: AppletContext, name: string): Promise<string | null> {
  const dirs = name.includes('/') ? [''] : (ctx.env.PATH ?? '').split(':');
  for (const dir of dirs) {
    const path = dir ? `${dir.replace(/\/$/, '')}/${name}` : name;
    try {
      const st = await ctx.fs.stat(path.startsWith('/') ? path : `${ctx.cwd}/${path}`);
      if (st.isFile() && (st.mode & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return null;
}

