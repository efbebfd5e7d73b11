import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/client/client';
import { FrameDecoder } from '../../src/streams/stdcopy';
import { dockerCli, hasDockerCli, type DaemonUnderTest, type SuiteContext } from '../harness';
import { busyboxRootfs, testImage } from '../support/test-image';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Go's RFC 3339 with nanoseconds (trailing zeros dropped), always UTC here. */
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const ZERO_TIME = '0001-01-01T00:00:00Z';
const MS = 1e6;

/** PID 1 without a handler ignores TERM (Linux's rule for a namespace's init): stop falls back to KILL. */
const IGNORES_TERM = ['sleep', '100'];
/** A shell that exits with `code` on `sig` (the handler runs after the current `sleep 0.1`). */
const trapping = (sig: string, code: number) => ['sh', '-c', `trap 'exit ${code}' ${sig}; while true; do sleep 0.1; done`];

const INSPECT_KEYS = ['Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name', 'RestartCount', 'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig', 'GraphDriver', 'Mounts', 'Config', 'NetworkSettings'];
const LIST_KEYS = ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts'];
const ENDPOINT = { IPAMConfig: null, Links: null, Aliases: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null };

/** An image of the test userland with config from `docker import --change` (Env, Labels, WorkingDir, STOPSIGNAL, HEALTHCHECK). */
const CONFIGURED_IMAGE = 'ct-configured:latest';
const IMAGE_CHANGES = ['ENV FROM_IMAGE=yes SHARED=image', 'LABEL from.image=yes shared=image', 'WORKDIR /tmp', 'HEALTHCHECK --interval=100ms --retries=2 CMD true'];

/** The container API on one daemon: small typed helpers over raw requests. */
class Api {
  constructor(private readonly client: () => DockerClient) {}

