import type { Applet, AppletContext } from '../context';
import { absPath, errnoText, openWrite, statOrNull } from '../fs-util';
import { getopt, parseCount, usageError } from './args';
import { inputs, lines, readText } from './input';
import { basicToJs } from './test';

/** A buffered line writer: flushes every 64 KiB and at the end. */
function lineWriter(ctx: AppletContext): { push(s: string): Promise<void>; flush(): Promise<void> } {
  let buf: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (buf.length === 0) return;
    const out = buf.join('');
    buf = [];
    size = 0;
    await ctx.stdout.write(out);
  };
  return {
    async push(s) {
      buf.push(s);
      size += s.length;
      if (size >= 65536) await flush();
    },
    flush,
  };
}

export const cat: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'nbvteAu', '[-nbvteA] [FILE]...');
  if (!opts) return 1;
  const state = { failed: false };
  let n = 0;
  for await (const input of inputs(ctx, opts.operands, state)) {
    if (opts.has('n') || opts.has('b')) {
      const w = lineWriter(ctx);
      for await (const { line, newline } of lines(input)) {
        const numbered = opts.has('b') && line === '' ? line : `${String(++n).padStart(6)}\t${line}`;
        await w.push(numbered + (newline ? '\n' : ''));
      }
      await w.flush();
      continue;
    }
    for (let c = await input.read(); c !== null; c = await input.read()) await ctx.stdout.write(c);
  }
  return state.failed ? 1 : 0;
};

export const wc: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'lwcmL', '[-cmlwL] [FILE]...');
  if (!opts) return 1;
  const state = { failed: false };
  const totals = [0, 0, 0];
  const rows: { counts: number[]; name: string }[] = [];
  for await (const input of inputs(ctx, opts.operands, state)) {
    const text = await readText(input);
    const counts = [(text.match(/\n/g) ?? []).length, text.split(/\s+/).filter(Boolean).length, Buffer.byteLength(text)];
    counts.forEach((c, i) => (totals[i]! += c));
    rows.push({ counts, name: input.name === '-' ? '' : input.name });
  }
  if (rows.length > 1) rows.push({ counts: totals, name: 'total' });
  const chosen = ['l', 'w', 'c'].map((f, i) => (opts.has(f) || (f === 'c' && opts.has('m')) ? i : -1)).filter((i) => i >= 0);
  const show = chosen.length > 0 ? chosen : [0, 1, 2];
  const single = show.length === 1 && rows.length === 1;
  const out = rows.map((r) => {
    const cols = show.map((i) => (single ? String(r.counts[i]) : String(r.counts[i]).padStart(7)));
    return `${single ? cols.join(' ') : cols.join(' ')}${r.name ? ` ${r.name}` : ''}\n`;
  });
  await ctx.stdout.write(out.join(''));
  return state.failed ? 1 : 0;
};

/** `-N` as `-n N` (head -5, tail -5). */
function legacyCount(args: string[]): string[] {
  return args.map((a, i) => {
    const prev = args[i - 1];
    if (prev === '-n' || prev === '-c') return a;
    return /^-\d+$/.test(a) ? `-n${a.slice(1)}` : /^\+\d+$/.test(a) ? `-n${a}` : a;
  });
}

export const head: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'n:c:qv', '[OPTIONS] [FILE]...', legacyCount(ctx.argv.slice(1)));
  if (!opts) return 1;
  const count = await parseCount(ctx, opts.value('n') ?? '10');
  if (count === null) return 1;
  const state = { failed: false };
  const many = opts.operands.length > 1;
  let first = true;
  for await (const input of inputs(ctx, opts.operands, state)) {
    if (many) await ctx.stdout.write(`${first ? '' : '\n'}==> ${input.name} <==\n`);
    first = false;
    if (opts.value('c') !== undefined) {
      let left = Number(opts.value('c'));
      for (let c = left > 0 ? await input.read() : null; c !== null; c = left > 0 ? await input.read() : null) {
        await ctx.stdout.write(c.subarray(0, left));
        left -= Math.min(left, c.length);
      }
      continue;
    }
    if (count < 0) {
      const all = [...(await collect(input))];
      const kept = all.slice(0, Math.max(0, all.length + count));
      await ctx.stdout.write(kept.map((l) => `${l.line}\n`).join(''));
      continue;
    }
    let n = 0;
    const w = lineWriter(ctx);
    if (count > 0) {
      for await (const { line, newline } of lines(input)) {
        await w.push(line + (newline ? '\n' : ''));
        if (++n >= count) break;
      }
    }
    await w.flush();
  }
  return state.failed ? 1 : 0;
};

