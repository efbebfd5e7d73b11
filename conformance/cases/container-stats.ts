import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, hasDockerCli, type SuiteContext } from '../harness';
import { testImage } from '../support/test-image';
import { rawRequest } from './system';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const STATS_KEYS = ['read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id'];
const ZERO = '0001-01-01T00:00:00Z';

/** Read `count` newline-separated JSON objects of a streamed reply, then close the connection. */
function readStream(socket: string, path: string, count: number): Promise<{ status: number; headers: Record<string, unknown>; objects: Json[] }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method: 'GET', path, headers: { Host: 'docker' } }, (res) => {
      let buf = '';
      const objects: Json[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0 && objects.length < count) {
          objects.push(JSON.parse(buf.slice(0, nl)) as Json);
          buf = buf.slice(nl + 1);
        }
        if (objects.length >= count) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, objects });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, objects }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `docker stats` (stream, `stream=0`, `one-shot=1`), `docker top`, `GET /system/df`, with
 * dockerd 20.10's answers (measured: field names and order, zero-filled stats of a stopped
 * container, the chunked stream without Content-Type). Where the backend offers the
 * emulator's control API ('emulator-control'): fault injection and the virtual clock; elsewhere
 * that API must not exist.
 */
export function containerStatsCases(ctx: SuiteContext): void {
  const c = () => ctx.get().client;
  const sock = () => ctx.get().socket;
  let image: string;
  let running: string;
  let stopped: string;
  const created: string[] = [];

  const createContainer = async (cmd: string[], name: string): Promise<string> => {
    const res = await c().json<Json>('POST', '/containers/create', { query: { name }, body: { Image: image, Cmd: cmd, HostConfig: { NetworkMode: 'none' } } });
    created.push(res.Id as string);
    return res.Id as string;
  };
  const start = async (id: string) => {
    const r = await c().raw('POST', `/containers/${id}/start`);
    if (r.status !== 204) throw new Error(`start failed: ${r.status} ${r.body.toString()}`);
  };
  const stats = async (id: string, query: string) => {
    const r = await rawRequest(sock(), 'GET', `/v1.41/containers/${id}/stats?${query}`);
    return { ...r, json: r.status === 200 ? (JSON.parse(r.body) as Json) : undefined };
  };

  beforeAll(async () => {
    image = await testImage(ctx);
    running = await createContainer(['sh', '-c', 'sleep 3600'], 'stats-running');
    await start(running);
    stopped = await createContainer(['true'], 'stats-created');
  });
  afterAll(async () => {
    for (const id of created) await c().raw('DELETE', `/containers/${id}`, { query: { force: '1' } }).catch(() => undefined);
  });

  it('answers stream=0 of a running container with two samples a cycle apart, in dockerd\'s shape', async () => {
    const r = await stats(running, 'stream=0');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.endsWith('}\n')).toBe(true);
    const j = r.json!;
    expect(Object.keys(j).slice(0, STATS_KEYS.length)).toEqual(STATS_KEYS);
    expect(j).toMatchObject({ name: '/stats-running', id: running, num_procs: 0, storage_stats: {}, pids_stats: { current: 1 } });
    expect(j.read).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    expect(j.preread).not.toBe(ZERO);
    expect(Date.parse(j.read)).toBeGreaterThan(Date.parse(j.preread));
    expect(Object.keys(j.cpu_stats.cpu_usage)).toEqual(expect.arrayContaining(['total_usage', 'usage_in_kernelmode', 'usage_in_usermode']));
    expect(j.cpu_stats.system_cpu_usage).toBeGreaterThan(j.precpu_stats.system_cpu_usage);
    expect(j.cpu_stats.online_cpus).toBeGreaterThan(0);
    expect(j.memory_stats.limit).toBeGreaterThan(0);
    expect(Array.isArray(j.blkio_stats.io_service_bytes_recursive)).toBe(true);
    // --network none: no interfaces to report, so no `networks` (omitempty).
    expect('networks' in j).toBe(false);
  });

  it('answers one-shot=1 with a single sample and zero preread; refuses one-shot with stream', async () => {
    const j = (await stats(running, 'stream=0&one-shot=1')).json!;
    expect(j.preread).toBe(ZERO);
    expect(j.precpu_stats).toEqual({ cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
    expect(j.read).not.toBe(ZERO);
    const bad = await stats(running, 'one-shot=1');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ message: 'cannot have stream=true and one-shot=true' });
  });

  it('answers a container that is not running with the zero-filled object, and 404 for no container', async () => {
    const r = await stats(stopped, 'stream=0');
    expect(r.status).toBe(200);
    expect(r.body).toBe(
      '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/stats-created","id":"' +
        stopped +
        '"}\n',
    );
    const missing = await stats('no-such-stats-container', 'stream=0');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ message: 'No such container: no-such-stats-container' });
  });

  it('streams one object per cycle, each referring to the one before, without a Content-Type', async () => {
    const r = await readStream(sock(), `/v1.41/containers/${running}/stats`, 2);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBeUndefined();
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['api-version']).toBeDefined();
    expect(r.objects).toHaveLength(2);
    const [first, second] = r.objects as [Json, Json];
    expect(first.preread).toBe(ZERO);
    expect(second.preread).toBe(first.read);
    expect(second.precpu_stats).toEqual(first.cpu_stats);
  });

  it.runIf(hasDockerCli)('docker stats --no-stream and docker top show the container', async () => {
    const s = await dockerCli(ctx.get().host, ['stats', '--no-stream', 'stats-running']);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    const [header, row] = s.stdout.trim().split('\n');
    expect(header).toMatch(/^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    expect(row).toMatch(new RegExp(`^${running.slice(0, 12)}\\s+stats-running\\s+\\d+\\.\\d\\d%\\s+\\S+ / \\S+\\s+\\d+\\.\\d\\d%\\s+0B / 0B\\s+.+\\s+1$`));
    const t = await dockerCli(ctx.get().host, ['top', 'stats-running']);
    expect(t.code).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(lines[1]).toMatch(/^root\s+\d+\s+\d+\s+.*sleep 3600$/);
    const aux = await dockerCli(ctx.get().host, ['top', 'stats-running', 'aux']);
    expect(aux.stdout.trim().split('\n')[0]!.split(/\s+/)).toEqual(['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND']);
    const notRunning = await dockerCli(ctx.get().host, ['top', 'stats-created']);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain(`Error response from daemon: Container ${stopped} is not running`);
  });

  it('answers GET /system/df with layers, images, containers and volumes in dockerd\'s shape', async () => {
    const vol = await rawRequest(sock(), 'POST', '/v1.41/volumes/create', JSON_HEADERS, JSON.stringify({ Name: 'stats-df-volume' }));
    expect(vol.status).toBe(201);
    try {
      const r = await rawRequest(sock(), 'GET', '/v1.41/system/df');
      expect(r.status).toBe(200);
      const df = JSON.parse(r.body) as Json;
      expect(Object.keys(df)).toEqual(['LayersSize', 'Images', 'Containers', 'Volumes', 'BuildCache', 'BuilderSize']);
      expect(df.LayersSize).toBeGreaterThan(0);
      expect(df.BuildCache).toBeNull();
      expect(df.BuilderSize).toBe(0);
      const imageId = (await c().json<Json>('GET', `/images/${image}/json`)).Id as string;
      const img = (df.Images as Json[]).find((i) => i.Id === imageId)!;
      expect(img).toBeDefined();
      expect(img.Containers).toBeGreaterThanOrEqual(2);
      expect(img.SharedSize).toBeGreaterThanOrEqual(0);
      expect(img.Size).toBeGreaterThan(0);
      const mine = (df.Containers as Json[]).find((x) => x.Id === running)!;
      expect(mine).toMatchObject({ Names: ['/stats-running'], State: 'running', ImageID: imageId });
      expect(mine.SizeRootFs).toBeGreaterThan(0);
      expect((df.Volumes as Json[]).find((v) => v.Name === 'stats-df-volume')).toMatchObject({ Driver: 'local', UsageData: { RefCount: 0, Size: 0 } });
      if (hasDockerCli) {
        const cli = await dockerCli(ctx.get().host, ['system', 'df']);
        expect(cli.code).toBe(0);
        const rows = cli.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/)[0]);
        expect(rows).toEqual(['TYPE', 'Images', 'Containers', 'Local Volumes', 'Build Cache']);
      }
    } finally {
      await rawRequest(sock(), 'DELETE', '/v1.41/volumes/stats-df-volume');
    }
  });

  if (!ctx.supports.has('emulator-control')) {
    it('serves no emulator control API', async () => {
      for (const [method, path] of [['GET', '/_emulator/faults'], ['POST', '/_emulator/faults'], ['POST', '/_emulator/clock']] as const) {
        const r = method === 'GET' ? await rawRequest(sock(), method, path) : await rawRequest(sock(), method, path, JSON_HEADERS, '{}');
        expect(r.status, path).toBe(404);
        expect(JSON.parse(r.body)).toEqual({ message: 'page not found' });
      }
    });
    return;
  }

  describe('emulator control', () => {
    const addFault = async (rule: Json) => {
      const r = await rawRequest(sock(), 'POST', '/_emulator/faults', JSON_HEADERS, JSON.stringify(rule));
      expect(r.status, r.body).toBe(201);
      return JSON.parse(r.body) as Json;
    };
    const clock = async (path: string, body: Json) => JSON.parse((await rawRequest(sock(), 'POST', path, JSON_HEADERS, JSON.stringify(body))).body) as Json;
    afterAll(async () => {
      await rawRequest(sock(), 'DELETE', '/_emulator/faults');
      await clock('/_emulator/clock', { mode: 'real' });
    });

    it('fails `docker start` with an injected 500 on containers.start once (times=1), then starts normally', async () => {
      const id = await createContainer(['sleep', '60'], 'stats-fault-start');
      const rule = await addFault({ operation: 'containers.start', kind: 'error', status: 500, message: 'injected: runtime exploded', times: 1 });
      expect(rule).toMatchObject({ operation: 'containers.start', kind: 'error', status: 500, times: 1, hits: 0 });
      expect((JSON.parse((await rawRequest(sock(), 'GET', '/_emulator/faults')).body) as Json[]).map((r) => r.id)).toContain(rule.id);
      if (hasDockerCli) {
        const r = await dockerCli(ctx.get().host, ['start', 'stats-fault-start']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('injected: runtime exploded');
      } else {
        const r = await rawRequest(sock(), 'POST', `/v1.41/containers/${id}/start`);
        expect(r.status).toBe(500);
        expect(JSON.parse(r.body)).toEqual({ message: 'injected: runtime exploded' });
      }
      expect((await c().json<Json>('GET', `/containers/${id}/json`)).State.Status).toBe('created');
      expect(JSON.parse((await rawRequest(sock(), 'GET', '/_emulator/faults')).body)).toEqual([]);
      await start(id);
      expect((await c().json<Json>('GET', `/containers/${id}/json`)).State.Running).toBe(true);
    });

    it('answers a route rule with any status, and refuses malformed rules naming the field', async () => {
      await addFault({ operation: 'GET /v1.41/containers/{id}/json', kind: 'error', status: 429, message: 'slow down', times: 1 });
      const r = await rawRequest(sock(), 'GET', `/v1.41/containers/${running}/json`);
      expect(r.status).toBe(429);
      expect(JSON.parse(r.body)).toEqual({ message: 'slow down' });
      expect(r.headers['api-version']).toBeDefined();
      expect((await rawRequest(sock(), 'GET', `/v1.41/containers/${running}/json`)).status).toBe(200);
      for (const [rule, field] of [
        [{ operation: 'containers.start', kind: 'explode' }, '"kind"'],
        [{ operation: 'nonsense', kind: 'error' }, '"operation"'],
        [{ operation: 'containers.start', kind: 'delay-headers' }, '"ms"'],
        [{ operation: 'containers.start', kind: 'error', status: 200 }, '"status"'],
      ] as const) {
        const bad = await rawRequest(sock(), 'POST', '/_emulator/faults', JSON_HEADERS, JSON.stringify(rule));
        expect(bad.status).toBe(400);
        expect((JSON.parse(bad.body) as Json).message).toContain(field);
      }
    });

    it('delays the headers of a matching request, then answers normally', async () => {
      await addFault({ operation: 'GET /containers/{id}/json', kind: 'delay-headers', ms: 300, times: 1 });
      const t0 = Date.now();
      const r = await rawRequest(sock(), 'GET', `/v1.41/containers/${running}/json`);
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect((JSON.parse(r.body) as Json).Id).toBe(running);
    });

    it('drops the connection of a matching request without an answer', async () => {
      await addFault({ operation: 'GET /version', kind: 'drop', times: 1 });
      await expect(rawRequest(sock(), 'GET', '/v1.41/version')).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect((await rawRequest(sock(), 'GET', '/v1.41/version')).status).toBe(200);
    });

    it('runs `sleep 3600; echo done` to its end when the virtual clock is advanced by an hour', async () => {
      expect(await clock('/_emulator/clock', { mode: 'virtual' })).toMatchObject({ mode: 'virtual' });
      const id = await createContainer(['sh', '-c', 'sleep 3600; echo done'], 'stats-clock');
      const before = (JSON.parse((await rawRequest(sock(), 'GET', '/_emulator/clock')).body) as Json).pending as number;
      await start(id);
      // Wait until the container's sleep holds its timer, then move time.
      for (let i = 0; i < 500; i++) {
        const state = JSON.parse((await rawRequest(sock(), 'GET', '/_emulator/clock')).body) as Json;
        if ((state.pending as number) > before) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await c().json<Json>('GET', `/containers/${id}/json`)).State.Running).toBe(true);
      const after = await clock('/_emulator/clock/advance', { ms: 3_600_000 });
      expect(after.mode).toBe('virtual');
      const wait = await c().json<Json>('POST', `/containers/${id}/wait`);
      expect(wait.StatusCode).toBe(0);
      const logs = await c().raw('GET', `/containers/${id}/logs`, { query: { stdout: '1' } });
      if (logs.status === 200) expect(logs.body.toString()).toContain('done');
      expect(await clock('/_emulator/clock', { mode: 'real' })).toMatchObject({ mode: 'real' });
    });

    it('refuses to advance the real clock', async () => {
      const r = await rawRequest(sock(), 'POST', '/_emulator/clock/advance', JSON_HEADERS, JSON.stringify({ ms: 10 }));
      expect(r.status).toBe(409);
      expect((JSON.parse(r.body) as Json).message).toContain('switch it to virtual');
    });
  });
}
