import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type RegistryServer } from '../../fakes/registry';
import { InvalidParameterError, SystemError, UnavailableError } from '../errors';
import { RegistryRules } from './registry-config';
import { parseSearchFilters, searchImages, splitSearchTerm } from './search';
import { nodeTransport, type RegistryTransport } from './transport';

describe('search filters (dockerd 20.10 messages)', () => {
  it('accepts is-automated, is-official and stars', () => {
    expect(parseSearchFilters({ 'is-official': ['true'], 'is-automated': ['false'], stars: ['3', '10', '-1'] })).toEqual({ isOfficial: true, isAutomated: false, minStars: 10 });
    expect(parseSearchFilters({})).toEqual({});
  });
  it.each([
    [{ foo: ['x'] }, "Invalid filter 'foo'"],
    [{ stars: ['x'] }, "Invalid filter 'stars=x'"],
    [{ 'is-official': ['maybe'] }, "Invalid filter 'is-official=[maybe]'"],
    [{ 'is-automated': ['true', 'false'] }, "Invalid filter 'is-automated=[true false]'"],
  ])('rejects %j', (filters, message) => {
    expect(() => parseSearchFilters(filters)).toThrow(new InvalidParameterError(message));
  });
});

describe('search term', () => {
  it.each([
    ['busybox', 'docker.io', 'busybox'],
    ['library/busybox', 'docker.io', 'busybox'],
    ['user/app', 'docker.io', 'user/app'],
    ['index.docker.io/library/x', 'docker.io', 'x'],
    ['127.0.0.1:5000/foo', '127.0.0.1:5000', 'foo'],
    ['localhost/a/b', 'localhost', 'a/b'],
    ['my.reg/library/x', 'my.reg', 'library/x'],
  ])('%s → index %s, query %s', (term, index, query) => {
    expect(splitSearchTerm(term)).toEqual({ index, query });
  });
});

describe('searchImages', () => {
  let server: RegistryServer;
  let dir: string;
  const access = (transport: RegistryTransport = nodeTransport({}), rules = new RegistryRules()) => ({ transport, rules, certsDir: join(dir, 'certs.d') });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-search-'));
    server = await startRegistryServer({ registry: await createEmulatedRegistry() });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks the term's registry (plain http on loopback) and answers in dockerd's key order", async () => {
    const results = await searchImages(access(), `${server.address}/busy`, { filters: {}, creds: {} });
    expect(results).toHaveLength(1);
    expect(Object.keys(results[0]!)).toEqual(['star_count', 'is_official', 'name', 'is_automated', 'description']);
    expect(results[0]).toMatchObject({ name: 'busybox', is_official: true, is_automated: false });
  });

  it('applies the filters and the limit', async () => {
    const all = await searchImages(access(), `${server.address}/`, { filters: {}, creds: {} });
    expect(all.length).toBeGreaterThan(1);
    const stars = Math.max(...all.map((r) => r.star_count));
    expect(await searchImages(access(), `${server.address}/`, { filters: { stars: [String(stars)] }, creds: {} })).toHaveLength(1);
    expect(await searchImages(access(), `${server.address}/`, { filters: { 'is-official': ['false'] }, creds: {} })).toEqual(all.filter((r) => !r.is_official));
    expect(await searchImages(access(), `${server.address}/`, { limit: 1, filters: {}, creds: {} })).toHaveLength(1);
    await expect(searchImages(access(), `${server.address}/`, { limit: 101, filters: {}, creds: {} })).rejects.toThrow('Limit 101 is outside the range of [1, 100]');
  });

  it('goes to index.docker.io for Hub terms', async () => {
    const seen: string[] = [];
    const transport: RegistryTransport = async (req) => {
      seen.push(req.url.href);
      return nodeTransport({})({ ...req, url: new URL(`${server.url}${req.url.pathname}${req.url.search}`) });
    };
    await searchImages(access(transport), 'library/busybox', { limit: 5, filters: {}, creds: {} });
    expect(seen).toEqual(['https://index.docker.io/v1/search?q=busybox&n=5']);
  });

  it("reports a registry without v1 search as dockerd does, and a refused secure registry with the hint", async () => {
    const plain = await startRegistryServer({ registry: { fetch: async () => new Response('404 page not found', { status: 404 }) } });
    try {
      await expect(searchImages(access(), `${plain.address}/x`, { filters: {}, creds: {} })).rejects.toThrow(new SystemError('Unexpected status code 404'));
    } finally {
      await plain.close();
    }
    const err = await searchImages(access(), '[::1]:1/x', { filters: {}, creds: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/^invalid registry endpoint https:\/\/\[::1\]:1\/v1\/: .*--insecure-registry \[::1\]:1/);
  });
});
