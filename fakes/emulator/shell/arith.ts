/** Shell arithmetic (`$((...))`): C integer expressions over shell variables. */

export class ArithmeticError extends Error {}

export interface ArithVars {
  get(name: string): string | undefined;
  set(name: string, value: string): void;
}

type Tok = { t: 'num'; v: bigint } | { t: 'name'; v: string } | { t: 'op'; v: string };

const OPS = ['<<=', '>>=', '**', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '+', '-', '*', '/', '%', '<', '>', '&', '|', '^', '!', '~', '(', ')', '?', ':', '=', ','];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(src.slice(i));
    if (num) {
      const text = num[0];
      out.push({ t: 'num', v: text.length > 1 && text.startsWith('0') && !/[xX]/.test(text) ? BigInt(`0o${text.slice(1)}`) : BigInt(text) });
      i += text.length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ t: 'name', v: name[0] });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ArithmeticError(`arithmetic syntax error`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

const BINARY: [string[], number][] = [
  [['||'], 1],
  [['&&'], 2],
  [['|'], 3],
  [['^'], 4],
  [['&'], 5],
  [['==', '!='], 6],
  [['<', '>', '<=', '>='], 7],
  [['<<', '>>'], 8],
  [['+', '-'], 9],
  [['*', '/', '%'], 10],
  [['**'], 11],
];
const PRECEDENCE = new Map<string, number>(BINARY.flatMap(([ops, p]) => ops.map((o): [string, number] => [o, p])));

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);

/** Evaluates `src`; variables are read and assigned through `vars`. */
export function evaluate(src: string, vars: ArithVars): bigint {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): Tok | undefined => toks[pos];
  const isOp = (v: string): boolean => peek()?.t === 'op' && peek()!.v === v;
  const valueOf = (name: string, depth = 0): bigint => {
    const raw = (vars.get(name) ?? '').trim();
    if (raw === '') return 0n;
    if (/^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(raw)) return BigInt(raw.replace(/^(-?)0(\d)/, '$10o$2'));
    if (depth < 10 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) return valueOf(raw, depth + 1);
    return evaluate(raw, vars);
  };

  const binary = (op: string, a: bigint, b: () => bigint): bigint => {
    switch (op) {
      case '||':
        return a !== 0n ? 1n : b() !== 0n ? 1n : 0n;
      case '&&':
        return a === 0n ? 0n : b() !== 0n ? 1n : 0n;
    }
    const r = b();
    switch (op) {
      case '|': return a | r;
      case '^': return a ^ r;
      case '&': return a & r;
      case '==': return a === r ? 1n : 0n;
      case '!=': return a !== r ? 1n : 0n;
      case '<': return a < r ? 1n : 0n;
      case '>': return a > r ? 1n : 0n;
      case '<=': return a <= r ? 1n : 0n;
      case '>=': return a >= r ? 1n : 0n;
      case '<<': return wrap(a << r);
      case '>>': return a >> r;
      case '+': return wrap(a + r);
      case '-': return wrap(a - r);
      case '*': return wrap(a * r);
      case '**': return wrap(a ** r);
      case '/':
      case '%':
        if (r === 0n) throw new ArithmeticError('divide by zero');
        return op === '/' ? a / r : a % r;
    }
    throw new ArithmeticError('arithmetic syntax error');
  };

  const parseExpr = (): bigint => {
    let v = parseAssign();
    while (isOp(',')) {
      pos++;
      v = parseAssign();
    }
    return v;
  };

  const parseAssign = (): bigint => {
    const t = peek();
    const n = toks[pos + 1];
    if (t?.t === 'name' && n?.t === 'op' && ['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '&=', '|=', '^='].includes(n.v)) {
      pos += 2;
      const rhs = parseAssign();
      const v = n.v === '=' ? rhs : binary(n.v.slice(0, -1), valueOf(t.v), () => rhs);
      vars.set(t.v, String(v));
      return v;
    }
    return parseTernary();
  };

  const parseTernary = (): bigint => {
    const cond = parseBinary(1);
    if (!isOp('?')) return cond;
    pos++;
    const a = parseAssign();
    if (!isOp(':')) throw new ArithmeticError('arithmetic syntax error');
    pos++;
    const b = parseAssign();
    return cond !== 0n ? a : b;
  };

  const parseBinary = (minPrec: number): bigint => {
    let left = parseUnary();
    for (;;) {
      const t = peek();
      if (t?.t !== 'op') return left;
      const op = t.v;
      const prec = PRECEDENCE.get(op);
      if (prec === undefined || prec < minPrec) return left;
      pos++;
      const startPos = pos;
      const l = left;
      left = binary(op, l, () => {
        pos = startPos;
        return parseBinary(op === '**' ? prec : prec + 1);
      });
      if (pos === startPos) {
        // short-circuit skipped the right operand: parse it without using its value
        parseBinary(prec + 1);
      }
    }
  };

  const parseUnary = (): bigint => {
    const t = peek();
    if (t?.t === 'op') {
      if (t.v === '++' || t.v === '--') {
        pos++;
        const name = peek();
        if (name?.t !== 'name') throw new ArithmeticError('arithmetic syntax error');
        pos++;
        const v = valueOf(name.v) + (t.v === '++' ? 1n : -1n);
        vars.set(name.v, String(v));
        return v;
      }
      if (['-', '+', '!', '~'].includes(t.v)) {
        pos++;
        const v = parseUnary();
        return t.v === '-' ? wrap(-v) : t.v === '+' ? v : t.v === '!' ? (v === 0n ? 1n : 0n) : ~v;
      }
      if (t.v === '(') {
        pos++;
        const v = parseExpr();
        if (!isOp(')')) throw new ArithmeticError('arithmetic syntax error');
        pos++;
        return v;
      }
    }
    if (t?.t === 'num') {
      pos++;
      return t.v;
    }
    if (t?.t === 'name') {
      pos++;
      const v = valueOf(t.v);
      if (isOp('++') || isOp('--')) {
        vars.set(t.v, String(v + (isOp('++') ? 1n : -1n)));
        pos++;
      }
      return v;
    }
    throw new ArithmeticError('arithmetic syntax error');
  };

  if (toks.length === 0) return 0n;
  const result = parseExpr();
  if (pos < toks.length) throw new ArithmeticError('arithmetic syntax error');
  return result;
}
