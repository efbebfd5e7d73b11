import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { promisify } from 'node:util';
import { Coprocess, CoprocessError } from '../../src/kernel/coprocess';

const run = promisify(execFile);

/**
 * What the Linux backend asks of the host many times per container, without a process per call:
 * mount(2) and umount2(2) (Node has neither and the project takes no native addon; `mount` and
 * `umount` cost ~5 ms a call from the daemon: a fork of a large process, then libmount), and
 * starting a container's monitor (a fork of the daemon costs ~2.5 ms; of this helper ~0.2 ms).
 * One small `perl` co-process (perl-base is in every Debian; the stdin bridge already needs it)
 * serves one request per line, `<id> <op> <hex arg>...`, answered by `<id> <errno> [<field>...]`.
 * It is started on first use, unref'd, and exits after a few idle seconds.
 *
 * `spawn` starts a program (conmon) with stdin/stdout on /dev/null, stderr appended to a file,
 * and a sync pipe as fd 3 (`_OCI_SYNCPIPE=3`), in a new session; it answers once the program has
 * written its first line there (or closed it) with `<pid> <hex line>`, then closes its end: a
 * container's conmon writes nothing else to it. The helper reaps what it started while it runs;
 * after it exits they belong to init, as a daemon's monitors should.
 *
 * Where the syscall numbers are not known (an architecture other than x64/arm64) or perl is
 * missing, mounts fall back to the `mount`/`umount` commands and spawns to Node's own.
 */
const SCRIPT = String.raw`
use strict; use warnings; use POSIX (); use Fcntl qw(F_SETFD);
$| = 1;
my ($SYS_mount, $SYS_umount2) = @ARGV;
$SIG{CHLD} = sub { local ($!, $?); 1 while waitpid(-1, POSIX::WNOHANG()) > 0; };
my (%sync, $in);
my $open = 1;
sub reply { print join(' ', @_), "\n"; }
sub spawn_ {
  my ($id, $cwd, $errfile, @argv) = @_;
  return reply($id, 24) if keys(%sync) >= 512;
  pipe(my $r, my $w) or return reply($id, $! + 0);
  my $pid = fork();
  if (!defined $pid) { my $e = $! + 0; close $r; close $w; return reply($id, $e); }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    close $r;
    POSIX::setsid();
    chdir $cwd or POSIX::_exit(126);
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null');
    open(STDERR, '>>', $errfile) or open(STDERR, '>', '/dev/null');
    if (fileno($w) == 3) { fcntl($w, F_SETFD, 0) or POSIX::_exit(126); }
    else { POSIX::dup2(fileno($w), 3) or POSIX::_exit(126); }
    $ENV{_OCI_SYNCPIPE} = 3;
    exec { $argv[0] } @argv;
    POSIX::_exit(127);
  }
  close $w;
  $sync{fileno $r} = { id => $id, fh => $r, buf => '', pid => $pid };
}
sub handle {
  my ($id, $op, @a) = split / /, $_[0], -1;
  @a = map { pack('H*', $_) } @a;
  if ($op eq 'spawn') { return spawn_($id, @a); }
  my $r = -1; $! = 0;
  if ($op eq 'mount') {
    my ($cwd, $src, $tgt, $fs, $flags, $data) = @a;
    $r = syscall($SYS_mount, $src, $tgt, $fs, $flags + 0, $data) if chdir $cwd;
  } elsif ($op eq 'umount') {
    my ($tgt, $flags) = @a;
    $r = syscall($SYS_umount2, $tgt, $flags + 0);
  } else { $! = 22; }
  reply($id, $r == 0 ? 0 : ($! + 0 || 5));
}
$in = '';
while ($open || %sync) {
  my $rin = '';
  vec($rin, 0, 1) = 1 if $open;
  vec($rin, $_, 1) = 1 for keys %sync;
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!\n"; }
  if ($open && vec($rout, 0, 1)) {
    my $got = sysread(STDIN, $in, 65536, length $in);
    $open = 0 if !$got && !$!{EINTR};
    while ((my $nl = index($in, "\n")) >= 0) { my $line = substr($in, 0, $nl + 1, ''); chomp $line; handle($line); }
  }
  for my $fd (keys %sync) {
    next unless vec($rout, $fd, 1);
    my $s = $sync{$fd};
    my $got = sysread($s->{fh}, $s->{buf}, 4096, length $s->{buf});
    next if !defined $got && $!{EINTR};
    my $nl = index($s->{buf}, "\n");
    next if $got && $nl < 0;
    reply($s->{id}, 0, $s->{pid}, unpack('H*', $nl >= 0 ? substr($s->{buf}, 0, $nl) : $s->{buf}));
    close $s->{fh};
    delete $sync{$fd};
  }
}`;

const SYSCALLS: Partial<Record<string, [mount: number, umount2: number]>> = { x64: [165, 166], arm64: [40, 39] };
const IDLE_EXIT_MS = 5000;
const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export const MNT_DETACH = 2;

