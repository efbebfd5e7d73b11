import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BenchContext, Metric } from './benchmark';
import { pingOnce } from './http-probe';
import { idleMemory } from './idle-memory';
import { parseBenchArgs } from './options';
import { isRunning } from './procfs';
import { requestLatency } from './request-latency';
import { startTime } from './start-time';
import { oursTarget, theirsTarget, type Target } from './targets';

/** A stand-in daemon: answers /_ping with OK and anything else with {} on the unix socket in argv; removes it on SIGTERM. */
const STAND_IN = [
  "const srv = require('http').createServer((q, s) => s.end(q.url === '/_ping' ? 'OK' : '{}')).listen(process.argv[1]);",
  "process.on('SIGTERM', () => { srv.closeAllConnections(); srv.close(() => process.exit(0)); });",
].join(' ');

let dir: string;
let ctx: BenchContext;
const targets: Target[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-targets-'));
  const options = parseBenchArgs(['--runs', '2', '--warmup-runs', '1', '--requests', '20', '--warmup', '5', '--concurrency', '2', '--concurrent-requests', '20', '--settle-ms', '0'], {});
  ctx = { options, workDir: dir, progress: () => undefined };
});
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const keys = (ms: Metric[]) => ms.map((m) => m.key);

describe('a daemon started with --against-start', () => {
  it('is measured from spawn to first ping, started for the session, and stopped at the end', async () => {
    const sock = join(dir, 'd.sock');
    const t = theirsTarget({ endpoint: { kind: 'unix', path: sock }, startArgv: [process.execPath, '-e', STAND_IN, sock], workDir: dir, timeoutMs: 20_000, pollMs: 0 });
    targets.push(t);
    const start = await startTime.run(t, ctx);
    expect(keys(start)).toEqual(['start.median', 'start.p90']);
    expect(start.every((m) => m.value > 0)).toBe(true);

    expect(keys(await requestLatency.run(t, ctx))).toContain('version.c2.rps');
    const memory = await idleMemory.run(t, ctx);
    expect(keys(memory)).toContain('memory.rss');
    expect(memory[0]!.note).toMatch(/started by the benchmark/);
    const pid = (await (await t.session()).memoryPids()).pids[0]!;

    await t.close();
    expect(await isRunning(pid)).toBe(false);
  });

  it('refuses to measure a start while its socket already answers', async () => {
    const sock = join(dir, 'busy.sock');
    const server = createServer((_q, s) => s.end('OK'));
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const t = theirsTarget({ endpoint: { kind: 'unix', path: sock }, startArgv: ['/bin/false'], workDir: dir, timeoutMs: 1000, pollMs: 0 });
      await expect(startTime.run(t, ctx)).rejects.toThrow(/already answers/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('an already running daemon', () => {
  it('is found through ss -xlp, or taken from --against-pid', async () => {
    const sock = join(dir, 'running.sock');
    const server = createServer((_q, s) => s.end('OK'));
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const found = await (await theirsTarget({ endpoint: { kind: 'unix', path: sock }, workDir: dir, timeoutMs: 1000, pollMs: 0 }).session()).memoryPids();
      expect(found.pids).toContain(process.pid);
      const given = await (await theirsTarget({ endpoint: { kind: 'unix', path: sock }, pids: [process.pid], workDir: dir, timeoutMs: 1000, pollMs: 0 }).session()).memoryPids();
      expect(given).toEqual({ pids: [process.pid], source: `--against-pid ${process.pid}` });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('that does not answer, without a start command, is an error naming the fix', async () => {
    const t = theirsTarget({ endpoint: { kind: 'unix', path: join(dir, 'none.sock') }, workDir: dir, timeoutMs: 1000, pollMs: 0 });
    await expect(t.session()).rejects.toThrow(/--against-start/);
  });
});

describe('our daemon', () => {
  const bundle = join(process.cwd(), 'dist', 'docker.mjs');
  it.runIf(existsSync(bundle))('starts from the bundle, answers, and is stopped by close()', async () => {
    const t = oursTarget({ node: process.execPath, nodeArgs: [], bundle, backend: 'fake', workDir: dir, timeoutMs: 30_000, pollMs: 1 });
    targets.push(t);
    const session = await t.session();
    expect(await pingOnce(session.endpoint)).toBe(true);
    const { pids } = await session.memoryPids();
    await t.close();
    expect(await isRunning(pids[0]!)).toBe(false);
  });
});
