/**
 * The shell's syntax tree. Words keep their quoting as parts so expansion can tell what is
 * subject to field splitting and globbing.
 */

export type WordPart =
  /** Literal text; `quoted` text is not split, globbed or tilde-expanded. */
  | { type: 'lit'; text: string; quoted: boolean }
  /** `$name`, `${name}`, `${name op word}`, `${#name}`. */
  | { type: 'param'; name: string; op?: ParamOp; arg?: Word; length?: boolean; quoted: boolean }
  /** `$(...)` or backticks. */
  | { type: 'cmdsub'; body: List; quoted: boolean }
  /** `$((...))`: the expression text after its own expansions. */
  | { type: 'arith'; expr: Word; quoted: boolean };

export type ParamOp = ':-' | '-' | ':=' | '=' | ':+' | '+' | ':?' | '?' | '#' | '##' | '%' | '%%';

export interface Word {
  parts: WordPart[];
  /** The source text, for `set -x`-style messages and reserved-word checks. */
  raw: string;
}

export type RedirectOp = '<' | '>' | '>>' | '>|' | '<>' | '>&' | '<&' | '&>' | '&>>' | '<<' | '<<-';

export interface Redirect {
  fd: number | null;
  op: RedirectOp;
  target: Word;
  /** For here-documents: the body, expanded unless the delimiter was quoted. */
  heredoc?: { body: Word; expand: boolean };
}

export interface Assignment {
  name: string;
  value: Word;
}

export type Command =
  | { type: 'simple'; assigns: Assignment[]; words: Word[]; redirects: Redirect[]; line: number }
  | { type: 'group'; body: List; redirects: Redirect[] }
  | { type: 'subshell'; body: List; redirects: Redirect[] }
  | { type: 'if'; clauses: { cond: List; body: List }[]; elseBody: List | null; redirects: Redirect[] }
  | { type: 'loop'; until: boolean; cond: List; body: List; redirects: Redirect[] }
  | { type: 'for'; name: string; items: Word[] | null; body: List; redirects: Redirect[] }
  | { type: 'case'; word: Word; items: { patterns: Word[]; body: List }[]; redirects: Redirect[] }
  | { type: 'function'; name: string; body: Command };

export interface Pipeline {
  negate: boolean;
  commands: Command[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export interface List {
  items: { command: AndOr; background: boolean }[];
}
