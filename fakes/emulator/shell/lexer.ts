import type { List, ParamOp, Redirect, Word, WordPart } from './ast';

/** A syntax error: the shell prints `sh: syntax error: <message>` and exits 2. */
export class ShellSyntaxError extends Error {
  constructor(message: string) {
    super(message);
  }
}

export type Token =
  | { kind: 'word'; word: Word }
  | { kind: 'op'; op: string; fd?: number }
  | { kind: 'newline' }
  | { kind: 'eof' };

/** Operators, longest first so `&&` wins over `&`. */
const OPERATORS = ['&>>', '<<-', '&&', '||', ';;', '<<', '>>', '>&', '<&', '<>', '>|', '&>', '|', '&', ';', '<', '>', '(', ')'];
const REDIRECT_OPS = new Set(['<', '>', '>>', '>|', '<>', '>&', '<&', '&>', '&>>', '<<', '<<-']);
const META = new Set(['|', '&', ';', '<', '>', '(', ')', ' ', '\t', '\n']);
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '$', '!', '-', '0']);
const PARAM_OPS: ParamOp[] = [':-', ':=', ':+', ':?', '##', '%%', '-', '=', '+', '?', '#', '%'];

export function isRedirectOp(op: string): boolean {
  return REDIRECT_OPS.has(op);
}

interface PendingHeredoc {
  delimiter: string;
  stripTabs: boolean;
  expand: boolean;
  redirect: Redirect;
}

/** Word-reading modes: where a word ends and which characters are special. */
type Mode = 'normal' | 'brace' | 'heredoc' | 'arith';

/**
 * Turns shell source into tokens. Words come out already split into parts (literals,
 * quoted text, parameter, command and arithmetic expansions); `$(...)` bodies are parsed
 * by the `parseSubstitution` hook (the parser) sharing this lexer's position.
 */
export class Lexer {
  pos = 0;
  line = 1;
  private pending: PendingHeredoc[] = [];

  constructor(
    readonly src: string,
    private readonly parseSubstitution: (lexer: Lexer) => List,
    private readonly parseString: (src: string) => List,
  ) {}

  /** Queues a here-document; its body is read after the next newline. */
  addHeredoc(delimiter: Word, stripTabs: boolean, redirect: Redirect): void {
    const quoted = delimiter.parts.some((p) => p.type === 'lit' && p.quoted);
    const text = delimiter.parts.map((p) => (p.type === 'lit' ? p.text : '')).join('');
    this.pending.push({ delimiter: text, stripTabs, expand: !quoted, redirect });
  }

  peekChar(offset = 0): string {
    return this.src[this.pos + offset] ?? '';
  }