function errnoError(errno: number, what: string, path: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? 'EIO';
  const err = new Error(`${what} ${path}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -errno;
  err.path = path;
  err.syscall = what;
  return err;
}

type Op = 'mount' | 'umount' | 'spawn';

/** The perl helper: an answer is `<id> <errno> [<field>...]`; a non-zero errno rejects with its code. */
class PerlHelper {
  private readonly proc: Coprocess;

  constructor(numbers: [number, number], perlPath: string) {
    this.proc = new Coprocess({
      command: perlPath,
      args: ['-e', SCRIPT, ...numbers.map(String)],
      name: 'the perl host helper',
      idOf: (line) => Number(line.slice(0, line.indexOf(' '))),
      idleExitMs: IDLE_EXIT_MS,
    });
  }

  get unavailable(): boolean {
    return this.proc.unavailable;
  }

  /** The answer's fields after the errno. */
  async call(op: Op, path: string, args: (string | number)[]): Promise<string[]> {
    let line: string;
    try {
      line = await this.proc.call((id) => `${id} ${op} ${args.map((a) => Buffer.from(String(a)).toString('hex')).join(' ')}\n`);
    } catch (e) {
      const missing = e instanceof CoprocessError && e.missing;
      const err = errnoError(missing ? constants.errno.ENOSYS : constants.errno.EIO, op, path);
      err.message += ` (${(e as Error).message})`;
      throw err;
    }
    const [, errno, ...fields] = line.split(' ');
    if (Number(errno)) throw errnoError(Number(errno), op, path);
    return fields;
  }
}

async function command(cmd: string, args: string[], cwd: string | undefined, what: string, path: string): Promise<void> {
  try {
    await run(cmd, args, { cwd });
  } catch (e) {
    const text = ((e as { stderr?: string }).stderr || (e as Error).message).trim();
    const code = /not mounted|not a mount point/i.test(text) ? 'EINVAL' : /no such file|does not exist/i.test(text) ? 'ENOENT' : /busy/i.test(text) ? 'EBUSY' : 'EIO';
    const err = errnoError(constants.errno[code as keyof typeof constants.errno], what, path);
    err.message = `${cmd} ${args.join(' ')} failed: ${text}`;
    throw err;
  }
}

/** What a spawned monitor said first on its sync pipe. */
export interface SpawnedMonitor {
  pid: number;
  /** Its first line on fd 3 (`''` when it closed the pipe, or exited, without one). */
  firstLine: string;
}

export interface HostHelper {
  /**
   * mount(2) of a filesystem with `data` options, relative paths resolved against `cwd` (overlay
   * option strings stay short that way, as in Docker). Fails with the errno's code (`EINVAL`, ...).
   */
  mount(fstype: string, source: string, target: string, data: string, cwd: string): Promise<void>;
  /** umount2(2); `EINVAL` when `target` is not a mount point. */
  unmount(target: string, flags?: number): Promise<void>;
  /**
   * Start `argv` in a new session in `cwd`, stdin/stdout on /dev/null, stderr appended to
   * `stderrFile`, a sync pipe as fd 3 (`_OCI_SYNCPIPE=3`); resolves with its pid and first line
   * there. Nothing keeps the daemon's event loop alive for it afterwards.
   */
  spawnMonitor(argv: string[], cwd: string, stderrFile: string): Promise<SpawnedMonitor>;
}

/** Node's own spawn with the same contract (a fork of the daemon: ~2.5 ms). */
function spawnWithNode(argv: string[], cwd: string, stderrFile: string): Promise<SpawnedMonitor> {
  return new Promise((resolve, reject) => {
    let errFd: number;
    try {
      errFd = openSync(stderrFile, 'a');
    } catch (e) {
      return reject(e as Error);
    }
    const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', 'ignore', errFd, 'pipe'], env: { ...process.env, _OCI_SYNCPIPE: '3' } });
    closeSync(errFd);
    const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void; unref?(): void };
    let buf = '';
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      pipe.destroy();
      child.unref();
      if (err && child.pid === undefined) return reject(err);
      const nl = buf.indexOf('\n');
      resolve({ pid: child.pid ?? 0, firstLine: nl >= 0 ? buf.slice(0, nl) : buf });
    };
    pipe.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) finish();
    });
    pipe.on('end', () => finish());
    pipe.on('error', () => finish());
    child.once('error', (e) => finish(e));
    child.once('exit', () => finish());
  });
}

/** A host helper through perl at `perl` (a name on PATH or a path), else the fallbacks. */
export function createHostHelper(o: { perl?: string; arch?: string } = {}): HostHelper {
  const numbers = SYSCALLS[o.arch ?? process.arch];
  const helper = numbers ? new PerlHelper(numbers, o.perl ?? 'perl') : undefined;
  /** The helper's answer, or undefined when it is not there (ENOSYS) and a fallback must do. */
  const viaHelper = async (op: Op, path: string, args: (string | number)[]): Promise<string[] | undefined> => {
    if (!helper || helper.unavailable) return undefined;
    try {
      return await helper.call(op, path, args);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSYS') throw e;
      return undefined;
    }
  };
  return {
    async mount(fstype, source, target, data, cwd) {
      if (await viaHelper('mount', target, [cwd, source, target, fstype, 0, data])) return;
      await command('mount', ['-t', fstype, source, '-o', data, target], cwd, 'mount', target);
    },
    async unmount(target, flags = 0) {
      if (await viaHelper('umount', target, [target, flags])) return;
      await command('umount', [...(flags & MNT_DETACH ? ['-l'] : []), target], undefined, 'umount', target);
    },
    async spawnMonitor(argv, cwd, stderrFile) {
      // The helper watches its sync pipes with select(2): past a few hundred at once, Node spawns.
      const fields = await viaHelper('spawn', argv[0]!, [cwd, stderrFile, ...argv]).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EMFILE' || e.code === 'ENFILE') return undefined;
        throw e;
      });
      if (!fields) return spawnWithNode(argv, cwd, stderrFile);
      return { pid: Number(fields[0]), firstLine: Buffer.from(fields[1] ?? '', 'hex').toString() };
    },
  };
}

const shared = createHostHelper();
export const mountFs: HostHelper['mount'] = (...a) => shared.mount(...a);
export const unmountFs: HostHelper['unmount'] = (...a) => shared.unmount(...a);
export const spawnMonitor: HostHelper['spawnMonitor'] = (...a) => shared.spawnMonitor(...a);
