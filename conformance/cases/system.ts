import { request } from 'node:http';
import { expect, it } from 'vitest';
import { dockerCli, hasDockerCli, type SuiteContext } from '../harness';

/** Raw HTTP on the daemon's socket, to see status, headers and body exactly. */
export function rawRequest(socket: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { Host: 'docker', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** GET/HEAD /_ping, /version, /info, version prefixes, errors and CORS. */
export function systemCases(ctx: SuiteContext): void {
  it('GET /_ping answers OK with Docker headers', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/_ping');
    expect(r.status).toBe(200);
    expect(r.body).toBe('OK');
    expect(r.headers['api-version']).toBe('1.41');
    expect(r.headers['ostype']).toBe('linux');
    expect(r.headers['docker-experimental']).toBe('false');
    expect(r.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    expect(r.headers['pragma']).toBe('no-cache');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(String(r.headers['server'])).toMatch(/^Docker\//);
  });

  it('HEAD /_ping answers headers only', async () => {
    const r = await rawRequest(ctx.get().socket, 'HEAD', '/_ping');
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers['api-version']).toBe('1.41');
    expect(r.headers['content-length']).toBe('0');
  });

  it('/_ping works under a version prefix', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/v1.41/_ping');
    expect(r.status).toBe(200);
    expect(r.body).toBe('OK');
  });

  it('GET /version has Docker\'s shape', async () => {
    const v = await ctx.get().client.json<Record<string, unknown>>('GET', '/version');
    for (const k of ['Platform', 'Components', 'Version', 'ApiVersion', 'MinAPIVersion', 'GitCommit', 'GoVersion', 'Os', 'Arch', 'KernelVersion', 'BuildTime']) {
      expect(v).toHaveProperty(k);
    }
    expect(v.ApiVersion).toBe('1.41');
    expect(v.MinAPIVersion).toBe('1.12');
    expect(v.Os).toBe('linux');
    const engine = (v.Components as { Name: string; Details: Record<string, string> }[])[0]!;
    expect(engine.Name).toBe('Engine');
    expect(engine.Details.ApiVersion).toBe('1.41');
    expect(typeof v.KernelVersion).toBe('string');
    expect(Date.parse(String(v.BuildTime))).not.toBeNaN();
  });

  it('GET /info has Docker\'s keys and real host values', async () => {
    const dut = ctx.get();
    const info = await dut.client.json<Record<string, any>>('GET', '/info'); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const k of [
      'ID', 'Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'Images', 'Driver', 'DriverStatus', 'Plugins',
      'MemoryLimit', 'SwapLimit', 'CpuCfsPeriod', 'CpuCfsQuota', 'CPUShares', 'CPUSet', 'PidsLimit', 'IPv4Forwarding', 'Debug', 'NFd',
      'OomKillDisable', 'NGoroutines', 'SystemTime', 'LoggingDriver', 'CgroupDriver', 'CgroupVersion', 'NEventsListener', 'KernelVersion',
      'OperatingSystem', 'OSVersion', 'OSType', 'Architecture', 'IndexServerAddress', 'RegistryConfig', 'NCPU', 'MemTotal', 'GenericResources',
      'DockerRootDir', 'HttpProxy', 'HttpsProxy', 'NoProxy', 'Name', 'Labels', 'ExperimentalBuild', 'ServerVersion', 'Runtimes', 'DefaultRuntime',
      'Swarm', 'LiveRestoreEnabled', 'Isolation', 'InitBinary', 'ContainerdCommit', 'RuncCommit', 'InitCommit', 'SecurityOptions', 'Warnings',
    ]) {
      expect(info, k).toHaveProperty(k);
    }
    const os = await import('node:os');
    expect(info.NCPU).toBe(os.cpus().length);
    expect(info.MemTotal).toBe(os.totalmem());
    expect(info.Name).toBe(os.hostname());
    expect(info.OSType).toBe('linux');
    expect(info.DockerRootDir).toBe(dut.config.graph);
    expect(info.ExecRoot).toBe(dut.config.execRoot);
    expect(info.LoggingDriver).toBe('json-file');
    expect(info.RegistryConfig.InsecureRegistryCIDRs).toEqual(['127.0.0.0/8']);
    expect(info.RegistryConfig.IndexConfigs['docker.io']).toEqual({ Name: 'docker.io', Mirrors: [], Secure: true, Official: true });
    expect(info.GenericResources).toBeNull();
    expect(info.Swarm.LocalNodeState).toBe('inactive');
    expect(info.SystemTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(info.ID).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(info.Backend).toBe(ctx.backend);
  });

  it('the daemon ID survives a restart on the same graph root', async () => {
    const dut = ctx.get();
    const first = await dut.client.json<{ ID: string }>('GET', '/info');
    const again = await dut.client.json<{ ID: string }>('GET', '/info');
    expect(again.ID).toBe(first.ID);
  });

  it('/info reports the daemon options: labels, registries, mirrors, log driver, debug', async () => {
    const d = await ctx.get().extra([
      '--label', 'com.example.a=1', '--label', 'tier=test', '--insecure-registry', '10.1.0.0/16', '--insecure-registry', 'myregistry:5000',
      '--registry-mirror', 'https://mirror.example.com', '--log-driver', 'none', '-D', '--default-ulimit', 'nofile=1024:2048',
      '--storage-opt', 'dm.basesize=20G', '--exec-opt', 'native.cgroupdriver=cgroupfs', '--mtu', '1400', '--dns', '127.0.0.53',
    ]);
    const info = await d.client.json<Record<string, any>>('GET', '/info'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(info.Labels).toEqual(['com.example.a=1', 'tier=test']);
    expect(info.Debug).toBe(true);
    expect(info.LoggingDriver).toBe('none');
    expect(info.CgroupDriver).toBe('cgroupfs');
    expect(info.RegistryConfig.InsecureRegistryCIDRs).toEqual(['10.1.0.0/16', '127.0.0.0/8']);
    expect(info.RegistryConfig.IndexConfigs['myregistry:5000']).toEqual({ Name: 'myregistry:5000', Mirrors: [], Secure: false, Official: false });
    expect(info.RegistryConfig.Mirrors).toEqual(['https://mirror.example.com/']);
    expect(info.RegistryConfig.IndexConfigs['docker.io'].Mirrors).toEqual(['https://mirror.example.com/']);
    expect(info.DaemonOptions['default-ulimit']).toEqual(['nofile=1024:2048']);
    expect(info.DaemonOptions['storage-opt']).toEqual({ 'dm.basesize': '20G' });
    expect(info.DaemonOptions.mtu).toBe(1400);
    expect(info.DaemonOptions.dns).toEqual(['127.0.0.53']);
  });

  it('a version above the maximum gets Docker\'s 400 JSON answer', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/v1.99/version');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ message: 'client version 1.99 is too new. Maximum supported API version is 1.41' });
  });

  it('a version below the minimum gets Docker\'s 400 plain-text answer', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/v1.5/version');
    expect(r.status).toBe(400);
    expect(r.body.trim()).toBe('client version 1.5 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version');
  });

  it('older clients are served under their prefix', async () => {
    for (const v of ['1.12', '1.24', '1.40']) {
      const r = await rawRequest(ctx.get().socket, 'GET', `/v${v}/version`);
      expect(r.status, v).toBe(200);
    }
  });

  it('an unknown endpoint is Docker\'s 404 page not found, for any method', async () => {
    for (const [m, p] of [['GET', '/nope'], ['POST', '/v1.41/nope/deeper'], ['DELETE', '/swarm/whatever']] as const) {
      const r = await rawRequest(ctx.get().socket, m, p);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.body)).toEqual({ message: 'page not found' });
    }
  });

  it('no CORS headers unless --api-cors-header is set', async () => {
    const r = await rawRequest(ctx.get().socket, 'GET', '/_ping', { Origin: 'http://example.test' });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('--api-cors-header adds CORS headers and answers preflight', async () => {
    const d = await ctx.get().extra(['--api-cors-header', 'http://ui.example.test']);
    const r = await rawRequest(d.socket, 'GET', '/version', { Origin: 'http://ui.example.test' });
    expect(r.headers['access-control-allow-origin']).toBe('http://ui.example.test');
    expect(String(r.headers['access-control-allow-methods'])).toContain('POST');
    const pre = await rawRequest(d.socket, 'OPTIONS', '/v1.41/containers/create', { Origin: 'http://ui.example.test', 'Access-Control-Request-Method': 'POST' });
    expect(pre.status).toBe(200);
    expect(pre.headers['access-control-allow-origin']).toBe('http://ui.example.test');
    expect(String(pre.headers['access-control-allow-headers'])).toContain('X-Registry-Auth');
  });

  it('the socket is created 0660', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(ctx.get().socket).mode & 0o777).toBe(0o660);
  });

  it.runIf(hasDockerCli)('the real docker CLI runs `version` against the daemon', async () => {
    const r = await dockerCli(ctx.get().host, ['version']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server:/);
    expect(r.stdout).toMatch(/API version:\s+1\.41 \(minimum version 1\.12\)/);
    expect(r.stdout).toMatch(/API version:\s+1\.41 \(downgraded from 1\.\d+\)/);
  });

  it.runIf(hasDockerCli)('the real docker CLI runs `info` against the daemon', async () => {
    const dut = ctx.get();
    const r = await dockerCli(dut.host, ['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Docker Root Dir: ${dut.config.graph}`);
    expect(r.stdout).toMatch(/Insecure Registries:\n\s+127\.0\.0\.0\/8/);
    const json = await dockerCli(dut.host, ['info', '--format', '{{json .}}']);
    expect(JSON.parse(json.stdout).ID).toMatch(/^[A-Z2-7]{4}:/);
  });
}
