import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuthConfig } from '../../src/registry/auth';
import { dockerCli, hasDockerCli, type DaemonUnderTest, type SuiteContext } from '../harness';
import { hasDockerRegistry, startDockerRegistry, startEmulatedServer, type EmulatedServer, type TestRegistry } from '../support/registry-fixture';
import { progressLines } from './images';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a registry operation left: whether it worked, and everything it said. */
interface Outcome {
  ok: boolean;
  text: string;
  lines: Json[];
}

const authHeader = (c: AuthConfig) => Buffer.from(JSON.stringify(c)).toString('base64url');

/** Pull, tag, push, login, rmi through the Remote API. */
async function apiOp(dut: DaemonUnderTest, method: string, path: string, query: Record<string, string> = {}, creds?: AuthConfig): Promise<Outcome> {
  const res = await dut.client.raw(method, path, { query, headers: creds ? { 'X-Registry-Auth': authHeader(creds) } : {} });
  const text = res.body.toString('utf8');
  if (res.status >= 300) return { ok: false, text, lines: [] };
  const lines = res.headers['content-type'] === 'application/json' && text.includes('\n') ? progressLines(text) : [];
  return { ok: !lines.some((l) => l.error), text, lines };
}

/**
 * The client side of the registry cases: the real docker CLI when the machine has it (with
 * one config dir, so `docker login` is remembered), else the Remote API.
 */
class Client {
  /** DOCKER_CONFIG of the CLI, made on first use. */
  private configDir: string | undefined;

  constructor(
    readonly dut: DaemonUnderTest,
    private readonly useCli = hasDockerCli,
  ) {}

  private async cli(args: string[], input?: string): Promise<Outcome> {
    this.configDir ??= mkdtempSync(join(tmpdir(), 'tsd-cli-config-'));
    const r = await dockerCli(this.dut.host, args, { env: { DOCKER_CONFIG: this.configDir }, input, timeoutMs: 60_000 });
    return { ok: r.code === 0, text: r.stdout + r.stderr, lines: [] };
  }

  pull(ref: string): Promise<Outcome> {
    if (this.useCli) return this.cli(['pull', ref]);
    const at = ref.lastIndexOf(':');
    const hasTag = at > ref.lastIndexOf('/');
    return apiOp(this.dut, 'POST', '/images/create', { fromImage: hasTag ? ref.slice(0, at) : ref, tag: hasTag ? ref.slice(at + 1) : 'latest' });
  }

  tag(src: string, dst: string): Promise<Outcome> {
    if (this.useCli) return this.cli(['tag', src, dst]);
    const at = dst.lastIndexOf(':');
    return apiOp(this.dut, 'POST', `/images/${src}/tag`, { repo: dst.slice(0, at), tag: dst.slice(at + 1) });
  }

  push(ref: string, creds?: AuthConfig): Promise<Outcome> {
    if (this.useCli) return this.cli(['push', ref]);
    const at = ref.lastIndexOf(':');
    return apiOp(this.dut, 'POST', `/images/${ref.slice(0, at)}/push`, { tag: ref.slice(at + 1) }, creds ?? {});
  }

  login(server: string, username: string, password: string): Promise<Outcome> {
    if (this.useCli) return this.cli(['login', '-u', username, '--password-stdin', server], password);
    return this.loginApi(server, username, password);
  }

  private async loginApi(server: string, username: string, password: string): Promise<Outcome> {
    const res = await this.dut.client.raw('POST', '/auth', { body: { username, password, serveraddress: server } });
    return { ok: res.status === 200, text: res.body.toString('utf8'), lines: [] };
  }

  rmi(ref: string): Promise<Outcome> {
    if (this.useCli) return this.cli(['rmi', '-f', ref]);
    return apiOp(this.dut, 'DELETE', `/images/${ref}`, { force: '1' });
  }

  close(): void {
    if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
    this.configDir = undefined;
  }
}

