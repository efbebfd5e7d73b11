/**
 * Interactive client sessions for the real-CLI cases: a long-running command (`docker logs -f`,
 * `docker attach`, `docker run -it`) whose output a test waits on, whose input it writes, and
 * which it ends by its own PID. With `pty: true` the command runs on a pseudo-terminal made by
 * python3's `pty` module (Node has none): the docker CLI then sees a terminal on stdin and
 * stdout, as an operator's shell gives it, and switches it to raw mode itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_CLI } from '../harness';

/**
 * Relays between its stdio and a pty whose slave is the command's stdin/stdout/stderr:
 * stdin → master, master → stdout; exits with the command's exit code (128+n for a signal).
 * SIGTERM kills the command (by its PID) first. The window is 24x80.
 */
const PTY_RELAY = String.raw`
import os, pty, select, signal, struct, sys, fcntl, termios
pid, master = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
def term(*_):
    try: os.kill(pid, signal.SIGKILL)
    except ProcessLookupError: pass
signal.signal(signal.SIGTERM, term)
inputs = [0, master]
while master in inputs:
    try:
        ready, _, _ = select.select(inputs, [], [])
    except InterruptedError:
        continue
    for fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if fd == master:
            if not data:
                inputs.remove(master)
            else:
                os.write(1, data)
        elif not data:
            inputs.remove(0)
        else:
            os.write(master, data)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;

export interface Session {
  readonly pid: number;
  /** stdout so far (with a pty: everything the terminal showed, `\r\n` line ends). */
  output(): string;
  stderr(): string;
  /** Resolves with the output once it matches; rejects with the output so far after `timeoutMs` or when the command exits first. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Write to the command's stdin (the terminal's keyboard with a pty). */
  write(data: string): void;
  /** Close its stdin. */
  end(): void;
  /** Exit code once it exited (128+n for a signal). */
  readonly exited: Promise<number>;
  /** Kill it by its PID (with a pty: the relay kills the command first) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number>;
}

/** Start `docker ARGS` against `host` with its own empty config dir; on a pty when asked. */
export function dockerSession(host: string, args: string[], opts: { pty?: boolean } = {}): Session {
  const configDir = mkdtempSync(join(tmpdir(), 'tsd-cli-'));
  // HOME stays (a pyenv python3 shim needs it); DOCKER_CONFIG is what points the CLI at the empty config.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? configDir, DOCKER_CONFIG: configDir, DOCKER_HOST: host, TERM: 'xterm' };
  const child = opts.pty ? spawn('python3', ['-c', PTY_RELAY, DOCKER_CLI, ...args], { env }) : spawn(DOCKER_CLI, args, { env });
  let out = '';
  let err = '';
  let done = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => ((out += s), notify()));
  child.stderr.setEncoding('utf8').on('data', (s: string) => ((err += s), notify()));
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      rmSync(configDir, { recursive: true, force: true });
      notify();
      resolve(code ?? 128 + (signal ? (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 }) as Record<string, number>)[signal] ?? 0 : 0));
    }),
  );
  const matches = (p: RegExp | string) => (typeof p === 'string' ? out.includes(p) : p.test(out));
  return {
    pid: child.pid!,
    output: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (matches(pattern)) finish(() => resolve(out));
          else if (done) finish(() => reject(new Error(`docker ${args.join(' ')} exited before its output matched ${String(pattern)}:\n${JSON.stringify(out)}\nstderr: ${err}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`docker ${args.join(' ')}: output never matched ${String(pattern)}:\n${JSON.stringify(out)}\nstderr: ${err}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
    write: (data) => void child.stdin.write(data),
    end: () => void child.stdin.end(),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!done) {
        try {
          process.kill(child.pid!, opts.pty && signal === 'SIGKILL' ? 'SIGTERM' : signal);
        } catch {
          /* exited meanwhile */
        }
      }
      return exited;
    },
  };
}
