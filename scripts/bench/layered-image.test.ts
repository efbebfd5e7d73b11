import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RegistryStore, startRegistryServer } from '../../fakes/registry';
import { buildLayeredImage, incompressible, pushLayeredImage } from './layered-image';

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('the pull benchmark image', () => {
  it('is made of deterministic data that gzip cannot shrink', () => {
    const a = incompressible('seed', 1 << 16);
    expect(a.length).toBe(1 << 16);
    expect(incompressible('seed', 1 << 16).equals(a)).toBe(true);
    expect(incompressible('other', 1 << 16).equals(a)).toBe(false);
    expect(gzipSync(a, { level: 9 }).length).toBeGreaterThan(a.length);
  });

  it('has a manifest and config that name its layers by digest, with diff_ids of the uncompressed tars', async () => {
    const image = await buildLayeredImage({ layers: 3, layerBytes: 4096 });
    const manifest = JSON.parse(image.manifest.bytes.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
    const config = JSON.parse(image.config.bytes.toString()) as { rootfs: { diff_ids: string[] }; os: string };
    expect(manifest.config).toMatchObject({ digest: sha256(image.config.bytes), size: image.config.bytes.length });
    expect(manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => sha256(l.bytes)));
    expect(config.rootfs.diff_ids).toEqual(image.layers.map((l) => sha256(gunzipSync(l.bytes))));
    expect(config.os).toBe('linux');
    expect(image.compressedBytes).toBeGreaterThan(3 * 4096);
    // Both daemons must pull the same bytes: building again gives the same manifest.
    expect((await buildLayeredImage({ layers: 3, layerBytes: 4096 })).manifest.digest).toBe(image.manifest.digest);
  });

  it('is pushed with monolithic uploads into a registry, blobs and tagged manifest', async () => {
    const image = await buildLayeredImage({ layers: 2, layerBytes: 1000 });
    const store = new RegistryStore();
    const server = await startRegistryServer({ store });
    try {
      const name = await pushLayeredImage(server.url, image);
      const [repo, tag] = name.split(':') as [string, string];
      expect(Buffer.from(store.getManifest(repo, tag)!.bytes).equals(image.manifest.bytes)).toBe(true);
      for (const b of [...image.layers, image.config]) expect(Buffer.from(store.getBlob(repo, b.digest)!).equals(b.bytes)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