const push = (dut: DaemonUnderTest, ref: string, creds: AuthConfig = {}) => new Client(dut, false).push(ref, creds);
const pullApi = (dut: DaemonUnderTest, ref: string) => new Client(dut, false).pull(ref);
const imageId = async (dut: DaemonUnderTest, ref: string) => (await dut.client.json<Json>('GET', `/images/${ref}/json`)).Id as string;
const statuses = (o: Outcome) => o.lines.map((l) => l.status as string);
const errorOf = (o: Outcome) => (o.lines.find((l) => l.error)?.error as string | undefined) ?? (o.lines.length ? undefined : (JSON.parse(o.text) as { message: string }).message);
/** The daemon's download scratch space: empty when a failed pull left nothing behind. */
const leftovers = (dut: DaemonUnderTest) => readdirSync(join(dut.config.graph, 'tmp'));

/**
 * Registry cases: push/pull round trips through Debian's docker-registry (distribution 2.8)
 * and the emulated registry server, the insecure-registry rules, a TLS registry trusted
 * through certs.d, login and auth, registry faults during pull, search, distribution
 * inspect, and (where the backend has an offline hub) Docker Hub and mirrors. Images come
 * from the emulated registry's built-in busybox, pulled over loopback.
 */
export function imagesRegistryCases(ctx: SuiteContext): void {
  let source: EmulatedServer;
  const stops: TestRegistry[] = [];
  const busybox = () => `${source.address}/library/busybox:latest`;
  /** A daemon of its own (fresh store), with busybox pulled from the source registry. */
  const freshDaemon = async (args: string[] = [], certsDir?: string) => {
    const d = await ctx.get().extra(args, certsDir ? { certsDir } : undefined);
    const r = await pullApi(d, busybox());
    expect(r.ok, r.text).toBe(true);
    return d;
  };
  const track = <T extends TestRegistry>(r: T): T => {
    stops.push(r);
    return r;
  };

  beforeAll(async () => {
    source = track(await startEmulatedServer());
  });
  afterAll(async () => {
    for (const r of stops.reverse()) await r.stop().catch(() => undefined);
  });

  it.runIf(hasDockerRegistry)('push and pull round trip through docker-registry over plain HTTP on 127.0.0.1', async () => {
    const reg = track(await startDockerRegistry());
    const dut = ctx.get();
    const client = new Client(dut);
    try {
      expect((await client.pull(busybox())).ok).toBe(true);
      const id = await imageId(dut, busybox());
      const target = `${reg.address}/tsd/busybox:v1`;
      expect((await client.tag(busybox(), target)).ok).toBe(true);
      const pushed = await client.push(target);
      expect(pushed.ok, pushed.text).toBe(true);

      // The stream as dockerd words it (through the API, whatever the client above was).
      const again = await push(dut, target);
      expect(again.lines[0]).toEqual({ status: `The push refers to repository [${reg.address}/tsd/busybox]` });
      expect(statuses(again)).toContain('Layer already exists');
      const digestLine = statuses(again).find((s) => / digest: /.test(s ?? ''))!;
      expect(digestLine).toMatch(/^v1: digest: sha256:[a-f0-9]{64} size: \d+$/);
      const digest = digestLine.split(' ')[2]!;
      expect(again.lines[again.lines.length - 1]).toEqual({ progressDetail: {}, aux: { Tag: 'v1', Digest: digest, Size: Number(digestLine.split(' ').pop()) } });
      expect((await dut.client.json<Json>('GET', `/images/${target}/json`)).RepoDigests).toContain(`${reg.address}/tsd/busybox@${digest}`);

      // Another repository of the same registry: the blob is mounted, not uploaded.
      expect((await client.tag(busybox(), `${reg.address}/tsd/other:v1`)).ok).toBe(true);
      const mounted = await push(dut, `${reg.address}/tsd/other:v1`);
      expect(statuses(mounted)).toContain('Mounted from tsd/busybox');

      const inspect = await dut.client.json<Json>('GET', `/distribution/${target}/json`);
      expect(inspect).toEqual({ Descriptor: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest, size: expect.any(Number) }, Platforms: [{ architecture: 'amd64', os: 'linux' }] });

      // Pull it back into a store that never saw it: the same image.
      const other = await ctx.get().extra([]);
      const backClient = new Client(other);
      const back = await backClient.pull(target);
      backClient.close();
      expect(back.ok, back.text).toBe(true);
      expect(await imageId(other, target)).toBe(id);
    } finally {
      client.close();
    }
  });

  it('push and pull round trip through the emulated registry server', async () => {
    const target = track(await startEmulatedServer({ builtin: false }));
    const dut = ctx.get();
    const ref = `${target.address}/team/app:1.0`;
    expect((await pullApi(dut, busybox())).ok).toBe(true);
    expect((await new Client(dut, false).tag(busybox(), ref)).ok).toBe(true);
    const out = await push(dut, ref);
    expect(out.ok, out.text).toBe(true);
    expect(statuses(out).filter((s) => s === 'Pushed').length).toBeGreaterThan(0);
    expect(target.registry.store.listTags('team/app')).toEqual(['1.0']);
    const other = await ctx.get().extra([]);
    expect((await pullApi(other, ref)).ok).toBe(true);
    expect(await imageId(other, ref)).toBe(await imageId(dut, ref));
  });

  it('an image name without tag pushes every tag; a missing tag or image is an error in the stream', async () => {
    const target = track(await startEmulatedServer({ builtin: false }));
    const dut = ctx.get();
    const c = new Client(dut, false);
    await c.tag(busybox(), `${target.address}/all/tags:a`);
    await c.tag(busybox(), `${target.address}/all/tags:b`);
    const all = await apiOp(dut, 'POST', `/images/${target.address}/all/tags/push`, {}, {});
    expect(all.lines.filter((l) => l.aux).map((l) => l.aux.Tag)).toEqual(['a', 'b']);
    const missing = await push(dut, `${target.address}/all/nothing:v1`);
    expect(errorOf(missing)).toBe(`An image does not exist locally with the tag: ${target.address}/all/nothing`);
    const noTag = await push(dut, `${target.address}/all/tags:zzz`);
    expect(errorOf(noTag)).toBe(`tag does not exist: ${target.address}/all/tags:zzz`);
  });

  it.runIf(hasDockerRegistry)('a plain-HTTP registry on ::1 is refused unless listed by name or CIDR in --insecure-registry', async () => {
    const reg = track(await startDockerRegistry({ host: '::1' }));
    const ref = `${reg.address}/tsd/busybox:v1`;
    const refused = await freshDaemon();
    await new Client(refused, false).tag(busybox(), ref);
    const no = await push(refused, ref);
    expect(no.ok).toBe(false);
    expect(errorOf(no)).toContain(`--insecure-registry ${reg.address}`);
    for (const flag of [reg.address, '::1/128']) {
      const d = await freshDaemon(['--insecure-registry', flag]);
      await new Client(d, false).tag(busybox(), ref);
      const yes = await push(d, ref);
      expect(yes.ok, `${flag}: ${yes.text}`).toBe(true);
    }
    const puller = await ctx.get().extra(['--insecure-registry', '::1/128']);
    expect((await pullApi(puller, ref)).ok).toBe(true);
  });

  it.runIf(hasDockerRegistry)("a TLS registry is trusted through certs.d, and refused with Docker's hint without it", async () => {
    const reg = track(await startDockerRegistry({ tls: true, host: '::1' }));
    const ref = `${reg.address}/secure/busybox:v1`;
    const trusted = await freshDaemon([], reg.certsDir);
    await new Client(trusted, false).tag(busybox(), ref);
    const ok = await push(trusted, ref);
    expect(ok.ok, ok.text).toBe(true);
    const other = await ctx.get().extra([], { certsDir: reg.certsDir });
    expect((await pullApi(other, ref)).ok).toBe(true);

    const untrusting = await ctx.get().extra([]);
    const refused = await pullApi(untrusting, ref);
    expect(refused.ok).toBe(false);
    const message = errorOf(refused)!;
    expect(message).toContain(`https://${reg.address}/v2/`);
    expect(message).toContain(`--insecure-registry ${reg.address}`);
    expect(message).toContain(`/${reg.address}/ca.crt`);
  });

  it('login checks credentials; push needs them; anonymous pull works', async () => {
    const reg = track(await startEmulatedServer({ builtin: false, auth: { users: { alice: 'pw' }, anonymousPull: true } }));
    const dut = ctx.get();
    const bad = await dut.client.raw('POST', '/auth', { body: { username: 'alice', password: 'nope', serveraddress: reg.address } });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body.toString())).toEqual({ message: `Get "http://${reg.address}/v2/": unauthorized: incorrect username or password` });
    const good = await dut.client.json<Json>('POST', '/auth', { body: { username: 'alice', password: 'pw', serveraddress: reg.address } });
    expect(good).toMatchObject({ Status: 'Login Succeeded' });

    const ref = `${reg.address}/alice/busybox:v1`;
    expect((await pullApi(dut, busybox())).ok).toBe(true);
    await new Client(dut, false).tag(busybox(), ref);
    const denied = await push(dut, ref);
    expect(errorOf(denied)).toBe('denied: requested access to the resource is denied');

    const client = new Client(dut);
    try {
      const login = await client.login(reg.address, 'alice', 'pw');
      expect(login.ok, login.text).toBe(true);
      expect(login.text).toContain('Login Succeeded');
      const pushed = await client.push(ref, { username: 'alice', password: 'pw', serveraddress: reg.address });
      expect(pushed.ok, pushed.text).toBe(true);
    } finally {
      client.close();
    }
    const anonymous = await ctx.get().extra([]);
    expect((await pullApi(anonymous, ref)).ok).toBe(true);

    const closed = track(await startEmulatedServer({ builtin: false, auth: { scheme: 'basic', users: { alice: 'pw' } } }));
    await new Client(dut, false).tag(busybox(), `${closed.address}/alice/busybox:v1`);
    expect(errorOf(await push(dut, `${closed.address}/alice/busybox:v1`))).toBe('unauthorized: authentication required');
  });

  it('a 401 with a challenge is answered and the pull goes on', async () => {
    const reg = track(await startEmulatedServer({ auth: { anonymousPull: true } }));
    const fault = reg.registry.faults.inject({ operation: 'manifest.get', fault: { kind: 'unauthorized' }, times: 1 });
    const d = await ctx.get().extra([]);
    const r = await pullApi(d, `${reg.address}/library/busybox:latest`);
    expect(r.ok, r.text).toBe(true);
    expect(fault.hits).toBe(1);
  });

  it('a 429 fails the pull with the registry message, and a retry succeeds', async () => {
    const reg = track(await startEmulatedServer());
    reg.registry.faults.inject({ operation: 'manifest.get', fault: { kind: 'rate-limit' }, times: 1 });
    const d = await ctx.get().extra([]);
    const ref = `${reg.address}/library/busybox:latest`;
    const limited = await pullApi(d, ref);
    expect(limited.ok).toBe(false);
    expect(errorOf(limited)).toContain('toomanyrequests');
    expect((await pullApi(d, ref)).ok).toBe(true);
  });

  it('a blob that keeps breaking off fails the pull cleanly; a retry succeeds with nothing left behind', async () => {
    const reg = track(await startEmulatedServer());
    const fault = reg.registry.faults.inject({ operation: 'blob.get', path: '/blobs/sha256:', fault: { kind: 'truncate', bytes: 16 } });
    const d = await ctx.get().extra([]);
    const ref = `${reg.address}/library/hello-world:latest`;
    const broken = await pullApi(d, ref);
    expect(broken.ok).toBe(false);
    expect(await d.client.json<Json[]>('GET', '/images/json')).toEqual([]);
    expect(leftovers(d)).toEqual([]);
    fault.remove();
    const again = await pullApi(d, ref);
    expect(again.ok, again.text).toBe(true);
    expect((await d.client.json<Json[]>('GET', '/images/json')).length).toBe(1);
    expect(leftovers(d)).toEqual([]);
  });

  it('a blob with the wrong content fails with "filesystem layer verification failed" and leaves no image', async () => {
    const reg = track(await startEmulatedServer());
    const manifest = JSON.parse(Buffer.from(reg.registry.store.getManifest('library/busybox', 'schema2')!.bytes).toString()) as Json;
    const layer = manifest.layers[0].digest as string;
    reg.registry.faults.inject({ operation: 'blob.get', path: layer, fault: { kind: 'wrong-digest' } });
    const d = await ctx.get().extra([]);
    const r = await pullApi(d, `${reg.address}/library/busybox:schema2`);
    expect(r.ok).toBe(false);
    expect(errorOf(r)).toBe(`filesystem layer verification failed for digest ${layer}`);
    expect(await d.client.json<Json[]>('GET', '/images/json')).toEqual([]);
    expect(leftovers(d)).toEqual([]);
  });

  it("search asks the term's registry and applies Docker's filters", async () => {
    const dut = ctx.get();
    const found = await dut.client.json<Json[]>('GET', '/images/search', { query: { term: `${source.address}/busybox` } });
    expect(found).toEqual([{ star_count: expect.any(Number), is_official: true, name: 'busybox', is_automated: false, description: expect.any(String) }]);
    const none = await dut.client.json<Json[]>('GET', '/images/search', { query: { term: `${source.address}/busybox`, filters: JSON.stringify({ 'is-official': ['false'] }) } });
    expect(none).toEqual([]);
    const bad = await dut.client.raw('GET', '/images/search', { query: { term: 'busybox', filters: JSON.stringify({ stars: ['many'] }) } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toEqual({ message: "Invalid filter 'stars=many'" });
    if (hasDockerCli) {
      const cli = await dockerCli(dut.host, ['search', `${source.address}/busybox`]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toMatch(/^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL/);
      expect(cli.stdout).toContain('busybox');
    }
  });

  it('distribution inspect describes a manifest list without pulling it', async () => {
    const r = await ctx.get().client.json<Json>('GET', `/distribution/${source.address}/library/busybox/json`);
    expect(r.Descriptor).toEqual({ mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', digest: expect.stringMatching(/^sha256:/), size: expect.any(Number) });
    expect(r.Platforms).toEqual([{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }]);
    const missing = await ctx.get().client.raw('GET', `/distribution/${source.address}/library/busybox:nope/json`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({ message: 'manifest unknown: manifest unknown' });
  });

  // Only a backend whose `supports` manifest lists the offline hub has these cases (the Linux
  // backend never contacts Docker Hub): declared there, not skipped elsewhere.
  if (ctx.supports.has('offline-hub')) it('Docker Hub: search, anonymous push denied', async () => {
    const dut = ctx.get();
    const found = await dut.client.json<Json[]>('GET', '/images/search', { query: { term: 'busybox', limit: 5, filters: JSON.stringify({ 'is-official': ['true'] }) } });
    expect(found.map((r) => r.name)).toContain('busybox');
    expect((await pullApi(dut, 'busybox:latest')).ok).toBe(true);
    const out = await push(dut, 'busybox:latest');
    expect(out.lines[0]).toEqual({ status: 'The push refers to repository [docker.io/library/busybox]' });
    expect(errorOf(out)).toBe('denied: requested access to the resource is denied');
  });

  // Only a backend whose `supports` manifest lists the offline hub has these cases (the Linux
  // backend never contacts Docker Hub): declared there, not skipped elsewhere.
  if (ctx.supports.has('offline-hub')) it('--registry-mirror is asked first for Hub images, and the hub answers when the mirror fails', async () => {
    const mirror = track(await startEmulatedServer());
    const seen = mirror.registry.faults.inject({ operation: 'manifest.get', fault: { kind: 'delay', ms: 0 } });
    const d = await ctx.get().extra(['--registry-mirror', mirror.url]);
    const r = await pullApi(d, 'busybox:latest');
    expect(r.ok, r.text).toBe(true);
    expect(seen.hits).toBeGreaterThan(0);
    mirror.registry.faults.inject({ operation: 'ping', fault: { kind: 'error', status: 503 } });
    const hits = seen.hits;
    const d2 = await ctx.get().extra(['--registry-mirror', mirror.url]);
    const fallback = await pullApi(d2, 'hello-world:latest');
    expect(fallback.ok, fallback.text).toBe(true);
    expect(seen.hits).toBe(hits);
  });
}