async function collect(input: { read(): Promise<Buffer | null> }): Promise<{ line: string; newline: boolean }[]> {
  const out: { line: string; newline: boolean }[] = [];
  for await (const l of lines(input)) out.push(l);
  return out;
}

/** tail [-n N|+N] [-c N] [-f] [FILE]...; `-f` follows a file as it grows. */
export const tail: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'n:c:fFqsv:', '[OPTIONS] [FILE]...', legacyCount(ctx.argv.slice(1)));
  if (!opts) return 1;
  const spec = opts.value('n') ?? '10';
  const fromStart = spec.startsWith('+');
  const count = await parseCount(ctx, spec.replace(/^[+-]/, ''));
  if (count === null) return 1;
  const state = { failed: false };
  const many = opts.operands.length > 1;
  let first = true;
  for await (const input of inputs(ctx, opts.operands, state)) {
    if (many) await ctx.stdout.write(`${first ? '' : '\n'}==> ${input.name} <==\n`);
    first = false;
    const text = await readText(input);
    if (opts.value('c') !== undefined) {
      const bytes = Buffer.from(text);
      await ctx.stdout.write(bytes.subarray(Math.max(0, bytes.length - Number(opts.value('c')))));
      continue;
    }
    const all = text.split('\n');
    const trailing = all[all.length - 1] === '';
    if (trailing) all.pop();
    const kept = fromStart ? all.slice(Math.max(0, count - 1)) : count === 0 ? [] : all.slice(-count);
    if (kept.length > 0) await ctx.stdout.write(kept.join('\n') + (trailing ? '\n' : ''));
  }
  if ((opts.has('f') || opts.has('F')) && opts.operands.length > 0) return follow(ctx, opts.operands);
  return state.failed ? 1 : 0;
};

/** Polls the files every half second of the process's time and prints what was appended. */
async function follow(ctx: AppletContext, names: string[]): Promise<number> {
  const sizes = new Map<string, number>();
  for (const n of names) sizes.set(n, (await statOrNull(ctx.fs, absPath(ctx.cwd, n)))?.size ?? 0);
  for (;;) {
    await ctx.proc.sleep(500);
    for (const n of names) {
      const path = absPath(ctx.cwd, n);
      const st = await statOrNull(ctx.fs, path);
      const before = sizes.get(n) ?? 0;
      if (!st || st.size === before) continue;
      const data = await ctx.fs.readFile(path).catch(() => Buffer.alloc(0));
      sizes.set(n, data.length);
      await ctx.stdout.write(data.length < before ? data : data.subarray(before));
    }
  }
}

