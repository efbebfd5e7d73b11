import { describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import { createEmulatedRegistry, type EmulatedRegistry, type RegistryAuthOptions } from './index';
import { parseChallenge, TestRegistryClient } from './test-client';

const BASE = 'http://registry.test';
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const get = (registry: EmulatedRegistry, path: string, headers: Record<string, string> = {}) =>
  registry.fetch(new Request(`${BASE}${path}`, { headers }));

async function tokenFor(registry: EmulatedRegistry, scope: string, authorization?: string): Promise<string> {
  const response = await get(registry, `/token?service=tsdocker-registry&scope=${encodeURIComponent(scope)}`, authorization ? { Authorization: authorization } : {});
  expect(response.status).toBe(200);
  const body = (await response.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  expect(body.access_token).toBe(body.token);
  expect(body.expires_in).toBe(300);
  return body.token;
}

describe('token auth (Docker Hub style)', () => {
  const options: RegistryAuthOptions = { users: { alice: 's3cret' }, anonymousPull: true };

  it('challenges the base check and repository requests with realm, service and scope', async () => {
    const registry = await createEmulatedRegistry({ auth: options });
    const ping = await get(registry, '/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe(`Bearer realm="${BASE}/token",service="tsdocker-registry"`);
    expect(((await ping.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAUTHORIZED');

    const manifest = await get(registry, '/v2/library/busybox/manifests/latest');
    expect(manifest.status).toBe(401);
    expect(parseChallenge(manifest.headers.get('www-authenticate')!)).toEqual({
      realm: `${BASE}/token`,
      service: 'tsdocker-registry',
      scope: 'repository:library/busybox:pull',
    });
  });

  it('lets an anonymous token pull but not push', async () => {
    const registry = await createEmulatedRegistry({ auth: options });
    const token = await tokenFor(registry, 'repository:library/busybox:pull,push');
    const pull = await get(registry, '/v2/library/busybox/manifests/latest', { Authorization: `Bearer ${token}` });
    expect(pull.status).toBe(200);
    expect((await get(registry, '/v2/', { Authorization: `Bearer ${token}` })).status).toBe(200);

    const push = await registry.fetch(
      new Request(`${BASE}/v2/library/busybox/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(push.status).toBe(401);
    expect(parseChallenge(push.headers.get('www-authenticate')!)).toMatchObject({
      scope: 'repository:library/busybox:pull,push',
      error: 'insufficient_scope',
    });
  });

  it('refuses anonymous pulls unless configured', async () => {
    const registry = await createEmulatedRegistry({ auth: { users: { alice: 's3cret' } } });
    const token = await tokenFor(registry, 'repository:library/busybox:pull');
    expect((await get(registry, '/v2/library/busybox/manifests/latest', { Authorization: `Bearer ${token}` })).status).toBe(401);
    const client = new TestRegistryClient(registry.fetch, BASE, { username: 'alice', password: 's3cret' });
    expect((await client.pull('library/busybox', 'latest')).config.architecture).toBe('amd64');
  });

  it('lets an account push, checks token scope per repository, and rejects bad passwords', async () => {
    const registry = await createEmulatedRegistry({ auth: options });
    const client = new TestRegistryClient(registry.fetch, BASE, { username: 'alice', password: 's3cret' });
    const digest = await client.pushBlob('alice/app', new Uint8Array([1, 2, 3]), 'chunked', 2);
    expect(digest).toBe(sha256Digest(new Uint8Array([1, 2, 3])));

    const token = await tokenFor(registry, 'repository:alice/app:pull,push', basic('alice', 's3cret'));
    const other = await registry.fetch(
      new Request(`${BASE}/v2/alice/other/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(other.status).toBe(401);
    expect(parseChallenge(other.headers.get('www-authenticate')!).scope).toBe('repository:alice/other:pull,push');

    const wrong = await get(registry, '/token?service=tsdocker-registry&scope=repository:alice/app:push', { Authorization: basic('alice', 'nope') });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAUTHORIZED');

    const bogus = await get(registry, '/v2/alice/app/tags/list', { Authorization: 'Bearer not-a-token' });
    expect(parseChallenge(bogus.headers.get('www-authenticate')!).error).toBe('invalid_token');
  });

  it('does not mount from a repository the caller may not pull', async () => {
    const registry = await createEmulatedRegistry({ auth: { users: { alice: 'a', bob: 'b' } } });
    const alice = new TestRegistryClient(registry.fetch, BASE, { username: 'alice', password: 'a' });
    const digest = await alice.pushBlob('private/src', new Uint8Array([7, 7, 7]), 'monolithic');
    // A token for the target only: the mount source is not covered, so the registry starts an upload.
    const token = await tokenFor(registry, 'repository:bob/dst:pull,push', basic('bob', 'b'));
    const response = await registry.fetch(
      new Request(`${BASE}/v2/bob/dst/blobs/uploads/?mount=${digest}&from=private/src`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(response.status).toBe(202);
  });

  it('issues tokens through the OAuth2 form (password and refresh_token grants)', async () => {
    const registry = await createEmulatedRegistry({ auth: options });
    const post = (form: Record<string, string>) =>
      registry.fetch(
        new Request(`${BASE}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        }),
      );
    const first = await post({
      grant_type: 'password',
      username: 'alice',
      password: 's3cret',
      service: 'tsdocker-registry',
      scope: 'repository:alice/app:pull,push',
      access_type: 'offline',
      client_id: 'docker',
    });
    expect(first.status).toBe(200);
    const body = (await first.json()) as { access_token: string; refresh_token: string; scope: string };
    expect(body.scope).toBe('repository:alice/app:pull,push');
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: body.refresh_token, scope: 'repository:alice/app:pull' });
    const { access_token } = (await refreshed.json()) as { access_token: string };
    expect((await get(registry, '/v2/alice/app/tags/list', { Authorization: `Bearer ${access_token}` })).status).toBe(404);
    expect((await post({ grant_type: 'password', username: 'alice', password: 'x' })).status).toBe(401);
    expect((await post({ grant_type: 'magic' })).status).toBe(400);
  });

  it('expires tokens after their lifetime', async () => {
    const registry = await createEmulatedRegistry({ auth: { ...options, tokenTtlSeconds: 60 } });
    const response = await get(registry, '/token?scope=repository:library/busybox:pull');
    const { token, expires_in } = (await response.json()) as { token: string; expires_in: number };
    expect(expires_in).toBe(60);
    // A token is valid until issuedAt + ttl; checking with a later clock must reject it.
    expect(registry.store.lookupToken(token)).toBeDefined();
    expect(registry.store.lookupToken(token, new Date(Date.now() + 61_000))).toBeUndefined();
  });
});

describe('basic auth', () => {
  it('challenges with Basic and accepts account credentials on each request', async () => {
    const registry = await createEmulatedRegistry({ auth: { scheme: 'basic', users: { alice: 'pw' }, realm: 'Emulated' } });
    const ping = await get(registry, '/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Basic realm="Emulated"');
    expect((await get(registry, '/v2/', { Authorization: basic('alice', 'pw') })).status).toBe(200);
    expect((await get(registry, '/v2/', { Authorization: basic('alice', 'bad') })).status).toBe(401);
    expect((await get(registry, '/v2/library/busybox/manifests/latest', { Authorization: basic('alice', 'pw') })).status).toBe(200);
    expect((await get(registry, '/v2/library/busybox/manifests/latest')).status).toBe(401);
    expect((await get(registry, '/v2/_catalog')).status).toBe(401);
  });

  it('allows anonymous pulls when configured, but not pushes', async () => {
    const registry = await createEmulatedRegistry({ auth: { scheme: 'basic', users: { alice: 'pw' }, anonymousPull: true } });
    expect((await get(registry, '/v2/')).status).toBe(200);
    expect((await get(registry, '/v2/library/busybox/manifests/latest')).status).toBe(200);
    expect((await get(registry, '/v2/_catalog')).status).toBe(200);
    const push = await registry.fetch(new Request(`${BASE}/v2/library/busybox/blobs/uploads/`, { method: 'POST' }));
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
  });
});
