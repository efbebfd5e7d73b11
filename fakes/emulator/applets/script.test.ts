import { Duplex, PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../clock';
import type { EmulatorHooks, HealthStatus } from '../context';
import { APPLET_MARKER } from '../resolve';
import { testEmulator } from '../test-support';
import { BEHAVIOUR_PATH } from './script';

/** Two connected duplex streams, like the two ends of a TCP connection. */
function socketPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  return [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
}

/** A fake network: records listeners; `dial(port)` connects to one and returns the client end. */
function fakeNetwork() {
  const listeners = new Map<number, (conn: Duplex) => void>();
  const health: HealthStatus[] = [];
  const hooks: EmulatorHooks = {
    listen(port, _proto, onConnection) {
      listeners.set(port, onConnection);
      return { close: () => listeners.delete(port) };
    },
    async connect(host, port) {
      if (host !== 'peer' || port !== 7) throw new Error('Connection refused');
      const [client, server] = socketPair();
      server.on('data', (d: Buffer) => server.write(Buffer.from(d.toString().toUpperCase())));
      server.on('end', () => server.end());
      return client;
    },
    health: (s) => void health.push(s),
  };
  const dial = (port: number): Duplex => {
    const accept = listeners.get(port);
    if (!accept) throw new Error(`nothing listens on ${port}`);
    const [client, server] = socketPair();
    accept(server);
    return client;
  };
  return { hooks, listeners, health, dial };
}

function text(stream: Readable): () => string {
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  return () => Buffer.concat(parts).toString();
}

function readAll(stream: Readable): Promise<string> {
  const read = text(stream);
  return new Promise((resolve) => stream.on('end', () => resolve(read())));
}

async function scripted(behaviour: unknown, extra: { clock?: VirtualClock } = {}) {
  const net = fakeNetwork();
  const clock = extra.clock ?? new VirtualClock();
  const emulator = await testEmulator({ clock, hooks: net.hooks });
  await emulator.fs.mkdir('/.tsdocker', { recursive: true });
  await emulator.fs.writeFileAtomic(BEHAVIOUR_PATH, JSON.stringify(behaviour), 0o644);
  return { emulator, net, clock };
}

describe('behaviour scripts', () => {
  it('logs, waits, listens, reports health and serves HTTP', async () => {
    const { emulator, net, clock } = await scripted({
      steps: [
        { log: 'starting' },
        { log: 'warming up', stream: 'stderr' },
        { sleep: 500 },
        { listen: 8080, respond: { http: { status: 200, body: 'ok' } } },
        { health: 'healthy' },
        { log: 'ready' },
        { sleep: 'forever' },
      ],
    });
    const proc = await emulator.spawn({ argv: ['tsdocker-script'] });
    const out = text(proc.stdout);
    const err = text(proc.stderr);
    await clock.settle();
    expect(out()).toBe('starting\n');
    expect(err()).toBe('warming up\n');
    expect(net.listeners.has(8080)).toBe(false);
    await clock.advance(500);
    expect(out()).toBe('starting\nready\n');
    expect(net.health).toEqual(['healthy']);
    const client = net.dial(8080);
    const response = readAll(client);
    client.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await response).toBe('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    proc.signal('TERM');
    await clock.advance(1000);
    expect(emulator.table.list()).toHaveLength(1);
    proc.signal('KILL');
    expect(await proc.exit).toEqual({ code: 137, signal: 'SIGKILL' });
    expect(net.listeners.size).toBe(0);
  });

  it('exits with the scripted status, also through an exit step', async () => {
    const { emulator } = await scripted({ steps: [{ log: 'bye' }], exitCode: 3 });
    const proc = await emulator.spawn({ argv: ['tsdocker-script'] });
    expect(await proc.exit).toEqual({ code: 3 });
    const second = await scripted({ steps: [{ exit: 4 }, { log: 'never' }] });
    const p2 = await second.emulator.spawn({ argv: ['tsdocker-script'] });
    expect(await readAll(p2.stdout)).toBe('');
    expect(await p2.exit).toEqual({ code: 4 });
  });

  it('runs signal handlers', async () => {
    const { emulator, clock } = await scripted({
      steps: [{ log: 'up' }, { sleep: 'forever' }],
      onSignal: { TERM: { steps: [{ log: 'stopping' }, { sleep: 200 }, { log: 'stopped' }], exitCode: 0 } },
    });
    const proc = await emulator.spawn({ argv: ['tsdocker-script'] });
    const out = text(proc.stdout);
    await clock.settle();
    proc.signal('TERM');
    await clock.advance(200);
    expect(await proc.exit).toEqual({ code: 0 });
    expect(out()).toBe('up\nstopping\nstopped\n');
  });

  it('runs when the image entrypoint is a marker file naming it', async () => {
    const { emulator } = await scripted({ steps: [{ log: 'from entrypoint' }] });
    await emulator.fs.writeFileAtomic('/entrypoint', `${APPLET_MARKER}tsdocker-script\n`, 0o755);
    const proc = await emulator.spawn({ argv: ['/entrypoint'] });
    expect(await readAll(proc.stdout)).toBe('from entrypoint\n');
  });

  it('rejects a malformed behaviour naming the field', async () => {
    const { emulator } = await scripted({ steps: [{ log: 'ok' }, { sleep: -1 }] });
    const proc = await emulator.spawn({ argv: ['tsdocker-script'] });
    expect(await readAll(proc.stderr)).toBe(`tsdocker-script: ${BEHAVIOUR_PATH}: steps[1].sleep must be milliseconds or "forever"\n`);
    expect(await proc.exit).toEqual({ code: 1 });
  });

  it('reports a missing behaviour file', async () => {
    const emulator = await testEmulator();
    const proc = await emulator.spawn({ argv: ['tsdocker-script'] });
    expect(await readAll(proc.stderr)).toBe(`tsdocker-script: ${BEHAVIOUR_PATH}: No such file or directory\n`);
  });
});

describe('nc', () => {
  it('nc -l -p registers a port and relays a connection to stdio', async () => {
    const net = fakeNetwork();
    const emulator = await testEmulator({ hooks: net.hooks });
    const stdin = new PassThrough();
    const proc = await emulator.spawn({ argv: ['nc', '-l', '-p', '9000'], stdin });
    const out = text(proc.stdout);
    while (!net.listeners.has(9000)) await new Promise((r) => setTimeout(r, 1));
    const client = net.dial(9000);
    const received = readAll(client);
    client.write('ping\n');
    stdin.end('pong\n');
    expect(await received).toBe('pong\n');
    client.end();
    expect(await proc.exit).toEqual({ code: 0 });
    expect(out()).toBe('ping\n');
    expect(net.listeners.has(9000)).toBe(false);
  });

  it('nc HOST PORT connects through the hook', async () => {
    const net = fakeNetwork();
    const emulator = await testEmulator({ hooks: net.hooks });
    const proc = await emulator.spawn({ argv: ['sh', '-c', 'echo hello | nc peer 7; nc peer 8; echo $?'] });
    const [out, err] = await Promise.all([readAll(proc.stdout), readAll(proc.stderr)]);
    expect(out).toBe('HELLO\n1\n');
    expect(err).toBe("nc: can't connect to remote host (peer): Connection refused\n");
  });

  it('httpd serves files from its home', async () => {
    const net = fakeNetwork();
    const emulator = await testEmulator({ hooks: net.hooks });
    await emulator.fs.writeFileAtomic('/var/www/index.html', '<h1>hi</h1>', 0o644);
    await emulator.spawn({ argv: ['httpd', '-f', '-p', '80', '-h', '/var/www'] });
    while (!net.listeners.has(80)) await new Promise((r) => setTimeout(r, 1));
    const c1 = net.dial(80);
    const r1 = readAll(c1);
    c1.write('GET / HTTP/1.0\r\n\r\n');
    expect(await r1).toBe('HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\nContent-type: text/html\r\n\r\n<h1>hi</h1>');
    const c2 = net.dial(80);
    const r2 = readAll(c2);
    c2.write('GET /missing HTTP/1.0\r\n\r\n');
    expect(await r2).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    emulator.table.kill(1, 'KILL');
  });
});