/** grep [-vicqlnhHsoxwErFe PATTERN] PATTERN [FILE]... */
export const grep: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'vicqlLnhHsoxwErRFe:f:A:B:C:m:', '[-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...');
  if (!opts) return 1;
  const operands = [...opts.operands];
  const patterns = opts.values.get('e') ?? [];
  if (patterns.length === 0) {
    const p = operands.shift();
    if (p === undefined) return usageError(ctx, 'missing pattern', '[-HhnlLoqvsrRiwFE] PATTERN [FILE]...');
    patterns.push(...p.split('\n'));
  }
  const extended = opts.has('E') || ctx.name === 'egrep';
  const sources = patterns.map((p) => (opts.has('F') ? p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : extended ? p : basicToJs(p)));
  let body = sources.map((s) => `(?:${s})`).join('|');
  if (opts.has('w')) body = `(?<![A-Za-z0-9_])(?:${body})(?![A-Za-z0-9_])`;
  if (opts.has('x')) body = `^(?:${body})$`;
  let re: RegExp;
  try {
    re = new RegExp(body, opts.has('i') ? 'gi' : 'g');
  } catch {
    await ctx.error(`bad regex '${patterns.join('\n')}'`);
    return 2;
  }
  const recursive = opts.has('r') || opts.has('R');
  const files = recursive ? await expandRecursive(ctx, operands.length > 0 ? operands : ['.']) : operands;
  const showName = !opts.has('h') && (opts.has('H') || files.length > 1 || recursive);
  const max = opts.value('m') !== undefined ? Number(opts.value('m')) : Infinity;
  const state = { failed: false };
  let matched = false;
  const w = lineWriter(ctx);
  for await (const input of inputs(ctx, files, state)) {
    let count = 0;
    let n = 0;
    const prefix = showName ? `${input.name === '-' ? '(standard input)' : input.name}:` : '';
    for await (const { line } of lines(input)) {
      n++;
      re.lastIndex = 0;
      const hit = re.test(line) !== opts.has('v');
      if (!hit) continue;
      matched = true;
      count++;
      if (opts.has('q')) return 0;
      if (opts.has('l') || opts.has('c') || opts.has('L')) {
        if (count >= max) break;
        continue;
      }
      const lineNo = opts.has('n') ? `${n}:` : '';
      if (opts.has('o') && !opts.has('v')) {
        re.lastIndex = 0;
        for (const m of line.matchAll(re)) if (m[0]) await w.push(`${prefix}${lineNo}${m[0]}\n`);
      } else await w.push(`${prefix}${lineNo}${line}\n`);
      if (input.name === '-' && !recursive) await w.flush();
      if (count >= max) break;
    }
    if (opts.has('c')) await w.push(`${prefix}${count}\n`);
    if (opts.has('l') && count > 0) await w.push(`${input.name === '-' ? '(standard input)' : input.name}\n`);
    if (opts.has('L') && count === 0) await w.push(`${input.name}\n`);
  }
  await w.flush();
  if (state.failed && !opts.has('s')) return 2;
  return matched ? 0 : state.failed ? 2 : 1;
};

async function expandRecursive(ctx: AppletContext, roots: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (name: string): Promise<void> => {
    const st = await statOrNull(ctx.fs, absPath(ctx.cwd, name));
    if (!st) {
      out.push(name);
      return;
    }
    if (!st.isDirectory()) {
      out.push(name);
      return;
    }
    for (const child of (await ctx.fs.readdir(absPath(ctx.cwd, name))).sort()) await walk(name === '.' ? child : `${name.replace(/\/$/, '')}/${child}`);
  };
  for (const r of roots) await walk(r);
  return out;
}

