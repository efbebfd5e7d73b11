import type { List, Word, WordPart } from './ast';
import { escapePattern, hasGlob, trimPattern, unescapePattern } from './pattern';

/** A failed expansion (`${x?}`, `set -u`, bad arithmetic): the shell prints it and fails. */
export class ExpansionError extends Error {}

/** What expansion needs from the shell. */
export interface ExpandHost {
  /** A variable or special parameter (`?`, `$`, `#`, `!`, `-`, `0`..`9`); undefined when unset. */
  getParam(name: string): string | undefined;
  positional(): string[];
  setVar(name: string, value: string): void;
  /** Runs a command substitution; resolves with its output. */
  substitute(body: List): Promise<string>;
  arithmetic(expr: string): string;
  /** Paths matching a pathname pattern (escaped literal parts), sorted; empty when none. */
  glob(pattern: string): Promise<string[]>;
  readonly nounset: boolean;
  readonly noglob: boolean;
}

interface Frag {
  text: string;
  /** Quoted text is neither split nor globbed. */
  quoted: boolean;
}

const IFS_WHITE = new Set([' ', '\t', '\n']);

/** Collects fields from fragments, splitting unquoted expansion results on IFS. */
class FieldBuilder {
  readonly fields: Frag[][] = [];
  private current: Frag[] | null = null;
  private splitByWhite = false;

  constructor(private readonly ifs: string) {}

  add(text: string, quoted: boolean): void {
    (this.current ??= []).push({ text, quoted });
    this.splitByWhite = false;
  }

  /** Adds an unquoted expansion result, splitting it into fields on IFS. */
  addSplit(value: string): void {
    let buf = '';
    const flushBuf = (): void => {
      if (buf) this.add(buf, false);
      buf = '';
    };
    for (const ch of value) {
      if (!this.ifs.includes(ch)) {
        buf += ch;
        continue;
      }
      flushBuf();
      if (IFS_WHITE.has(ch)) {
        if (this.current) {
          this.fields.push(this.current);
          this.current = null;
          this.splitByWhite = true;
        }
      } else {
        if (!this.splitByWhite) this.fields.push(this.current ?? [{ text: '', quoted: true }]);
        this.current = null;
        this.splitByWhite = false;
      }
    }
    flushBuf();
  }

  /** Ends the current field (between the words of "$@"). */
  breakField(): void {
    this.fields.push(this.current ?? []);
    this.current = [];
  }

  /** Ends the current field if one has started (between unquoted positional parameters). */
  endField(): void {
    if (this.current) this.fields.push(this.current);
    this.current = null;
  }

  finish(): Frag[][] {
    if (this.current) this.fields.push(this.current);
    this.current = null;
    return this.fields;
  }
}

function tildeExpand(parts: WordPart[], host: ExpandHost): WordPart[] {
  const first = parts[0];
  if (!first || first.type !== 'lit' || first.quoted || !first.text.startsWith('~')) return parts;
  const slash = first.text.indexOf('/');
  const prefix = slash < 0 ? first.text : first.text.slice(0, slash);
  if (prefix !== '~' || (slash < 0 && parts.length > 1 && parts[1]?.type !== 'lit')) return parts;
  const home = host.getParam('HOME') ?? '/';
  return [{ type: 'lit', text: home, quoted: true }, { type: 'lit', text: first.text.slice(prefix.length), quoted: false }, ...parts.slice(1)];
}

