import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock';
import { runProcess, sh, testEmulator } from '../test-support';

type Case = [string, string, number?];

async function check([script, stdout, code = 0]: Case): Promise<void> {
  const r = await sh(script, { clock: new VirtualClock() });
  expect({ stdout: r.stdout, code: r.code }).toEqual({ stdout, code });
}

describe('output and text applets', () => {
  it.each<Case>([
    ['echo -n a; echo b; echo -e "x\\ty"; echo "no\\tescape"', 'ab\nx\ty\nno\\tescape\n'],
    ['printf "%s-%d|%5s|%-3s|%03d|%x|%o|%c|%%\\n" a 42 r l 7 255 8 xyz', 'a-42|    r|l  |007|ff|10|x|%\n'],
    ['printf "%s\\n" one two three', 'one\ntwo\nthree\n'],
    ['printf "%.2f %b\\n" 3.14159 "a\\nb"', '3.14 a\nb\n'],
    ['printf "%d\\n" abc', '0\n', 1],
    ['printf "a\\nb\\n" > /tmp/f; cat /tmp/f /tmp/f', 'a\nb\na\nb\n'],
    ['echo x | cat - ; cat /nope; echo $?', 'x\n1\n'],
    ['printf "a\\nb\\n" | cat -n', '     1\ta\n     2\tb\n'],
    ['printf "one two\\nthree\\n" | wc; printf "a\\nb\\n" | wc -l; printf abc | wc -c', '      2       3      14\n2\n3\n'],
    ['seq 10 | head -n 3; seq 10 | head -2; seq 5 | head -n -3', '1\n2\n3\n1\n2\n1\n2\n'],
    ['seq 10 | tail -n 2; seq 5 | tail -n +4; seq 3 | tail -1', '9\n10\n4\n5\n3\n'],
    ['seq 3; seq 2 4; seq 0 5 10; seq -s, 3; seq -w 8 10', '1\n2\n3\n2\n3\n4\n0\n5\n10\n1,2,3\n08\n09\n10\n'],
    ['printf "apple\\nBanana\\ncherry\\n" | grep -i an; printf "a\\nb\\n" | grep -v a', 'Banana\nb\n'],
    ['printf "x1\\ny\\nx2\\n" | grep -c x; printf "x\\n" | grep -q x && echo q; printf "a\\n" | grep z; echo $?', '2\nq\n1\n'],
    ['printf "foo\\nbar\\n" | grep -n bar; printf "ab12\\n" | grep -E "[0-9]+$"; printf "a.c\\nabc\\n" | grep -F a.c', '2:bar\nab12\na.c\n'],
    ['printf "ab\\n" | grep "a\\(b\\)"; printf "aa\\n" | grep -o a', 'ab\na\na\n'],
    ['mkdir -p /tmp/g/s; echo hit > /tmp/g/s/f; echo miss > /tmp/g/o; grep -r hit /tmp/g', '/tmp/g/s/f:hit\n'],
    ['grep x /nope; echo $?', '2\n'],
    ['printf "b\\na\\nc\\na\\n" | sort; printf "10\\n9\\n100\\n" | sort -n; printf "a\\nb\\n" | sort -r', 'a\na\nb\nc\n9\n10\n100\nb\na\n'],
    ['printf "b 2\\na 10\\nc 1\\n" | sort -k 2 -n; printf "x\\nx\\ny\\n" | sort -u', 'c 1\nb 2\na 10\nx\ny\n'],
    ['printf "a\\na\\nb\\na\\n" | uniq; printf "a\\na\\nb\\n" | uniq -c; printf "a\\na\\nb\\n" | uniq -d', 'a\nb\na\n      2 a\n      1 b\na\n'],
    ['echo "a:b:c:d" | cut -d: -f2; echo "a:b:c:d" | cut -d: -f1,3-; echo hello | cut -c2-4', 'b\na:c:d\nell\n'],
    ['echo hello | tr a-z A-Z; echo "a  b" | tr -s " "; echo hello | tr -d l; echo abc | tr "[:lower:]" "[:upper:]"', 'HELLO\na b\nheo\nABC\n'],
    ['echo data | tee /tmp/t1 | cat; echo more | tee -a /tmp/t1 >/dev/null; cat /tmp/t1', 'data\ndata\nmore\n'],
    ['echo "hello world" | sed "s/o/0/"; echo "hello world" | sed "s/o/0/g"; echo abc | sed -e "s/\\(a\\)b/\\1X/"', 'hell0 world\nhell0 w0rld\naXc\n'],
    ['printf "a\\nb\\nc\\n" | sed -n "2p"; printf "a\\nb\\nc\\n" | sed "/b/d"; echo a/b | sed "s|/|_|"', 'b\na\nc\na_b\n'],
    ['printf "x\\n" > /tmp/s; sed -i "s/x/y/" /tmp/s; cat /tmp/s; echo "a.b" | sed -E "s/(a)\\.(b)/\\2\\1/; s/b/B/"', 'y\nBa\n'],
    ['printf "a b\\nc\\n" | xargs echo; printf "1 2 3\\n" | xargs -n 1 echo n; printf "f1\\nf2\\n" | xargs -I{} echo "<{}>"', 'a b c\nn 1\nn 2\nn 3\n<f1>\n<f2>\n'],
    ['echo x | xargs nosuch; echo $?', '127\n'],
    ['yes no | head -n 2; yes | head -c 4', 'no\nno\ny\ny\n'],
  ])('%s', async (...c) => check(c));
});

