import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { installUpgradeRouting } from './hijack';
import { CLOSE, OP, WsFrameParser, acceptKey, acceptWebSocket, encodeWsFrame, newMask, type WsFrame } from './websocket';

let app: FastifyInstance | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await app?.close();
  app = undefined;
});

/** attach/ws stand-in: echoes stdin uppercased as binary messages; `bye` then close on stdin end. */
async function serve(routing: boolean): Promise<number> {
  app = Fastify({
    serverFactory: (handler) => {
      const server: Server = createServer(handler);
      if (routing) installUpgradeRouting(server, handler);
      return server;
    },
  });
  app.get('/containers/:id/attach/ws', async (req, reply) => {
    const ws = await acceptWebSocket(req, reply);
    if (!ws) return;
    ws.on('data', (d: Buffer) => ws.write(Buffer.from(d.toString().toUpperCase())));
    ws.on('end', () => ws.end('bye'));
    ws.on('error', () => undefined);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HANDSHAKE_ANSWER = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';

/** A hand-written client: raw handshake, masked frames, frames parsed back. */
async function wsClient(port: number, request?: string) {
  const sock = connect(port, '127.0.0.1');
  sockets.push(sock);
  let head = '';
  let headDone = false;
  const frames: WsFrame[] = [];
  const parser = new WsFrameParser();
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  sock.on('data', (d: Buffer) => {
    if (!headDone) {
      const text = head + d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0 || !text.startsWith('HTTP/1.1 101')) {
        head = text;
      } else {
        head = text.slice(0, end + 4);
        headDone = true;
        d = Buffer.from(text.slice(end + 4), 'latin1');
      }
      if (!headDone) return wake();
    }
    frames.push(...parser.push(d));
    wake();
  });
  sock.on('close', () => {
    ended = true;
    wake();
  });
  sock.write(
    request ?? `GET /containers/c1/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`,
  );
  const until = async (cond: () => boolean) => {
    while (!cond()) {
      if (ended) throw new Error(`closed; head ${JSON.stringify(head)} frames ${frames.length}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    sock,
    frames,
    get head() {
      return head;
    },
    get ended() {
      return ended;
    },
    until,
    untilClosed: async () => {
      while (!ended) await new Promise<void>((r) => waiters.push(r));
    },
    send: (opcode: number, payload: string | Buffer, fin = true) => sock.write(encodeWsFrame(opcode, Buffer.from(payload), { fin, mask: newMask() })),
  };
}

describe('WebSocket framing', () => {
  it('computes the RFC 6455 example accept key', () => {
    expect(acceptKey(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('parses what it encodes, masked or not, under any chunking and length class (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ opcode: fc.constantFrom(0, 1, 2), len: fc.constantFrom(0, 5, 125, 126, 300, 65535, 65536, 70000), masked: fc.boolean() }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 9000 }),
        (specs, step) => {
          const sent = specs.map((s) => ({ ...s, payload: Buffer.alloc(s.len, s.len % 251) }));
          const wire = Buffer.concat(sent.map((s) => encodeWsFrame(s.opcode, s.payload, s.masked ? { mask: Buffer.from([1, 2, 3, 4]) } : {})));
          const p = new WsFrameParser();
          const got: WsFrame[] = [];
          for (let at = 0; at < wire.length; at += step) got.push(...p.push(wire.subarray(at, at + step)));
          expect(got.map((f) => [f.opcode, f.masked, f.payload.length, f.fin])).toEqual(sent.map((s) => [s.opcode, s.masked, s.len, true]));
          got.forEach((f, i) => expect(f.payload.equals(sent[i]!.payload)).toBe(true));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('rejects oversized frames and bad control frames', () => {
    expect(() => new WsFrameParser(10).push(encodeWsFrame(OP.binary, Buffer.alloc(11)))).toThrow(/too big/);
    expect(() => new WsFrameParser().push(encodeWsFrame(OP.ping, Buffer.alloc(126)))).toThrow(/control frames/);
    expect(() => new WsFrameParser().push(Buffer.from([0xc2, 0x00]))).toThrow(/reserved bits/);
  });
});

describe.each([
  ['with upgrade routing', true],
  ['without upgrade routing', false],
])('attach over WebSocket %s', (_n, routing) => {
  it('answers the handshake as dockerd and echoes text and binary messages as binary frames', async () => {
    const c = await wsClient(await serve(routing));
    await c.until(() => c.head.length > 0 && c.head.endsWith('\r\n\r\n'));
    expect(c.head).toBe(HANDSHAKE_ANSWER);
    c.send(OP.text, 'hello\n');
    c.send(OP.binary, Buffer.from('bin'));
    await c.until(() => c.frames.length >= 2);
    expect(c.frames.map((f) => [f.opcode, f.masked, f.payload.toString()])).toEqual([
      [OP.binary, false, 'HELLO\n'],
      [OP.binary, false, 'BIN'],
    ]);
  });

  it('streams fragmented messages, answers pings, and closes with the client code', async () => {
    const c = await wsClient(await serve(routing));
    // A WebSocket client waits for the 101 (bytes sent before it are lost without routing).
    await c.until(() => c.head.endsWith('\r\n\r\n'));
    c.send(OP.text, 'fra', false);
    c.send(OP.continuation, 'g', true);
    await c.until(() => c.frames.length >= 2);
    expect(Buffer.concat(c.frames.map((f) => f.payload)).toString()).toBe('FRAG');
    c.send(OP.ping, 'p1');
    await c.until(() => c.frames.some((f) => f.opcode === OP.pong));
    expect(c.frames.find((f) => f.opcode === OP.pong)?.payload.toString()).toBe('p1');
    const close = Buffer.alloc(2);
    close.writeUInt16BE(CLOSE.goingAway);
    c.send(OP.close, close);
    await c.until(() => c.frames.some((f) => f.opcode === OP.close));
    expect(c.frames.find((f) => f.opcode === OP.close)!.payload.readUInt16BE(0)).toBe(CLOSE.goingAway);
    c.sock.end();
    await c.untilClosed();
  });

  it('closes with 1002 on an unmasked client frame', async () => {
    const c = await wsClient(await serve(routing));
    await c.until(() => c.head.endsWith('\r\n\r\n'));
    c.sock.write(encodeWsFrame(OP.text, Buffer.from('x')));
    await c.until(() => c.frames.some((f) => f.opcode === OP.close));
    expect(c.frames.find((f) => f.opcode === OP.close)!.payload.readUInt16BE(0)).toBe(CLOSE.protocolError);
  });

  it('answers a non-WebSocket request as dockerd does', async () => {
    const c = await wsClient(await serve(routing), 'GET /containers/c1/attach/ws HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await c.untilClosed();
    expect(c.head).toBe('HTTP/1.1 400 Bad Request\r\n\r\nnot websocket protocol');
  });
});

describe('interoperability', () => {
  it("works with Node's own WebSocket client (undici, --experimental-websocket)", async () => {
    const port = await serve(true);
    const script = `
      const ws = new WebSocket('ws://127.0.0.1:${port}/containers/c1/attach/ws?stdin=1&stdout=1');
      ws.binaryType = 'arraybuffer';
      const got = [];
      ws.onopen = () => { ws.send('abc\\n'); ws.send(new Uint8Array([100, 101])); };
      ws.onmessage = (m) => {
        got.push(Buffer.from(m.data).toString());
        if (got.length === 2) ws.close(1000, 'done');
      };
      ws.onclose = (e) => { console.log(JSON.stringify({ got, code: e.code })); };
      ws.onerror = (e) => { console.log(JSON.stringify({ error: String(e.message ?? e) })); };
    `;
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ got: ['ABC\n', 'DE'], code: 1000 });
  });
});
