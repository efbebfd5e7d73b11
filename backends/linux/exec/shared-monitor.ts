import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';

/**
 * One monitor for every container of an exec root, instead of a conmon each (`--exec-opt
 * native.monitor=shared`, the default where python3 is installed).
 *
 * conmon costs ~4.2 MB of RSS per container, almost all of it shared library pages that RSS
 * counts again in every process; this monitor is one python3 process (~11 MB) whatever the
 * number of containers, each adding only its pipes and a few objects. It keeps conmon's
 * contract, file for file, so the rest of the driver follows either kind alike: it runs the
 * runtime (`run --detach`, or `exec --detach`) with the process's stdio on its own pipes (or the
 * terminal it receives on a console socket), is the subreaper that collects the exit, writes the
 * output to `<dir>/log` in the k8s-file format (replaced at `logMax`), the status to `<dir>/exit`,
 * takes stdin on `<dir>/attach` (SOCK_SEQPACKET) and resizes on `<dir>/ctl`.
 *
 * It runs in its own session, outlives the daemon (a new daemon reconnects to
 * `<exec root>/monitor.sock`) and exits 30 s after its last process ended with no daemon
 * connected. The trade: one monitor's failure would end the monitoring of every container (as a
 * conmon's failure ends its own container's); it catches each handler's errors so that one
 * container's trouble stays that container's. `native.monitor=conmon` gives one conmon per
 * container.
 */