describe('file applets', () => {
  it.each<Case>([
    ['mkdir /tmp/d && ls -d /tmp/d; mkdir /tmp/d; echo $?; mkdir -p /tmp/d/e/f && ls /tmp/d/e', '/tmp/d\n1\nf\n'],
    ['touch /tmp/a /tmp/b; ls /tmp; ls -1 /tmp | wc -l', 'a\nb\n2\n'],
    ['touch /tmp/.h /tmp/v; ls -a /tmp; ls -A /tmp', '.\n..\n.h\nv\n.h\nv\n'],
    ['echo 12345 > /tmp/f; chmod 755 /tmp/f; touch /tmp/f; ls -l /tmp/f', '-rwxr-xr-x    1 root     root             6 Jan  1 00:00 /tmp/f\n'],
    ['mkdir /tmp/x; ln -s /etc/passwd /tmp/x/link; touch -h /tmp/x/link; ls -l /tmp/x', 'total 0\nlrwxrwxrwx    1 root     root            11 Jan  1 00:00 link -> /etc/passwd\n'],
    ['ls /nope; echo $?', '1\n'],
    ['mkdir -p /tmp/r/s; touch /tmp/r/s/f; rm /tmp/r; echo $?; rm -r /tmp/r; ls /tmp; rm /tmp/none; echo $?; rm -f /tmp/none; echo $?', '1\n1\n0\n'],
    ['mkdir /tmp/e; rmdir /tmp/e; ls /tmp; mkdir -p /tmp/n/m; rmdir /tmp/n; echo $?', '1\n'],
    ['echo hi > /tmp/src; cp /tmp/src /tmp/dst; cat /tmp/dst; mkdir /tmp/dir; cp /tmp/src /tmp/dir; cat /tmp/dir/src', 'hi\nhi\n'],
    ['mkdir -p /tmp/t/u; echo deep > /tmp/t/u/f; cp /tmp/t /tmp/c; echo $?; cp -r /tmp/t /tmp/c; cat /tmp/c/u/f; cp -a /tmp/t /tmp/a2; cat /tmp/a2/u/f', '1\ndeep\ndeep\n'],
    ['echo m > /tmp/m1; mv /tmp/m1 /tmp/m2; cat /tmp/m2; ls /tmp; mkdir /tmp/md; mv /tmp/m2 /tmp/md; ls /tmp/md', 'm\nm2\nm2\n'],
    ['echo t > /tmp/target; ln -s /tmp/target /tmp/sl; cat /tmp/sl; readlink /tmp/sl; ln /tmp/target /tmp/hard; cat /tmp/hard; ln -s x /tmp/sl; echo $?', 't\n/tmp/target\nt\n1\n'],
    ['touch /tmp/p; chmod u+x,go-r /tmp/p; stat -c "%a %A %U %F" /tmp/p', '700 -rwx------ root regular empty file\n'],
    ['echo x > /tmp/o; chown 1000:1000 /tmp/o; stat -c "%u:%g %U" /tmp/o; chown ghost /tmp/o; echo $?', '1000:1000 user\n1\n'],
    ['mkdir -p /tmp/f/a/b; touch /tmp/f/a/x.txt /tmp/f/a/b/y.txt /tmp/f/z.md; find /tmp/f -name "*.txt"; find /tmp/f -type d; find /tmp/f -maxdepth 1 -type f', '/tmp/f/a/b/y.txt\n/tmp/f/a/x.txt\n/tmp/f\n/tmp/f/a\n/tmp/f/a/b\n/tmp/f/z.md\n'],
    ['mkdir /tmp/q; touch /tmp/q/1 /tmp/q/2; cd /tmp/q; find . -type f -exec echo found {} \\;', 'found ./1\nfound ./2\n'],
    ['test -f /etc/passwd && echo file; [ -d /etc ] && echo dir; [ -e /nope ] || echo missing; [ -x /bin/busybox ] && echo exec', 'file\ndir\nmissing\nexec\n'],
    ['[ a = a ] && [ a != b ] && [ -n x ] && [ -z "" ] && echo strings', 'strings\n'],
    ['[ 2 -lt 10 ] && [ 3 -ge 3 ] && [ ! 1 -eq 2 ] && echo nums; [ 1 -eq 1 -a 2 -eq 3 ] || echo and; [ 1 -eq 2 -o 2 -eq 2 ] && echo or', 'nums\nand\nor\n'],
    ['[ 1 -lt x ]; echo $?; [ a = a; echo $?', '2\n2\n'],
    ['expr 1 + 2; expr 6 / 4 \\* 2; expr length hello; expr abc : "a\\(.*\\)"; expr 0; echo $?', '3\n2\n5\nbc\n0\n1\n'],
  ])('%s', async (...c) => check(c));
});

