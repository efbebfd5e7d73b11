import type { AndOr, Assignment, Command, List, Pipeline, Redirect, RedirectOp, Word } from './ast';
import { Lexer, ShellSyntaxError, isRedirectOp, type Token } from './lexer';

const STOP_WORDS = new Set(['then', 'else', 'elif', 'fi', 'do', 'done', 'esac', '}']);

/** The text of a word when it is one unquoted literal (a reserved-word candidate). */
function plainText(word: Word): string | null {
  const [only, ...rest] = word.parts;
  return only && rest.length === 0 && only.type === 'lit' && !only.quoted ? only.text : null;
}

function describe(tok: Token): string {
  switch (tok.kind) {
    case 'eof':
      return 'end of file';
    case 'newline':
      return 'newline';
    case 'op':
      return `"${tok.op}"`;
    case 'word':
      return `"${tok.word.raw}"`;
  }
}

/**
 * Recursive-descent parser for the POSIX shell grammar busybox ash accepts (minus aliases
 * and `[[`). Errors are ShellSyntaxError with ash's wording (`unexpected "fi"`).
 */
export class Parser {
  private peeked: Token | null = null;

  constructor(private readonly lexer: Lexer) {}

  /** Parses a whole script. */
  static parse(src: string): List {
    const lexer = newLexer(src);
    const parser = new Parser(lexer);
    const list = parser.parseList();
    const tok = parser.peek();
    if (tok.kind !== 'eof') throw new ShellSyntaxError(`unexpected ${describe(tok)}`);
    return list;
  }

  private peek(): Token {
    this.peeked ??= this.lexer.next();
    return this.peeked;
  }

  private next(): Token {
    const tok = this.peek();
    this.peeked = null;
    return tok;
  }

  private isOp(op: string): boolean {
    const tok = this.peek();
    return tok.kind === 'op' && tok.op === op && tok.fd === undefined;
  }

  private reserved(): string | null {
    const tok = this.peek();
    return tok.kind === 'word' ? plainText(tok.word) : null;
  }

  private expectReserved(word: string): void {
    if (this.reserved() !== word) {
      const tok = this.peek();
      throw new ShellSyntaxError(tok.kind === 'eof' ? `unexpected end of file (expecting "${word}")` : `unexpected ${describe(tok)} (expecting "${word}")`);
    }
    this.next();
  }

  private expectOp(op: string): void {
    if (!this.isOp(op)) throw new ShellSyntaxError(`unexpected ${describe(this.peek())} (expecting "${op}")`);
    this.next();
  }

  private skipNewlines(): void {
    while (this.peek().kind === 'newline') this.next();
  }

  private atListEnd(): boolean {
    const tok = this.peek();
    if (tok.kind === 'eof') return true;
    if (tok.kind === 'op' && (tok.op === ')' || tok.op === ';;')) return true;
    const word = this.reserved();
    return word !== null && STOP_WORDS.has(word);
  }

  /** A sequence of and-or lists separated by `;`, `&` or newlines, up to a stop token. */
  parseList(): List {
    const items: List['items'] = [];
    this.skipNewlines();
    while (!this.atListEnd()) {
      const command = this.parseAndOr();
      let background = false;
      if (this.isOp('&')) {
        this.next();
        background = true;
      } else if (this.isOp(';')) this.next();
      else if (this.peek().kind === 'newline') this.next();
      else if (!this.atListEnd()) throw new ShellSyntaxError(`unexpected ${describe(this.peek())}`);
      items.push({ command, background });
      this.skipNewlines();
    }
    return { items };
  }

  /** A list that must not be empty (the body of if/while/...). */
  private parseBody(context: string): List {
    const list = this.parseList();
    if (list.items.length === 0) throw new ShellSyntaxError(`unexpected ${describe(this.peek())}${context ? ` (expecting ${context})` : ''}`);
    return list;
  }

