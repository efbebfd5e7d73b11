import { describe, expect, it } from 'vitest';
import { sh, testEmulator } from '../test-support';

/** [script, expected stdout, expected status] */
type Case = [string, string, number?];

async function check([script, stdout, code = 0]: Case): Promise<void> {
  const r = await sh(script);
  expect({ stdout: r.stdout, code: r.code, stderr: r.stderr }).toMatchObject({ stdout, code });
}

describe('quoting and escapes', () => {
  it.each<Case>([
    [`echo 'a  b' "c  d" e\\ \\ f`, 'a  b c  d e  f\n'],
    [`echo '$HOME' "\\$HOME" \\$HOME`, '$HOME $HOME $HOME\n'],
    [`echo "a\\"b" 'it'\\''s'`, 'a"b it\'s\n'],
    [`echo "back\\\\slash" "keep\\n"`, 'back\\slash keep\\n\n'],
    [`echo a\\\nb`, 'ab\n'],
    [`echo "" x ''`, ' x \n'],
    [`echo # comment`, '\n'],
    [`echo a#b`, 'a#b\n'],
  ])('%s', async (...c) => check(c));
});

describe('parameter expansion', () => {
  it.each<Case>([
    ['X=1; echo $X ${X} "${X}y"', '1 1 1y\n'],
    ['echo ${U:-def} ${U-d2} "${U:+set}"', 'def d2 \n'],
    ['E=; echo "[${E:-empty}] [${E-unset}]"', '[empty] []\n'],
    ['echo ${V:=assigned}; echo $V', 'assigned\nassigned\n'],
    ['S=hello.tar.gz; echo ${#S} ${S%.*} ${S%%.*} ${S#*.} ${S##*.}', '12 hello.tar hello tar.gz gz\n'],
    ['P=/a/b/c; echo ${P##*/} ${P%/*}', 'c /a/b\n'],
    ['set -- a b "c d"; echo $# $1 $3; for x in "$@"; do echo "<$x>"; done', '3 a c d\n<a>\n<b>\n<c d>\n'],
    ['set -- a b; echo "$*"; IFS=,; echo "$*"', 'a b\na,b\n'],
    ['false; echo $?; true; echo $?', '1\n0\n'],
    ['echo $$ | grep -q "^1$" && echo pid1', 'pid1\n'],
    ['sleep 0 & echo $! | grep -qE "^[0-9]+$" && echo bg', 'bg\n'],
    ['f() { echo "$0 $1 $#"; }; f x y', 'sh x 2\n'],
    ['echo ~ ~/x "~"', '/root /root/x ~\n'],
  ])('%s', async (...c) => check(c));

  it('fails on ${x?message} with status 2', async () => {
    const r = await sh('echo ${NOPE?it is missing}; echo after');
    expect(r).toMatchObject({ stdout: '', code: 2 });
    expect(r.stderr).toBe('sh: NOPE: it is missing\n');
  });

  it('set -u makes unset variables fatal', async () => {
    const r = await sh('set -u; echo $NOPE; echo after');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NOPE: parameter not set');
  });
});

describe('word splitting and globbing', () => {
  it.each<Case>([
    ['X="a   b  c"; for w in $X; do echo "[$w]"; done', '[a]\n[b]\n[c]\n'],
    ['X="a   b"; echo "$X"', 'a   b\n'],
    ['IFS=:; X=a:b::c; for w in $X; do echo "[$w]"; done', '[a]\n[b]\n[]\n[c]\n'],
    ['E=; for w in $E; do echo no; done; echo done', 'done\n'],
    ['touch /tmp/a1 /tmp/a2 /tmp/b1; echo /tmp/a*; echo /tmp/?1', '/tmp/a1 /tmp/a2\n/tmp/a1 /tmp/b1\n'],
    ['echo /tmp/nomatch*', '/tmp/nomatch*\n'],
    ['touch /tmp/x1; echo "/tmp/x*" \'/tmp/x*\'', '/tmp/x* /tmp/x*\n'],
    ['cd /etc && echo p*', 'passwd\n'],
    ['touch /tmp/.hidden /tmp/vis; echo /tmp/*', '/tmp/vis\n'],
    ['touch /tmp/k1 /tmp/k2 /tmp/k3; echo /tmp/k[12]; echo /tmp/k[!12]', '/tmp/k1 /tmp/k2\n/tmp/k3\n'],
    ['set -f; touch /tmp/z1; echo /tmp/z*', '/tmp/z*\n'],
  ])('%s', async (...c) => check(c));
});

