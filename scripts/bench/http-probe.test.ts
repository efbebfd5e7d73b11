import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEndpoint, parseHttpResponse, pingOnce, ProbeConnection, waitForPing, type Endpoint } from './http-probe';

describe('parseHttpResponse', () => {
  it('reads a Content-Length body and says how much it consumed', () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\nOKnext');
    const r = parseHttpResponse(raw);
    if (r === 'incomplete') throw new Error('expected a response');
    expect(r.response.status).toBe(200);
    expect(r.response.body.toString()).toBe('OK');
    expect(r.response.headers.get('api-version')).toBe('1.41');
    expect(raw.subarray(r.consumed).toString()).toBe('next');
  });

  it('reassembles a chunked body', () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{"a\r\n4\r\n":1}\r\n0\r\n\r\n');
    const r = parseHttpResponse(raw);
    if (r === 'incomplete') throw new Error('expected a response');
    expect(r.response.body.toString()).toBe('{"a":1}');
    expect(r.consumed).toBe(raw.length);
  });

  it('waits for the rest of a split answer at every cut', () => {
    const raw = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!');
    for (let cut = 0; cut < raw.length; cut++) expect(parseHttpResponse(raw.subarray(0, cut))).toBe('incomplete');
    expect(parseHttpResponse(raw)).not.toBe('incomplete');
  });

  it('rejects a malformed status line', () => {
    expect(() => parseHttpResponse(Buffer.from('SSH-2.0-x\r\n\r\n'))).toThrow(/status line/);
  });
});

describe('parseEndpoint', () => {
  it('accepts unix and tcp addresses and refuses fd://', () => {
    expect(parseEndpoint('unix:///tmp/d.sock')).toEqual({ kind: 'unix', path: '/tmp/d.sock' });
    expect(parseEndpoint('tcp://127.0.0.1:2375')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 2375 });
    expect(() => parseEndpoint('fd://3')).toThrow(/fd:\/\/3/);
  });
});

describe('ProbeConnection against a local server', () => {
  let server: Server | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function listen(): Promise<Endpoint> {
    dir = mkdtempSync(join(tmpdir(), 'bench-probe-'));
    const path = join(dir, 's.sock');
    server = createServer((req, res) => {
      if (req.url === '/_ping') res.end('OK');
      else if (req.url === '/chunked') {
        res.write('ab');
        res.end('cd');
      } else {
        res.statusCode = 404;
        res.end('{"message":"page not found"}');
      }
    });
    await new Promise<void>((r) => server!.listen(path, r));
    return { kind: 'unix', path };
  }

  it('sends many requests over one keep-alive connection', async () => {
    const ep = await listen();
    const conn = await ProbeConnection.open(ep);
    try {
      for (let i = 0; i < 50; i++) expect((await conn.request('GET', '/_ping')).body.toString()).toBe('OK');
      expect((await conn.request('GET', '/chunked')).body.toString()).toBe('abcd');
      expect((await conn.request('GET', '/nope')).status).toBe(404);
    } finally {
      conn.close();
    }
  });

  it('pings a listening socket and reports a missing one as not answering', async () => {
    const ep = await listen();
    expect(await pingOnce(ep)).toBe(true);
    expect(await pingOnce({ kind: 'unix', path: join(dir!, 'missing.sock') })).toBe(false);
    expect(await waitForPing(ep, { timeoutMs: 5000, intervalMs: 0 })).toBeTypeOf('bigint');
  });

  it('gives up waiting with the reason abort reports', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-probe-'));
    const missing: Endpoint = { kind: 'unix', path: join(dir, 'never.sock') };
    await expect(waitForPing(missing, { timeoutMs: 60_000, intervalMs: 1, abort: () => 'daemon exited with code 1' })).rejects.toThrow('daemon exited with code 1');
    await expect(waitForPing(missing, { timeoutMs: 0, intervalMs: 0 })).rejects.toThrow(/did not answer GET \/_ping/);
  });
});