const SCRIPT = String.raw`import ctypes, errno, fcntl, json, os, resource, selectors, signal, socket, struct, subprocess, sys, termios, time

if sys.version_info < (3, 9):
    sys.stderr.write('the shared container monitor needs python3 >= 3.9 (socket.recv_fds); use --exec-opt native.monitor=conmon\n')
    sys.exit(2)
SOCK = sys.argv[2]
ROOT_FD = os.open(os.path.dirname(SOCK), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def short(name, pid='self', fd=None):
    # A socket path through /proc stays under the 108 bytes of sun_path however deep the root is.
    return '/proc/%s/fd/%d/%s' % (pid, ROOT_FD if fd is None else fd, name)
IDLE_EXIT = 30.0
EARLY_KEEP = 300.0

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: our runtimes' processes become our children
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

sel = selectors.DefaultSelector()
pending = {}   # runtime pid -> Proc being started
procs = {}     # container/exec process pid -> Proc
early = {}     # pid -> (status, time) reaped before its start was complete
clients = {}   # socket -> read buffer
idle_since = time.monotonic()


def ts():
    t = time.time_ns()
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t // 1000000000)) + '.%09dZ' % (t % 1000000000)


def close(fd):
    if fd is None:
        return
    try:
        sel.unregister(fd)
    except (KeyError, ValueError):
        pass
    try:
        if isinstance(fd, socket.socket):
            fd.close()
        else:
            os.close(fd)
    except OSError:
        pass


def read_some(fd):
    # One read: the bytes, b'' at the end of input (EIO from a terminal whose other side is gone
    # counts as that), None when nothing is there yet.
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError:
        return b''


def read_available(fd):
    # Everything a non-blocking fd holds now.
    out = b''
    while True:
        data = read_some(fd)
        if not data:
            return out
        out += data


def write_file(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(data)
    os.rename(tmp, path)


class Proc:
    def __init__(self, req, client):
        self.id = req['id']
        self.dir = req['dir']
        self.tty = bool(req.get('tty'))
        self.stdin = bool(req.get('stdin'))
        self.log_max = int(req.get('logMax') or (16 << 20))
        self.client = client
        self.reqid = req['reqid']
        self.pid = None
        self.popen = None
        self.status = None
        self.streams = {}        # fd -> 'stdout' | 'stderr'
        self.errbuf = b''        # the runtime's error output while it runs
        self.inbuf = b''         # stdin waiting for the process to read it
        self.paused = None       # an attach connection not read while inbuf is full
        self.errpipe = None      # the runtime's stderr when the process has a terminal
        self.stdin_fd = None
        self.stdin_eof = False
        self.master = None
        self.console = None
        self.console_path = None
        self.attach = None
        self.conns = []
        self.ctl = self.ctl_dummy = None
        self.log_path = os.path.join(self.dir, 'log')
        self.log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self.log_size = os.fstat(self.log).st_size

    # -- output ---------------------------------------------------------------------------
    def write_log(self, stream, data):
        lines = data.split(b'\n')
        out = []
        stamp = ts().encode()
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            if last and not line:
                break
            out.append(b'%s %s %s %s\n' % (stamp, stream.encode(), b'P' if last else b'F', line))
        blob = b''.join(out)
        if self.log_size + len(blob) > self.log_max:
            self.rotate()
        os.write(self.log, blob)
        self.log_size += len(blob)

    def rotate(self):
        tmp = self.log_path + '.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
        os.rename(tmp, self.log_path)
        os.close(self.log)
        self.log = fd
        self.log_size = 0

    def on_output(self, fd, _mask=None):
        stream = self.streams.get(fd)
        data = read_some(fd)
        if data is None:
            return
        if not data:
            self.streams.pop(fd, None)
            close(fd)
            if fd == self.master:
                self.master = None
            return
        if self.pid is None and stream == 'stderr' and not self.tty:
            self.errbuf += data  # the runtime's own messages until it reported the pid
            return
        self.write_log(stream, data)

    def drain(self):
        for fd, stream in list(self.streams.items()):
            data = read_available(fd)
            if data:
                self.write_log(stream, data)
            self.streams.pop(fd, None)
            close(fd)
        self.master = None

    # -- input ----------------------------------------------------------------------------
    def on_attach(self, _fd, _mask=None):
        try:
            conn, _ = self.attach.accept()
        except OSError:
            return
        conn.setblocking(False)
        self.conns.append(conn)
        sel.register(conn, selectors.EVENT_READ, (self.on_conn, conn))

    def on_conn(self, conn, _mask=None):
        try:
            data = conn.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if data:
            self.inbuf += data
            if len(self.inbuf) > (1 << 20):
                sel.unregister(conn)  # back-pressure: read on once the process has taken it
                self.paused = conn
            self.flush_stdin()
            return
        self.conns.remove(conn)
        close(conn)
        if not self.tty:
            self.stdin_eof = True
            self.flush_stdin()

    def flush_stdin(self):
        fd = self.stdin_fd
        if fd is None:
            self.inbuf = b''
            return
        while self.inbuf:
            try:
                n = os.write(fd, self.inbuf)
            except BlockingIOError:
                break
            except OSError:
                self.inbuf = b''
                break
            self.inbuf = self.inbuf[n:]
        paused = self.paused
        if paused is not None and len(self.inbuf) <= (1 << 20):
            self.paused = None
            sel.register(paused, selectors.EVENT_READ, (self.on_conn, paused))
        if fd == self.master:
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.inbuf else 0)
            sel.modify(fd, mask, (self.on_master, fd))
            return
        key = sel.get_map().get(fd)
        if self.inbuf and key is None:
            sel.register(fd, selectors.EVENT_WRITE, (lambda _f, _m=None: self.flush_stdin(), fd))
        elif not self.inbuf and key is not None:
            sel.unregister(fd)
        if not self.inbuf and self.stdin_eof:
            close(fd)
            self.stdin_fd = None

    def on_master(self, fd, mask=selectors.EVENT_READ):
        if mask & selectors.EVENT_WRITE:
            self.flush_stdin()
        if mask & selectors.EVENT_READ and fd == self.master:
            self.on_output(fd)

    def on_ctl(self, fd, _mask=None):
        try:
            data = os.read(fd, 4096).decode(errors='replace')
        except OSError:
            return
        for line in data.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == '1' and self.master is not None:
                try:
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack('HHHH', int(parts[1]), int(parts[2]), 0, 0))
                except (OSError, ValueError):
                    pass

    def on_console(self, _fd, _mask=None):
        try:
            conn, _ = self.console.accept()
        except OSError:
            return
        try:
            conn.settimeout(5)
            _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
        except OSError:
            fds = []
        conn.close()
        close(self.console)
        self.console = None
        try:
            os.unlink(self.console_path)
        except OSError:
            pass
        if not fds:
            return
        m = fds[0]
        try:
            attrs = termios.tcgetattr(m)
            attrs[1] |= termios.ONLCR
            termios.tcsetattr(m, termios.TCSANOW, attrs)
        except termios.error:
            pass
        os.set_blocking(m, False)
        self.master = m
        self.stdin_fd = m if self.stdin else None
        self.streams[m] = 'stdout'
        sel.register(m, selectors.EVENT_READ, (self.on_master, m))

    # -- life -----------------------------------------------------------------------------
    def setup(self, argv):
        null_r = os.open('/dev/null', os.O_RDONLY | os.O_CLOEXEC)
        null_w = os.open('/dev/null', os.O_WRONLY | os.O_CLOEXEC)
        child = []
        if self.tty:
            name = 'console-%s-%s' % (self.id[:12], os.urandom(4).hex())
            self.console_path = os.path.join(os.path.dirname(SOCK), name)
            self.console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console.bind(short(name))
            self.console.listen(1)
            self.console.setblocking(False)
            sel.register(self.console, selectors.EVENT_READ, (self.on_console, None))
            argv = argv[:-1] + ['--console-socket', short(name, os.getpid()), argv[-1]]
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            stdio = (null_r, null_w, err_w)
            child += [err_w]
            self.errpipe = err_r
            os.set_blocking(err_r, False)
            sel.register(err_r, selectors.EVENT_READ, (self.on_runtime_err, err_r))
            mkfifo(self)
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            in_r = null_r
            if self.stdin:
                in_r, in_w = os.pipe2(os.O_CLOEXEC)
                os.set_blocking(in_w, False)
                self.stdin_fd = in_w
                child.append(in_r)
            stdio = (in_r, out_w, err_w)
            child += [out_w, err_w]
            for fd, name in ((out_r, 'stdout'), (err_r, 'stderr')):
                os.set_blocking(fd, False)
                self.streams[fd] = name
                sel.register(fd, selectors.EVENT_READ, (self.on_output, fd))
        if self.stdin:
            path = os.path.join(self.dir, 'attach')
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.attach = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            dfd = os.open(self.dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                self.attach.bind(short('attach', fd=dfd))
            finally:
                os.close(dfd)
            os.chmod(path, 0o700)
            self.attach.listen(10)
            self.attach.setblocking(False)
            sel.register(self.attach, selectors.EVENT_READ, (self.on_attach, None))
        # subprocess starts it with vfork (python3 >= 3.10), not fork: copying this process's page
        # tables and the copy-on-write faults after a fork cost ~6 ms per start on a
        # paravirtualized host (fork + exec of /bin/true from a 14 MB python3: 7.8 ms, vfork
        # 1.6-1.9 ms). The child gets an empty signal mask, default dispositions (what this
        # process catches resets at exec; restore_signals resets its ignored SIGPIPE/SIGXFSZ), and
        # the process's directory as its working directory, as under conmon. os.posix_spawn is
        # not used: glibc's leaves its internal signal 32 ignored, and that reaches the container.
        self.popen = subprocess.Popen(argv, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], cwd=self.dir, restore_signals=True)
        pid = self.popen.pid
        for fd in child + [null_r, null_w]:
            os.close(fd)
        return pid

    def on_runtime_err(self, fd, _mask=None):
        data = read_some(fd)
        if data is None:
            return
        if not data:
            close(fd)
            self.errpipe = None
            return
        self.errbuf += data

    def started(self, status):
        code = os.waitstatus_to_exitcode(status)
        # Reaped here (waitpid(-1)): the Popen must not wait for it too (subprocess._active).
        self.popen.returncode = code
        self.popen = None
        if self.errpipe is not None:
            self.errbuf += read_available(self.errpipe)
            close(self.errpipe)
            self.errpipe = None
        if code != 0:
            self.drain_errors()
            reply(self.client, {'reqid': self.reqid, 'error': self.errbuf.decode(errors='replace').strip() or 'the runtime exited with status %d' % code})
            self.teardown()
            return
        try:
            with open(os.path.join(self.dir, 'pid')) as f:
                self.pid = int(f.read().strip())
        except (OSError, ValueError) as e:
            reply(self.client, {'reqid': self.reqid, 'error': 'no pid from the runtime: %s' % e})
            self.teardown()
            return
        procs[self.pid] = self
        if self.errbuf and not self.tty:
            self.write_log('stderr', self.errbuf)
        self.errbuf = b''
        reply(self.client, {'reqid': self.reqid, 'pid': self.pid})
        if self.pid in early:
            self.exited(early.pop(self.pid)[0])

    def drain_errors(self):
        for fd, name in list(self.streams.items()):
            if name == 'stderr':
                self.errbuf += read_available(fd)

    def exited(self, status):
        procs.pop(self.pid, None)
        code = os.waitstatus_to_exitcode(status)
        try:
            self.drain()
            write_file(os.path.join(self.dir, 'exit'), str(128 - code if code < 0 else code))
        except OSError:
            pass  # the directory went first (a forced removal)
        finally:
            self.teardown()

    def teardown(self):
        for fd in list(self.streams):
            close(fd)
        self.streams.clear()
        for c in self.conns:
            close(c)
        self.conns = []
        for s in (self.attach, self.console, self.ctl, self.ctl_dummy, self.log):
            close(s)
        if self.stdin_fd is not None and self.stdin_fd != self.master:
            close(self.stdin_fd)
        self.stdin_fd = None
        if self.console_path:
            try:
                os.unlink(self.console_path)
            except OSError:
                pass
        self.attach = self.console = self.ctl = self.ctl_dummy = self.log = None


def mkfifo(p):
    path = os.path.join(p.dir, 'ctl')
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.mkfifo(path, 0o600)
    p.ctl = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    p.ctl_dummy = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    sel.register(p.ctl, selectors.EVENT_READ, (p.on_ctl, p.ctl))


def reply(client, msg):
    if client is None or client not in clients:
        return
    try:
        client.settimeout(5)
        client.sendall((json.dumps(msg) + '\n').encode())
        client.setblocking(False)
    except OSError:
        drop(client)


def drop(client):
    clients.pop(client, None)
    close(client)
    for p in list(pending.values()) + list(procs.values()):
        if p.client is client:
            p.client = None


def on_request(client, line):
    global quit_when_idle
    try:
        req = json.loads(line)
    except ValueError:
        return
    op = req.get('op')
    if op == 'start':
        quit_when_idle = False
        try:
            p = Proc(req, client)
            pid = p.setup(list(req['argv']))
        except OSError as e:
            reply(client, {'reqid': req.get('reqid'), 'error': 'monitor: %s' % e})
            try:
                p.teardown()
            except Exception:
                pass
            return
        pending[pid] = p
    elif op == 'ping':
        reply(client, {'reqid': req.get('reqid'), 'pid': os.getpid(), 'running': len(procs)})
    elif op == 'quit-if-idle':
        # A daemon's stop: end now, or as soon as the last process has ended and no daemon is
        # connected (instead of after the idle delay).
        quit_when_idle = True
        reply(client, {'reqid': req.get('reqid'), 'quit': not pending and not procs})


def on_client(client, _mask=None):
    try:
        data = client.recv(65536)
    except BlockingIOError:
        return
    except OSError:
        data = b''
    if not data:
        drop(client)
        return
    buf = clients[client] + data
    while b'\n' in buf:
        line, buf = buf.split(b'\n', 1)
        on_request(client, line)
    clients[client] = buf


def on_listen(_, _mask=None):
    try:
        c, _ = server.accept()
    except OSError:
        return
    c.setblocking(False)
    clients[c] = b''
    sel.register(c, selectors.EVENT_READ, (on_client, c))


def reap():
    now = time.monotonic()
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in pending:
            pending.pop(pid).started(status)
        elif pid in procs:
            procs[pid].exited(status)
        else:
            early[pid] = (status, now)
    for pid in [p for p, (_, t) in early.items() if now - t > EARLY_KEEP]:
        del early[pid]


def on_wakeup(_, _mask=None):
    try:
        while os.read(wake_r, 4096):
            pass
    except BlockingIOError:
        pass
    reap()


try:
    os.unlink(SOCK)
except FileNotFoundError:
    pass
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(short(os.path.basename(SOCK)))
os.chmod(SOCK, 0o600)
server.listen(64)
server.setblocking(False)
sel.register(server, selectors.EVENT_READ, (on_listen, None))
wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
signal.signal(signal.SIGHUP, lambda *_: None)  # caught, not ignored: an ignored signal would reach the runtimes
sel.register(wake_r, selectors.EVENT_READ, (on_wakeup, None))
sys.stdout.write('ready\n')
sys.stdout.flush()
_null = os.open('/dev/null', os.O_WRONLY)
os.dup2(_null, 1)
os.close(_null)
reap()
quit_when_idle = False
while True:
    busy = pending or procs or clients
    if busy:
        idle_since = time.monotonic()
    elif quit_when_idle or time.monotonic() - idle_since > IDLE_EXIT:
        break
    for key, mask in sel.select(None if busy else IDLE_EXIT):
        fn, arg = key.data
        try:
            fn(arg if arg is not None else key.fileobj, mask)
        except Exception as e:  # one container's trouble must not end the others' monitor
            sys.stderr.write('monitor: %r\n' % (e,))
    reap()
try:
    os.unlink(SOCK)
except OSError:
    pass
os._exit(0)
`;