async function paramValue(part: Extract<WordPart, { type: 'param' }>, host: ExpandHost): Promise<string> {
  const value = host.getParam(part.name);
  if (part.length) return String((value ?? '').length);
  const op = part.op;
  const arg = async (): Promise<string> => (part.arg ? expandString(part.arg, host) : '');
  if (!op) {
    if (value === undefined && host.nounset && !['@', '*'].includes(part.name)) throw new ExpansionError(`${part.name}: parameter not set`);
    return value ?? '';
  }
  const colon = op.startsWith(':');
  const present = value !== undefined && (!colon || value !== '');
  switch (op) {
    case ':-':
    case '-':
      return present ? value! : arg();
    case ':=':
    case '=': {
      if (present) return value!;
      const v = await arg();
      host.setVar(part.name, v);
      return v;
    }
    case ':+':
    case '+':
      return present ? arg() : '';
    case ':?':
    case '?': {
      if (present) return value!;
      const message = await arg();
      throw new ExpansionError(`${part.name}: ${message || 'parameter not set'}`);
    }
    default:
      return trimPattern(value ?? '', part.arg ? await expandPattern(part.arg, host) : '', op);
  }
}

/** Expands the parts of a word into fields (not yet globbed). */
async function expandFields(word: Word, host: ExpandHost, split: boolean): Promise<Frag[][]> {
  const ifs = split ? host.getParam('IFS') ?? ' \t\n' : '';
  const builder = new FieldBuilder(ifs);
  for (const part of tildeExpand(word.parts, host)) {
    switch (part.type) {
      case 'lit':
        builder.add(part.text, part.quoted || !split);
        break;
      case 'param': {
        if ((part.name === '@' || part.name === '*') && !part.op && !part.length) {
          const params = host.positional();
          if (part.quoted && part.name === '@') {
            params.forEach((p, i) => {
              if (i > 0) builder.breakField();
              builder.add(p, true);
            });
          } else if (part.quoted || !split) builder.add(params.join(part.name === '*' ? (host.getParam('IFS') ?? ' ').slice(0, 1) : ' '), true);
          else
            params.forEach((p, i) => {
              if (i > 0) builder.endField();
              builder.addSplit(p);
            });
          break;
        }
        const value = await paramValue(part, host);
        if (part.quoted || !split) builder.add(value, true);
        else builder.addSplit(value);
        break;
      }
      case 'cmdsub': {
        const out = (await host.substitute(part.body)).replace(/\n+$/, '');
        if (part.quoted || !split) builder.add(out, true);
        else builder.addSplit(out);
        break;
      }
      case 'arith': {
        const value = host.arithmetic(await expandString(part.expr, host));
        if (part.quoted || !split) builder.add(value, true);
        else builder.addSplit(value);
        break;
      }
    }
  }
  return builder.finish();
}

/** Full expansion of command words: fields, splitting and pathname expansion. */
export async function expandWords(words: Word[], host: ExpandHost): Promise<string[]> {
  const out: string[] = [];
  for (const word of words) {
    for (const field of await expandFields(word, host, true)) {
      const pattern = field.map((f) => (f.quoted ? escapePattern(f.text) : f.text)).join('');
      if (!host.noglob && field.some((f) => !f.quoted) && hasGlob(pattern)) {
        const matches = await host.glob(pattern);
        if (matches.length > 0) {
          out.push(...matches);
          continue;
        }
        out.push(unescapePattern(pattern));
        continue;
      }
      out.push(field.map((f) => f.text).join(''));
    }
  }
  return out;
}

/** Expansion without splitting or globbing (assignments, redirect targets, here-docs). */
export async function expandString(word: Word, host: ExpandHost): Promise<string> {
  const fields = await expandFields(word, host, false);
  return fields.map((f) => f.map((x) => x.text).join('')).join(' ');
}

/** Expansion into a pattern: quoted parts match literally (case, `${x#pat}`). */
export async function expandPattern(word: Word, host: ExpandHost): Promise<string> {
  const parts: string[] = [];
  for (const part of tildeExpand(word.parts, host)) {
    if (part.type === 'lit') parts.push(part.quoted ? escapePattern(part.text) : part.text);
    else {
      const text = await expandString({ parts: [part], raw: '' }, host);
      parts.push(part.quoted ? escapePattern(text) : text);
    }
  }
  return parts.join('');
}