describe('command substitution and arithmetic', () => {
  it.each<Case>([
    ['echo "$(echo a; echo b)"', 'a\nb\n'],
    ['echo $(echo a; echo b)', 'a b\n'],
    ['echo `echo back` "`echo tick`"', 'back tick\n'],
    ['echo $(echo $(echo nested))', 'nested\n'],
    ['X=$(false); echo $?', '1\n'],
    ['echo "$(echo "inner quotes")"', 'inner quotes\n'],
    ['echo $((1 + 2 * 3)) $(( (1+2)*3 )) $((7/2)) $((7%3)) $((2**10))', '7 9 3 1 1024\n'],
    ['X=5; echo $((X + 1)) $(($X * 2)); echo $((X += 2)); echo $X', '6 10\n7\n7\n'],
    ['echo $((1 < 2)) $((3 == 4)) $((1 && 0)) $((0 || 5)) $((!0)) $((5 > 3 ? 10 : 20))', '1 0 0 1 1 10\n'],
    ['echo $((-5 + 2)) $((0x10)) $((010)) $((~0))', '-3 16 8 -1\n'],
    ['i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i', '3\n'],
  ])('%s', async (...c) => check(c));

  it('division by zero is an error', async () => {
    const r = await sh('echo $((1/0))');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('divide by zero');
  });
});

describe('lists and control flow', () => {
  it.each<Case>([
    ['true && echo yes; false && echo no; false || echo alt; true || echo never', 'yes\nalt\n'],
    ['false; true', '', 0],
    ['true; false', '', 1],
    ['! false && echo negated', 'negated\n'],
    ['! true', '', 1],
    ['if false; then echo a; elif true; then echo b; else echo c; fi', 'b\n'],
    ['if false; then echo a; fi; echo $?', '0\n'],
    ['for i in 1 2 3; do echo $i; done', '1\n2\n3\n'],
    ['for i in 1 2 3 4; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done', '1\n3\n'],
    ['for i in a b; do for j in 1 2; do [ $j = 2 ] && continue 2; echo $i$j; done; done', 'a1\nb1\n'],
    ['for i in a b; do for j in 1 2; do break 2; done; done; echo out', 'out\n'],
    ['n=0; until [ $n -ge 2 ]; do n=$((n+1)); echo $n; done', '1\n2\n'],
    ['case hello in h*) echo starts;; *) echo other;; esac', 'starts\n'],
    ['case x.txt in *.md|*.txt) echo text;; esac', 'text\n'],
    ['case abc in "a"*) echo quoted-prefix;; esac', 'quoted-prefix\n'],
    ['case "*" in "*") echo literal;; *) echo glob;; esac', 'literal\n'],
    ['case q in a) echo a;; esac; echo $?', '0\n'],
    ['f() { echo "in f: $1"; return 3; }; f arg; echo $?', 'in f: arg\n3\n'],
    ['f() { local x=inner; echo $x; }; x=outer; f; echo $x', 'inner\nouter\n'],
    ['count() { echo $#; }; count a "b c" d', '3\n'],
    ['{ echo a; echo b; } | wc -l', '2\n'],
    ['(exit 3); echo $?', '3\n'],
    ['X=1; (X=2; echo $X); echo $X', '2\n1\n'],
    ['cd /tmp; (cd /etc); pwd', '/tmp\n'],
    ['exit 7; echo no', '', 7],
    ['eval "echo evaluated; X=9"; echo $X', 'evaluated\n9\n'],
    ['set -- a b c; shift; echo $@; shift 2; echo $#', 'b c\n0\n'],
    [': ; echo colon', 'colon\n'],
    ['X=a; X=b true; echo $X', 'a\n'],
    ['f() { echo $V; }; V=tmp f; echo "[$V]"', 'tmp\n[]\n'],
    ['export E1=yes; sh -c \'echo $E1\'', 'yes\n'],
    ['L=local; sh -c \'echo "[$L]"\'', '[]\n'],
    ['E2=prefix env | grep ^E2=', 'E2=prefix\n'],
    ['type cd; command -v ls', 'cd is a shell builtin\n/bin/ls\n'],
  ])('%s', async (...c) => check(c));

  it('set -e exits on the first failure but not in conditions', async () => {
    await check(['set -e; if false; then :; fi; false || true; ! true; echo still; false; echo never', 'still\n', 1]);
  });

  it('set -x traces commands on stderr', async () => {
    const r = await sh('set -x; echo "a b"; X=1');
    expect(r.stdout).toBe('a b\n');
    expect(r.stderr).toBe("+ echo 'a b'\n+ X=1\n");
  });

  it('source runs a file in the current shell', async () => {
    await check(['printf "SOURCED=1\\nf() { echo fn; }\\n" > /tmp/lib.sh; . /tmp/lib.sh; echo $SOURCED; f', '1\nfn\n']);
  });
});

describe('pipelines', () => {
  it.each<Case>([
    ['echo hello | cat | cat', 'hello\n'],
    ['printf "b\\na\\nc\\n" | sort | head -n 2', 'a\nb\n'],
    ['yes | head -n 3', 'y\ny\ny\n'],
    ['seq 1 100000 | tail -n 1', '100000\n'],
    ['false | true', '', 0],
    ['true | false', '', 1],
    ['echo x | read v; echo "[$v]"', '[]\n'],
    ['printf "1\\n2\\n3\\n" | while read n; do echo "n=$n"; done', 'n=1\nn=2\nn=3\n'],
    ['printf "a b c\\n" | { read x rest; echo "$x|$rest"; }', 'a|b c\n'],
    ['echo data | { cat; echo more; } | wc -l', '2\n'],
  ])('%s', async (...c) => check(c));

  it('runs the stages concurrently as separate processes', async () => {
    const r = await sh('sleep 0.2 | sleep 0.3 & sleep 0.05; ps');
    const rows = r.stdout.split('\n').filter((l) => / sleep 0\.[23]$/.test(l));
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((l) => l.trim().split(/\s+/)[0])).size).toBe(2);
  });
});

