import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors';
import { encodeFrame, muxWriter } from '../streams/stdcopy';
import { attachHijack, bridgeHijacked, detachHttpParser, installUpgradeRouting, sendRawStreamError, streamContentType } from './hijack';

let dir: string | undefined;
let app: FastifyInstance | undefined;
const clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await app?.close();
  app = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/**
 * A tiny daemon: attach uppercases what the client types and says `bye` when stdin ends;
 * exec start echoes its JSON body then stdin, multiplexed, with dockerd's extra headers.
 */
async function serve(routing: boolean): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'tsdocker-hijack-'));
  const path = join(dir, 'api.sock');
  app = Fastify({
    serverFactory: (handler) => {
      const server: Server = createServer(handler);
      if (routing) installUpgradeRouting(server, handler);
      return server;
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_r, body, done) => done(null, body === '' ? undefined : JSON.parse(body as string)));
  app.addContentTypeParser('*', (_r, payload, done) => done(null, payload));
  app.post<{ Params: { id: string } }>('/containers/:id/attach', async (req, reply) => {
    if (req.params.id === 'missing') return sendRawStreamError(req, reply, new NotFoundError('No such container: missing'));
    const socket = await attachHijack(req, reply);
    const stdin = new PassThrough();
    const output = new PassThrough();
    stdin.on('data', (d: Buffer) => output.write(d.toString().toUpperCase()));
    stdin.on('end', () => output.end('bye\n'));
    await bridgeHijacked(socket, { stdin, closeStdin: true, output });
  });
  app.post<{ Params: { id: string } }>('/exec/:id/start', async (req, reply) => {
    if (req.params.id === 'missing') throw Object.assign(new Error('No such exec instance: missing'), { statusCode: 404 });
    const socket = await attachHijack(req, reply, { extraHeaders: { 'Api-Version': '1.41', Ostype: 'linux' } });
    const mux = muxWriter(socket);
    mux.stdout.write(JSON.stringify(req.body));
    socket.on('data', (d: Buffer) => mux.stderr.write(d));
    socket.on('end', () => socket.end());
  });
  await app.listen({ path });
  return path;
}