  async req(method: string, path: string, query?: Record<string, string | number | boolean | undefined>, body?: unknown): Promise<{ status: number; body: Json; text: string }> {
    const r = await this.client().raw(method, path, { query, body });
    const text = r.body.toString('utf8');
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      /* not JSON */
    }
    return { status: r.status, body: json, text };
  }

  async create(body: Json, name?: string): Promise<string> {
    const r = await this.req('POST', '/containers/create', { name }, { ...body, HostConfig: { NetworkMode: 'none', ...body.HostConfig } });
    if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
    return r.body.Id as string;
  }

  async inspect(id: string): Promise<Json> {
    const r = await this.req('GET', `/containers/${id}/json`);
    if (r.status !== 200) throw new Error(`inspect ${id} failed: ${r.status} ${r.text}`);
    return r.body;
  }

  async expect(method: string, path: string, status: number, query?: Record<string, string | number | boolean | undefined>): Promise<Json> {
    const r = await this.req(method, path, query);
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
    return r.body;
  }

  async wait(id: string, condition?: string): Promise<Json> {
    return this.expect('POST', `/containers/${id}/wait`, 200, { condition });
  }

  /** Poll inspect until `pred` holds (a stuck container fails the case with its last state). */
  async until(id: string, pred: (c: Json) => boolean, what: string): Promise<Json> {
    let last: Json = {};
    for (let i = 0; i < 600; i++) {
      last = await this.inspect(id);
      if (pred(last)) return last;
      await sleep(25);
    }
    throw new Error(`container never reached: ${what}; last state ${JSON.stringify(last.State)} RestartCount ${last.RestartCount}`);
  }

  async list(query: Record<string, string | number | boolean | undefined>, filters?: Record<string, string[]>): Promise<Json[]> {
    const r = await this.req('GET', '/containers/json', { ...query, filters: filters ? JSON.stringify(filters) : undefined });
    expect(r.status, r.text).toBe(200);
    return r.body as unknown as Json[];
  }

  /** The container events between two times (Unix seconds with fractions). */
  async events(since: string, filters: Record<string, string[]>): Promise<Json[]> {
    // One millisecond ahead: an event's timeNano carries sub-millisecond digits past Date.now().
    const until = ((Date.now() + 1) / 1000).toFixed(3);
    const r = await this.req('GET', '/events', { since, until, filters: JSON.stringify(filters) });
    expect(r.status, r.text).toBe(200);
    return r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => (Date.now() / 1000).toFixed(3);
const unique = (prefix: string) => `ct-${prefix}-${randomBytes(4).toString('hex')}`;

async function importConfiguredImage(client: DockerClient): Promise<string> {
  const [repo, tag] = CONFIGURED_IMAGE.split(':') as [string, string];
  const changes = IMAGE_CHANGES.map((c) => `changes=${encodeURIComponent(c)}`).join('&');
  const r = await client.raw('POST', `/images/create?fromSrc=-&repo=${repo}&tag=${tag}&${changes}`, { body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
  if (r.status !== 200 || r.body.toString().includes('"error"')) throw new Error(`import failed: ${r.status} ${r.body.toString()}`);
  return CONFIGURED_IMAGE;
}

/**
 * The container lifecycle contract (dockerd 20.10's answers, measured): create and its
 * validation, inspect and list shapes, start/stop/restart/kill/pause/unpause/wait/rename/delete
 * with Docker's 204/304/404/409, restart policies (also across a daemon restart), AutoRemove,
 * health checks, prune, lifecycle events, and the real docker CLI. Every case makes its own
 * containers under unique names and removes them. Where we answer 409 and dockerd 20.10 500
 * (unpause of a container that is not paused) the case asserts our 4xx.
 */
export function containerCases(ctx: SuiteContext): void {
  const api = new Api(() => ctx.get().client);
  const made = new Set<string>();
  let image: string;
  let configured: string;

  const create = async (body: Json, name?: string) => {
    const id = await api.create({ Image: image, ...body }, name);
    made.add(id);
    return id;
  };
  const run = async (cmd: string[], extra: Json = {}, name?: string) => {
    const id = await create({ Cmd: cmd, ...extra }, name);
    await api.expect('POST', `/containers/${id}/start`, 204);
    return id;
  };
  const running = (c: Json) => c.State.Running === true && c.State.Restarting === false;

  beforeAll(async () => {
    image = await testImage(ctx);
    configured = await importConfiguredImage(ctx.get().client);
  });
  afterAll(async () => {
    for (const id of made) await api.req('DELETE', `/containers/${id}`, { force: true });
    await api.req('DELETE', `/images/${CONFIGURED_IMAGE}`);
  });

  describe('create', () => {
    it('answers 201 {Id, Warnings} and takes the name with or without a leading slash', async () => {
      const name = unique('create');
      const r = await api.req('POST', '/containers/create', { name: `/${name}` }, { Image: image, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
      expect(r.status).toBe(201);
      expect(Object.keys(r.body)).toEqual(['Id', 'Warnings']);
      expect(r.body.Id).toMatch(/^[0-9a-f]{64}$/);
      expect(r.body.Warnings).toEqual([]);
      made.add(r.body.Id as string);
      const c = await api.inspect(name);
      expect(c.Id).toBe(r.body.Id);
      expect(c.Name).toBe(`/${name}`);
      expect((await api.inspect(`/${name}`)).Id).toBe(r.body.Id);
      expect((await api.inspect((r.body.Id as string).slice(0, 12))).Id).toBe(r.body.Id);
    });

    it('refuses a name in use (409), bad names (400) and a missing image (404) with Docker\'s messages, leaving nothing', async () => {
      const name = unique('dup');
      const id = await create({ Cmd: ['true'] }, name);
      const before = (await api.list({ all: true })).length;
      const cases: [string | undefined, Json, number, string][] = [
        [name, { Image: image, Cmd: ['true'] }, 409, `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`],
        [`/${name}`, { Image: image, Cmd: ['true'] }, 409, `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`],
        ['b@d', { Image: image, Cmd: ['true'] }, 400, 'Invalid container name (b@d), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
        ['a', { Image: image, Cmd: ['true'] }, 400, 'Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
        [undefined, { Image: 'ct-nosuch', Cmd: ['true'] }, 404, 'No such image: ct-nosuch:latest'],
        [undefined, { Image: 'ct-nosuch:v1', Cmd: ['true'] }, 404, 'No such image: ct-nosuch:v1'],
        [undefined, { Image: configured }, 400, 'No command specified'],
      ];
      for (const [n, body, status, message] of cases) {
        const r = await api.req('POST', '/containers/create', { name: n }, { ...body, HostConfig: { NetworkMode: 'none' } });
        expect(r.status, message).toBe(status);
        expect(r.body).toEqual({ message });
      }
      expect((await api.list({ all: true })).length).toBe(before);
    });

    it('refuses invalid Config and HostConfig values with a 400 naming the field', async () => {
      const before = (await api.list({ all: true })).length;
      const bad: [Json, string | RegExp][] = [
        [{ HostConfig: { Memory: 'abc' } }, /HostConfig\.Memory/],
        [{ HostConfig: { Memory: 100 } }, 'Minimum memory limit allowed is 6MB'],
        [{ HostConfig: { RestartPolicy: { Name: 'bogus' } } }, "invalid restart policy 'bogus'"],
        [{ HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } } }, "maximum retry count cannot be used with restart policy 'always'"],
        [{ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, "can't create 'AutoRemove' container with restart policy"],
        [{ HostConfig: { PortBindings: { 'x/tcp': [] } } }, 'invalid port specification: "x/tcp"'],
        [{ Healthcheck: { Test: ['CMD', 'true'], Interval: 10 } }, 'Interval in Healthcheck cannot be less than 1ms'],
        [{ Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } }, 'Retries in Healthcheck cannot be negative'],
        [{ WorkingDir: 'relative' }, "the working directory 'relative' is invalid, it needs to be an absolute path"],
        [{ Env: 'A=1', Labels: { a: 1 } }, /Labels/],
        [{ StopTimeout: 'soon' }, /StopTimeout/],
      ];
      for (const [extra, message] of bad) {
        const r = await api.req('POST', '/containers/create', undefined, { Image: image, Cmd: ['true'], ...extra, HostConfig: { NetworkMode: 'none', ...extra.HostConfig } });
        expect(r.status, JSON.stringify(extra)).toBe(400);
        if (typeof message === 'string') expect(r.body).toEqual({ message });
        else expect(r.body.message).toMatch(message);
      }
      expect((await api.list({ all: true })).length).toBe(before);
    });

    it('echoes every Config and HostConfig field back in inspect, and the container runs with them', async () => {
      const config = {
        Hostname: 'ct-host',
        Domainname: 'example.org',
        User: 'root',
        Env: ['A=1', 'B=two words'],
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: ['sleep 100'],
        WorkingDir: '/tmp',
        Labels: { 'com.example.tier': 'db', empty: '' },
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
        StopSignal: 'SIGUSR1',
        StopTimeout: 3,
        Tty: false,
        OpenStdin: false,
        AttachStdout: true,
        AttachStderr: true,
      };
      const hostConfig = {
        NetworkMode: 'none',
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 4 },
        AutoRemove: false,
        LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
        Memory: 64 * 1024 * 1024,
        CpuShares: 512,
        PidsLimit: 100,
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        CapAdd: ['NET_ADMIN'],
        CapDrop: ['MKNOD'],
        Dns: ['10.0.0.53'],
        DnsSearch: ['example.org'],
        DnsOptions: ['ndots:2'],
        ExtraHosts: ['ct-extra:10.1.2.3'],
        ShmSize: 128 * 1024 * 1024,
        OomScoreAdj: 100,
        ReadonlyRootfs: false,
        Privileged: false,
      };
      const id = await create({ ...config, HostConfig: hostConfig });
      const c = await api.inspect(id);
      expect(c.Config).toMatchObject({ ...config, Env: expect.arrayContaining(config.Env), Image: image });
      expect(c.HostConfig).toMatchObject(hostConfig);
      expect(c.Path).toBe('/bin/sh');
      expect(c.Args).toEqual(['-c', 'sleep 100']);
      expect(c.LogPath).toMatch(new RegExp(`${id}-json\\.log$`));
      await api.expect('POST', `/containers/${id}/start`, 204);
      const up = await api.inspect(id);
      expect(up.State.Running).toBe(true);
      expect(up.HostConfig).toMatchObject(hostConfig);
      await api.expect('DELETE', `/containers/${id}`, 204, { force: true });
    });

    it('merges the image\'s Env, Labels, WorkingDir and Healthcheck under the request\'s', async () => {
      const id = await create({ Image: configured, Cmd: ['true'], Env: ['SHARED=request', 'MINE=1'], Labels: { shared: 'request' }, Healthcheck: { Interval: 200 * MS } });
      const c = await api.inspect(id);
      expect(c.Config.Env).toEqual(expect.arrayContaining(['FROM_IMAGE=yes', 'SHARED=request', 'MINE=1']));
      expect(c.Config.Env).not.toContain('SHARED=image');
      expect(c.Config.Labels).toEqual({ 'from.image': 'yes', shared: 'request' });
      expect(c.Config.WorkingDir).toBe('/tmp');
      expect(c.Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 200 * MS, Retries: 2 });
      expect(c.Config.Image).toBe(configured);
    });
  });

  describe('inspect and list', () => {
    it('inspect has Docker\'s keys, a created State with zero times, NetworkSettings with null/{} conventions and HostConfig defaults', async () => {
      const id = await create({ Cmd: ['true'] });
      const c = await api.inspect(id);
      expect(Object.keys(c)).toEqual(INSPECT_KEYS);
      expect(c.Created).toMatch(RFC3339_NANO);
      expect(c.State).toEqual({ Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME });
      expect(c.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c).toMatchObject({ RestartCount: 0, Platform: 'linux', MountLabel: '', ProcessLabel: '', AppArmorProfile: '', ExecIDs: null, Mounts: [] });
      expect(c.GraphDriver.Name).toBe(c.Driver);
      expect(c.NetworkSettings).toMatchObject({
        Bridge: '', SandboxID: '', HairpinMode: false, Ports: {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
        EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', Networks: { none: ENDPOINT },
      });
      expect(c.HostConfig).toMatchObject({
        Binds: null, NetworkMode: 'none', PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false,
        LogConfig: { Type: 'json-file', Config: {} }, CapAdd: null, CapDrop: null, Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null,
        Privileged: false, ReadonlyRootfs: false, Memory: 0, CpuShares: 0, PidsLimit: null, Ulimits: null, ShmSize: 67108864,
      });
      expect(c.Config).toMatchObject({ Cmd: ['true'], Entrypoint: null, Env: expect.any(Array), Labels: {}, OnBuild: null, Volumes: null, Tty: false });
      expect(c.Config.Hostname).toBe(id.slice(0, 12));
    });

    it('times are RFC 3339 with nanoseconds, and a run records Pid, StartedAt, FinishedAt and ExitCode', async () => {
      const id = await create({ Cmd: ['sh', '-c', 'exit 3'] });
      await api.expect('POST', `/containers/${id}/start`, 204);
      expect(await api.wait(id)).toEqual({ Error: null, StatusCode: 3 });
      const c = await api.inspect(id);
      expect(c.State).toMatchObject({ Status: 'exited', Running: false, Pid: 0, ExitCode: 3, Error: '' });
      const times = [c.Created, c.State.StartedAt, c.State.FinishedAt] as string[];
      for (const t of times) expect(t).toMatch(RFC3339_NANO);
      expect(times.some((t) => (/\.(\d+)Z$/.exec(t)?.[1]?.length ?? 0) > 3)).toBe(true);
      expect(Date.parse(c.State.FinishedAt)).toBeGreaterThanOrEqual(Date.parse(c.State.StartedAt));
      const r = await run(IGNORES_TERM);
      const up = await api.inspect(r);
      expect(up.State).toMatchObject({ Status: 'running', Running: true, ExitCode: 0, FinishedAt: ZERO_TIME });
      expect(up.State.Pid).toBeGreaterThan(0);
      await api.expect('DELETE', `/containers/${r}`, 204, { force: true });
    });

    it('lists newest first with all, limit, size and every filter; bad filters are 400', async () => {
      const label = unique('list');
      const L = { 'ct-list': label };
      const a = await run(['true'], { Labels: L }, unique('lista'));
      await api.wait(a);
      const b = await run(['sh', '-c', 'exit 3'], { Labels: { ...L, tier: 'b' } }, unique('listb'));
      await api.wait(b);
      const cName = unique('listc');
      const c = await run(IGNORES_TERM, { Labels: L }, cName);
      const ids = async (q: Json, f: Record<string, string[]> = {}) => (await api.list(q, { label: [`ct-list=${label}`], ...f })).map((x) => x.Id as string);
      expect(await ids({})).toEqual([c]);
      expect(await ids({ all: true })).toEqual([c, b, a]);
      expect(await ids({ limit: 2 })).toEqual([c, b]);
      expect(await ids({ all: true }, { status: ['exited'] })).toEqual([b, a]);
      expect(await ids({}, { status: ['exited'] })).toEqual([b, a]);
      expect(await ids({ all: true }, { exited: ['3'] })).toEqual([b]);
      expect(await ids({ all: true }, { status: ['running'] })).toEqual([c]);
      expect(await ids({ all: true }, { id: [b.slice(0, 10)] })).toEqual([b]);
      expect(await ids({ all: true }, { name: [cName] })).toEqual([c]);
      expect(await ids({ all: true }, { label: [`ct-list=${label}`, 'tier=b'] })).toEqual([b]);
      expect(await ids({ all: true }, { ancestor: [image] })).toEqual([c, b, a]);
      expect(await ids({ all: true }, { ancestor: ['ct-nosuch'] })).toEqual([]);
      expect(await ids({ all: true }, { before: [c] })).toEqual([b, a]);
      expect(await ids({ all: true }, { since: [a] })).toEqual([c, b]);

      const rows = await api.list({ all: true, size: true }, { label: [`ct-list=${label}`] });
      expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining([...LIST_KEYS, 'SizeRw', 'SizeRootFs']));
      expect(typeof rows[0]!.SizeRw).toBe('number');
      expect(rows[0]!.SizeRootFs).toBeGreaterThan(0);
      const [rc, rb, ra] = rows;
      expect(rc).toMatchObject({ Id: c, Names: [`/${cName}`], Image: image, Command: 'sleep 100', State: 'running', Labels: L, Ports: [], HostConfig: { NetworkMode: 'none' }, NetworkSettings: { Networks: { none: ENDPOINT } }, Mounts: [] });
      expect(rc!.ImageID).toMatch(/^sha256:/);
      expect(rc!.Status).toMatch(/^Up /);
      expect(rb).toMatchObject({ State: 'exited', Command: 'sh -c exit 3' });
      expect(rb!.Status).toMatch(/^Exited \(3\) .* ago$/);
      expect(ra!.Status).toMatch(/^Exited \(0\) /);
      expect(Object.keys((await api.list({ all: true }, { id: [a] }))[0]!)).toEqual(LIST_KEYS);
      const created = await create({ Cmd: ['true'], Labels: L });
      expect((await api.list({ all: true }, { id: [created] }))[0]).toMatchObject({ State: 'created', Status: 'Created' });

      for (const [f, message] of [
        [{ bogus: ['x'] }, "Invalid filter 'bogus'"],
        [{ status: ['bogus'] }, "Invalid filter 'status=bogus'"],
        [{ health: ['x'] }, 'Unrecognised filter value for health: x'],
      ] as [Json, string][]) {
        const r = await api.req('GET', '/containers/json', { filters: JSON.stringify(f) });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({ message });
      }
      expect((await api.req('GET', '/containers/json', { filters: JSON.stringify({ exited: ['abc'] }) })).status).toBe(400);
      expect((await api.req('GET', '/containers/json', { filters: JSON.stringify({ before: ['ct-nosuch'] }) })).status).toBe(404);
      await api.expect('DELETE', `/containers/${c}`, 204, { force: true });
    });

    it('answers 404 with Docker\'s message for an unknown container on every operation', async () => {
      const ops: [string, string][] = [
        ['GET', '/containers/ct-nosuch/json'], ['POST', '/containers/ct-nosuch/start'], ['POST', '/containers/ct-nosuch/stop'],
        ['POST', '/containers/ct-nosuch/restart'], ['POST', '/containers/ct-nosuch/kill'], ['POST', '/containers/ct-nosuch/pause'],
        ['POST', '/containers/ct-nosuch/unpause'], ['POST', '/containers/ct-nosuch/wait'], ['DELETE', '/containers/ct-nosuch'],
      ];
      for (const [method, path] of ops) {
        const r = await api.req(method, path);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body).toEqual({ message: 'No such container: ct-nosuch' });
      }
      const r = await api.req('POST', '/containers/ct-nosuch/rename', { name: unique('x') });
      expect(r.status).toBe(404);
    });
  });

  describe('state machine', () => {
    it('start: 204, then 304 with an empty body while running; stop: 204, then 304', async () => {
      const id = await create({ Cmd: trapping('TERM', 0) });
      expect((await api.req('POST', `/containers/${id}/start`)).status).toBe(204);
      const again = await api.req('POST', `/containers/${id}/start`);
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
      await api.expect('POST', `/containers/${id}/stop`, 204);
      const stopped = await api.req('POST', `/containers/${id}/stop`);
      expect(stopped.status).toBe(304);
      expect(stopped.text).toBe('');
      expect((await api.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    });

    it('stop sends the stop signal, then SIGKILL after t: 137 for a PID 1 that ignores TERM, the script\'s own code when it traps', async () => {
      const ignores = await run(IGNORES_TERM);
      await api.expect('POST', `/containers/${ignores}/stop`, 204, { t: 1 });
      expect((await api.inspect(ignores)).State).toMatchObject({ Status: 'exited', ExitCode: 137, Running: false });
      const traps143 = await run(trapping('TERM', 143));
      await api.expect('POST', `/containers/${traps143}/stop`, 204, { t: 10 });
      expect((await api.inspect(traps143)).State.ExitCode).toBe(143);
      const traps0 = await run(trapping('TERM', 0));
      await api.expect('POST', `/containers/${traps0}/stop`, 204);
      expect((await api.inspect(traps0)).State.ExitCode).toBe(0);
    });

    it('stop uses Config.StopSignal and Config.StopTimeout', async () => {
      const since = nowSeconds();
      const usr1 = await run(trapping('USR1', 10), { StopSignal: 'SIGUSR1' });
      await api.expect('POST', `/containers/${usr1}/stop`, 204);
      expect((await api.inspect(usr1)).State.ExitCode).toBe(10);
      const kills = (await api.events(since, { container: [usr1], event: ['kill'] })).map((e) => e.Actor.Attributes.signal);
      expect(kills).toEqual(['10']);
      const quick = await run(IGNORES_TERM, { StopTimeout: 1 });
      await api.expect('POST', `/containers/${quick}/stop`, 204);
      expect((await api.inspect(quick)).State.ExitCode).toBe(137);
    });

    it('restart: 204 for a running and for a stopped container; the container runs again', async () => {
      const id = await run(trapping('TERM', 0));
      const first = (await api.inspect(id)).State.StartedAt as string;
      await api.expect('POST', `/containers/${id}/restart`, 204, { t: 5 });
      const again = await api.inspect(id);
      expect(running(again)).toBe(true);
      expect(again.State.StartedAt).not.toBe(first);
      expect(again.RestartCount).toBe(0);
      await api.expect('POST', `/containers/${id}/stop`, 204);
      await api.expect('POST', `/containers/${id}/restart`, 204);
      expect(running(await api.inspect(id))).toBe(true);
      const created = await create({ Cmd: IGNORES_TERM });
      await api.expect('POST', `/containers/${created}/restart`, 204);
      expect(running(await api.inspect(created))).toBe(true);
      await api.expect('DELETE', `/containers/${created}`, 204, { force: true });
      await api.expect('DELETE', `/containers/${id}`, 204, { force: true });
    });

    it('kill: SIGKILL by default (137), any signal by name or number, 409 when not running, 400 for an unknown signal', async () => {
      const id = await run(IGNORES_TERM);
      // PID 1 has no TERM handler: the signal is ignored and the container keeps running.
      await api.expect('POST', `/containers/${id}/kill`, 204, { signal: 'TERM' });
      await sleep(200);
      expect(running(await api.inspect(id))).toBe(true);
      const bad = await api.req('POST', `/containers/${id}/kill`, { signal: 'BOGUS' });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ message: 'Invalid signal: BOGUS' });
      await api.expect('POST', `/containers/${id}/kill`, 204);
      expect((await api.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
      const notRunning = await api.req('POST', `/containers/${id}/kill`);
      expect(notRunning.status).toBe(409);
      expect(notRunning.body).toEqual({ message: `Cannot kill container: ${id}: Container ${id} is not running` });

      for (const [signal, sigName, code] of [['USR1', 'USR1', 7], ['SIGUSR2', 'USR2', 8], ['10', 'USR1', 9], ['15', 'TERM', 143]] as const) {
        const t = await run(trapping(sigName, code));
        await api.expect('POST', `/containers/${t}/kill`, 204, { signal });
        expect(await api.wait(t)).toEqual({ Error: null, StatusCode: code });
      }
    });

    it('pause/unpause: 204, State.Paused, and 409 for every illegal transition', async () => {
      const id = await run(IGNORES_TERM);
      await api.expect('POST', `/containers/${id}/pause`, 204);
      const p = await api.inspect(id);
      expect(p.State).toMatchObject({ Status: 'paused', Running: true, Paused: true });
      expect((await api.list({ all: true }, { id: [id] }))[0]!.Status).toMatch(/^Up .* \(Paused\)$/);
      expect((await api.list({ all: true }, { status: ['paused'], id: [id] })).length).toBe(1);
      const conflicts: [string, string, string][] = [
        ['POST', `/containers/${id}/pause`, `Container ${id} is already paused`],
        ['POST', `/containers/${id}/start`, 'cannot start a paused container, try unpause instead'],
        ['DELETE', `/containers/${id}`, `You cannot remove a paused container ${id}. Unpause and then stop the container before attempting removal or force remove`],
      ];
      for (const [method, path, message] of conflicts) {
        const r = await api.req(method, path);
        expect(r.status, path).toBe(409);
        expect(r.body).toEqual({ message });
      }
      await api.expect('POST', `/containers/${id}/unpause`, 204);
      expect((await api.inspect(id)).State).toMatchObject({ Status: 'running', Paused: false });
      const notPaused = await api.req('POST', `/containers/${id}/unpause`);
      expect(notPaused.status).toBe(409);
      expect(notPaused.body).toEqual({ message: `Container ${id} is not paused` });
      await api.expect('POST', `/containers/${id}/pause`, 204);
      // A paused container can be stopped and killed.
      await api.expect('POST', `/containers/${id}/stop`, 204, { t: 0 });
      expect((await api.inspect(id)).State).toMatchObject({ Status: 'exited', Paused: false, ExitCode: 137 });
      const stopped = await api.req('POST', `/containers/${id}/pause`);
      expect(stopped.status).toBe(409);
      expect(stopped.body).toEqual({ message: `Container ${id} is not running` });
    });

    it('wait: not-running (at once when stopped), next-exit, removed; 400 for an unknown condition', async () => {
      const done = await run(['sh', '-c', 'exit 4']);
      expect(await api.wait(done)).toEqual({ Error: null, StatusCode: 4 });
      expect(await api.wait(done, 'not-running')).toEqual({ Error: null, StatusCode: 4 });

      const next = api.wait(done, 'next-exit');
      await sleep(50);
      await api.expect('POST', `/containers/${done}/start`, 204);
      expect(await next).toEqual({ Error: null, StatusCode: 4 });

      const removed = api.wait(done, 'removed');
      await sleep(50);
      await api.expect('DELETE', `/containers/${done}`, 204);
      expect(await removed).toEqual({ Error: null, StatusCode: 4 });

      const created = await create({ Cmd: ['true'] });
      expect((await api.req('POST', `/containers/${created}/wait`, { condition: 'bogus' })).status).toBe(400);
    });

    it('rename: 204 and the new name resolves; 409 on a name in use, 400 for the same or a bad name', async () => {
      const oldName = unique('ren');
      const newName = unique('ren2');
      const id = await create({ Cmd: ['true'] }, oldName);
      const otherName = unique('ren3');
      const other = await create({ Cmd: ['true'] }, otherName);
      await api.expect('POST', `/containers/${id}/rename`, 204, { name: newName });
      expect((await api.inspect(newName)).Id).toBe(id);
      expect((await api.req('GET', `/containers/${oldName}/json`)).status).toBe(404);
      const cases: [string, number, string][] = [
        [otherName, 409, `Error when allocating new name: Conflict. The container name "/${otherName}" is already in use by container "${other}". You have to remove (or rename) that container to be able to reuse that name.`],
        [newName, 400, 'Renaming a container with the same name as its current name'],
        ['b@d', 400, 'Error when allocating new name: Invalid container name (/b@d), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'],
      ];
      for (const [name, status, message] of cases) {
        const r = await api.req('POST', `/containers/${id}/rename`, { name });
        expect(r.status, name).toBe(status);
        expect(r.body).toEqual({ message });
      }
      expect((await api.inspect(id)).Name).toBe(`/${newName}`);
    });

    it('delete: 409 while running, force kills and removes, then 404', async () => {
      const id = await run(IGNORES_TERM);
      const r = await api.req('DELETE', `/containers/${id}`);
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ message: `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove` });
      const since = nowSeconds();
      await api.expect('DELETE', `/containers/${id}`, 204, { force: true });
      expect((await api.req('GET', `/containers/${id}/json`)).status).toBe(404);
      const actions = (await api.events(since, { container: [id] })).map((e) => e.Action);
      expect(actions).toEqual(['kill', 'die', 'destroy']);
      const stopped = await run(['true']);
      await api.wait(stopped);
      await api.expect('DELETE', `/containers/${stopped}`, 204);
      expect((await api.req('DELETE', `/containers/${stopped}`)).status).toBe(404);
    });

    it('prune removes the stopped containers the filters select, with ContainersDeleted and SpaceReclaimed', async () => {
      const label = unique('prune');
      const L = { 'ct-prune': label };
      const a = await run(['sh', '-c', 'echo some-bytes > /tmp/f'], { Labels: L });
      await api.wait(a);
      const b = await create({ Cmd: ['true'], Labels: L });
      const up = await run(IGNORES_TERM, { Labels: L });
      const other = await run(['true'], { Labels: { 'ct-prune': 'other' } });
      await api.wait(other);
      const r = await api.req('POST', '/containers/prune', { filters: JSON.stringify({ label: [`ct-prune=${label}`] }) });
      expect(r.status).toBe(200);
      expect(Object.keys(r.body)).toEqual(['ContainersDeleted', 'SpaceReclaimed']);
      expect([...(r.body.ContainersDeleted as string[])].sort()).toEqual([a, b].sort());
      expect(r.body.SpaceReclaimed).toBeGreaterThan(0);
      expect((await api.req('GET', `/containers/${a}/json`)).status).toBe(404);
      expect(running(await api.inspect(up))).toBe(true);
      await api.inspect(other);
      const none = await api.req('POST', '/containers/prune', { filters: JSON.stringify({ label: [`ct-prune=${label}`] }) });
      expect(none.body).toEqual({ ContainersDeleted: null, SpaceReclaimed: 0 });
      const bad = await api.req('POST', '/containers/prune', { filters: JSON.stringify({ bogus: ['x'] }) });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ message: "Invalid filter 'bogus'" });
      await api.expect('DELETE', `/containers/${up}`, 204, { force: true });
    });

    it('publishes the lifecycle events with Docker\'s attributes, filtered by container and event', async () => {
      const since = nowSeconds();
      const name = unique('ev');
      const renamed = unique('ev2');
      const id = await create({ Cmd: ['sh', '-c', "trap 'exit 3' USR1; sleep 100 & wait"], Labels: { 'ct-ev': 'yes' } }, name);
      await api.expect('POST', `/containers/${id}/start`, 204);
      await api.expect('POST', `/containers/${id}/pause`, 204);
      await api.expect('POST', `/containers/${id}/unpause`, 204);
      await api.expect('POST', `/containers/${id}/rename`, 204, { name: renamed });
      await api.expect('POST', `/containers/${id}/stop`, 204, { t: 1 });
      await api.expect('POST', `/containers/${id}/restart`, 204, { t: 1 });
      await api.expect('POST', `/containers/${id}/kill`, 204, { signal: 'USR1' });
      expect((await api.wait(id)).StatusCode).toBe(3);
      await api.expect('DELETE', `/containers/${id}`, 204);
      const events = await api.events(since, { container: [id], type: ['container'] });
      expect(events.map((e) => e.Action)).toEqual(['create', 'start', 'pause', 'unpause', 'rename', 'kill', 'kill', 'die', 'stop', 'start', 'restart', 'kill', 'die', 'destroy']);
      const byAction = (a: string) => events.filter((e) => e.Action === a);
      expect(byAction('create')[0]).toMatchObject({ Type: 'container', status: 'create', id, from: image, scope: 'local', Actor: { ID: id, Attributes: { image, name, 'ct-ev': 'yes' } } });
      expect(byAction('rename')[0]!.Actor.Attributes).toMatchObject({ name: renamed, oldName: `/${name}` });
      expect(byAction('kill').map((e) => e.Actor.Attributes.signal)).toEqual(['15', '9', '10']);
      expect(byAction('die').map((e) => e.Actor.Attributes.exitCode)).toEqual(['137', '3']);
      for (const e of events) {
        expect(typeof e.time).toBe('number');
        expect(String(e.timeNano).startsWith(String(e.time))).toBe(true);
      }
      const dies = await api.events(since, { container: [renamed], event: ['die'] });
      expect(dies.map((e) => e.Actor.Attributes.exitCode)).toEqual(['137', '3']);
    });
  });

  describe('restart policies', () => {
    it('on-failure:2 restarts twice after non-zero exits, counts RestartCount, then stays exited', async () => {
      const since = nowSeconds();
      const id = await run(['sh', '-c', 'exit 1'], { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
      const c = await api.until(id, (x) => x.RestartCount === 2 && x.State.Status === 'exited', 'exited after 2 restarts');
      expect(c.State).toMatchObject({ ExitCode: 1, Restarting: false });
      const actions = (await api.events(since, { container: [id], event: ['start', 'die', 'restart'] })).map((e) => e.Action);
      expect(actions).toEqual(['start', 'die', 'start', 'restart', 'die', 'start', 'restart', 'die']);
      const ok = await run(['true'], { HostConfig: { RestartPolicy: { Name: 'on-failure' } } });
      await api.wait(ok);
      expect((await api.inspect(ok)).RestartCount).toBe(0);
    });

    it('always restarts after any exit until stopped; a stop ends it', async () => {
      const id = await run(['true'], { HostConfig: { RestartPolicy: { Name: 'always' } } });
      await api.until(id, (x) => x.RestartCount >= 2, 'restarted twice');
      await api.expect('POST', `/containers/${id}/stop`, 204);
      const stopped = await api.until(id, (x) => x.State.Status === 'exited', 'stopped');
      await sleep(500);
      const later = await api.inspect(id);
      expect(later.State.Status).toBe('exited');
      expect(later.RestartCount).toBe(stopped.RestartCount);
    });

    it('unless-stopped restarts after a crash but not after a stop; restarting shows in State and ps', async () => {
      const id = await run(['sh', '-c', 'sleep 0.3; exit 2'], { HostConfig: { RestartPolicy: { Name: 'unless-stopped' } } });
      await api.until(id, (x) => x.RestartCount >= 1 && running(x), 'restarted after a crash');
      await api.expect('POST', `/containers/${id}/stop`, 204, { t: 0 });
      const c = await api.inspect(id);
      expect(c.State).toMatchObject({ Status: 'exited', Restarting: false });
      await sleep(500);
      expect((await api.inspect(id)).State.Status).toBe('exited');
    });

    it('AutoRemove removes the container when it exits (wait condition=removed answers)', async () => {
      const id = await create({ Cmd: ['sh', '-c', 'exit 6'], HostConfig: { AutoRemove: true } });
      expect((await api.inspect(id)).HostConfig.AutoRemove).toBe(true);
      const removed = api.wait(id, 'removed');
      await sleep(50);
      await api.expect('POST', `/containers/${id}/start`, 204);
      expect(await removed).toEqual({ Error: null, StatusCode: 6 });
      expect((await api.req('GET', `/containers/${id}/json`)).status).toBe(404);
      made.delete(id);
    });

    it('output written before anyone reads it arrives whole: start answers, and logs has every byte, multi-byte characters included', async () => {
      const line = '0123456789abcdefghijklmnopqrstuvwxyz-\u00e9\u20ac'; // é and € are 2 and 3 bytes in UTF-8
      const id = await run(['sh', '-c', `yes '${line}' | head -n 20000`]);
      expect((await api.wait(id)).StatusCode).toBe(0);
      const r = await ctx.get().client.raw('GET', `/containers/${id}/logs`, { query: { stdout: 1, stderr: 1 } });
      expect(r.status).toBe(200);
      const frames = new FrameDecoder().push(r.body);
      expect(frames.every((f) => f.stream === 'stdout')).toBe(true);
      expect(Buffer.concat(frames.map((f) => f.payload)).toString('utf8')).toBe(`${line}\n`.repeat(20000));
    });

    it('after a daemon restart on the same roots: always and on-failure (exit 137) come back even after a user stop, unless-stopped stopped by the user does not', async () => {
      const d: DaemonUnderTest = await ctx.get().extra([]);
      const api2 = new Api(() => d.client);
      const r = await d.client.raw('POST', '/images/create?fromSrc=-&repo=ct-restart&tag=latest', { body: await busyboxRootfs(), headers: { 'Content-Type': 'application/x-tar' } });
      expect(r.status).toBe(200);
      const mk = async (policy: string, name: string) => {
        const id = await api2.create({ Image: 'ct-restart:latest', Cmd: IGNORES_TERM, HostConfig: { RestartPolicy: { Name: policy } } }, name);
        await api2.expect('POST', `/containers/${id}/start`, 204);
        return id;
      };
      const always = await mk('always', 'ct-always');
      const alwaysStopped = await mk('always', 'ct-always-stopped');
      const unlessStopped = await mk('unless-stopped', 'ct-unless-stopped');
      const unlessRunning = await mk('unless-stopped', 'ct-unless-running');
      const onFailureStopped = await mk('on-failure', 'ct-on-failure-stopped');
      await api2.expect('POST', `/containers/${alwaysStopped}/stop`, 204, { t: 0 });
      await api2.expect('POST', `/containers/${onFailureStopped}/stop`, 204, { t: 0 });
      await api2.expect('POST', `/containers/${unlessStopped}/stop`, 204, { t: 0 });
      const never = await api2.create({ Image: 'ct-restart:latest', Cmd: IGNORES_TERM, HostConfig: { RestartPolicy: { Name: 'always' } } }, 'ct-never-started');
      try {
        await d.restart();
        for (const id of [always, alwaysStopped, unlessRunning, onFailureStopped]) await api2.until(id, running, `running again after the daemon restart (${id})`);
        expect((await api2.inspect(unlessStopped)).State.Status).toBe('exited');
        expect((await api2.inspect(never)).State.Status).toBe('created');
        expect((await api2.inspect('ct-always')).Name).toBe('/ct-always');
        // The restored containers are fully manageable.
        await api2.expect('POST', `/containers/${always}/stop`, 204, { t: 0 });
        expect((await api2.inspect(always)).State.ExitCode).toBe(137);
      } finally {
        for (const id of [always, alwaysStopped, unlessStopped, unlessRunning, onFailureStopped, never]) await api2.req('DELETE', `/containers/${id}`, { force: true });
      }
    });
  });

  describe('health checks', () => {
    it('CMD-SHELL probes make a container healthy: State.Health, its log, ps status and filter, pause/unpause, and events', async () => {
      const since = nowSeconds();
      const id = await run(IGNORES_TERM, { Healthcheck: { Test: ['CMD-SHELL', 'echo probe-ok'], Interval: 100 * MS } });
      expect((await api.inspect(id)).State.Health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
      const c = await api.until(id, (x) => x.State.Health?.Status === 'healthy', 'healthy');
      expect(c.State.Health.FailingStreak).toBe(0);
      const entry = c.State.Health.Log[0];
      expect(Object.keys(entry)).toEqual(['Start', 'End', 'ExitCode', 'Output']);
      expect(entry).toMatchObject({ ExitCode: 0, Output: 'probe-ok\n' });
      expect(entry.Start).toMatch(RFC3339_NANO);
      expect(entry.End).toMatch(RFC3339_NANO);
      expect((await api.list({}, { id: [id] }))[0]!.Status).toMatch(/^Up .* \(healthy\)$/);
      expect((await api.list({}, { health: ['healthy'], id: [id] })).length).toBe(1);
      expect((await api.list({}, { health: ['unhealthy'], id: [id] })).length).toBe(0);
      await api.until(id, (x) => x.State.Health.Log.length >= 3, 'three probes');
      // Pause stops the probes and reports unhealthy (as dockerd); unpause probes again.
      await api.expect('POST', `/containers/${id}/pause`, 204);
      expect((await api.inspect(id)).State.Health.Status).toBe('unhealthy');
      await api.expect('POST', `/containers/${id}/unpause`, 204);
      await api.until(id, (x) => x.State.Health?.Status === 'healthy', 'healthy after unpause');
      await api.expect('POST', `/containers/${id}/kill`, 204);
      expect((await api.inspect(id)).State.Health.Status).toBe('unhealthy');
      const events = await api.events(since, { container: [id] });
      const actions = events.map((e) => e.Action);
      expect(actions.filter((a) => a.startsWith('health_status'))).toEqual(['health_status: healthy', 'health_status: healthy']);
      expect(actions).toContain('exec_create: /bin/sh -c echo probe-ok');
      expect(actions).toContain('exec_start: /bin/sh -c echo probe-ok');
      const die = events.find((e) => e.Action === 'exec_die')!;
      expect(die.Actor.Attributes).toMatchObject({ exitCode: '0', name: expect.any(String), image });
      expect(die.Actor.Attributes.execID).toMatch(/^[0-9a-f]{64}$/);
    });

    it('failing probes count up to Retries (unhealthy); a probe past Timeout is killed and logged as -1', async () => {
      const failing = await run(IGNORES_TERM, { Healthcheck: { Test: ['CMD', 'false'], Interval: 100 * MS, Retries: 2 } });
      const f = await api.until(failing, (x) => x.State.Health?.Status === 'unhealthy', 'unhealthy');
      expect(f.State.Health.FailingStreak).toBeGreaterThanOrEqual(2);
      expect(f.State.Health.Log[0]).toMatchObject({ ExitCode: 1, Output: '' });
      expect((await api.list({}, { health: ['unhealthy'], id: [failing] })).length).toBe(1);

      const slow = await run(IGNORES_TERM, { Healthcheck: { Test: ['CMD-SHELL', 'sleep 5'], Interval: 100 * MS, Timeout: 200 * MS, Retries: 1 } });
      const s = await api.until(slow, (x) => x.State.Health?.Status === 'unhealthy', 'unhealthy by timeout');
      expect(s.State.Health.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (200ms)' });
      expect(Date.parse(s.State.Health.Log[0].End) - Date.parse(s.State.Health.Log[0].Start)).toBeGreaterThanOrEqual(150);
      await api.expect('DELETE', `/containers/${failing}`, 204, { force: true });
      await api.expect('DELETE', `/containers/${slow}`, 204, { force: true });
    });

    it('the image\'s HEALTHCHECK applies; Test ["NONE"] disables it (no State.Health)', async () => {
      const fromImage = await run(IGNORES_TERM, { Image: configured });
      expect((await api.inspect(fromImage)).Config.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 100 * MS, Retries: 2 });
      await api.until(fromImage, (x) => x.State.Health?.Status === 'healthy', 'healthy from the image\'s check');
      const disabled = await run(IGNORES_TERM, { Image: configured, Healthcheck: { Test: ['NONE'] } });
      const d = await api.inspect(disabled);
      expect(d.Config.Healthcheck.Test).toEqual(['NONE']);
      expect(d.State.Health).toBeUndefined();
      expect((await api.list({}, { id: [disabled] }))[0]!.Status).not.toMatch(/health/);
      expect((await api.list({}, { health: ['none'], id: [disabled] })).length).toBe(1);
      await api.expect('DELETE', `/containers/${fromImage}`, 204, { force: true });
      await api.expect('DELETE', `/containers/${disabled}`, 204, { force: true });
    });
  });

  describe.runIf(hasDockerCli)('with the real docker CLI', () => {
    const cli = (args: string[]) => dockerCli(ctx.get().host, args);

    it('create, start, ps, inspect -f, pause/unpause, kill -s, wait, rename, stop, rm -f', async () => {
      const name = unique('cli');
      const created = await cli(['create', '--name', name, '--network', 'none', '--label', 'ct-cli=1', image, ...trapping('TERM', 0)]);
      expect(created.code, created.stderr).toBe(0);
      const id = created.stdout.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      made.add(id);
      expect((await cli(['start', name])).stdout.trim()).toBe(name);
      const ps = await cli(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}} {{.State}} {{.Label "ct-cli"}}']);
      expect(ps.stdout.trim()).toBe(`${name} running 1`);
      expect((await cli(['inspect', '-f', '{{.State.Status}} {{.Config.Labels}}', name])).stdout.trim()).toBe('running map[ct-cli:1]');
      expect((await cli(['pause', name])).code).toBe(0);
      expect((await cli(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toMatch(/\(Paused\)/);
      expect((await cli(['unpause', name])).code).toBe(0);
      const renamed = `${name}-x`;
      expect((await cli(['rename', name, renamed])).code).toBe(0);
      const stop = await cli(['stop', renamed]);
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout.trim()).toBe(renamed);
      expect((await cli(['inspect', '-f', '{{.State.ExitCode}}', renamed])).stdout.trim()).toBe('0');
      const again = await cli(['kill', renamed]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('is not running');

      const k = unique('clik');
      expect((await cli(['create', '--name', k, '--network', 'none', image, ...trapping('USR1', 5)])).code).toBe(0);
      made.add((await cli(['inspect', '-f', '{{.Id}}', k])).stdout.trim());
      await cli(['start', k]);
      const waiting = cli(['wait', k]);
      expect((await cli(['kill', '-s', 'USR1', k])).code).toBe(0);
      const w = await waiting;
      expect(w.stdout.trim()).toBe('5');

      const f = unique('clif');
      expect((await cli(['create', '--name', f, '--network', 'none', image, ...IGNORES_TERM])).code).toBe(0);
      await cli(['start', f]);
      const rmNoForce = await cli(['rm', f]);
      expect(rmNoForce.code).toBe(1);
      expect(rmNoForce.stderr).toContain('You cannot remove a running container');
      const rm = await cli(['rm', '-f', f, renamed, k]);
      expect(rm.code, rm.stderr).toBe(0);
      expect((await cli(['ps', '-a', '-q', '--filter', `name=${f}`])).stdout.trim()).toBe('');
      const missing = await cli(['stop', 'ct-nosuch']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No such container: ct-nosuch');
    });

    it('docker stop waits for the timeout, then kills: exit code 137', async () => {
      const name = unique('clistop');
      expect((await cli(['create', '--name', name, '--network', 'none', '--stop-timeout', '1', image, ...IGNORES_TERM])).code).toBe(0);
      made.add((await cli(['inspect', '-f', '{{.Id}}', name])).stdout.trim());
      await cli(['start', name]);
      expect((await cli(['stop', name])).code).toBe(0);
      expect((await cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim()).toBe('exited 137');
      expect((await cli(['rm', name])).code).toBe(0);
    });
  });
}