/** What the driver asks the monitor to start. */
export interface MonitorStart {
  id: string;
  /** The process's directory: log, exit, pid, attach, ctl live here. */
  dir: string;
  /** The runtime's full command line; a terminal's `--console-socket` is added before the last argument. */
  argv: string[];
  tty: boolean;
  stdin: boolean;
  logMax: number;
}

const IDLE_CLOSE_MS = 10_000;
const START_TIMEOUT_MS = 120_000;

export class SharedMonitor {
  private sock: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private readonly pending = new Map<number, { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();
  private nextId = 1;
  private idle: NodeJS.Timeout | undefined;
  /** The monitor's pid, as it answered on the current connection. */
  private pid = 0;
  private rootFd: number | undefined;

  constructor(
    private readonly root: string,
    private readonly python: string,
  ) {}

  get socketPath(): string {
    return join(this.root, 'monitor.sock');
  }

  /** Start a process; resolves with its pid and the monitor's. */
  async start(req: MonitorStart): Promise<{ pid: number; monitorPid: number }> {
    const answer = await this.request({ op: 'start', ...req }, START_TIMEOUT_MS);
    if (typeof answer.error === 'string') throw new Error(answer.error);
    return { pid: Number(answer.pid), monitorPid: this.pid };
  }

  /**
   * A daemon's stop: a monitor with nothing to watch ends now, one with processes goes on (a
   * new daemon reconnects). Never starts a monitor.
   */
  async shutdown(): Promise<void> {
    try {
      if (!this.sock || this.sock.destroyed) this.sock = await this.connect();
      const pid = this.pid || Number((await this.request({ op: 'ping' }, 5000)).pid);
      const answer = await this.request({ op: 'quit-if-idle' }, 5000);
      this.close();
      // It ends now: the daemon's stop returns once it has (a stop leaves no process behind).
      const running = () => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('tsdocker-monitor'); // a zombie's is empty
        } catch {
          return false;
        }
      };
      for (let i = 0; answer.quit === true && i < 200 && running(); i++) await new Promise((r) => setTimeout(r, 10));
    } catch {
      /* no monitor, or it is gone */
    }
    this.close();
  }

  /** Drop the connection (the monitor and its processes go on). */
  close(): void {
    if (this.idle) clearTimeout(this.idle);
    this.sock?.destroy();
    this.sock = undefined;
    if (this.rootFd !== undefined) closeSync(this.rootFd);
    this.rootFd = undefined;
  }

  private async request(msg: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const sock = await this.connection();
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    sock.ref();
    const reqid = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqid);
        reject(new Error(`the container monitor did not answer in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(reqid, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      sock.write(`${JSON.stringify({ ...msg, reqid })}\n`);
    });
  }

  private connection(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    this.connecting ??= (async () => {
      let sock: Socket;
      try {
        sock = await this.connect();
      } catch {
        await this.launch();
        sock = await this.connect();
      }
      this.sock = sock;
      const hello = await this.request({ op: 'ping' }, 10_000);
      this.pid = Number(hello.pid);
      return sock;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** The socket's path through an open descriptor of the root: short whatever the root's depth. */
  private shortPath(): string {
    this.rootFd ??= openSync(this.root, 'r');
    return `/proc/self/fd/${this.rootFd}/monitor.sock`;
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.shortPath());
      let buf = '';
      sock.once('connect', () => resolve(sock));
      sock.once('error', reject);
      sock.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          const p = this.pending.get(Number(msg.reqid));
          if (!p) continue;
          this.pending.delete(Number(msg.reqid));
          p.resolve(msg);
        }
        if (this.pending.size === 0) this.goIdle(sock);
      });
      sock.on('close', () => {
        if (this.sock === sock) this.sock = undefined;
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          p.reject(new Error('the container monitor closed the connection'));
        }
      });
    });
  }

  private goIdle(sock: Socket): void {
    sock.unref();
    this.idle = setTimeout(() => {
      if (this.pending.size === 0 && this.sock === sock) this.close();
    }, IDLE_CLOSE_MS);
    this.idle.unref();
  }

  /** Start the monitor in its own session and wait until it listens. */
  private launch(): Promise<void> {
    const script = join(this.root, 'monitor.py');
    writeFileSync(script, SCRIPT, { mode: 0o600 });
    const logFd = openSync(join(this.root, 'monitor.log'), 'a', 0o600);
    const child = spawn(this.python, ['-I', '-S', script, 'tsdocker-monitor', this.socketPath], { detached: true, stdio: ['ignore', 'pipe', logFd] });
    closeSync(logFd);
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => done(new Error('the container monitor did not start in 10 s')), 10_000);
      const done = (err?: Error) => {
        clearTimeout(timer);
        child.stdout!.destroy();
        child.unref();
        if (err) reject(err);
        else resolve();
      };
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (!out.includes('ready')) return;
        rmSync(script, { force: true }); // read already: the exec root keeps only live state
        done();
      });
      child.once('error', (e) => done(e));
      child.once('exit', (code) => {
        let why = '';
        try {
          why = readFileSync(join(this.root, 'monitor.log'), 'utf8').trim().split('\n').pop() ?? '';
        } catch {
          /* no log */
        }
        done(new Error(`the container monitor exited (${code})${why ? `: ${why}` : ''}; see ${join(this.root, 'monitor.log')}`));
      });
    });
  }
}
