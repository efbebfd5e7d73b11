/**
 * The `changes` of `docker import --change` and `docker commit --change`: Dockerfile
 * instructions applied to a container config (dockerd's dockerfile.BuildFromConfig).
 *
 * Accepted: CMD, ENTRYPOINT (exec form `["a","b"]` or shell form, run by `/bin/sh -c`), ENV and
 * LABEL (`k=v ...` with quotes, or the legacy `k v`), EXPOSE (`80`, `53/udp`, `8000-8002/tcp`),
 * USER, WORKDIR (relative to the previous one), VOLUME (JSON list or words), STOPSIGNAL,
 * HEALTHCHECK (`NONE`, or `[--interval= --timeout= --start-period= --retries=] CMD ...`) and
 * ONBUILD. `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` expand from the ENV set so far
 * (not in CMD, ENTRYPOINT and HEALTHCHECK, which the container's shell expands). Anything else
 * is refused as dockerd does: "<instr> is not a valid change command".
 */
import { posix } from 'node:path';
import { InvalidParameterError } from '../../errors';
import type { ContainerConfigJson } from '../image-config';

const bad = (m: string) => new InvalidParameterError(m);

/** Apply `changes` to a copy of `base` and return it. */
export function applyChanges(changes: string[], base: ContainerConfigJson = {}): ContainerConfigJson {
  const cfg: ContainerConfigJson = structuredClone(base);
  let cmdSet = false;
  for (const line of instructionLines(changes)) {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1]!.toLowerCase();
    const rest = m[2]!.trim();
    const env = () => envMap(cfg.Env ?? []);
    switch (instr) {
      case 'cmd':
        cfg.Cmd = commandForm(rest);
        cmdSet = true;
        break;
      case 'entrypoint':
        cfg.Entrypoint = commandForm(rest);
        if (!cmdSet) cfg.Cmd = null;
        break;
      case 'env':
        for (const [k, v] of nameValues(rest, 'ENV', env())) cfg.Env = [...(cfg.Env ?? []).filter((e) => e.split('=')[0] !== k), `${k}=${v}`];
        break;
      case 'label':
        for (const [k, v] of nameValues(rest, 'LABEL', env())) cfg.Labels = { ...(cfg.Labels ?? {}), [k]: v };
        break;
      case 'expose': {
        const words = shellWords(rest, env());
        if (words.length === 0) throw bad('EXPOSE requires at least one argument');
        for (const w of words) for (const p of exposedPorts(w)) cfg.ExposedPorts = { ...(cfg.ExposedPorts ?? {}), [p]: {} };
        break;
      }
      case 'user':
        cfg.User = oneWord(rest, 'USER', env());
        break;
      case 'workdir': {
        const dir = oneWord(rest, 'WORKDIR', env());
        cfg.WorkingDir = posix.normalize(dir.startsWith('/') ? dir : posix.join(cfg.WorkingDir || '/', dir));
        break;
      }
      case 'volume': {
        const vols = jsonList(rest) ?? shellWords(rest, env());
        if (vols.length === 0) throw bad('VOLUME requires at least one argument');
        for (const v of vols) {
          if (v.trim() === '') throw bad('VOLUME specified can not be an empty string');
          cfg.Volumes = { ...(cfg.Volumes ?? {}), [v.trim()]: {} };
        }
        break;
      }
      case 'stopsignal':
        cfg.StopSignal = stopSignal(oneWord(rest, 'STOPSIGNAL', env()));
        break;
      case 'healthcheck':
        cfg.Healthcheck = healthcheck(rest);
        break;
      case 'onbuild': {
        const trigger = (/^\S+/.exec(rest)?.[0] ?? '').toUpperCase();
        if (!trigger) throw bad('ONBUILD requires at least one argument');
        if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(trigger)) throw bad(`${trigger} isn't allowed as an ONBUILD trigger`);
        cfg.OnBuild = [...(cfg.OnBuild ?? []), rest];
        break;
      }
      default:
        throw bad(`${instr} is not a valid change command`);
    }
  }
  return cfg;
}

/** The instructions: one per line, `\` at a line's end continues it, blank lines and comments skipped. */
function instructionLines(changes: string[]): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of changes.join('\n').split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending.trim()) out.push(pending.trim());
  return out;
}

function envMap(env: string[]): Map<string, string> {
  return new Map(env.map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e.includes('=') ? e.slice(e.indexOf('=') + 1) : '']));
}

