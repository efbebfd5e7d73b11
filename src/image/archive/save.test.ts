import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../errors';
import { sha256 } from '../digest';
import { importImage } from './import';
import { loadImages } from './load';
import { saveImages } from './save';
import { collect, dockerFormatMembers, makeStack, makeTar, progressLog, readTar, rootfsMembers, type Stack } from './test-fixtures';

describe('docker save', () => {
  let s: Stack;
  beforeEach(async () => {
    s = await makeStack();
  });
  afterEach(() => s.close());

  async function importTagged(marker: string, repo: string, tag: string): Promise<string> {
    const p = progressLog();
    await importImage(s.deps, { body: Readable.from([await makeTar(rootfsMembers(marker))]) }, { repo, tag, changes: ['LABEL kind=test'], progress: p.sink });
    return p.messages.at(-1)!.status!;
  }

  const save = async (...names: string[]) => readTar(await collect(await saveImages(s.deps, names)));

  it('writes dockerd\'s format and an OCI layout, and the layer bytes once', async () => {
    const id = await importTagged('a', 'app', 'v1');
    await s.service.tag(id, 'app', 'v2');
    const tar = await save('app');
    const img = s.service.resolve(id);
    const diffId = img.config.rootfs.diff_ids[0]!;

    const manifest = JSON.parse(tar.get('manifest.json')!.content.toString());
    expect(manifest).toHaveLength(1);
    expect(manifest[0].Config).toBe(`${id.slice(7)}.json`);
    expect(manifest[0].RepoTags.sort()).toEqual(['app:v1', 'app:v2']);
    const [layerPath] = manifest[0].Layers as string[];
    const v1 = layerPath!.split('/')[0]!;
    expect(tar.get(`${v1}/VERSION`)!.content.toString()).toBe('1.0');
    expect(JSON.parse(tar.get(`${v1}/json`)!.content.toString())).toMatchObject({ id: v1, os: 'linux', config: { Labels: { kind: 'test' } } });
    expect(tar.get(layerPath!)).toMatchObject({ type: 'symlink', linkname: `../blobs/sha256/${diffId.slice(7)}` });
    expect(sha256(tar.get(`blobs/sha256/${diffId.slice(7)}`)!.content)).toBe(diffId);
    expect(sha256(tar.get(`${id.slice(7)}.json`)!.content)).toBe(id);
    expect(JSON.parse(tar.get('repositories')!.content.toString())).toEqual({ app: { v1, v2: v1 } });
    expect(tar.get('manifest.json')!.content.toString().endsWith(']\n')).toBe(true);

    expect(JSON.parse(tar.get('oci-layout')!.content.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(tar.get('index.json')!.content.toString());
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['io.containerd.image.name']).sort()).toEqual(['docker.io/library/app:v1', 'docker.io/library/app:v2']);
    const mdesc = index.manifests[0];
    const mbytes = tar.get(`blobs/sha256/${mdesc.digest.slice(7)}`)!.content;
    expect(sha256(mbytes)).toBe(mdesc.digest);
    expect(mbytes.length).toBe(mdesc.size);
    const oci = JSON.parse(mbytes.toString());
    expect(oci.config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: id, size: img.raw.length });
    expect(oci.layers).toEqual([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: tar.get(`blobs/sha256/${diffId.slice(7)}`)!.content.length }]);
    expect(s.events.filter((e) => e.Action === 'save').map((e) => [e.Actor.ID, e.Actor.Attributes])).toEqual([[id, { kind: 'test', name: id }]]);
  });

  it('saves by ID without tags, once per image', async () => {
    const id = await importTagged('a', 'app', 'v1');
    const tar = await save(id.slice(7, 19), id, 'app:v1');
    const manifest = JSON.parse(tar.get('manifest.json')!.content.toString());
    expect(manifest).toHaveLength(1);
    expect(manifest[0].RepoTags).toEqual(['app:v1']);
    const byId = await save(id);
    expect(JSON.parse(byId.get('manifest.json')!.content.toString())[0].RepoTags).toBeNull();
    expect(byId.has('repositories')).toBe(false);
  });

  it('writes a layer shared by two images once', async () => {
    const base = await makeTar(rootfsMembers('shared'));
    const top1 = await makeTar([{ name: 'one', content: '1' }]);
    const top2 = await makeTar([{ name: 'two', content: '2' }]);
    const { members } = dockerFormatMembers([
      { layers: [base, top1], tags: ['one:latest'] },
      { layers: [base, top2], tags: ['two:latest'] },
    ]);
    await loadImages(s.deps, Readable.from([await makeTar(members)]), { quiet: true, progress: () => undefined });
    const tar = await save('one', 'two');
    const blobs = [...tar.keys()].filter((k) => k.startsWith('blobs/sha256/') && k.length > 14);
    expect(blobs.filter((k) => k.endsWith(sha256(base).slice(7)))).toHaveLength(1);
    const manifest = JSON.parse(tar.get('manifest.json')!.content.toString());
    expect(manifest[0].Layers[0]).toBe(manifest[1].Layers[0]);
    expect(manifest[0].Layers[1]).not.toBe(manifest[1].Layers[1]);
  });

  it('stops reading layers when the consumer goes away', async () => {
    await importTagged('a', 'app', 'v1');
    const out = await saveImages(s.deps, ['app:v1']);
    const sink = new PassThrough({ highWaterMark: 16 });
    out.pipe(sink);
    await new Promise((r) => sink.once('data', r));
    sink.destroy();
    await new Promise<void>((r) => (out.destroyed ? r() : out.once('close', () => r())));
    expect(out.destroyed).toBe(true);
  });

  it('refuses an unknown name before streaming', async () => {
    await importTagged('a', 'app', 'v1');
    await expect(saveImages(s.deps, ['app:v1', 'nope:1'])).rejects.toThrow(NotFoundError);
    await expect(saveImages(s.deps, ['nope'])).rejects.toThrow('No such image: nope');
    expect(s.events.filter((e) => e.Action === 'save')).toEqual([]);
  });
});