export const sort: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'nrufbdgszk:t:o:', '[-nrugMcszbdfiokt] [-o FILE] [-k START[.OFS][OPTS][,END[.OFS][OPTS]] [-t CHAR] [FILE]...');
  if (!opts) return 1;
  const state = { failed: false };
  const all: string[] = [];
  for await (const input of inputs(ctx, opts.operands, state)) for await (const { line } of lines(input)) all.push(line);
  const sep = opts.value('t');
  const key = opts.value('k');
  const field = (line: string): string => {
    if (!key) return line;
    const [start, end] = key.split(',').map((k) => Number.parseInt(k, 10));
    const fields = sep !== undefined ? line.split(sep) : line.trim().split(/\s+/);
    return fields.slice((start ?? 1) - 1, end ?? undefined).join(sep ?? ' ');
  };
  const numeric = opts.has('n') || opts.has('g') || /n/.test(key ?? '');
  const cmp = (a: string, b: string): number => {
    const ka = field(a);
    const kb = field(b);
    if (numeric) {
      const d = (parseFloat(ka) || 0) - (parseFloat(kb) || 0);
      if (d !== 0) return d;
      return a < b ? -1 : a > b ? 1 : 0;
    }
    const x = opts.has('f') ? ka.toLowerCase() : ka;
    const y = opts.has('f') ? kb.toLowerCase() : kb;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  all.sort(cmp);
  if (opts.has('r')) all.reverse();
  const out = opts.has('u') ? all.filter((l, i) => i === 0 || cmp(all[i - 1]!, l) !== 0) : all;
  const text = out.map((l) => `${l}\n`).join('');
  const o = opts.value('o');
  if (o !== undefined) {
    try {
      const sink = await openWrite(ctx.fs, absPath(ctx.cwd, o), false);
      await sink.write(Buffer.from(text));
      await sink.close();
    } catch (err) {
      return ctx.fsError(o, err);
    }
  } else await ctx.stdout.write(text);
  return state.failed ? 1 : 0;
};

export const uniq: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'cdui', '[-cdui] [INPUT [OUTPUT]]');
  if (!opts) return 1;
  const state = { failed: false };
  const w = lineWriter(ctx);
  let prev: string | null = null;
  let count = 0;
  const emit = async (): Promise<void> => {
    if (prev === null) return;
    if (opts.has('d') && count < 2) return;
    if (opts.has('u') && count > 1) return;
    await w.push(opts.has('c') ? `${String(count).padStart(7)} ${prev}\n` : `${prev}\n`);
  };
  for await (const input of inputs(ctx, opts.operands.slice(0, 1), state)) {
    for await (const { line } of lines(input)) {
      const same = prev !== null && (opts.has('i') ? prev.toLowerCase() === line.toLowerCase() : prev === line);
      if (same) count++;
      else {
        await emit();
        prev = line;
        count = 1;
      }
    }
  }
  await emit();
  await w.flush();
  return state.failed ? 1 : 0;
};

/** A cut list (`1,3-5,7-`) as a membership test on 1-based positions. */
function parseList(spec: string): ((n: number) => boolean) | null {
  const ranges: [number, number][] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d*)(-?)(\d*)$/.exec(part);
    if (!m || (m[1] === '' && m[3] === '')) return null;
    const from = m[1] ? Number(m[1]) : 1;
    const to = m[2] ? (m[3] ? Number(m[3]) : Infinity) : from;
    ranges.push([from, to]);
  }
  return (n) => ranges.some(([a, b]) => n >= a && n <= b);
}

export const cut: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'd:f:c:b:sn', '[OPTIONS] [FILE]...');
  if (!opts) return 1;
  const spec = opts.value('f') ?? opts.value('c') ?? opts.value('b');
  if (spec === undefined) {
    await ctx.error('expected a list of bytes, characters, or fields');
    return 1;
  }
  const pick = parseList(spec);
  if (!pick) {
    await ctx.error(`invalid byte or field list '${spec}'`);
    return 1;
  }
  const delim = opts.value('d') ?? '\t';
  const state = { failed: false };
  const w = lineWriter(ctx);
  for await (const input of inputs(ctx, opts.operands, state)) {
    for await (const { line } of lines(input)) {
      if (opts.value('f') !== undefined) {
        if (!line.includes(delim)) {
          if (!opts.has('s')) await w.push(`${line}\n`);
          continue;
        }
        await w.push(`${line.split(delim).filter((_, i) => pick(i + 1)).join(delim)}\n`);
      } else await w.push(`${[...line].filter((_, i) => pick(i + 1)).join('')}\n`);
    }
  }
  await w.flush();
  return state.failed ? 1 : 0;
};

