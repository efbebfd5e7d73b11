/**
 * Attach over WebSocket (`GET /containers/{id}/attach/ws`), RFC 6455, server side. No
 * WebSocket package is installed (fastify does not bring `ws`), so the handshake and framing
 * are here; only what attach needs: text and binary messages (fragmented or not), ping/pong,
 * close. No extensions (permessage-deflate is not negotiated), no subprotocols.
 *
 * As dockerd 20.10 (golang.org/x/net/websocket) does:
 * - a request that is not a WebSocket handshake gets `HTTP/1.1 400 Bad Request\r\n\r\nnot websocket protocol`;
 * - the handshake answer is `101 Switching Protocols` with Upgrade, Connection and
 *   Sec-WebSocket-Accept only; no Origin check;
 * - output goes out as binary frames, raw (stdout and stderr merged, never multiplexed);
 * - the payload of every incoming text or binary message is stdin.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { takeOverConnection } from './hijack';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Close codes used here (RFC 6455 §7.4.1). */
export const CLOSE = { normal: 1000, goingAway: 1001, protocolError: 1002, tooBig: 1009 } as const;

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** One frame on the wire. `mask` (4 bytes) is for clients; servers never mask. */
export function encodeWsFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (opts.mask ? 4 : 0));
  head[0] = ((opts.fin ?? true) ? 0x80 : 0) | opcode;
  head[1] = (opts.mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!opts.mask) return Buffer.concat([head, payload]);
  opts.mask.copy(head, 2 + lenBytes);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= opts.mask[i % 4]!;
  return Buffer.concat([head, masked]);
}

export interface WsFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export class WsProtocolError extends Error {
  constructor(
    message: string,
    readonly closeCode: number = CLOSE.protocolError,
  ) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/** Incremental frame parser: push bytes in any chunking, get complete frames (unmasked). */
export class WsFrameParser {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload = 16 * 1024 * 1024) {}

  push(chunk: Buffer): WsFrame[] {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: WsFrame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      if ((b[0]! & 0x70) !== 0) throw new WsProtocolError('reserved bits set (no extension was negotiated)');
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.maxPayload)) throw new WsProtocolError(`frame of ${big} bytes is too big`, CLOSE.tooBig);
        len = Number(big);
        at = 10;
      }
      if (len > this.maxPayload) throw new WsProtocolError(`frame of ${len} bytes is too big`, CLOSE.tooBig);
      if (opcode >= 0x8 && (!fin || len > 125)) throw new WsProtocolError('control frames must be final and at most 125 bytes');
      const maskAt = at;
      if (masked) at += 4;
      if (b.length < at + len) break;
      const payload = Buffer.from(b.subarray(at, at + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
      frames.push({ fin, opcode, masked, payload });
      this.buf = b.subarray(at + len);
    }
    return frames;
  }
}

/**
 * A server-side WebSocket connection as a Duplex: reading gives the payload bytes of the
 * client's text/binary messages; each write is sent as one message of `messageType`.
 * Pings are answered; a close from the client is echoed and ends the readable side; ending
 * the writable side sends close 1000 and half-closes the socket.
 */
export class WebSocketStream extends Duplex {
  private readonly parser: WsFrameParser;
  private closeSent = false;
  private readableDone = false;
  /** Close code and reason the client sent, once it did. */
  closeCode: number | undefined;
  closeReason = '';

  constructor(
    private readonly socket: Socket,
    private readonly opts: { messageType?: 'binary' | 'text'; maxPayload?: number } = {},
  ) {
    super();
    this.parser = new WsFrameParser(opts.maxPayload);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.finishReading());
    socket.on('close', () => {
      this.finishReading();
      if (!this.destroyed) this.destroy();
    });
    socket.on('error', (e) => this.destroy(e));
  }

  /** Send a close frame (once) and half-close the socket. */
  close(code: number = CLOSE.normal, reason = ''): void {
    if (this.closeSent) return;
    this.closeSent = true;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    if (!this.socket.destroyed) this.socket.end(encodeWsFrame(OP.close, payload));
  }

  /** Send a ping (the client answers with a pong event). */
  ping(data: Buffer = Buffer.alloc(0)): void {
    if (!this.closeSent) this.socket.write(encodeWsFrame(OP.ping, data));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.closeSent || this.socket.destroyed) return callback();
    const opcode = this.opts.messageType === 'text' ? OP.text : OP.binary;
    this.socket.write(encodeWsFrame(opcode, chunk), (err) => callback(err ?? null));
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.close(CLOSE.normal);
    callback();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }

  private onData(d: Buffer) {
    let frames: WsFrame[];
    try {
      frames = this.parser.push(d);
    } catch (e) {
      const err = e as WsProtocolError;
      this.close(err.closeCode, err.message.slice(0, 120));
      this.finishReading();
      return;
    }
    for (const f of frames) {
      if (!f.masked) {
        this.close(CLOSE.protocolError, 'client frames must be masked');
        this.finishReading();
        return;
      }
      if (f.opcode === OP.ping) this.socket.write(encodeWsFrame(OP.pong, f.payload));
      else if (f.opcode === OP.pong) this.emit('pong', f.payload);
      else if (f.opcode === OP.close) {
        this.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
        this.closeReason = f.payload.subarray(2).toString();
        this.close(this.closeCode ?? CLOSE.normal);
        this.finishReading();
        return;
      } else if (f.opcode === OP.text || f.opcode === OP.binary || f.opcode === OP.continuation) {
        if (f.payload.length > 0 && !this.readableDone && !this.push(f.payload)) this.socket.pause();
      } else {
        this.close(CLOSE.protocolError, `unknown opcode ${f.opcode}`);
        this.finishReading();
        return;
      }
    }
  }

  private finishReading() {
    if (this.readableDone) return;
    this.readableDone = true;
    this.push(null);
  }
}

/** Is `req` a WebSocket handshake we can accept? Returns the failure answer if not. */
function checkHandshake(req: FastifyRequest): string | undefined {
  const h = req.headers;
  const connection = String(h.connection ?? '').toLowerCase().split(/\s*,\s*/);
  if (req.method !== 'GET' || String(h.upgrade ?? '').toLowerCase() !== 'websocket' || !connection.includes('upgrade')) {
    return 'HTTP/1.1 400 Bad Request\r\n\r\nnot websocket protocol';
  }
  const key = String(h['sec-websocket-key'] ?? '');
  if (Buffer.from(key, 'base64').length !== 16) return 'HTTP/1.1 400 Bad Request\r\n\r\nmissing or bad Sec-WebSocket-Key';
  if (h['sec-websocket-version'] !== '13') return 'HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n\r\n';
  return undefined;
}

/**
 * Answer the WebSocket handshake and return the connection, or answer dockerd's 400 and
 * return undefined when the request is not a WebSocket handshake.
 */
export async function acceptWebSocket(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { messageType?: 'binary' | 'text'; maxPayload?: number } = {},
): Promise<WebSocketStream | undefined> {
  const bad = checkHandshake(req);
  const socket = takeOverConnection(req, reply);
  if (bad) {
    socket.end(bad);
    return undefined;
  }
  const accept = acceptKey(String(req.headers['sec-websocket-key']));
  await new Promise<void>((resolve, reject) =>
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, (e) => (e ? reject(e) : resolve())),
  );
  return new WebSocketStream(socket, opts);
}

/** A fresh random masking key (for clients, e.g. tests and the CLI). */
export function newMask(): Buffer {
  return randomBytes(4);
}
