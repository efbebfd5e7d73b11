import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../errors';
import { sha256 } from '../digest';
import { importImage } from './import';
import { loadImages } from './load';
import { saveImages } from './save';
import { collect, configFor, dockerFormatMembers, makeStack, makeTar, progressLog, rootfsMembers, type Stack, type TarMember } from './test-fixtures';

describe('docker load', () => {
  let s: Stack;
  beforeEach(async () => {
    s = await makeStack();
  });
  afterEach(() => s.close());

  const load = async (archive: Buffer, quiet = true) => {
    const p = progressLog();
    await loadImages(s.deps, Readable.from([archive]), { quiet, progress: p.sink });
    return p;
  };
  const state = () => ({ images: s.service.images.all().map((i) => i.id).sort(), layers: s.service.layers.all().map((l) => l.chainId).sort(), refs: s.service.refs.all().length });

  it('round-trips save → rmi → load with the same ID, tags and layers', async () => {
    const p = progressLog();
    await importImage(s.deps, { body: Readable.from([await makeTar(rootfsMembers())]) }, { repo: 'app', tag: 'v1', changes: [], progress: p.sink });
    const id = p.messages.at(-1)!.status!;
    await s.service.tag(id, 'other', undefined);
    const layers = s.service.resolve(id).config.rootfs.diff_ids;
    const archive = await collect(await saveImages(s.deps, ['app:v1', 'other']));
    await s.service.remove(id, { force: true });
    expect(state()).toEqual({ images: [], layers: [], refs: 0 });

    const out = await load(archive, false);
    expect(out.streams()).toBe('Loaded image: app:v1\nLoaded image: other:latest\n');
    expect(out.messages.some((m) => m.status === 'Loading layer' && m.id === layers[0]!.slice(7, 19))).toBe(true);
    expect(s.service.resolve('app:v1').id).toBe(id);
    expect(s.service.resolve('other:latest').id).toBe(id);
    expect(s.service.resolve(id).config.rootfs.diff_ids).toEqual(layers);
    expect(s.events.filter((e) => e.Action === 'load').map((e) => e.Actor.ID)).toEqual([id]);
    expect(await s.scratch()).toEqual([]);

    // Loading again moves nothing and says so the same way.
    expect((await load(archive)).streams()).toBe('Loaded image: app:v1\nLoaded image: other:latest\n');
  });

  it('loads a hand-built archive in dockerd\'s format, gzip layers included, untagged', async () => {
    const l1 = await makeTar(rootfsMembers());
    const l2 = await makeTar([{ name: 'etc/marker', content: 'top\n' }]);
    const { members, ids } = dockerFormatMembers([{ layers: [l1, l2], gzip: true }]);
    const out = await load(await makeTar(members));
    expect(out.streams()).toBe(`Loaded image ID: ${ids[0]}\n`);
    expect(s.service.resolve(ids[0]!).chain).toHaveLength(2);
  });

  it('renames a tag that pointed elsewhere, as dockerd reports it', async () => {
    const a = dockerFormatMembers([{ layers: [await makeTar(rootfsMembers('a'))], tags: ['x:1'] }]);
    const b = dockerFormatMembers([{ layers: [await makeTar(rootfsMembers('b'))], tags: ['x:1'] }]);
    await load(await makeTar(a.members));
    const out = await load(await makeTar(b.members));
    expect(out.streams()).toBe(`The image x:1 already exists, renaming the old one with ID ${a.ids[0]} to empty string\nLoaded image: x:1\n`);
    expect(s.service.resolve('x:1').id).toBe(b.ids[0]);
  });

  it('loads an OCI image layout with gzip and plain blobs, tagged from its annotations', async () => {
    const l1 = await makeTar(rootfsMembers());
    const l2 = await makeTar([{ name: 'srv/', type: 'directory' }, { name: 'srv/x', content: 'x' }]);
    const gz = gzipSync(l1);
    const { raw, id } = configFor([l1, l2]);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: id, size: raw.length },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length },
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l2), size: l2.length },
        ],
      }),
    );
    const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length };
    const index = { schemaVersion: 2, manifests: [{ ...desc, annotations: { 'org.opencontainers.image.ref.name': 'localhost:5000/oci/app:1.0' } }, { ...desc, annotations: { 'io.containerd.image.name': 'docker.io/library/ociapp:2', 'org.opencontainers.image.ref.name': '2' } }] };
    const blob = (d: Buffer): TarMember => ({ name: `blobs/sha256/${sha256(d).slice(7)}`, content: d });
    const archive = await makeTar([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: JSON.stringify(index) }, blob(raw), blob(manifest), blob(gz), blob(l2)]);
    const out = await load(archive);
    expect(out.streams()).toBe('Loaded image: localhost:5000/oci/app:1.0\nLoaded image: ociapp:2\n');
    expect(s.service.resolve('ociapp:2').id).toBe(id);

    // A blob whose bytes do not match its digest is refused and nothing stays.
    await s.service.remove(id, { force: true });
    const before = state();
    const forged = await makeTar([{ name: 'index.json', content: JSON.stringify(index) }, blob(raw), blob(manifest), { name: `blobs/sha256/${sha256(gz).slice(7)}`, content: gzipSync(l2) }, blob(l2)]);
    await expect(load(forged)).rejects.toThrow(InvalidParameterError);
    expect(state()).toEqual(before);
  });

  describe('refuses unsafe or inconsistent archives and leaves nothing behind', () => {
    const good = async () => dockerFormatMembers([{ layers: [await makeTar(rootfsMembers())], tags: ['good:1'] }]).members;
    const cases: [string, () => Promise<TarMember[]>, RegExp][] = [
      ['a member climbing out', async () => [...(await good()), { name: '../evil', content: 'x' }], /outside of the layer|outside/],
      ['an absolute member', async () => [{ name: '/tmp/evil', content: 'x' }, ...(await good())], /absolute paths are not allowed/],
      ['an absolute symlink', async () => [{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }, ...(await good())], /absolute targets point outside/],
      ['a climbing symlink', async () => [{ name: 'a/up', type: 'symlink', linkname: '../../x' }, ...(await good())], /points outside/],
      ['a member through a symlink', async () => [{ name: 'dir', type: 'symlink', linkname: '.' }, { name: 'dir/x', content: 'x' }, ...(await good())], /goes through the symlink/],
      [
        'a manifest path outside',
        async () => [...(await good()).filter((m) => m.name !== 'manifest.json'), { name: 'manifest.json', content: JSON.stringify([{ Config: '../../etc/passwd', RepoTags: null, Layers: [] }]) }],
        /is outside of the archive/,
      ],
      [
        'a symlink chain resolving outside',
        async () => {
          const members = await good();
          const manifest = JSON.parse(members.find((m) => m.name === 'manifest.json')!.content!.toString());
          manifest[0].Layers = ['e/x'];
          return [{ name: 'd', type: 'symlink', linkname: '.' }, { name: 'e', type: 'symlink', linkname: 'd/..' }, ...members.filter((m) => m.name !== 'manifest.json'), { name: 'manifest.json', content: JSON.stringify(manifest) }];
        },
        /outside of the archive|missing from the archive/,
      ],
      [
        'a layer whose diff ID does not match',
        async () => {
          const { members } = dockerFormatMembers([{ layers: [await makeTar(rootfsMembers())], tags: ['bad:1'] }]);
          const layer = members.find((m) => m.name.endsWith('layer.tar'))!;
          layer.content = await makeTar(rootfsMembers('tampered'));
          return members;
        },
        /invalid diffID for layer 0: expected "sha256:[a-f0-9]{64}", got "sha256:[a-f0-9]{64}"/,
      ],
      ['a layer with a member climbing out', async () => dockerFormatMembers([{ layers: [await makeTar(rootfsMembers()), await makeTar([{ name: '../../escape', content: 'x' }])], tags: ['bad:1'] }]).members, /outside of the layer/],
      [
        'a second image with a bad layer (the first is undone too)',
        async () => {
          const { members } = dockerFormatMembers([
            { layers: [await makeTar(rootfsMembers('one'))], tags: ['one:1'] },
            { layers: [await makeTar(rootfsMembers('two')), await makeTar([{ name: '/abs', content: 'x' }])], tags: ['two:1'] },
          ]);
          return members;
        },
        /absolute paths are not allowed/,
      ],
      ['a layers count that does not match the config', async () => dockerFormatMembers([{ layers: [] }]).members.map((m) => (m.name === 'manifest.json' ? { ...m, content: String(m.content).replace('"Layers":[]', '"Layers":["x/layer.tar"]') } : m)), /layers length mismatch: expected 1, got 0/],
      ['a bad tag', async () => (await good()).map((m) => (m.name === 'manifest.json' ? { ...m, content: String(m.content).replace('good:1', 'Bad Tag') } : m)), /invalid tag "Bad Tag"/],
      ['no manifest at all', async () => [{ name: 'hello.txt', content: 'hi' }], /neither manifest.json/],
    ];
    it.each(cases)('%s', async (_name, build, message) => {
      const existing = dockerFormatMembers([{ layers: [await makeTar(rootfsMembers('existing'))], tags: ['existing:1'] }]);
      await load(await makeTar(existing.members));
      const before = state();
      const err = await load(await makeTar(await build())).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidParameterError);
      expect((err as Error).message).toMatch(message);
      expect(state()).toEqual(before);
      expect(await s.scratch()).toEqual([]);
      expect(s.events.filter((e) => e.Action === 'load')).toHaveLength(1);
    });

    it('a truncated archive', async () => {
      const archive = await makeTar(await good());
      await expect(load(archive.subarray(0, 700))).rejects.toThrow(InvalidParameterError);
      expect(state()).toEqual({ images: [], layers: [], refs: 0 });
      expect(await s.scratch()).toEqual([]);
    });
  });
});