/** Expands a tr set: ranges, classes and escapes. */
function trSet(spec: string): string[] {
  const classes: Record<string, string> = {
    upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    lower: 'abcdefghijklmnopqrstuvwxyz',
    digit: '0123456789',
    space: ' \t\n\r\f\v',
    blank: ' \t',
    alpha: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    alnum: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    punct: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  };
  const chars: string[] = [];
  const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', f: '\f', v: '\v' };
  const src = spec.replace(/\[:(\w+):\]/g, (m, c: string) => (classes[c] !== undefined ? `\u0000${c}\u0000` : m));
  const tokens: string[] = [];
  for (let i = 0; i < src.length; i++) {
    if (src[i] === '\u0000') {
      const end = src.indexOf('\u0000', i + 1);
      tokens.push(...classes[src.slice(i + 1, end)]!);
      i = end;
    } else if (src[i] === '\\' && i + 1 < src.length) {
      const n = src[++i]!;
      if (/[0-7]/.test(n)) {
        const m = /^[0-7]{1,3}/.exec(src.slice(i))![0];
        tokens.push(String.fromCharCode(parseInt(m, 8)));
        i += m.length - 1;
      } else tokens.push(esc[n] ?? n);
    } else tokens.push(src[i]!);
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i + 1] === '-' && tokens[i + 2] !== undefined) {
      const a = tokens[i]!.charCodeAt(0);
      const b = tokens[i + 2]!.charCodeAt(0);
      for (let c = a; c <= b; c++) chars.push(String.fromCharCode(c));
      i += 2;
    } else chars.push(tokens[i]!);
  }
  return chars;
}

export const tr: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'dscC', '[-cds] STRING1 [STRING2]');
  if (!opts) return 1;
  const [s1, s2] = opts.operands;
  if (s1 === undefined || (!opts.has('d') && !opts.has('s') && s2 === undefined)) return usageError(ctx, 'missing operand', '[-cds] STRING1 [STRING2]');
  const set1 = trSet(s1);
  const set2 = s2 !== undefined ? trSet(s2) : [];
  const map = new Map<string, string>();
  if (!opts.has('d') && set2.length > 0) set1.forEach((c, i) => map.set(c, set2[Math.min(i, set2.length - 1)]!));
  const del = new Set(opts.has('d') ? set1 : []);
  const squeeze = new Set(opts.has('s') ? (set2.length > 0 && !opts.has('d') ? set2 : opts.has('d') ? set2 : set1) : []);
  let last = '';
  for (let c = await ctx.stdin.read(); c !== null; c = await ctx.stdin.read()) {
    let out = '';
    for (const ch of c.toString('latin1')) {
      if (del.has(ch)) continue;
      const t = map.get(ch) ?? ch;
      if (squeeze.has(t) && t === last) continue;
      out += t;
      last = t;
    }
    await ctx.stdout.write(Buffer.from(out, 'latin1'));
  }
  return 0;
};

export const tee: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'ai', '[-ai] [FILE]...');
  if (!opts) return 1;
  let status = 0;
  const sinks = [];
  for (const f of opts.operands) {
    try {
      sinks.push(await openWrite(ctx.fs, absPath(ctx.cwd, f), opts.has('a')));
    } catch (err) {
      await ctx.error(`${f}: ${errnoText(err)}`);
      status = 1;
    }
  }
  for (let c = await ctx.stdin.read(); c !== null; c = await ctx.stdin.read()) {
    for (const s of sinks) await s.write(c);
    await ctx.stdout.write(c);
  }
  for (const s of sinks) await s.close();
  return status;
};

interface SedCommand {
  address: ((line: string, n: number, last: boolean) => boolean) | null;
  cmd: 's' | 'd' | 'p' | 'q';
  re?: RegExp;
  replacement?: string;
  global?: boolean;
  print?: boolean;
  nth?: number;
}