describe('redirections', () => {
  it.each<Case>([
    ['echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f', 'one\ntwo\n'],
    ['echo new > /tmp/g; echo over > /tmp/g; cat < /tmp/g', 'over\n'],
    ['ls /nope 2>/dev/null; echo $?', '1\n'],
    ['ls /nope 2>&1 | grep -c "No such file"', '1\n'],
    ['{ echo out; echo err >&2; } 2>/tmp/err >/tmp/out; cat /tmp/out /tmp/err', 'out\nerr\n'],
    ['{ echo out; echo err >&2; } &>/tmp/both; cat /tmp/both', 'out\nerr\n'],
    ['echo to-null > /dev/null; echo after', 'after\n'],
    ['cat <<EOF\nline $((1+1))\n  indented\nEOF', 'line 2\n  indented\n'],
    ['cat <<\'EOF\'\nno $expansion\nEOF', 'no $expansion\n'],
    ['cat <<-EOF\n\ttabs stripped\n\tEOF', 'tabs stripped\n'],
    ['X=v; cat <<EOF | tr a-z A-Z\nvalue $X\nEOF', 'VALUE V\n'],
    ['for i in 1 2; do echo $i; done > /tmp/loop; cat /tmp/loop', '1\n2\n'],
    ['exec > /tmp/all; echo captured; exec >&2; cat /tmp/all >&2', ''],
    ['echo x 1>&2 2>/dev/null', ''],
    ['> /tmp/empty; wc -c < /tmp/empty', '0\n'],
  ])('%s', async (...c) => check(c));

  it('reports a file it cannot create and fails the command only', async () => {
    const r = await sh('echo x > /nodir/file; echo $?');
    expect(r.stdout).toBe('1\n');
    expect(r.stderr).toBe('sh: can\'t create /nodir/file: nonexistent directory\n');
  });

  it('reports a missing input file', async () => {
    const r = await sh('cat < /missing; echo $?');
    expect(r.stdout).toBe('1\n');
    expect(r.stderr).toBe("sh: can't open '/missing': No such file or directory\n");
  });
});

describe('background jobs', () => {
  it('wait returns the status of a background job', async () => {
    await check(['(exit 4) & wait $!; echo $?', '4\n']);
  });

  it('runs jobs concurrently with the shell', async () => {
    await check(['(sleep 0.05; echo late) & echo early; wait', 'early\nlate\n']);
  });
});

describe('syntax errors and exit statuses', () => {
  it.each([
    ['if true; then echo x', 'syntax error: unexpected end of file (expecting "fi")'],
    ['echo "unterminated', 'syntax error: unterminated quoted string'],
    ['fi', 'syntax error: unexpected "fi"'],
    ['echo a | | b', 'syntax error: unexpected "|"'],
    ['( echo', 'syntax error: unexpected end of file (expecting ")")'],
  ])('%s', async (script, message) => {
    const r = await sh(script);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`sh: ${message}\n`);
  });

  it('127 for unknown commands, 126 for files that cannot run', async () => {
    const r = await sh('nosuchcmd; echo $?; echo hi > /tmp/plain; /tmp/plain; echo $?; /etc; echo $?; ./nothere; echo $?');
    expect(r.stdout).toBe('127\n126\n126\n127\n');
    expect(r.stderr).toBe('sh: nosuchcmd: not found\nsh: /tmp/plain: Permission denied\nsh: /etc: Permission denied\nsh: ./nothere: not found\n');
  });

  it('runs scripts with a shebang and text files without one', async () => {
    const emulator = await testEmulator();
    await emulator.fs.writeFileAtomic('/tmp/s.sh', '#!/bin/sh\necho "script $1 $0"\nexit 5\n', 0o755);
    await emulator.fs.writeFileAtomic('/tmp/plain.sh', 'echo plain\n', 0o755);
    const r = await sh('/tmp/s.sh arg; echo $?; /tmp/plain.sh; cd /tmp && ./s.sh x', { emulator });
    expect(r.stdout).toBe('script arg /tmp/s.sh\n5\nplain\nscript x ./s.sh\n');
  });
});

describe('interactive and stdin scripts', () => {
  it('reads commands from stdin, sharing it with the commands', async () => {
    const emulator = await testEmulator();
    const { runProcess } = await import('../test-support');
    const { Readable } = await import('node:stream');
    const r = await runProcess(emulator, { argv: ['sh'], stdin: Readable.from([Buffer.from('read line\nthis is data\necho "got: $line"\nif true\nthen echo multi\nfi\nexit 3\necho never\n')]) });
    expect(r.stdout).toBe('got: this is data\nmulti\n');
    expect(r.code).toBe(3);
  });
});
