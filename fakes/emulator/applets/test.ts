import type { Applet, AppletContext } from '../context';
import { absPath, lstatOrNull, statOrNull } from '../fs-util';

class TestSyntaxError extends Error {}

const UNARY_FILE = new Set(['-e', '-f', '-d', '-s', '-r', '-w', '-x', '-L', '-h', '-b', '-c', '-p', '-S', '-g', '-u', '-k', '-O', '-G']);
const BINARY = new Set(['=', '==', '!=', '-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-nt', '-ot', '-ef', '<', '>']);

/** `test EXPR` / `[ EXPR ]`: 0 true, 1 false, 2 on a syntax error. */
export const test: Applet = async (ctx) => {
  let args = ctx.argv.slice(1);
  if (ctx.name === '[') {
    if (args[args.length - 1] !== ']') {
      await ctx.error("missing ]");
      return 2;
    }
    args = args.slice(0, -1);
  }
  try {
    return (await evaluateTest(ctx, args)) ? 0 : 1;
  } catch (err) {
    if (!(err instanceof TestSyntaxError)) throw err;
    await ctx.error(err.message);
    return 2;
  }
};

async function evaluateTest(ctx: AppletContext, args: string[]): Promise<boolean> {
  // POSIX rules by argument count first, then a general parser for -a/-o/()
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2 && args[0] === '!') return !(await evaluateTest(ctx, args.slice(1)));
  if (args.length === 2) return unary(ctx, args[0]!, args[1]!);
  if (args.length === 3 && BINARY.has(args[1]!)) return binary(ctx, args[0]!, args[1]!, args[2]!);
  if (args.length === 3 && args[0] === '!') return !(await evaluateTest(ctx, args.slice(1)));
  if (args.length === 3 && args[0] === '(' && args[2] === ')') return args[1] !== '';
  let pos = 0;
  const peek = (): string | undefined => args[pos];
  const parseOr = async (): Promise<boolean> => {
    let v = await parseAnd();
    while (peek() === '-o') {
      pos++;
      const r = await parseAnd();
      v = v || r;
    }
    return v;
  };
  const parseAnd = async (): Promise<boolean> => {
    let v = await parseNot();
    while (peek() === '-a') {
      pos++;
      const r = await parseNot();
      v = v && r;
    }
    return v;
  };
  const parseNot = async (): Promise<boolean> => {
    if (peek() === '!') {
      pos++;
      return !(await parseNot());
    }
    return parsePrimary();
  };
  const parsePrimary = async (): Promise<boolean> => {
    const a = peek();
    if (a === undefined) throw new TestSyntaxError('argument expected');
    if (a === '(') {
      pos++;
      const v = await parseOr();
      if (peek() !== ')') throw new TestSyntaxError("missing ')'");
      pos++;
      return v;
    }
    const b = args[pos + 1];
    if (b !== undefined && BINARY.has(b) && args[pos + 2] !== undefined) {
      pos += 3;
      return binary(ctx, a, b, args[pos - 1]!);
    }
    if ((UNARY_FILE.has(a) || a === '-n' || a === '-z' || a === '-t') && b !== undefined) {
      pos += 2;
      return unary(ctx, a, b);
    }
    pos++;
    return a !== '';
  };
  const v = await parseOr();
  if (pos < args.length) throw new TestSyntaxError(`${args[pos]}: unknown operand`);
  return v;
}

function integer(text: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new TestSyntaxError(`invalid number '${text}'`);
  return Number(text);
}

async function unary(ctx: AppletContext, op: string, arg: string): Promise<boolean> {
  if (op === '-n') return arg !== '';
  if (op === '-z') return arg === '';
  if (op === '-t') {
    // Only the standard descriptors exist here; each is a terminal when the process has a TTY and it was not redirected.
    const fd = Number(arg);
    return fd === 0 ? ctx.stdio.stdin.isTerminal === true : fd === 1 ? ctx.stdio.stdout.isTerminal === true : fd === 2 ? ctx.stdio.stderr.isTerminal === true : false;
  }
  if (!UNARY_FILE.has(op)) {
    if (op.startsWith('-')) throw new TestSyntaxError(`${op}: unary operator expected`);
    throw new TestSyntaxError(`${arg}: unknown operand`);
  }
  const path = absPath(ctx.cwd, arg);
  if (op === '-L' || op === '-h') return (await lstatOrNull(ctx.fs, path))?.isSymbolicLink() ?? false;
  const st = await statOrNull(ctx.fs, path);
  if (!st) return false;
  const root = ctx.proc.uid === 0;
  switch (op) {
    case '-e': return true;
    case '-f': return st.isFile();
    case '-d': return st.isDirectory();
    case '-s': return st.size > 0;
    case '-b': return st.isBlockDevice();
    case '-c': return st.isCharacterDevice();
    case '-p': return st.isFIFO();
    case '-S': return st.isSocket();
    case '-g': return (st.mode & 0o2000) !== 0;
    case '-u': return (st.mode & 0o4000) !== 0;
    case '-k': return (st.mode & 0o1000) !== 0;
    case '-O': return st.uid === ctx.proc.uid;
    case '-G': return st.gid === ctx.proc.gid;
    case '-r': return root || permits(ctx, st, 4);
    case '-w': return root || permits(ctx, st, 2);
    case '-x': return root ? (st.mode & 0o111) !== 0 || st.isDirectory() : permits(ctx, st, 1);
  }
  return false;
}