  next(): Token {
    this.skipBlanks();
    const c = this.peekChar();
    if (c === '') {
      if (this.pending.length > 0) this.readHeredocs();
      return { kind: 'eof' };
    }
    if (c === '\n') {
      this.pos++;
      this.line++;
      this.readHeredocs();
      return { kind: 'newline' };
    }
    const op = OPERATORS.find((o) => this.src.startsWith(o, this.pos));
    if (op) {
      this.pos += op.length;
      return { kind: 'op', op };
    }
    const start = this.pos;
    const word = this.readWord('normal');
    const raw = this.src.slice(start, this.pos);
    if (/^\d+$/.test(raw) && (this.peekChar() === '<' || this.peekChar() === '>')) {
      const redir = OPERATORS.find((o) => REDIRECT_OPS.has(o) && this.src.startsWith(o, this.pos));
      if (redir) {
        this.pos += redir.length;
        return { kind: 'op', op: redir, fd: Number(raw) };
      }
    }
    return { kind: 'word', word };
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.peekChar();
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '\\' && this.peekChar(1) === '\n') {
        this.pos += 2;
        this.line++;
      } else if (c === '#') {
        while (this.pos < this.src.length && this.peekChar() !== '\n') this.pos++;
      } else return;
    }
  }

  /** Reads one word from the current position in `mode`. */
  readWord(mode: Mode): Word {
    const start = this.pos;
    const parts: WordPart[] = [];
    let lit = '';
    const flush = (): void => {
      if (lit) parts.push({ type: 'lit', text: lit, quoted: false });
      lit = '';
    };
    let parenDepth = 0;
    for (;;) {
      const c = this.peekChar();
      if (c === '') {
        if (mode === 'brace') throw new ShellSyntaxError('bad substitution');
        if (mode === 'arith') throw new ShellSyntaxError('unterminated arithmetic expansion');
        break;
      }
      if (mode === 'normal' && META.has(c)) break;
      if (mode === 'brace' && c === '}') break;
      if (mode === 'arith') {
        if (c === '(') parenDepth++;
        if (c === ')') {
          if (parenDepth === 0) break;
          parenDepth--;
        }
      }
      if (c === '\\') {
        const n = this.peekChar(1);
        if (n === '\n') {
          this.pos += 2;
          this.line++;
          continue;
        }
        if (mode === 'heredoc' || mode === 'arith') {
          if (n === '$' || n === '`' || n === '\\') {
            lit += n;
            this.pos += 2;
          } else {
            lit += c;
            this.pos++;
          }
          continue;
        }
        flush();
        this.pos += 2;
        if (n !== '') parts.push({ type: 'lit', text: n, quoted: true });
        continue;
      }
      if (c === "'" && (mode === 'normal' || mode === 'brace')) {
        flush();
        const end = this.src.indexOf("'", this.pos + 1);
        if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
        const text = this.src.slice(this.pos + 1, end);
        this.countLines(text);
        parts.push({ type: 'lit', text, quoted: true });
        this.pos = end + 1;
        continue;
      }
      if (c === '"' && (mode === 'normal' || mode === 'brace')) {
        flush();
        this.pos++;
        parts.push(...this.readDoubleQuoted());
        continue;
      }
      if (c === '$') {
        const part = this.readDollar(mode === 'heredoc');
        if (part) {
          flush();
          parts.push(part);
          continue;
        }
      }
      if (c === '`') {
        flush();
        parts.push(this.readBackticks(mode === 'heredoc'));
        continue;
      }
      if (c === '\n') this.line++;
      lit += c;
      this.pos++;
    }
    flush();
    return { parts, raw: this.src.slice(start, this.pos) };
  }

  private countLines(text: string): void {
    for (const ch of text) if (ch === '\n') this.line++;
  }

  /** After an opening `"`: the parts up to the closing one, all quoted. */
  private readDoubleQuoted(): WordPart[] {
    const parts: WordPart[] = [];
    let lit = '';
    const flush = (): void => {
      parts.push({ type: 'lit', text: lit, quoted: true });
      lit = '';
    };
    for (;;) {
      const c = this.peekChar();
      if (c === '') throw new ShellSyntaxError('unterminated quoted string');
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const n = this.peekChar(1);
        if (n === '\n') {
          this.pos += 2;
          this.line++;
        } else if (n === '$' || n === '`' || n === '"' || n === '\\') {
          lit += n;
          this.pos += 2;
        } else {
          lit += c;
          this.pos++;
        }
        continue;
      }
      if (c === '$') {
        const part = this.readDollar(true);
        if (part) {
          if (lit) flush();
          parts.push(part);
          continue;
        }
      }
      if (c === '`') {
        if (lit) flush();
        parts.push(this.readBackticks(true));
        continue;
      }
      if (c === '\n') this.line++;
      lit += c;
      this.pos++;
    }
    if (lit || parts.length === 0) flush();
    return parts;
  }

  /** At a `$`: the expansion it starts, or null when it is a literal `$`. */
  private readDollar(quoted: boolean): WordPart | null {
    const n = this.peekChar(1);
    if (n === '(' && this.peekChar(2) === '(') {
      this.pos += 3;
      const expr = this.readWord('arith');
      if (!this.src.startsWith('))', this.pos)) throw new ShellSyntaxError('unterminated arithmetic expansion');
      this.pos += 2;
      return { type: 'arith', expr, quoted };
    }
    if (n === '(') {
      this.pos += 2;
      const body = this.parseSubstitution(this);
      return { type: 'cmdsub', body, quoted };
    }
    if (n === '{') {
      this.pos += 2;
      return this.readBraceParam(quoted);
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos + 1))?.[0];
    if (name) {
      this.pos += 1 + name.length;
      return { type: 'param', name, quoted };
    }
    if (/[0-9]/.test(n) || SPECIAL_PARAMS.has(n)) {
      this.pos += 2;
      return { type: 'param', name: n, quoted };
    }
    return null;
  }

  /** After `${`: `name}`, `#name}`, `name OP word}`. */
  private readBraceParam(quoted: boolean): WordPart {
    let length = false;
    if (this.peekChar() === '#' && this.peekChar(1) !== '}') {
      length = true;
      this.pos++;
    }
    const rest = this.src.slice(this.pos);
    const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!\-])/.exec(rest)?.[0];
    if (!name) throw new ShellSyntaxError('bad substitution');
    this.pos += name.length;
    if (this.peekChar() === '}') {
      this.pos++;
      return { type: 'param', name, length, quoted };
    }
    if (length) throw new ShellSyntaxError('bad substitution');
    const op = PARAM_OPS.find((o) => this.src.startsWith(o, this.pos));
    if (!op) throw new ShellSyntaxError('bad substitution');
    this.pos += op.length;
    const arg = this.readWord('brace');
    if (this.peekChar() !== '}') throw new ShellSyntaxError('bad substitution');
    this.pos++;
    return { type: 'param', name, op, arg, quoted };
  }

  /** At a backtick: the command substitution up to the closing one. */
  private readBackticks(quoted: boolean): WordPart {
    let body = '';
    this.pos++;
    for (;;) {
      const c = this.peekChar();
      if (c === '') throw new ShellSyntaxError('unterminated quoted string');
      this.pos++;
      if (c === '`') break;
      if (c === '\\' && ['`', '\\', '$'].includes(this.peekChar())) {
        body += this.peekChar();
        this.pos++;
        continue;
      }
      if (c === '\n') this.line++;
      body += c;
    }
    return { type: 'cmdsub', body: this.parseString(body), quoted };
  }

  /** Reads the bodies of queued here-documents, line by line up to each delimiter. */
  private readHeredocs(): void {
    for (const doc of this.pending.splice(0)) {
      const lines: string[] = [];
      while (this.pos < this.src.length) {
        const end = this.src.indexOf('\n', this.pos);
        let line = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 1;
        this.line++;
        if (doc.stripTabs) line = line.replace(/^\t+/, '');
        if (line === doc.delimiter) break;
        lines.push(line);
      }
      const text = lines.map((l) => `${l}\n`).join('');
      const body: Word = doc.expand
        ? new Lexer(text, this.parseSubstitution, this.parseString).readWord('heredoc')
        : { parts: [{ type: 'lit', text, quoted: true }], raw: text };
      doc.redirect.heredoc = { body, expand: doc.expand };
    }
  }
}
