import { describe, expect, it } from 'vitest';
import type { Command, Word } from './ast';
import { ShellSyntaxError } from './lexer';
import { parseScript } from './parser';

const first = (src: string): Command => parseScript(src).items[0]!.command.first.commands[0]!;
const simple = (src: string) => first(src) as Extract<Command, { type: 'simple' }>;
const raw = (w: Word): string => w.raw;

describe('lexer', () => {
  it('keeps quoting in word parts', () => {
    const cmd = simple(`echo 'a b'"c $X"d\\ e`);
    expect(cmd.words[1]!.parts).toEqual([
      { type: 'lit', text: 'a b', quoted: true },
      { type: 'lit', text: 'c ', quoted: true },
      { type: 'param', name: 'X', quoted: true },
      { type: 'lit', text: 'd', quoted: false },
      { type: 'lit', text: ' ', quoted: true },
      { type: 'lit', text: 'e', quoted: false },
    ]);
  });

  it('parses parameter forms', () => {
    const parts = simple('echo ${#A} ${B:-x y} ${C%%.*} $1 $@ $?').words.slice(1).map((w) => w.parts[0]);
    expect(parts).toMatchObject([
      { type: 'param', name: 'A', length: true },
      { type: 'param', name: 'B', op: ':-', arg: { raw: 'x y' } },
      { type: 'param', name: 'C', op: '%%', arg: { raw: '.*' } },
      { type: 'param', name: '1' },
      { type: 'param', name: '@' },
      { type: 'param', name: '?' },
    ]);
  });

  it('parses nested command substitutions and arithmetic', () => {
    const w = simple('echo $(echo $(echo x) ")") $((1 + $Y))').words;
    expect(w[1]!.parts[0]).toMatchObject({ type: 'cmdsub' });
    expect(w[2]!.parts[0]).toMatchObject({ type: 'arith', expr: { raw: '1 + $Y' } });
  });

  it('recognises io numbers and redirect operators', () => {
    const cmd = simple('cmd 2>&1 >>log <in 3>x &>all');
    expect(cmd.redirects.map((r) => [r.fd, r.op, raw(r.target)])).toEqual([
      [2, '>&', '1'],
      [null, '>>', 'log'],
      [null, '<', 'in'],
      [3, '>', 'x'],
      [null, '&>', 'all'],
    ]);
  });

  it('reads here-documents after the line', () => {
    const cmd = simple('cat <<EOF; echo after\nbody $X\nEOF\n');
    expect(cmd.redirects[0]!.heredoc).toMatchObject({ expand: true });
    expect(parseScript('cat <<EOF; echo after\nbody\nEOF\n').items).toHaveLength(2);
  });
});

describe('parser', () => {
  it('separates assignments from words', () => {
    const cmd = simple('A=1 B="x y" cmd C=3');
    expect(cmd.assigns.map((a) => [a.name, raw(a.value)])).toEqual([
      ['A', '1'],
      ['B', '"x y"'],
    ]);
    expect(cmd.words.map(raw)).toEqual(['cmd', 'C=3']);
  });

  it('builds and-or lists, pipelines and background items', () => {
    const list = parseScript('a | b && ! c || d & e');
    expect(list.items).toHaveLength(2);
    expect(list.items[0]!.background).toBe(true);
    const andOr = list.items[0]!.command;
    expect(andOr.first.commands).toHaveLength(2);
    expect(andOr.rest.map((r) => [r.op, r.pipeline.negate])).toEqual([
      ['&&', true],
      ['||', false],
    ]);
  });

  it('parses compound commands', () => {
    expect(first('if a; then b; elif c; then d; else e; fi')).toMatchObject({ type: 'if', clauses: [{}, {}], elseBody: { items: [{}] } });
    expect(first('while a; do b; done >out')).toMatchObject({ type: 'loop', until: false, redirects: [{ op: '>' }] });
    expect(first('for x in 1 2; do :; done')).toMatchObject({ type: 'for', name: 'x', items: [{ raw: '1' }, { raw: '2' }] });
    expect(first('for x; do :; done')).toMatchObject({ type: 'for', items: null });
    expect(first('case $x in a|b) one;; (c) two;; esac')).toMatchObject({ type: 'case', items: [{ patterns: [{}, {}] }, { patterns: [{}] }] });
    expect(first('f() { echo; }')).toMatchObject({ type: 'function', name: 'f', body: { type: 'group' } });
    expect(first('( a; b )')).toMatchObject({ type: 'subshell' });
  });

  it('treats reserved words as words outside command position', () => {
    expect(simple('echo if then fi').words.map(raw)).toEqual(['echo', 'if', 'then', 'fi']);
  });

  it.each([
    ['if true; then', 'unexpected end of file (expecting "fi")'],
    ['done', 'unexpected "done"'],
    ['a && && b', 'unexpected "&&"'],
    ['echo $((1 +', 'unterminated arithmetic expansion'],
    ['echo ${', 'bad substitution'],
    ['for 1x in a; do :; done', 'bad for loop variable'],
    ["echo 'open", 'unterminated quoted string'],
  ])('rejects %j', (src, message) => {
    expect(() => parseScript(src)).toThrow(new ShellSyntaxError(message));
  });
});