function permits(ctx: AppletContext, st: { mode: number; uid: number; gid: number }, bit: number): boolean {
  if (st.uid === ctx.proc.uid) return (st.mode & (bit << 6)) !== 0;
  if (ctx.proc.groups.includes(st.gid)) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

async function binary(ctx: AppletContext, a: string, op: string, b: string): Promise<boolean> {
  switch (op) {
    case '=':
    case '==': return a === b;
    case '!=': return a !== b;
    case '<': return a < b;
    case '>': return a > b;
    case '-eq': return integer(a) === integer(b);
    case '-ne': return integer(a) !== integer(b);
    case '-lt': return integer(a) < integer(b);
    case '-le': return integer(a) <= integer(b);
    case '-gt': return integer(a) > integer(b);
    case '-ge': return integer(a) >= integer(b);
  }
  const sa = await statOrNull(ctx.fs, absPath(ctx.cwd, a));
  const sb = await statOrNull(ctx.fs, absPath(ctx.cwd, b));
  if (op === '-nt') return !!sa && (!sb || sa.mtimeMs > sb.mtimeMs);
  if (op === '-ot') return !!sb && (!sa || sa.mtimeMs < sb.mtimeMs);
  return !!sa && !!sb && sa.ino === sb.ino && sa.dev === sb.dev;
}

/** expr EXPRESSION: prints the value; status 1 when it is null or 0, 2 on error. */
export const expr: Applet = async (ctx) => {
  const args = ctx.argv.slice(1);
  let pos = 0;
  const fail = (msg: string): never => {
    throw new TestSyntaxError(msg);
  };
  const isInt = (v: string): boolean => /^[+-]?\d+$/.test(v);
  const num = (v: string): number => (isInt(v) ? Number(v) : fail('non-numeric argument'));
  const level = (ops: string[], next: () => string, apply: (op: string, l: string, r: string) => string) => (): string => {
    let l = next();
    while (args[pos] !== undefined && ops.includes(args[pos]!)) {
      const op = args[pos++]!;
      l = apply(op, l, next());
    }
    return l;
  };
  const truthy = (v: string): boolean => v !== '' && v !== '0';
  const primary = (): string => {
    const a = args[pos++];
    if (a === undefined) return fail('syntax error');
    if (a === '(') {
      const v = orExpr();
      if (args[pos++] !== ')') fail('syntax error');
      return v;
    }
    if (a === 'length') return String((args[pos++] ?? fail('syntax error')).length);
    if (a === 'substr') {
      const s = args[pos++] ?? '';
      const p = num(args[pos++] ?? '');
      const n = num(args[pos++] ?? '');
      return p < 1 || n < 1 ? '' : s.slice(p - 1, p - 1 + n);
    }
    if (a === 'index') {
      const s = args[pos++] ?? '';
      const chars = args[pos++] ?? '';
      const i = [...s].findIndex((c) => chars.includes(c));
      return String(i + 1);
    }
    if (a === 'match') {
      const s = args[pos++] ?? '';
      return match(s, args[pos++] ?? '');
    }
    return a;
  };
  const match = (s: string, re: string): string => {
    const m = new RegExp(`^(?:${basicToJs(re)})`).exec(s);
    if (!m) return /\\\(/.test(re) ? '' : '0';
    return m[1] !== undefined ? m[1] : String(m[0].length);
  };
  const colon = level([':'], primary, (_, l, r) => match(l, r));
  const mul = level(['*', '/', '%'], colon, (op, l, r) => {
    const a = num(l);
    const b = num(r);
    if (op !== '*' && b === 0) fail('division by zero');
    return String(op === '*' ? a * b : op === '/' ? Math.trunc(a / b) : a % b);
  });
  const add = level(['+', '-'], mul, (op, l, r) => String(op === '+' ? num(l) + num(r) : num(l) - num(r)));
  const cmp = level(['=', '==', '!=', '<', '<=', '>', '>='], add, (op, l, r) => {
    const c = isInt(l) && isInt(r) ? Number(l) - Number(r) : l < r ? -1 : l > r ? 1 : 0;
    const ok = { '=': c === 0, '==': c === 0, '!=': c !== 0, '<': c < 0, '<=': c <= 0, '>': c > 0, '>=': c >= 0 }[op];
    return ok ? '1' : '0';
  });
  const andExpr = level(['&'], cmp, (_, l, r) => (truthy(l) && truthy(r) ? l : '0'));
  const orExpr: () => string = level(['|'], andExpr, (_, l, r) => (truthy(l) ? l : truthy(r) ? r : '0'));
  try {
    if (args.length === 0) fail('syntax error');
    const v = orExpr();
    if (pos < args.length) fail('syntax error');
    await ctx.stdout.write(`${v}\n`);
    return truthy(v) ? 0 : 1;
  } catch (err) {
    if (!(err instanceof TestSyntaxError)) throw err;
    await ctx.error(err.message);
    return 2;
  }
};

/** A POSIX basic regular expression as a JavaScript one. */
export function basicToJs(re: string): string {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!;
    if (c === '\\' && i + 1 < re.length) {
      const n = re[++i]!;
      if ('(){}|+?'.includes(n)) out += n;
      else if (/[0-9]/.test(n)) out += `\\${n}`;
      else out += `\\${n}`;
    } else if ('(){}|+?'.includes(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}
