import { spawn, type ChildProcess } from 'node:child_process';
import { constants, existsSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { access, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { constants as osConstants } from 'node:os';
import type { ExitStatus } from '../../../src/kernel';
import { K8sLogTailer, type LogPosition } from './k8s-log';
import { runtimeError, type OciRuntime } from './runtime';
import { spawnMonitor } from '../host-helper';
import type { SharedMonitor } from './shared-monitor';

/**
 * The per-process monitor is Debian's `conmon` (2.1): it runs `<runtime> run --detach` (or `exec`),
 * holds the process's stdio, writes it to a k8s-file log, writes the exit status to
 * `<dir>/exit`, offers an attach socket (`<dir>/attach`, SOCK_SEQPACKET) and a control fifo
 * (`<dir>/ctl`: `1 <rows> <cols>` resizes the TTY), and keeps doing so while the daemon is down.
 *
 * A container's conmon is started by the host helper (host-helper.ts: a fork of a small perl
 * process instead of the daemon) and reports only the pid on its sync pipe; an exec's conmon is
 * the daemon's child, since it also reports the exit code there.
 *
 * The daemon side of one process lives in its directory:
 * - `monitor.json` what the driver needs to find it again after a restart (pids, tty, stdin);
 * - `log` / `log.pos` the output and how far the daemon has read it (see k8s-log.ts);
 * - `exit`, `oom` written by conmon when the process ends; `conmon.err` its own error output.
 *
 * Output reaches the daemon by following the log file (Node cannot open SEQPACKET sockets);
 * stdin goes through the attach socket via a tiny Perl bridge (perl-base is in every Debian):
 * it forwards its stdin to the socket, discards what conmon sends back, and exits when either
 * side closes. Closing it closes the container's stdin (conmon without --leave-stdin-open),
 * except with a TTY where conmon keeps the terminal open.
 */
export interface MonitorRecord {
  kind: 'init' | 'exec';
  containerId: string;
  /** conmon's pid, or the shared monitor's (`monitor: 'shared'`). */
  conmonPid: number;
  /** Absent in records written before the shared monitor existed: conmon. */
  monitor?: 'conmon' | 'shared';
  pid: number;
  tty: boolean;
  openStdin: boolean;
}

export interface MonitoredProcess {
  readonly record: MonitorRecord;
  readonly dir: string;
  stdin: Writable | null;
  stdout: PassThrough;
  stderr: PassThrough | null;
  exited: Promise<ExitStatus>;
  resize(cols: number, rows: number): Promise<void>;
  /** Stop following (the daemon goes away); the process and conmon keep running. */
  detach(): Promise<void>;
  /** Whether conmon has recorded the exit status. */
  exitedYet(): Promise<boolean>;
}

export interface StartOptions {
  runtime: OciRuntime;
  /** The process's own directory (for `init`, the OCI bundle holding config.json). */
  dir: string;
  containerId: string;
  kind: 'init' | 'exec';
  tty: boolean;
  openStdin: boolean;
  /** Reads whether the container was OOM-killed (before its cgroup goes away). */
  oomKilled: () => Promise<boolean>;
  conmonPath?: string;
  /** The shared monitor to start it under; conmon when absent. */
  shared?: SharedMonitor;
}

const LOG_SIZE_MAX = 16 * 1024 * 1024;

const BRIDGE = String.raw`
use strict; use Socket;
chdir($ARGV[0]) or die "chdir $ARGV[0]: $!\n";
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\n";
connect($s, pack_sockaddr_un('attach')) or die "connect $ARGV[0]/attach: $!\n";
$| = 1; print "ok\n";
binmode STDIN; my $in = 1;
# conmon loses the hang-up when it reads the last data and the close in one wake-up (stdin then
# never closes): wait until it has read everything (SIOCOUTQ = 0), then close.
sub drained { for (1 .. 400) { my $q = pack('i', 0); last unless ioctl($s, 0x5411, $q); last if unpack('i', $q) == 0; select(undef, undef, undef, 0.005); } select(undef, undef, undef, 0.01); }
while (1) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, fileno(STDIN), 1) = 1 if $in;
  next if select(my $rout = $rin, undef, undef, undef) < 0;
  if (vec($rout, fileno($s), 1)) { my $n = sysread($s, my $d, 65536); exit 0 if !$n; }
  if ($in && vec($rout, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, my $buf, 8192);
    if (!$n) { drained(); exit 0; }
    my $off = 0;
    while ($off < $n) { my $w = syswrite($s, $buf, $n - $off, $off); exit 1 unless defined $w; $off += $w; }
  }
}`;

const signalNames = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Connect a stdin bridge to conmon's attach socket; resolves once connected. */
async function openStdinBridge(dir: string): Promise<Writable> {
  const child = spawn('perl', ['-e', BRIDGE, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      if (d.toString().includes('ok')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`stdin bridge for ${dir} exited (${code}): ${err.trim()}`)));
    child.once('error', reject);
  });
  child.stdout!.resume();
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  child.stdin!.on('error', () => undefined);
  return child.stdin!;
}

