/**
 * Shell patterns (`*`, `?`, `[...]`) as regular expressions. A pattern string marks
 * characters that must match literally with a backslash, which is how quoted parts of a
 * word reach here.
 */

const GLOB_CHARS = new Set(['*', '?', '[']);

/** Escapes every pattern character of `text` so it matches literally. */
export function escapePattern(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Whether the pattern has an unescaped `*`, `?` or `[`. */
export function hasGlob(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (GLOB_CHARS.has(c)) return true;
  }
  return false;
}

/** Removes pattern escapes: the literal text the pattern stands for. */
export function unescapePattern(pattern: string): string {
  return pattern.replace(/\\(.)/gs, '$1');
}

const reEscape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The regular-expression source for a pattern; `pathname` keeps `*` and `?` within one segment. */
export function patternSource(pattern: string, pathname = false): string {
  let out = '';
  const any = pathname ? '[^/]' : '[\\s\\S]';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      out += reEscape(pattern[i] ?? '\\');
    } else if (c === '*') out += `${any}*`;
    else if (c === '?') out += any;
    else if (c === '[') {
      const end = findBracketEnd(pattern, i);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body
        .replace(/\[:(alpha|digit|alnum|upper|lower|space|punct|xdigit):\]/g, (_, n: string) => CLASSES[n] ?? '')
        .replace(/\\(.)/g, (_, ch: string) => reEscape(ch))
        .replace(/([\]\\^])/g, (m, ch: string, offset: number, s: string) => (s[offset - 1] === '\\' ? m : `\\${ch}`));
      out += `[${negate ? '^' : ''}${cls}]`;
      i = end;
    } else out += reEscape(c);
  }
  return out;
}

const CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9a-fA-F',
};

function findBracketEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close > 0) i = close + 1;
    } else if (pattern[i] === ']') return i;
  }
  return -1;
}

/** Whether `text` matches the whole pattern. */
export function matchPattern(pattern: string, text: string): boolean {
  return new RegExp(`^${patternSource(pattern)}$`).test(text);
}

/**
 * `${var#pat}` and friends: removes the shortest (`#`, `%`) or longest (`##`, `%%`) prefix
 * or suffix of `value` that matches.
 */
export function trimPattern(value: string, pattern: string, op: '#' | '##' | '%' | '%%'): string {
  const re = new RegExp(`^${patternSource(pattern)}$`);
  const n = value.length;
  if (op === '#' || op === '##') {
    const lengths = op === '#' ? range(0, n) : range(0, n).reverse();
    for (const len of lengths) if (re.test(value.slice(0, len))) return value.slice(len);
  } else {
    const starts = op === '%' ? range(0, n).reverse() : range(0, n);
    for (const start of starts) if (re.test(value.slice(start))) return value.slice(0, start);
  }
  return value;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
