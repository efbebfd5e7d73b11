import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * mount(2) and umount2(2) for the Linux backend without a process per call. Node has neither
 * call and the project takes no native addon; spawning `mount`/`umount` costs ~5 ms a call from
 * the daemon (a fork of a large process, then libmount), twice per container run. One small
 * `perl` co-process (perl-base is in every Debian; the stdin bridge already needs it) makes the
 * syscalls instead, served one request per line: `<id> <op> <hex arg>...` answered by
 * `<id> <errno>`. It is started on first use, unref'd, and exits after a few idle seconds.
 *
 * Where the syscall numbers are not known (an architecture other than x64/arm64) or perl is
 * missing, the same calls fall back to the `mount`/`umount` commands.
 */
const SCRIPT = String.raw`
use strict; use warnings;
$| = 1;
my ($SYS_mount, $SYS_umount2) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($id, $op, @a) = split / /, $line, -1;
  @a = map { pack('H*', $_) } @a;
  my $r = -1; $! = 0;
  if ($op eq 'mount') {
    my ($cwd, $src, $tgt, $fs, $flags, $data) = @a;
    $r = syscall($SYS_mount, $src, $tgt, $fs, $flags + 0, $data) if chdir $cwd;
  } elsif ($op eq 'umount') {
    my ($tgt, $flags) = @a;
    $r = syscall($SYS_umount2, $tgt, $flags + 0);
  } else { $! = 22; }
  print "$id ", ($r == 0 ? 0 : ($! + 0 || 5)), "\n";
}`;

const SYSCALLS: Partial<Record<string, [mount: number, umount2: number]>> = { x64: [165, 166], arm64: [40, 39] };
const IDLE_EXIT_MS = 5000;
const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export const MNT_DETACH = 2;

function mountError(errno: number, what: string, path: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? 'EIO';
  const err = new Error(`${what} ${path}: ${code}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -errno;
  err.path = path;
  err.syscall = what;
  return err;
}

class PerlMounter {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, { resolve(): void; reject(e: Error): void; what: string; path: string }>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  /** Set when perl could not be started: the commands are used from then on. */
  unavailable = false;

  constructor(
    private readonly numbers: [number, number],
    private readonly perlPath: string,
  ) {}

  call(op: 'mount' | 'umount', path: string, args: (string | number)[]): Promise<void> {
    const child = this.start();
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.pending.size === 0) this.busy(child, true);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what: op, path });
      child.stdin.write(`${id} ${op} ${args.map((a) => Buffer.from(String(a)).toString('hex')).join(' ')}\n`);
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn(this.perlPath, ['-e', SCRIPT, ...this.numbers.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [id, errno] = line.split(' ').map(Number);
      const p = this.pending.get(id!);
      if (!p) return;
      this.pending.delete(id!);
      if (errno) p.reject(mountError(errno, p.what, p.path));
      else p.resolve();
      if (this.pending.size === 0) this.goIdle(child);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1000)));
    child.stdin.on('error', () => undefined);
    const fail = (why: string, missing: boolean) => {
      if (this.child === child) this.child = undefined;
      if (missing) this.unavailable = true;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        const err = mountError(missing ? constants.errno.ENOSYS : constants.errno.EIO, p.what, p.path);
        err.message += ` (the perl mount helper ${why}${stderr ? `: ${stderr.trim()}` : ''})`;
        p.reject(err);
      }
    };
    child.on('error', (e: NodeJS.ErrnoException) => fail(`could not start: ${e.message}`, e.code === 'ENOENT'));
    child.on('exit', (code) => fail(`exited with code ${code}`, false));
    return child;
  }

  private goIdle(child: ChildProcessWithoutNullStreams): void {
    this.busy(child, false);
    this.idle = setTimeout(() => {
      if (this.pending.size === 0 && this.child === child) {
        this.child = undefined;
        child.stdin.end();
      }
    }, IDLE_EXIT_MS);
    this.idle.unref();
  }

  /** Keep the event loop alive only while a call is outstanding. */
  private busy(child: ChildProcessWithoutNullStreams, on: boolean): void {
    for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[]) {
      if (on) h.ref();
      else h.unref();
    }
  }
}

async function command(cmd: string, args: string[], cwd: string | undefined, what: string, path: string): Promise<void> {
  try {
    await run(cmd, args, { cwd });
  } catch (e) {
    const text = ((e as { stderr?: string }).stderr || (e as Error).message).trim();
    const code = /not mounted|not a mount point/i.test(text) ? 'EINVAL' : /no such file|does not exist/i.test(text) ? 'ENOENT' : /busy/i.test(text) ? 'EBUSY' : 'EIO';
    const err = mountError(constants.errno[code as keyof typeof constants.errno], what, path);
    err.message = `${cmd} ${args.join(' ')} failed: ${text}`;
    throw err;
  }
}

export interface Mounter {
  /**
   * mount(2) of a filesystem with `data` options, relative paths resolved against `cwd` (overlay
   * option strings stay short that way, as in Docker). Fails with the errno's code (`EINVAL`, ...).
   */
  mount(fstype: string, source: string, target: string, data: string, cwd: string): Promise<void>;
  /** umount2(2); `EINVAL` when `target` is not a mount point. */
  unmount(target: string, flags?: number): Promise<void>;
}

/** A mounter through the perl helper at `perl` (a name on PATH or a path), else the commands. */
export function createMounter(o: { perl?: string; arch?: string } = {}): Mounter {
  const numbers = SYSCALLS[o.arch ?? process.arch];
  const helper = numbers ? new PerlMounter(numbers, o.perl ?? 'perl') : undefined;
  const viaHelper = async (call: (h: PerlMounter) => Promise<void>): Promise<boolean> => {
    if (!helper || helper.unavailable) return false;
    try {
      await call(helper);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSYS') throw e;
      return false;
    }
  };
  return {
    async mount(fstype, source, target, data, cwd) {
      if (await viaHelper((h) => h.call('mount', target, [cwd, source, target, fstype, 0, data]))) return;
      await command('mount', ['-t', fstype, source, '-o', data, target], cwd, 'mount', target);
    },
    async unmount(target, flags = 0) {
      if (await viaHelper((h) => h.call('umount', target, [target, flags]))) return;
      await command('umount', [...(flags & MNT_DETACH ? ['-l'] : []), target], undefined, 'umount', target);
    },
  };
}

const shared = createMounter();
export const mountFs: Mounter['mount'] = (...a) => shared.mount(...a);
export const unmountFs: Mounter['unmount'] = (...a) => shared.unmount(...a);
