import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeWsFrame, newMask, OP, WsFrameParser, type WsFrame } from '../../src/api/websocket';
import type { SuiteContext } from '../harness';
import { testImage } from '../support/test-image';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A minimal WebSocket client on the daemon's unix socket: the handshake, masked frames, collected answers. */
function wsConnect(socket: string, path: string) {
  const sock = connect(socket);
  const parser = new WsFrameParser();
  const frames: WsFrame[] = [];
  let head = '';
  let body = false;
  sock.on('data', (d: Buffer) => {
    if (!body) {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      d = Buffer.from(head.slice(end + 4), 'latin1');
      head = head.slice(0, end);
      body = true;
    }
    if (head.startsWith('HTTP/1.1 101')) frames.push(...parser.push(d));
  });
  sock.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`);
  return {
    get head() {
      return head;
    },
    text: () => Buffer.concat(frames.filter((f) => f.opcode === OP.binary || f.opcode === OP.text || f.opcode === OP.continuation).map((f) => f.payload)).toString(),
    send: (text: string) => sock.write(encodeWsFrame(OP.text, Buffer.from(text), { mask: newMask() })),
    close: () => sock.destroy(),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`never happened: ${what}`);
}

/** Attach over WebSocket (`GET /containers/{id}/attach/ws`): stdin in, output out, as dockerd. */
export function attachWsCases(ctx: SuiteContext): void {
  let image: string;
  const made: string[] = [];
  beforeAll(async () => {
    image = await testImage(ctx);
  });
  afterAll(async () => {
    for (const id of made) await ctx.get().client.raw('DELETE', `/containers/${id}`, { query: { force: 1 } });
  });

  it('echoes what the client sends through a `cat` container, after a 101 handshake', async () => {
    const c = ctx.get().client;
    const { Id } = await c.json<{ Id: string }>('POST', '/containers/create', { body: { Image: image, Cmd: ['cat'], OpenStdin: true, AttachStdin: true, AttachStdout: true } });
    made.push(Id);
    expect((await c.raw('POST', `/containers/${Id}/start`)).status).toBe(204);
    const ws = wsConnect(ctx.get().socket, `/v1.41/containers/${Id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`);
    await until(() => ws.head.startsWith('HTTP/1.1 101'), 'the 101 answer');
    expect(ws.head).toMatch(/Upgrade: websocket/i);
    ws.send('hello over ws\n');
    await until(() => ws.text().includes('hello over ws\n'), 'the echo');
    ws.close();
  });

  it('a missing container is 404 before any upgrade', async () => {
    const ws = wsConnect(ctx.get().socket, '/v1.41/containers/nosuchcontainer/attach/ws?stream=1&stdout=1');
    await until(() => ws.head.length > 0, 'an answer');
    expect(ws.head).toMatch(/^HTTP\/1.1 404/);
    ws.close();
  });
}