  private parseAndOr(): AndOr {
    const first = this.parsePipeline();
    const rest: AndOr['rest'] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const op = (this.next() as { op: '&&' | '||' }).op;
      this.skipNewlines();
      rest.push({ op, pipeline: this.parsePipeline() });
    }
    return { first, rest };
  }

  private parsePipeline(): Pipeline {
    let negate = false;
    while (this.reserved() === '!') {
      this.next();
      negate = !negate;
    }
    const commands = [this.parseCommand()];
    while (this.isOp('|')) {
      this.next();
      this.skipNewlines();
      commands.push(this.parseCommand());
    }
    return { negate, commands };
  }

  private parseCommand(): Command {
    const word = this.reserved();
    let command: Command;
    if (this.isOp('(')) {
      this.next();
      const body = this.parseBody('')
      this.expectOp(')');
      command = { type: 'subshell', body, redirects: [] };
    } else if (word === '{') {
      this.next();
      const body = this.parseBody('"}"');
      this.expectReserved('}');
      command = { type: 'group', body, redirects: [] };
    } else if (word === 'if') command = this.parseIf();
    else if (word === 'while' || word === 'until') {
      this.next();
      const cond = this.parseBody('"do"');
      this.expectReserved('do');
      const body = this.parseBody('"done"');
      this.expectReserved('done');
      command = { type: 'loop', until: word === 'until', cond, body, redirects: [] };
    } else if (word === 'for') command = this.parseFor();
    else if (word === 'case') command = this.parseCase();
    else if (word !== null && STOP_WORDS.has(word)) throw new ShellSyntaxError(`unexpected ${describe(this.peek())}`);
    else return this.parseSimple();
    this.parseRedirects(command.type === 'function' ? [] : command.redirects);
    return command;
  }

  private parseIf(): Command {
    this.next();
    const clauses: { cond: List; body: List }[] = [];
    let elseBody: List | null = null;
    for (;;) {
      const cond = this.parseBody('"then"');
      this.expectReserved('then');
      const body = this.parseBody('"fi"');
      clauses.push({ cond, body });
      const word = this.reserved();
      if (word === 'elif') {
        this.next();
        continue;
      }
      if (word === 'else') {
        this.next();
        elseBody = this.parseBody('"fi"');
      }
      this.expectReserved('fi');
      return { type: 'if', clauses, elseBody, redirects: [] };
    }
  }

  private parseFor(): Command {
    this.next();
    const nameTok = this.next();
    const name = nameTok.kind === 'word' ? plainText(nameTok.word) : null;
    if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ShellSyntaxError(`bad for loop variable`);
    let items: Word[] | null = null;
    this.skipNewlines();
    if (this.reserved() === 'in') {
      this.next();
      items = [];
      for (let tok = this.peek(); tok.kind === 'word'; tok = this.peek()) items.push((this.next() as { word: Word }).word);
      if (this.isOp(';')) this.next();
      else if (this.peek().kind === 'newline') this.next();
      else throw new ShellSyntaxError(`unexpected ${describe(this.peek())}`);
    } else if (this.isOp(';')) this.next();
    this.skipNewlines();
    this.expectReserved('do');
    const body = this.parseBody('"done"');
    this.expectReserved('done');
    return { type: 'for', name, items, body, redirects: [] };
  }

  private parseCase(): Command {
    this.next();
    const tok = this.next();
    if (tok.kind !== 'word') throw new ShellSyntaxError(`unexpected ${describe(tok)}`);
    this.skipNewlines();
    this.expectReserved('in');
    this.skipNewlines();
    const items: { patterns: Word[]; body: List }[] = [];
    while (this.reserved() !== 'esac') {
      if (this.isOp('(')) this.next();
      const patterns: Word[] = [];
      for (;;) {
        const p = this.next();
        if (p.kind !== 'word') throw new ShellSyntaxError(`unexpected ${describe(p)}`);
        patterns.push(p.word);
        if (this.isOp('|')) {
          this.next();
          continue;
        }
        break;
      }
      this.expectOp(')');
      const body = this.parseList();
      items.push({ patterns, body });
      if (this.isOp(';;')) {
        this.next();
        this.skipNewlines();
      } else if (this.reserved() !== 'esac') throw new ShellSyntaxError(`unexpected ${describe(this.peek())} (expecting "esac")`);
    }
    this.next();
    return { type: 'case', word: tok.word, items, redirects: [] };
  }

  private parseRedirects(into: Redirect[]): void {
    for (let tok = this.peek(); tok.kind === 'op' && isRedirectOp(tok.op); tok = this.peek()) into.push(this.parseRedirect());
  }

  private parseRedirect(): Redirect {
    const tok = this.next() as { op: string; fd?: number };
    const target = this.next();
    if (target.kind !== 'word') throw new ShellSyntaxError(`unexpected ${describe(target)}`);
    const redirect: Redirect = { fd: tok.fd ?? null, op: tok.op as RedirectOp, target: target.word };
    if (tok.op === '<<' || tok.op === '<<-') this.lexer.addHeredoc(target.word, tok.op === '<<-', redirect);
    return redirect;
  }

  private parseSimple(): Command {
    const assigns: Assignment[] = [];
    const words: Word[] = [];
    const redirects: Redirect[] = [];
    const line = this.lexer.line;
    for (;;) {
      const tok = this.peek();
      if (tok.kind === 'op' && isRedirectOp(tok.op)) {
        redirects.push(this.parseRedirect());
        continue;
      }
      if (tok.kind !== 'word') break;
      if (words.length === 0) {
        const assign = asAssignment(tok.word);
        if (assign) {
          this.next();
          assigns.push(assign);
          continue;
        }
      }
      this.next();
      words.push(tok.word);
      if (words.length === 1 && assigns.length === 0 && redirects.length === 0 && this.isOp('(')) return this.parseFunction(tok.word);
    }
    if (words.length === 0 && assigns.length === 0 && redirects.length === 0) {
      throw new ShellSyntaxError(`unexpected ${describe(this.peek())}`);
    }
    return { type: 'simple', assigns, words, redirects, line };
  }

  private parseFunction(nameWord: Word): Command {
    const name = plainText(nameWord);
    if (!name || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) throw new ShellSyntaxError(`bad function name`);
    this.next();
    this.expectOp(')');
    this.skipNewlines();
    const body = this.parseCommand();
    return { type: 'function', name, body };
  }

  /** Inside `$(`: the list up to the matching `)`. */
  parseSubstitution(): List {
    const list = this.parseList();
    this.expectOp(')');
    return list;
  }
}

/** `NAME=value` as an assignment (the name part unquoted), else null. */
function asAssignment(word: Word): Assignment | null {
  const first = word.parts[0];
  if (!first || first.type !== 'lit' || first.quoted) return null;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
  if (!m) return null;
  const restText = first.text.slice(m[0].length);
  const parts = [...(restText ? [{ ...first, text: restText }] : []), ...word.parts.slice(1)];
  return { name: m[1]!, value: { parts, raw: word.raw.slice(m[0].length) } };
}

function newLexer(src: string): Lexer {
  return new Lexer(src, (lexer) => new Parser(lexer).parseSubstitution(), (text) => Parser.parse(text));
}

/** Parses shell source into a list; throws ShellSyntaxError. */
export function parseScript(src: string): List {
  return Parser.parse(src);
}
