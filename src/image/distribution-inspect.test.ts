import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulatedRegistry, startRegistryServer, type EmulatedRegistry, type RegistryServer } from '../../fakes/registry';
import { NotFoundError } from '../errors';
import { RegistryRules } from '../registry/registry-config';
import { MEDIA } from '../registry/session';
import { nodeTransport } from '../registry/transport';
import { sha256 } from './digest';
import { inspectDistribution, platformOf } from './distribution-inspect';

describe('distribution inspect', () => {
  let dir: string;
  let registry: EmulatedRegistry;
  let server: RegistryServer;
  const access = () => ({ transport: nodeTransport({}), rules: new RegistryRules(), certsDir: join(dir, 'certs.d') });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsd-dist-'));
    registry = await createEmulatedRegistry({ auth: { anonymousPull: true } });
    server = await startRegistryServer({ registry });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('describes a manifest list with every platform', async () => {
    const r = await inspectDistribution(access(), `${server.address}/library/busybox`, {});
    const stored = registry.store.getManifest('library/busybox', 'latest')!;
    expect(r).toEqual({
      Descriptor: { mediaType: MEDIA.dockerList, digest: sha256(stored.bytes), size: stored.bytes.length },
      Platforms: [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }],
    });
    expect(Object.keys(r.Descriptor)).toEqual(['mediaType', 'digest', 'size']);
  });

  it("describes a single manifest with its config's platform", async () => {
    const r = await inspectDistribution(access(), `${server.address}/library/busybox:schema2`, {});
    expect(r.Descriptor.mediaType).toBe(MEDIA.dockerManifest);
    expect(r.Platforms).toEqual([{ architecture: 'amd64', os: 'linux' }]);
    const byDigest = await inspectDistribution(access(), `${server.address}/library/busybox@${r.Descriptor.digest}`, {});
    expect(byDigest.Descriptor).toEqual(r.Descriptor);
  });

  it("answers a missing tag with the registry's error, as NotFound", async () => {
    const err = await inspectDistribution(access(), `${server.address}/library/busybox:nope`, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('manifest unknown: manifest unknown');
  });

  it('keeps Go field order and drops empty optional platform fields', () => {
    expect(Object.keys(platformOf({ variant: 'v7', os: 'linux', architecture: 'arm', 'os.version': '', 'os.features': [] }))).toEqual(['architecture', 'os', 'variant']);
  });
});