/** A raw client: send bytes, read until a condition holds. */
function client(path: string) {
  const sock = connect(path);
  clients.push(sock);
  let got = Buffer.alloc(0);
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  sock.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    wake();
  });
  sock.on('end', () => {
    ended = true;
    wake();
  });
  sock.on('close', () => {
    ended = true;
    wake();
  });
  return {
    sock,
    get text() {
      return got.toString('latin1');
    },
    get bytes() {
      return got;
    },
    get ended() {
      return ended;
    },
    async until(cond: () => boolean): Promise<void> {
      while (!cond()) {
        if (ended) throw new Error(`connection ended; got ${JSON.stringify(got.toString('latin1'))}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async untilEnd(): Promise<void> {
      while (!ended) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

const UPGRADED = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n';

describe.each([
  ['with upgrade routing', true],
  ['without upgrade routing (parser detached)', false],
])('hijack %s', (_name, routing) => {
  it('answers an Upgrade request with dockerd 101 bytes and streams both ways with half-close', async () => {
    const c = client(await serve(routing));
    c.sock.write('POST /containers/abc/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\n\r\n');
    await c.until(() => c.text.length >= UPGRADED.length);
    expect(c.text).toBe(UPGRADED);
    c.sock.write('hello\n');
    await c.until(() => c.text.endsWith('HELLO\n'));
    // Bytes that look like HTTP are just stdin now.
    c.sock.write('GET / HTTP/1.1\r\n\r\n');
    await c.until(() => c.text.endsWith('GET / HTTP/1.1\r\n\r\n'));
    c.sock.end(); // stdin EOF: the process ends, its output ends, the socket ends
    await c.untilEnd();
    expect(c.text).toBe(`${UPGRADED}HELLO\nGET / HTTP/1.1\r\n\r\nbye\n`);
  });

  it('hijacks a plain POST too, answering 200 OK with the raw-stream type', async () => {
    const c = client(await serve(routing));
    c.sock.write('POST /containers/abc/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    await c.until(() => c.text.length >= OK.length);
    expect(c.text).toBe(OK);
    c.sock.write('x\n');
    await c.until(() => c.text.endsWith('X\n'));
    c.sock.end();
    await c.untilEnd();
    expect(c.text).toBe(`${OK}X\nbye\n`);
  });

  it('exec start: reads the JSON body, adds the extra headers, multiplexes', async () => {
    const c = client(await serve(routing));
    const body = '{"Detach":false,"Tty":false}';
    c.sock.write(`POST /exec/e1/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const head = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: 1.41\r\nOstype: linux\r\n\r\n';
    const first = Buffer.concat([Buffer.from(head), encodeFrame('stdout', body)]);
    await c.until(() => c.bytes.length >= first.length);
    expect(c.bytes).toEqual(first);
    c.sock.write('in');
    await c.until(() => c.bytes.length >= first.length + 10);
    expect(c.bytes.subarray(first.length)).toEqual(encodeFrame('stderr', 'in'));
    c.sock.end();
    await c.untilEnd();
  });

  it('writes dockerd raw error answer when attach fails before the stream', async () => {
    const c = client(await serve(routing));
    c.sock.write('POST /containers/missing/attach?stream=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    await c.untilEnd();
    expect(c.text).toBe('HTTP/1.1 404 Not Found\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nNo such container: missing\r\n');
  });

  it('an ordinary error answer to an Upgrade request is a normal HTTP reply', async () => {
    const c = client(await serve(routing));
    c.sock.write('POST /exec/missing/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await c.until(() => c.text.includes('No such exec instance: missing'));
    expect(c.text).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
  });
});

describe('hijack details', () => {
  it('puts back the bytes a client sent right after the Upgrade request (routing)', async () => {
    const c = client(await serve(true));
    c.sock.write('POST /containers/abc/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly\n');
    await c.until(() => c.text.endsWith('EARLY\n'));
    expect(c.text).toBe(`${UPGRADED}EARLY\n`);
  });

  it('puts back bytes sent after an exec start body, in the same packet (routing)', async () => {
    const c = client(await serve(true));
    const body = '{}';
    c.sock.write(`POST /exec/e1/start HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n${body}stdin!`);
    await c.until(() => c.bytes.includes(encodeFrame('stderr', 'stdin!')));
    expect(c.bytes.includes(encodeFrame('stdout', '{}'))).toBe(true);
  });

  it('detachHttpParser unhooks the Node HTTP server listeners it knows by name', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsdocker-hijack-'));
    const path = join(dir, 'plain.sock');
    const names: string[][] = [];
    const server = createServer((req, res) => {
      const s = req.socket;
      const listed = () => s.eventNames().flatMap((e) => s.listeners(e).map((l) => `${String(e)}:${l.name.replace(/^bound /, '')}`));
      names.push(listed());
      detachHttpParser(s, req);
      names.push(listed());
      s.end('HTTP/1.1 204 No Content\r\n\r\n');
      void res;
    });
    await new Promise<void>((r) => server.listen(path, r));
    const c = client(path);
    c.sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.untilEnd();
    await new Promise<void>((r) => server.close(() => r()));
    // If Node renames its listeners, the first expectation tells which.
    expect(names[0]).toEqual(expect.arrayContaining(['data:socketOnData', 'end:socketOnEnd', 'error:socketOnError', 'close:socketOnClose']));
    for (const n of ['data:socketOnData', 'end:socketOnEnd', 'error:socketOnError', 'close:socketOnClose', 'drain:socketOnDrain', 'timeout:socketOnTimeout'])
      expect(names[1]).not.toContain(n);
  });

  it('chooses the content type by API version and TTY', () => {
    expect(streamContentType('1.41', false)).toBe('application/vnd.docker.raw-stream');
    expect(streamContentType('1.42', false)).toBe('application/vnd.docker.multiplexed-stream');
    expect(streamContentType('1.50', true)).toBe('application/vnd.docker.raw-stream');
  });
});
