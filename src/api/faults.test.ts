import { connect, type AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../engine/engine';
import { InvalidParameterError } from '../errors';
import { FaultInjector, onHijack, parseFaultRule, registerEmulatorControl } from './faults';

describe('parseFaultRule', () => {
  it('reads route patterns (with or without the version prefix) and job names', () => {
    expect(parseFaultRule({ operation: 'post /v1.41/containers/{id}/start', kind: 'drop' }, '1').route).toEqual({ method: 'POST', url: '/containers/:id/start' });
    expect(parseFaultRule({ operation: '* /images/{name}/json', kind: 'drop' }, '1').route).toEqual({ method: '*', url: '/images/:name/json' });
    expect(parseFaultRule({ operation: 'containers.start', kind: 'drop' }, '1').job).toBe('containers.start');
    expect(parseFaultRule({ operation: 'containers.start', kind: 'error' }, '1').rule).toMatchObject({ status: 500, message: 'injected fault', times: null, hits: 0 });
  });

  it.each([
    [null, 'JSON object'],
    [{ operation: 'x y z', kind: 'drop' }, '"operation"'],
    [{ kind: 'drop' }, '"operation"'],
    [{ operation: 'containers.start', kind: 'slow' }, '"kind"'],
    [{ operation: 'containers.start', kind: 'error', status: 302 }, '"status"'],
    [{ operation: 'containers.start', kind: 'error', message: 5 }, '"message"'],
    [{ operation: 'containers.start', kind: 'delay-headers' }, '"ms"'],
    [{ operation: 'containers.start', kind: 'delay-headers', ms: -1 }, '"ms"'],
    [{ operation: 'containers.start', kind: 'drop', times: 0 }, '"times"'],
    [{ operation: 'containers.start', kind: 'drop', when: 'now' }, '"when"'],
  ])('refuses %j naming %s', (input, field) => {
    expect(() => parseFaultRule(input, '1')).toThrow(InvalidParameterError);
    expect(() => parseFaultRule(input, '1')).toThrow(field);
  });
});

describe('FaultInjector', () => {
  it('fires the first matching rule, counts hits and drops a rule once its times are used', () => {
    const f = new FaultInjector();
    const once = f.add({ operation: 'containers.start', kind: 'error', status: 503, times: 1 });
    const always = f.add({ operation: 'GET /containers/{id}/json', kind: 'delay-headers', ms: 5 });
    expect(f.take({ job: 'containers.stop' })).toBeUndefined();
    expect(f.take({ job: 'containers.start' })).toMatchObject({ id: once.id, hits: 1, times: 0 });
    expect(f.take({ job: 'containers.start' })).toBeUndefined();
    expect(f.take({ route: { method: 'POST', url: '/containers/:id/json' } })).toBeUndefined();
    expect(f.take({ route: { method: 'GET', url: '/containers/:id/json' } })).toMatchObject({ id: always.id, hits: 1 });
    expect(f.take({ route: { method: 'GET', url: '/containers/:id/json' } })).toMatchObject({ hits: 2, times: null });
    expect(f.list().map((r) => r.id)).toEqual([always.id]);
    f.remove(always.id);
    expect(() => f.remove(always.id)).toThrow('No such fault rule');
    f.add({ operation: 'containers.start', kind: 'drop' });
    f.clear();
    expect(f.list()).toEqual([]);
  });
});

describe('onHijack', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** A daemon-like app whose attach route hijacks and writes `payload` a byte at a time; returns what the client got after the status line. */
  async function attach(payload: string, rule?: Record<string, unknown>): Promise<string> {
    app = Fastify();
    const faults = new FaultInjector();
    if (rule) faults.add(rule);
    registerEmulatorControl(app, new Engine(pino({ level: 'silent' })), { faults });
    app.post('/containers/:id/attach', async (req, reply) => {
      reply.hijack();
      const socket = req.raw.socket;
      socket.write('HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n');
      onHijack(req, socket);
      for (const ch of payload) socket.write(ch);
      socket.end();
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const client = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    client.write('POST /containers/x/attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    let got = '';
    client.on('data', (d: Buffer) => (got += d.toString()));
    client.on('error', () => undefined);
    await new Promise((r) => client.on('close', r));
    return got.slice(got.indexOf('\r\n\r\n') + 4);
  }

  it('is a no-op for a request without a drop-hijack rule', async () => {
    expect(await attach('abcdefghij')).toBe('abcdefghij');
  });

  it('cuts the connection after the given number of stream bytes (route rule), once', async () => {
    expect(await attach('abcdefghij', { operation: 'POST /containers/{id}/attach', kind: 'drop-hijack', bytes: 4, times: 1 })).toBe('abcd');
  });

  it('cuts at once with bytes 0', async () => {
    expect(await attach('abcdefghij', { operation: 'POST /containers/{id}/attach', kind: 'drop-hijack' })).toBe('');
  });
});