/** Read the sync pipe's JSON messages (`{"data": pid}` or `{"data": -1, "message": "..."}`). */
function syncMessages(child: ChildProcess): AsyncGenerator<{ data: number; message?: string }> {
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  let buf = '';
  const queue: { data: number; message?: string }[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  pipe.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) queue.push(JSON.parse(line) as { data: number; message?: string });
    }
    wake?.();
  });
  const end = () => {
    ended = true;
    wake?.();
  };
  pipe.on('end', end);
  pipe.on('error', end);
  child.once('exit', end);
  child.once('error', end);
  return (async function* () {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (ended) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  })();
}

function conmonArgs(o: StartOptions, uuid: string): string[] {
  const d = o.dir;
  const args = [
    '--api-version', '1', '--sync',
    '-c', o.containerId, '-u', uuid, '-n', o.containerId,
    '-r', o.kind === 'init' ? o.runtime.runPath : o.runtime.path,
    ...[...o.runtime.globalArgs, '--log-format', 'json'].map((a) => `--runtime-arg=${a}`),
    '-b', d, '-p', join(d, 'pid'), '--persist-dir', d, '--full-attach',
    '-l', `k8s-file:${join(d, 'log')}`, `--log-size-max=${LOG_SIZE_MAX}`, '--log-level=error',
  ];
  if (o.tty) args.push('-t', '--leave-stdin-open');
  if (o.openStdin) args.push('-i');
  if (o.kind === 'exec') args.push('-e', '--exec-process-spec', join(d, 'process.json'));
  return args;
}

/**
 * Start a process under conmon: the container's first process (`runtime run --detach` through
 * the runtime's `runPath` wrapper) or an exec. Fails with the runtime's error mapped by `runtimeError`
 * (NotFound for a missing command, Forbidden for a non-executable one); nothing is left running.
 */
export async function startMonitored(o: StartOptions): Promise<MonitoredProcess> {
  if (o.shared) return startShared(o, o.shared);
  const argv = [o.conmonPath ?? 'conmon', ...conmonArgs(o, o.kind === 'init' ? o.containerId : `${o.containerId}-exec`)];
  const launched = o.kind === 'init' ? await launchInit(argv, o.dir) : await launchExec(argv, o.dir);
  if (!launched.first || launched.first.data <= 0) {
    const what = `${o.runtime.name} ${o.kind === 'init' ? 'run' : 'exec'}`;
    throw runtimeError(what, launched.first?.message ?? ((await launched.stderr()) || 'conmon exited without reporting a pid'));
  }
  const record: MonitorRecord = { kind: o.kind, containerId: o.containerId, conmonPid: launched.pid, pid: launched.first.data, tty: o.tty, openStdin: o.openStdin };
  await writeFile(join(o.dir, 'monitor.json'), JSON.stringify(record));
  return follow(o.dir, record, { fresh: true, oomKilled: o.oomKilled, exitSignal: launched.exit });
}

/** The same under the shared monitor (shared-monitor.ts): it runs the runtime itself. */
async function startShared(o: StartOptions, monitor: SharedMonitor): Promise<MonitoredProcess> {
  const rt = o.runtime;
  const argv =
    o.kind === 'init'
      ? [rt.path, ...rt.globalArgs, '--log-format', 'json', 'run', '--detach', '--bundle', o.dir, '--pid-file', join(o.dir, 'pid'), o.containerId]
      : [rt.path, ...rt.globalArgs, '--log-format', 'json', 'exec', '--detach', '--pid-file', join(o.dir, 'pid'), '--process', join(o.dir, 'process.json'), o.containerId];
  let started: { pid: number; monitorPid: number };
  try {
    started = await monitor.start({ id: o.containerId, dir: o.dir, argv, tty: o.tty, stdin: o.openStdin, logMax: LOG_SIZE_MAX });
  } catch (e) {
    throw runtimeError(`${rt.name} ${o.kind === 'init' ? 'run' : 'exec'}`, (e as Error).message);
  }
  const record: MonitorRecord = { kind: o.kind, containerId: o.containerId, conmonPid: started.monitorPid, monitor: 'shared', pid: started.pid, tty: o.tty, openStdin: o.openStdin };
  writeFileSync(join(o.dir, 'monitor.json'), JSON.stringify(record));
  return follow(o.dir, record, { fresh: true, oomKilled: o.oomKilled });
}

interface Launched {
  pid: number;
  first: SyncMessage | undefined;
  /** conmon's own error output, once it has exited. */
  stderr(): Promise<string>;
  /** Resolves when conmon exits, where that can be seen (else the exit file tells). */
  exit?: Promise<void>;
}

type SyncMessage = { data: number; message?: string };