/** Splits a sed script at newlines and `;`, except inside regexes and s/// parts. */
function splitSedScript(script: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (c === '\n' || c === ';') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    if (c === '/' && cur.trim() === '') {
      const end = script.indexOf('/', i + 1);
      const stop = end < 0 ? script.length : end + 1;
      cur += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === 's' && /^\s*(\d+|\$|\/[^/]*\/)?\s*$/.test(cur) && script[i + 1]) {
      const d = script[i + 1]!;
      let seen = 0;
      let j = i + 2;
      for (; j < script.length && seen < 2; j++) {
        if (script[j] === '\\') j++;
        else if (script[j] === d) seen++;
      }
      while (j < script.length && /[gpiI0-9]/.test(script[j]!)) j++;
      cur += script.slice(i, j);
      i = j;
      continue;
    }
    cur += c;
    i++;
  }
  out.push(cur);
  return out;
}

function parseSed(script: string, extended: boolean): SedCommand[] | string {
  const out: SedCommand[] = [];
  for (const raw of splitSedScript(script)) {
    let s = raw.trim();
    if (!s) continue;
    let address: SedCommand['address'] = null;
    const num = /^(\d+|\$)/.exec(s);
    if (num) {
      const v = num[1]!;
      address = v === '$' ? (_l, _n, last) => last : (_l, n) => n === Number(v);
      s = s.slice(v.length);
    } else if (s.startsWith('/')) {
      const end = s.indexOf('/', 1);
      if (end < 0) return 'unterminated address regex';
      const re = new RegExp(extended ? s.slice(1, end) : basicToJs(s.slice(1, end)));
      address = (l) => re.test(l);
      s = s.slice(end + 1);
    }
    s = s.trim();
    const c = s[0];
    if (c === 'd' || c === 'p' || c === 'q') out.push({ address, cmd: c });
    else if (c === 's') {
      const d = s[1];
      if (!d) return 'unterminated `s\' command';
      const parts: string[] = [];
      let cur = '';
      for (let i = 2; i < s.length; i++) {
        if (s[i] === '\\' && s[i + 1] === d) {
          cur += d;
          i++;
        } else if (s[i] === d) {
          parts.push(cur);
          cur = '';
        } else cur += s[i];
      }
      parts.push(cur);
      if (parts.length < 3) return "unterminated `s' command";
      const [pat, rep, flags = ''] = parts;
      const nth = /\d+/.exec(flags)?.[0];
      out.push({
        address,
        cmd: 's',
        re: new RegExp(extended ? pat! : basicToJs(pat!), `g${flags.includes('I') || flags.includes('i') ? 'i' : ''}`),
        replacement: rep!,
        global: flags.includes('g'),
        print: flags.includes('p'),
        nth: nth ? Number(nth) : undefined,
      });
    } else return `unsupported command ${c ?? ''}`;
  }
  return out;
}

function sedReplace(replacement: string, m: RegExpExecArray | string[]): string {
  return replacement.replace(/\\(\d)|\\n|\\&|&|\\(.)/g, (tok, d: string | undefined, other: string | undefined) => {
    if (d !== undefined) return m[Number(d)] ?? '';
    if (tok === '\\n') return '\n';
    if (tok === '\\&') return '&';
    if (tok === '&') return m[0] ?? '';
    return other ?? '';
  });
}