describe('system applets', () => {
  it.each<Case>([
    ['hostname; uname; uname -n', 'test-host\nLinux\ntest-host\n'],
    ['id; id -u; id -un; id -G; whoami', 'uid=0(root) gid=0(root) groups=0(root),10(wheel)\n0\nroot\n0 10\nroot\n'],
    ['id user', 'uid=1000(user) gid=1000(user) groups=1000(user)\n'],
    ['pwd; cd /etc; pwd; cd; pwd; cd /nope; echo $?', '/\n/etc\n/root\n2\n'],
    ['basename /a/b/c.txt; basename /a/b/c.txt .txt; basename /; dirname /a/b/c; dirname c; dirname /c', 'c.txt\nc\n/\n/a/b\n.\n/\n'],
    ['env -i A=1 B=2 env; env -i X=y sh -c \'echo $X\'', 'A=1\nB=2\ny\n'],
    ['which ls sh; which nosuch; echo $?', '/bin/ls\n/bin/sh\n1\n'],
    ['date -u +%Y; date -d @86400 "+%F %T %a"; date', '2024\n1970-01-02 00:00:00 Fri\nMon Jan  1 00:00:00 UTC 2024\n'],
    ['kill -l 15; kill -l TERM; kill -l 143', 'TERM\n15\nTERM\n'],
    ['true; echo $?; false; echo $?', '0\n1\n'],
    ['busybox echo via busybox; busybox true && echo ok; busybox nosuch; echo $?', 'via busybox\nok\n127\n'],
    ['busybox --list | grep -c "^sh$"', '1\n'],
    ['ls --bogus 2>&1 | head -n 1; ls -Z; echo $?', "ls: invalid option -- '-'\n1\n"],
    ['sleep; echo $?; sleep abc; echo $?', '1\n1\n'],
  ])('%s', async (...c) => check(c));

  it('prints a usage message for unknown options, as busybox', async () => {
    const r = await sh('cat -Z');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("cat: invalid option -- 'Z'\nBusyBox v1.36.1 (tsdocker emulated) multi-call binary.\n\nUsage: cat [-nbvteA] [FILE]...\n");
  });

  it('tail -f follows a file as another process appends', async () => {
    const clock = new VirtualClock();
    const emulator = await testEmulator({ clock });
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'echo first > /tmp/log; (sleep 1; echo second >> /tmp/log) & tail -f /tmp/log'] });
    const parts: string[] = [];
    proc.stdout.on('data', (c: Buffer) => parts.push(c.toString()));
    await clock.advance(2000);
    expect(parts.join('')).toBe('first\nsecond\n');
    proc.signal('KILL');
    await proc.exit;
  });

  it('hostname falls back to /etc/hostname', async () => {
    const emulator = await testEmulator({ hostname: '' });
    await emulator.fs.writeFileAtomic('/etc/hostname', 'from-file\n', 0o644);
    expect((await runProcess(emulator, { argv: ['hostname'] })).stdout).toBe('from-file\n');
  });
});
