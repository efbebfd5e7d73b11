import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { SpecialFileKind } from './host-fs';

/**
 * What Node's fs module lacks and a layer filesystem needs: mknod (fifos, devices, overlay
 * whiteouts) and extended attributes. Node has no such calls and the project takes no native
 * addon, so one long-lived `python3` co-process (its `os` module has them) serves JSON-line
 * requests. It is started on first use, unref'd while idle so it never keeps the daemon alive,
 * and told to exit (stdin closed) after a few idle seconds. Errors come back with their POSIX
 * `code`. Needs python3 on the host; without it every call fails with `ENOTSUP`.
 */
const SCRIPT = String.raw`
import sys, os, json, base64, errno
os.umask(0)
KINDS = {'fifo': 0o010000, 'char': 0o020000, 'block': 0o060000}
for line in sys.stdin:
    req = json.loads(line)
    try:
        op = req['op']; p = req['path']; res = None
        if op == 'mknod':
            os.mknod(p, KINDS[req['kind']] | req['mode'], os.makedev(req['major'], req['minor']))
        elif op == 'listxattr':
            res = {}
            try:
                names = os.listxattr(p, follow_symlinks=False)
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP): raise
                names = []
            for n in names:
                try:
                    res[n] = base64.b64encode(os.getxattr(p, n, follow_symlinks=False)).decode()
                except OSError as e:
                    if e.errno != errno.ENODATA: raise
        elif op == 'setxattr':
            os.setxattr(p, req['name'], base64.b64decode(req['value']), follow_symlinks=False)
        out = {'id': req['id'], 'result': res}
    except OSError as e:
        out = {'id': req['id'], 'code': errno.errorcode.get(e.errno, 'EIO'), 'message': e.strerror or str(e)}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
`;

const IDLE_EXIT_MS = 3000;

type Pending = { resolve(v: unknown): void; reject(e: Error): void; op: string; path: string };

function pythonPath(): string {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) if (existsSync(p)) return p;
  return 'python3';
}

function fsError(code: string, message: string, op: string, path: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: ${message}, ${op} '${path}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.path = path;
  err.syscall = op;
  return err;
}

class FsHelper {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;

  call(op: string, path: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const child = this.start();
    const id = this.nextId++;
    if (this.pending.size === 0) this.setBusy(child, true);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op, path });
      child.stdin.write(JSON.stringify({ id, op, path, ...args }) + '\n');
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.child) return this.child;
    const child = spawn(pythonPath(), ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(fsError('ENOTSUP', `the python3 helper for mknod/xattr ${why}${stderr ? `: ${stderr.trim()}` : ''}`, p.op, p.path));
      }
    };
    child.on('error', (e) => fail(`could not start (${e.message})`));
    child.on('exit', (code) => fail(`exited with code ${code}`));
    return child;
  }

  private onLine(line: string): void {
    const msg = JSON.parse(line) as { id: number; result?: unknown; code?: string; message?: string };
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.code) p.reject(fsError(msg.code, msg.message ?? msg.code, p.op, p.path));
    else p.resolve(msg.result);
    if (this.pending.size === 0 && this.child) this.goIdle(this.child);
  }

  private goIdle(child: ChildProcessWithoutNullStreams): void {
    this.setBusy(child, false);
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0 && this.child === child) {
        this.child = undefined;
        child.stdin.end();
      }
    }, IDLE_EXIT_MS);
    this.idleTimer.unref();
  }

  /** Keep the event loop alive only while a request is outstanding. */
  private setBusy(child: ChildProcessWithoutNullStreams, busy: boolean): void {
    const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[];
    for (const h of handles) {
      if (busy) h.ref();
      else h.unref();
    }
  }
}

const helper = new FsHelper();

export async function mknodViaHelper(path: string, kind: SpecialFileKind, mode: number, major = 0, minor = 0): Promise<void> {
  await helper.call('mknod', path, { kind, mode: mode & 0o7777, major, minor });
}

export async function listXattrsViaHelper(path: string): Promise<Record<string, Buffer>> {
  const raw = (await helper.call('listxattr', path)) as Record<string, string>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

export async function setXattrViaHelper(path: string, name: string, value: Uint8Array): Promise<void> {
  await helper.call('setxattr', path, { name, value: Buffer.from(value).toString('base64') });
}