/** sed [-n] [-E] [-i] [-e SCRIPT]... SCRIPT [FILE]...: s///, d, p and q with line or regex addresses. */
export const sed: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'nrEie:f:', '[-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...');
  if (!opts) return 1;
  const operands = [...opts.operands];
  const script = opts.values.get('e')?.join('\n') ?? operands.shift();
  if (script === undefined) return usageError(ctx, 'missing script', '[-i[SFX]] [-nrE] [-e CMD]... [FILE]...');
  const commands = parseSed(script, opts.has('E') || opts.has('r'));
  if (typeof commands === 'string') {
    await ctx.error(`-e expression #1, char 0: ${commands}`);
    return 1;
  }
  const run = async (input: { read(): Promise<Buffer | null> }, emit: (s: string) => Promise<void>): Promise<boolean> => {
    const all: { line: string; newline: boolean }[] = [];
    for await (const l of lines(input)) all.push(l);
    for (const [i, entry] of all.entries()) {
      let line = entry.line;
      let deleted = false;
      let quit = false;
      for (const c of commands) {
        if (c.address && !c.address(line, i + 1, i === all.length - 1)) continue;
        if (c.cmd === 'd') {
          deleted = true;
          break;
        }
        if (c.cmd === 'p') await emit(`${line}\n`);
        if (c.cmd === 'q') {
          quit = true;
          break;
        }
        if (c.cmd === 's') {
          let k = 0;
          let done = false;
          const replaced = line.replace(c.re!, (...args) => {
            k++;
            const groups = args.slice(0, -2).filter((a) => typeof a === 'string' || a === undefined) as string[];
            if (done || (c.nth !== undefined ? k !== c.nth : !c.global && k > 1)) return groups[0]!;
            if (!c.global) done = c.nth === undefined || k === c.nth;
            return sedReplace(c.replacement!, groups);
          });
          if (replaced !== line || k > 0) {
            line = replaced;
            if (c.print) await emit(`${line}\n`);
          }
        }
      }
      if (!deleted && !opts.has('n')) await emit(line + (entry.newline ? '\n' : ''));
      if (quit) return true;
    }
    return false;
  };
  const state = { failed: false };
  if (opts.has('i')) {
    for (const f of operands) {
      const path = absPath(ctx.cwd, f);
      try {
        const content = await ctx.fs.readFile(path);
        let out = '';
        let given = false;
        await run({ read: async () => (given ? null : ((given = true), content)) }, async (s) => void (out += s));
        const st = await ctx.fs.stat(path);
        await ctx.fs.writeFileAtomic(path, out, st.mode & 0o7777);
      } catch (err) {
        state.failed = true;
        await ctx.error(`${f}: ${errnoText(err)}`);
      }
    }
    return state.failed ? 1 : 0;
  }
  const w = lineWriter(ctx);
  for await (const input of inputs(ctx, operands, state)) if (await run(input, (s) => w.push(s))) break;
  await w.flush();
  return state.failed ? 1 : 0;
};

/** xargs [-n N] [-I STR] [-0] [-t] [-r] [COMMAND [ARG]...] (echo by default). */
export const xargs: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'n:I:0trxs:P:d:', '[OPTIONS] [PROG ARGS]');
  if (!opts) return 1;
  const command = opts.operands.length > 0 ? opts.operands : ['echo'];
  const text = (await ctx.stdin.readAll()).toString();
  const delim = opts.value('d');
  const items = opts.has('0') ? text.split('\0').filter(Boolean) : delim !== undefined ? text.split(delim).filter(Boolean) : opts.has('I') ? text.split('\n').filter(Boolean) : splitXargs(text);
  const replace = opts.value('I');
  const per = replace !== undefined ? 1 : opts.value('n') !== undefined ? Math.max(1, Number(opts.value('n'))) : Infinity;
  if (items.length === 0 && (opts.has('r') || replace !== undefined)) return 0;
  const batches: string[][] = [];
  if (items.length === 0) batches.push([]);
  for (let i = 0; i < items.length; i += per === Infinity ? items.length : per) batches.push(items.slice(i, i + (per === Infinity ? items.length : per)));
  let status = 0;
  for (const batch of batches) {
    const argv = replace !== undefined ? command.map((a) => a.split(replace).join(batch[0] ?? '')) : [...command, ...batch];
    if (opts.has('t')) await ctx.stderr.write(`${argv.join(' ')}\n`);
    const code = await ctx.run(argv, ctx.stdio);
    if (code === 255) return 124;
    if (code === 126 || code === 127) return code;
    if (code !== 0) status = 123;
  }
  return status;
};

/** xargs's default splitting: blanks and newlines, with quotes and backslashes. */
function splitXargs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (has || cur) out.push(cur);
  return out;
}