function parseSync(line: string): SyncMessage | undefined {
  try {
    const m = JSON.parse(line) as SyncMessage;
    return typeof m.data === 'number' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A container's first process: conmon started by the host helper (a fork of a small process, not
 * of the daemon), its stderr in `<dir>/conmon.err`. conmon reports only the pid on the sync pipe
 * for it; the exit status goes to the exit file.
 */
async function launchInit(argv: string[], dir: string): Promise<Launched> {
  const errFile = join(dir, 'conmon.err');
  const m = await spawnMonitor(argv, dir, errFile);
  return { pid: m.pid, first: parseSync(m.firstLine), stderr: () => readFile(errFile, 'utf8').then((t) => t.trim(), () => '') };
}

/** An exec: conmon as the daemon's child, since it also reports the exit code on the sync pipe. */
async function launchExec(argv: string[], dir: string): Promise<Launched> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, _OCI_SYNCPIPE: '3' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', (e) => {
      stderr += String(e);
      resolve();
    });
  });
  const messages = syncMessages(child);
  const first = await messages.next();
  child.unref();
  for (const s of [child.stderr, child.stdio[3]]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  void (async () => {
    for await (const _ of messages); // drain: the exit code comes here too
  })();
  return { pid: child.pid ?? 0, first: first.done ? undefined : first.value, stderr: async () => (await exit, stderr.trim()), exit };
}

/**
 * Follow a monitored process from its directory: after `startMonitored`, or after a daemon
 * restart (`fresh: false`: output resumes where the previous daemon stopped reading, stdin is
 * reconnected only with a TTY since conmon closed a pipe stdin when the old bridge went away).
 */
export async function follow(
  dir: string,
  record: MonitorRecord,
  o: { fresh: boolean; oomKilled: () => Promise<boolean>; exitSignal?: Promise<void> },
): Promise<MonitoredProcess> {
  const stdout = new PassThrough();
  const stderr = record.tty ? null : new PassThrough();
  const posFile = record.kind === 'init' ? join(dir, 'log.pos') : undefined;
  let start: LogPosition | undefined;
  if (!o.fresh && posFile) start = await readFile(posFile, 'utf8').then((t) => JSON.parse(t) as LogPosition, () => undefined);
  const tailer = new K8sLogTailer(join(dir, 'log'), { stdout, stderr }, posFile, start);
  await tailer.start();

  const exitFile = join(dir, 'exit');
  let stdin: Writable | null = null;
  if (record.openStdin && (o.fresh || record.tty) && !existsSync(exitFile)) {
    stdin = await openStdinBridge(dir).catch(() => null);
  }

  let detached = false;
  let endFollow!: () => void;
  const exitSeenCleanup = new Promise<void>((r) => (endFollow = r));
  const exitSeen = new Promise<void>((resolve) => {
    if (o.exitSignal) void o.exitSignal.then(resolve);
    // Not our child (restored), or in case the child's exit event is missed: the exit file.
    const w = watch(dir, (_e, name) => {
      if (name === 'exit' && existsSync(exitFile)) resolve();
    });
    w.on('error', () => undefined);
    w.unref();
    const poll = setInterval(() => {
      if (detached) return void clearInterval(poll);
      void exists(exitFile).then(async (x) => x || !(await alive(record.conmonPid)) ? resolve() : undefined);
    }, 1000);
    poll.unref();
    if (existsSync(exitFile)) resolve();
    void exitSeenCleanup.then(() => {
      w.close();
      clearInterval(poll);
    });
  });

  const exited = exitSeen.then(async () => {
    endFollow();
    // Two small files of our own: read at once, without a thread-pool round trip each.
    let text = '';
    try {
      text = readFileSync(exitFile, 'utf8');
    } catch {
      /* no status recorded: 255 below */
    }
    const oomFile = existsSync(join(dir, 'oom'));
    // The cgroup's OOM count and the rest of the output are read at once.
    const [oomCgroup] = await Promise.all([oomFile || o.oomKilled().catch(() => false), tailer.finish()]);
    const exitCode = /^-?\d+/.test(text.trim()) ? Number(text.trim()) : 255;
    const oomKilled = oomFile || oomCgroup;
    const sig = exitCode > 128 ? signalNames.get(exitCode - 128) : undefined;
    const status: ExitStatus = { exitCode: exitCode < 0 ? 255 : exitCode, oomKilled, ...(sig ? { signal: sig } : {}) };
    return status;
  });

  return {
    record,
    dir,
    stdin,
    stdout,
    stderr,
    exited,
    async resize(cols: number, rows: number) {
      const fh = await open(join(dir, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
      if (!fh) return;
      try {
        await fh.write(`1 ${Math.min(rows, 1000)} ${Math.min(cols, 1000)}\n`);
      } finally {
        await fh.close();
      }
    },
    exitedYet: async () => existsSync(exitFile),
    async detach() {
      detached = true;
      endFollow();
      await tailer.close();
    },
  };
}

/** Whether a pid is alive and is a monitor, conmon or the shared one (pids are reused). */
export async function alive(pid: number): Promise<boolean> {
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return Boolean(args[0]?.endsWith('conmon')) || args.includes('tsdocker-monitor');
}
