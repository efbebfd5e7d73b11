import type { Duplex } from 'node:stream';
import { posix } from 'node:path';
import type { Applet, AppletContext, Listener } from '../context';
import { absPath, statOrNull } from '../fs-util';
import { Input, streamSink, streamSource } from '../io';
import { getopt, usageError } from './args';

/** Waits for connections on a port registered through the emulator's `listen` hook. */
export class Acceptor {
  private queue: Duplex[] = [];
  private waiter: ((c: Duplex) => void) | null = null;
  private listener: Listener | null = null;

  static async open(ctx: AppletContext, port: number, proto: 'tcp' | 'udp'): Promise<Acceptor | null> {
    const listen = ctx.machine.hooks.listen;
    if (!listen) {
      await ctx.error('bind: Address not available');
      return null;
    }
    const acceptor = new Acceptor();
    acceptor.listener = await listen(port, proto, (conn) => acceptor.push(conn));
    const off = ctx.proc.subscribe(() => {
      if (ctx.proc.exited) {
        off();
        acceptor.close();
      }
    });
    return acceptor;
  }

  private push(conn: Duplex): void {
    const w = this.waiter;
    this.waiter = null;
    if (w) w(conn);
    else this.queue.push(conn);
  }

  accept(): Promise<Duplex> {
    const next = this.queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.listener?.close();
    this.listener = null;
  }
}

/** Copies stdin to the connection and the connection to stdout until the peer closes. */
async function relay(ctx: AppletContext, conn: Duplex): Promise<void> {
  void (async () => {
    try {
      for (let c = await ctx.stdin.read(); c !== null; c = await ctx.stdin.read()) if (!conn.destroyed) conn.write(c);
      if (!conn.destroyed) conn.end();
    } catch {
      conn.destroy();
    }
  })();
  const input = new Input(streamSource(conn));
  try {
    for (let c = await ctx.proc.guard(input.read()); c !== null; c = await ctx.proc.guard(input.read())) await ctx.stdout.write(c);
  } finally {
    if (ctx.proc.exited) conn.destroy();
  }
}

/** nc [-l] [-k] [-p PORT] [-u] [-z] [-e PROG] [HOST PORT]: through the emulator's network hooks. */
export const nc: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'lkp:uze:w:i:nv', '[-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]');
  if (!opts) return 1;
  const proto = opts.has('u') ? 'udp' : 'tcp';
  const serve = async (conn: Duplex): Promise<void> => {
    const prog = opts.value('e');
    if (prog) {
      await ctx.run([prog, ...opts.operands.slice(opts.has('l') ? 0 : 2)], { stdin: new Input(streamSource(conn)), stdout: streamSink(conn), stderr: ctx.stdio.stderr });
      conn.end();
    } else await relay(ctx, conn);
  };
  if (opts.has('l')) {
    const portText = opts.value('p') ?? opts.operands[0];
    const port = Number(portText);
    if (!portText || !Number.isInteger(port) || port < 1 || port > 65535) return usageError(ctx, 'missing or bad port', '-l -p PORT');
    const acceptor = await Acceptor.open(ctx, port, proto);
    if (!acceptor) return 1;
    try {
      do {
        const conn = await ctx.proc.guard(acceptor.accept());
        if (opts.has('k')) void serve(conn).catch(() => conn.destroy());
        else await serve(conn);
      } while (opts.has('k'));
    } finally {
      acceptor.close();
    }
    return 0;
  }
  const [host, portText] = opts.operands;
  const port = Number(portText);
  if (!host || !Number.isInteger(port)) return usageError(ctx, 'missing host or port', '[-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]');
  const connect = ctx.machine.hooks.connect;
  let conn: Duplex;
  try {
    if (!connect) throw new Error('Network is unreachable');
    conn = await ctx.proc.guard(connect(host, port, proto));
  } catch (err) {
    await ctx.error(`can't connect to remote host (${host}): ${err instanceof Error ? err.message : 'Connection refused'}`);
    return 1;
  }
  if (opts.has('z')) {
    conn.destroy();
    return 0;
  }
  await serve(conn);
  return 0;
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.txt': 'text/plain',
  '.css': 'text/css',
  '.js': 'application/javascript',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
};

/** Reads an HTTP request head from a connection: method and path, or null if the peer left. */
export async function readRequestHead(conn: Duplex): Promise<{ method: string; path: string } | null> {
  const input = new Input(streamSource(conn));
  let head = '';
  while (!head.includes('\r\n\r\n') && !head.includes('\n\n')) {
    const c = await input.read();
    if (c === null) return null;
    head += c.toString('latin1');
    if (head.length > 65536) return null;
  }
  const [method = 'GET', path = '/'] = (head.split(/\r?\n/, 1)[0] ?? '').split(' ');
  return { method, path };
}

/** Writes a whole HTTP/1.1 response and closes the connection. */
export function writeResponse(conn: Duplex, status: number, reason: string, body: Buffer | string, headers: Record<string, string> = {}): void {
  const data = Buffer.from(body);
  const head = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries({ 'Content-Length': String(data.length), Connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  conn.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), data]));
}

/** httpd [-f] [-p PORT] [-h HOME]: serves files; without -f it keeps serving in a background process. */
export const httpd: Applet = async (ctx) => {
  const opts = await getopt(ctx, 'fvp:h:c:u:r:', '[-ifvv] [-c CONFFILE] [-p [IP:]PORT] [-u USER[:GRP]] [-r REALM] [-h HOME]');
  if (!opts) return 1;
  const port = Number((opts.value('p') ?? '80').split(':').pop());
  const home = absPath(ctx.cwd, opts.value('h') ?? '.');
  const acceptor = await Acceptor.open(ctx, port, 'tcp');
  if (!acceptor) return 1;
  const handle = async (conn: Duplex): Promise<void> => {
    const req = await readRequestHead(conn);
    if (!req) return void conn.destroy();
    let path = posix.join(home, posix.normalize(decodeURIComponent(req.path.split('?')[0] ?? '/')));
    let st = await statOrNull(ctx.fs, path);
    if (st?.isDirectory()) {
      path = posix.join(path, 'index.html');
      st = await statOrNull(ctx.fs, path);
    }
    if (!st?.isFile()) {
      writeResponse(conn, 404, 'Not Found', '<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\nThe requested URL was not found\n</BODY></HTML>\n', { 'Content-type': 'text/html' });
      return;
    }
    const body = req.method === 'HEAD' ? '' : await ctx.fs.readFile(path);
    writeResponse(conn, 200, 'OK', body, { 'Content-type': CONTENT_TYPES[posix.extname(path)] ?? 'application/octet-stream' });
  };
  for (;;) {
    const conn = await ctx.proc.guard(acceptor.accept());
    void handle(conn).catch(() => conn.destroy());
  }
};
