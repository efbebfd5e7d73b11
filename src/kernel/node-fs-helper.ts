import { existsSync } from 'node:fs';
import { Coprocess } from './coprocess';
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
  private readonly proc = new Coprocess({
    command: pythonPath(),
    args: ['-c', SCRIPT],
    name: 'the python3 helper for mknod/xattr',
    idOf: (line) => (JSON.parse(line) as { id: number }).id,
    idleExitMs: IDLE_EXIT_MS,
  });

  async call(op: string, path: string, args: Record<string, unknown> = {}): Promise<unknown> {
    let line: string;
    try {
      line = await this.proc.call((id) => JSON.stringify({ id, op, path, ...args }) + '\n');
    } catch (e) {
      throw fsError('ENOTSUP', (e as Error).message, op, path);
    }
    const msg = JSON.parse(line) as { result?: unknown; code?: string; message?: string };
    if (msg.code) throw fsError(msg.code, msg.message ?? msg.code, op, path);
    return msg.result;
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
