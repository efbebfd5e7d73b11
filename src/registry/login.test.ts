import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type RegistryAuthOptions, type RegistryServer } from '../../fakes/registry';
import { UnauthorizedError, UnavailableError } from '../errors';
import { login, loginRegistry } from './login';
import { RegistryRules } from './registry-config';
import { nodeTransport, type RegistryTransport } from './transport';

describe('loginRegistry', () => {
  it.each([
    ['', 'docker.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['https://reg.example:443', 'reg.example:443'],
  ])('%j → %s', (address, registry) => expect(loginRegistry(address)).toBe(registry));
});

describe('login', () => {
  let dir: string;
  let server: RegistryServer | undefined;
  const access = (transport: RegistryTransport = nodeTransport({})) => ({ transport, rules: new RegistryRules(), certsDir: join(dir, 'certs.d') });
  const serve = async (auth?: RegistryAuthOptions) => {
    server = await startRegistryServer({ registry: await createEmulatedRegistry({ builtin: false, auth }) });
    return server.address;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-login-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('succeeds with good credentials on a token registry and returns the refresh token as IdentityToken', async () => {
    const host = await serve({ users: { alice: 'pw' } });
    const r = await login(access(), { username: 'alice', password: 'pw', serveraddress: host });
    expect(r.Status).toBe('Login Succeeded');
    expect(r.IdentityToken).not.toBe('');
    const again = await login(access(), { identitytoken: r.IdentityToken, serveraddress: `http://${host}/` });
    expect(again.Status).toBe('Login Succeeded');
  });

  it("refuses bad credentials with dockerd's message (401)", async () => {
    const host = await serve({ users: { alice: 'pw' } });
    const err = await login(access(), { username: 'alice', password: 'bad', serveraddress: host }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toBe(`Get "http://${host}/v2/": unauthorized: incorrect username or password`);
  });

  it('checks basic credentials on a basic-auth registry', async () => {
    const host = await serve({ scheme: 'basic', users: { alice: 'pw' } });
    expect(await login(access(), { username: 'alice', password: 'pw', serveraddress: host })).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
    await expect(login(access(), { username: 'alice', password: 'bad', serveraddress: host })).rejects.toThrow(
      new UnauthorizedError(`login attempt to http://${host}/v2/ failed with status: 401 Unauthorized`),
    );
  });

  it('succeeds without checking on a registry that asks for nothing (as dockerd)', async () => {
    const host = await serve();
    expect(await login(access(), { username: 'x', password: 'y', serveraddress: host })).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });
  });

  it('reports an unreachable registry with the last endpoint tried', async () => {
    const host = await serve();
    await server!.close();
    server = undefined;
    const err = await login(access(), { username: 'x', password: 'y', serveraddress: host }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^Get "http://${host.replace(/\./g, '\\.')}/v2/": .*ECONNREFUSED`));
  });

  it('goes to registry-1.docker.io for Docker Hub addresses', async () => {
    const host = await serve({ users: { alice: 'pw' } });
    const seen: string[] = [];
    const transport: RegistryTransport = async (req) => {
      seen.push(req.url.origin);
      const url = new URL(req.url.href.replace(req.url.origin, `http://${host}`));
      return nodeTransport({})({ ...req, url });
    };
    await login(access(transport), { username: 'alice', password: 'pw', serveraddress: 'https://index.docker.io/v1/' }).catch(() => undefined);
    expect(seen[0]).toBe('https://registry-1.docker.io');
  });
});