/** A JSON list of strings, or undefined when the text is not one (then it is the shell form). */
function jsonList(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

function commandForm(rest: string): string[] {
  return jsonList(rest) ?? ['/bin/sh', '-c', rest];
}

function oneWord(rest: string, instr: string, env: Map<string, string>): string {
  const w = expandWord(rest, env);
  if (w === '') throw bad(`${instr} requires exactly one argument`);
  return w;
}

/** `k=v k2="v 2"` pairs, or the legacy single `k v...` form. */
function nameValues(rest: string, instr: string, env: Map<string, string>): [string, string][] {
  if (rest === '') throw bad(`${instr} requires at least one argument`);
  const first = /^\S+/.exec(rest)![0];
  if (!first.includes('=')) {
    const value = rest.slice(first.length).trim();
    if (value === '' && instr === 'ENV') throw bad(`ENV must have two arguments`);
    return [[expandWord(first, env), expandWord(value, env)]];
  }
  return shellWords(rest, env).map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw bad(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) throw bad(`${instr} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function exposedPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/.exec(spec);
  if (!m) throw bad(`Invalid containerPort: ${spec}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw bad(`Invalid proto: ${m[3]}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || hi < lo) throw bad(`Invalid containerPort: ${spec}`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => `${lo + i}/${proto}`);
}

const SIGNALS = new Set(
  'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ'.split(' '),
);

function stopSignal(sig: string): string {
  const name = sig.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTM(IN|AX)([+-]\d+)?$/.test(name);
  if (/^\d+$/.test(sig) ? Number(sig) >= 1 && Number(sig) <= 64 : SIGNALS.has(name) || rt) return sig;
  throw bad(`Invalid signal: ${sig}`);
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds. */
export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) throw bad(`time: invalid duration "${text}"`);
  return Math.round(total);
}

function healthcheck(rest: string): NonNullable<ContainerConfigJson['Healthcheck']> {
  const hc: NonNullable<ContainerConfigJson['Healthcheck']> = {};
  let text = rest;
  for (let m = /^--([a-z-]+)=(\S*)\s*/.exec(text); m; m = /^--([a-z-]+)=(\S*)\s*/.exec(text)) {
    const [all, flag, value] = m as unknown as [string, string, string];
    const duration = () => {
      const d = parseGoDuration(value);
      if (d !== 0 && d < 1e6) throw bad(`${flag} cannot be less than 1ms`);
      return d;
    };
    if (flag === 'interval') hc.Interval = duration();
    else if (flag === 'timeout') hc.Timeout = duration();
    else if (flag === 'start-period') hc.StartPeriod = duration();
    else if (flag === 'retries') {
      if (!/^\d+$/.test(value)) throw bad(`invalid retries value "${value}"`);
      hc.Retries = Number(value);
    } else throw bad(`Unknown flag: ${flag}`);
    text = text.slice(all.length);
  }
  const kind = (/^\S+/.exec(text)?.[0] ?? '').toUpperCase();
  const cmd = text.slice(kind.length).trim();
  if (kind === 'NONE') {
    if (cmd || text !== rest) throw bad('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD' || cmd === '') throw bad(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const exec = jsonList(cmd);
  hc.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', cmd];
  return hc;
}

/** Split into words on unquoted blanks; quotes removed, escapes and variables resolved. */
export function shellWords(text: string, env: Map<string, string>): string[] {
  return new ShellLexer(text, env).words();
}

/** One word: quotes removed, escapes and variables resolved, blanks kept. */
export function expandWord(text: string, env: Map<string, string>): string {
  return new ShellLexer(text, env).words(false).join('');
}

class ShellLexer {
  private i = 0;

  constructor(
    private readonly s: string,
    private readonly env: Map<string, string>,
  ) {}

  words(split = true): string[] {
    const out: string[] = [];
    let word = '';
    let inWord = false;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (split && /\s/.test(c)) {
        if (inWord) out.push(word);
        word = '';
        inWord = false;
        this.i++;
        continue;
      }
      inWord = true;
      if (c === "'") word += this.until("'");
      else if (c === '"') word += this.doubleQuoted();
      else if (c === '\\') {
        word += this.s[this.i + 1] ?? '';
        this.i += 2;
      } else if (c === '$') word += this.variable();
      else {
        word += c;
        this.i++;
      }
    }
    if (inWord) out.push(word);
    return out;
  }

  private until(quote: string): string {
    const end = this.s.indexOf(quote, this.i + 1);
    if (end < 0) throw bad(`unexpected end of statement while looking for matching ${quote}`);
    const text = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return text;
  }

  private doubleQuoted(): string {
    let out = '';
    this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '\\' && ['"', '\\', '$'].includes(this.s[this.i + 1] ?? '')) {
        out += this.s[this.i + 1];
        this.i += 2;
      } else if (c === '$') out += this.variable();
      else {
        out += c;
        this.i++;
      }
    }
    throw bad('unexpected end of statement while looking for matching "');
  }

  private variable(): string {
    const rest = this.s.slice(this.i + 1);
    const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (simple) {
      this.i += 1 + simple[0].length;
      return this.env.get(simple[0]) ?? '';
    }
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}/.exec(rest);
    if (braced) {
      this.i += 1 + braced[0].length;
      const value = this.env.get(braced[1]!) ?? '';
      if (braced[2] === ':-') return value === '' ? new ShellLexer(braced[3]!, this.env).words(false).join('') : value;
      if (braced[2] === ':+') return value === '' ? '' : new ShellLexer(braced[3]!, this.env).words(false).join('');
      return value;
    }
    this.i++;
    return '$';
  }
}
