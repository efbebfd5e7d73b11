/**
 * Drive the BUILT `docker` executable (bin/docker → dist/docker.mjs) as a separate process:
 * build it once, start daemons on temp roots, wait until they serve, stop them by PID, and
 * run client commands. Used by the life-cycle, TLS and client end-to-end tests.
 *
 * Every daemon and temp root made here is tracked; `cleanup()` (call it in afterEach/afterAll)
 * SIGKILLs the daemons still running, by their own PID only, and removes the temp roots.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const DOCKER_BIN = join(REPO_ROOT, 'bin', 'docker');
/** The line the daemon logs once every listener is open. */
export const READY_LINE = 'Daemon has completed initialization';

/**
 * Build dist/ if it is older than the sources. Test files run in parallel workers, so the
 * build is serialised with a lock file (a lock older than two minutes is taken as stale).
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), 'tsdocker-e2e-build.lock');
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true });
      } catch {
        /* released meanwhile */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: REPO_ROOT, stdio: 'pipe' });
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The environment for spawned processes: ours minus anything that would steer a client or daemon. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const steering = /^(DOCKER_|LISTEN_|NOTIFY_SOCKET$|(HTTPS?|ALL|NO)_PROXY$)/i;
  for (const [k, v] of Object.entries(process.env)) if (!steering.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const tempRoots = new Set<string>();

/** A temp directory, removed by `cleanup()`. */
export function makeTempRoot(prefix = 'tsd-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempRoots.add(dir);
  return dir;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedDaemon {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly root: string;
  readonly socket: string;
  readonly pidfile: string;
  /** DOCKER_HOST of the daemon's first -H (the temp unix socket unless `hosts` said otherwise). */
  readonly host: string;
  /** Everything it wrote to stderr so far (its pino log and error messages). */
  stderr(): string;
  stdout(): string;
  /** Resolves when the process has exited and its output has been read. */
  readonly exited: Promise<Exit>;
  /** Send `signal` (default SIGTERM) to its PID and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface SpawnOptions {
  /** Reuse a root (temp dir); default: a fresh one. */
  root?: string;
  /** -H values; default: unix://<root>/d.sock. */
  hosts?: string[];
  /** Flags after the standard ones (-g, --exec-root, -p, --backend fake). */
  args?: string[];
  /**
   * The seed's legacy `docker -d` instead of `docker daemon`: `hosts-first` puts the -H flags
   * before `-d` (as global options), `d-first` puts `-d` first and -H after the other flags.
   */
  legacy?: 'hosts-first' | 'd-first';
  pidfile?: string;
  env?: NodeJS.ProcessEnv;
  /** Run this executable with these arguments instead (e.g. python3 exec'ing node); the daemon args are appended. */
  launcher?: { file: string; args: string[] };
  /** Wait for READY_LINE (default) or only start the process. */
  wait?: boolean;
}

const spawned = new Set<SpawnedDaemon>();

/** The standard flags for a fake-backend daemon whose state lives under `root`. */
export function standardArgs(root: string, pidfile = join(root, 'pid')): string[] {
  return ['--backend', 'fake', '-g', join(root, 'g'), '--exec-root', join(root, 'e'), '-p', pidfile];
}

/**
 * Start `docker daemon` from the built executable. Resolves once it logged READY_LINE; rejects
 * (with its stderr) when it exits first. With `wait: false` resolves right after spawning.
 */
export async function spawnDaemon(opts: SpawnOptions = {}): Promise<SpawnedDaemon> {
  const root = opts.root ?? makeTempRoot();
  const socket = join(root, 'd.sock');
  const pidfile = opts.pidfile ?? join(root, 'pid');
  const hosts = opts.hosts ?? [`unix://${socket}`];
  const base = [...standardArgs(root, pidfile), ...(opts.args ?? [])];
  const hostFlags = hosts.flatMap((h) => ['-H', h]);
  const daemonArgv =
    opts.legacy === 'hosts-first' ? [...hostFlags, '-d', ...base] : opts.legacy === 'd-first' ? ['-d', ...base, ...hostFlags] : ['daemon', ...base, ...hostFlags];
  const cmd = opts.launcher ?? { file: process.execPath, args: [DOCKER_BIN] };
  const child = spawn(cmd.file, [...cmd.args, ...daemonArgv], { cwd: REPO_ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  // 'close', not 'exit': by then all of its stderr has been read.
  const exited = new Promise<Exit>((res) => child.once('close', (code, signal) => res({ code, signal })));
  const d: SpawnedDaemon = {
    child,
    pid: child.pid!,
    root,
    socket,
    pidfile,
    host: hosts[0] ?? `unix://${socket}`,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      return exited;
    },
  };
  spawned.add(d);
  void exited.then(() => spawned.delete(d));
  if (opts.wait === false) return d;
  await new Promise<void>((res, rej) => {
    const onData = () => {
      if (err.includes(READY_LINE)) {
        child.stderr!.off('data', onData);
        res();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then((e) => rej(new Error(`daemon exited (code ${e.code}, signal ${e.signal}) before it was ready:\n${err}`)));
  });
  return d;
}

/**
 * SIGKILL every daemon this module started that is still running (by its PID), wait for
 * each, then remove every temp root made by `makeTempRoot`.
 */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...spawned].map(async (d) => {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        try {
          process.kill(d.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await d.exited;
    }),
  );
  for (const dir of tempRoots) rmSync(dir, { recursive: true, force: true });
  tempRoots.clear();
}

/**
 * Python stands in for systemd: it opens the listening socket (unix at a path, or tcp on
 * 127.0.0.1:port), puts it on fd 3, sets LISTEN_FDS=1 and LISTEN_PID to its own PID and
 * exec()s node (keeping the PID) with the daemon's arguments.
 */
const ACTIVATE = String.raw`
import os, socket, sys
kind, addr = sys.argv[1], sys.argv[2]
if kind == 'unix':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(addr)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', int(addr)))
s.listen(16)
fd = s.detach()
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.set_inheritable(3, True)
os.environ['LISTEN_FDS'] = '1'
os.environ['LISTEN_PID'] = str(os.getpid())
os.execv(sys.argv[3], sys.argv[3:])
`;

/** A `launcher` for spawnDaemon that starts the daemon socket-activated on fd 3. */
export function socketActivation(kind: 'unix' | 'tcp', addr: string): NonNullable<SpawnOptions['launcher']> {
  return { file: 'python3', args: ['-c', ACTIVATE, kind, addr, process.execPath, DOCKER_BIN] };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a client command of the built executable: `docker ARGS`. */
export function runDocker(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [DOCKER_BIN, ...args], { cwd: REPO_ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

/** GET a path over a unix socket or loopback tcp; resolves with the status and body. */
export function httpGet(target: { socketPath: string } | { port: number; host?: string }, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ ...('socketPath' in target ? target : { host: target.host ?? '127.0.0.1', port: target.port }), path, method: 'GET', agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8').on('data', (s: string) => (body += s));
      r.once('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body }));
    });
    req.once('error', rej);
    req.end();
  });
}

/** `n` distinct loopback tcp ports that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen({ host: '127.0.0.1', port: 0 }, () => res(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  return ports;
}

/** A loopback tcp port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** Whether a loopback tcp port can be bound right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen({ host: '127.0.0.1', port }, () => s.close(() => res(true)));
  });
}
