import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, readTar } from '../image/archive/test-fixtures';
import type { Digest } from '../image/digest';
import type { ImageConfig } from '../image/image-config';
import { commitContainer, mergeConfig, type CommitDeps } from './commit';
import { makeContainerStack, type ContainerStack } from './fs-test-fixtures';

let s: ContainerStack;
let deps: CommitDeps;
let paused: string[];

beforeEach(async () => {
  s = await makeContainerStack();
  paused = [];
  deps = {
    store: s.store,
    storage: s.driver,
    images: s.service,
    events: s.deps.events,
    pause: async (id) => {
      paused.push(`pause ${id}`);
      s.deps.events.publish('container', 'pause', id);
    },
    unpause: async (id) => {
      paused.push(`unpause ${id}`);
      s.deps.events.publish('container', 'unpause', id);
    },
  };
  await s.withRoot(async (fs) => {
    await fs.mkdir('/data', { mode: 0o755 });
    await fs.writeFileAtomic('/data/a.txt', 'hi\n', 0o644);
    await fs.rm('/etc/motd');
    // Docker's managed files, as the emulator writes them: never committed.
    await fs.writeFileAtomic('/etc/hostname', 'c1\n', 0o644);
    await fs.writeFileAtomic('/etc/hosts', '127.0.0.1 localhost\n', 0o644);
  });
});
afterEach(() => s.close());

const configOf = (id: Digest) => s.service.images.get(id)!.config as ImageConfig;

describe('commit', () => {
  it('makes an image whose top layer is the container changes, on the container image', async () => {
    const base = s.service.images.get(s.rec.Image)!;
    const id = await commitContainer(deps, { container: 'c1', changes: [] });
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const img = s.service.images.get(id)!;
    expect(img.parent).toBe(base.id);
    expect(img.config.rootfs.diff_ids.slice(0, -1)).toEqual(base.config.rootfs.diff_ids);
    expect(img.chain).toHaveLength(base.chain.length + 1);
    const layer = await readTar(await collect(s.service.layers.tar(img.chain.at(-1)!)));
    expect(layer.get('data/a.txt')?.content.toString()).toBe('hi\n');
    expect(layer.has('etc/.wh.motd')).toBe(true);
    expect(layer.has('etc/hostname')).toBe(false);
    expect(layer.has('etc/hosts')).toBe(false);
  });

  it('records the container, its config, the author and a history entry with the command', async () => {
    const id = await commitContainer(deps, { container: 'c1', changes: [], author: 'me', comment: 'hello' });
    const c = configOf(id);
    expect(c.container).toBe(s.rec.ID);
    expect(c.container_config).toMatchObject({ Hostname: s.rec.ID.slice(0, 12), Image: 'base', AttachStdout: true, Cmd: s.rec.Config.Cmd });
    expect(c.author).toBe('me');
    expect(c.comment).toBeUndefined();
    expect(c.history).toEqual([
      { created: '2024-01-02T03:04:05Z', created_by: 'base layer' },
      { created: c.created, author: 'me', created_by: 'sh -c echo hi > /data/a.txt', comment: 'hello' },
    ]);
    expect(Object.keys(c)).toEqual([...Object.keys(c)].sort());
    expect(s.service.images.get(id)!.raw.toString()).toContain('\\u003e /data/a.txt'); // Go's HTML-safe JSON
  });

  it('uses the container config when there is no body, with changes applied', async () => {
    const id = await commitContainer(deps, { container: 'c1', changes: ['ENV A=1', 'EXPOSE 80', 'CMD ["echo","x"]'] });
    expect(configOf(id).config).toMatchObject({ Hostname: s.rec.ID.slice(0, 12), Image: 'base', Env: ['PATH=/bin', 'KEEP=container', 'A=1'], ExposedPorts: { '80/tcp': {} }, Cmd: ['echo', 'x'], Labels: { team: 'a' } });
  });

  it('merges a body config with the container config as dockerd does', async () => {
    const id = await commitContainer(deps, { container: 'c1', changes: ['LABEL x=y'], config: { Env: ['FOO=bar', 'KEEP=body'] } });
    expect(configOf(id).config).toMatchObject({ Hostname: '', Image: '', AttachStdout: false, Env: ['FOO=bar', 'KEEP=body', 'PATH=/bin'], Cmd: s.rec.Config.Cmd, Labels: { team: 'a', x: 'y' } });
  });

  it('tags when a repo is given and publishes tag then commit with dockerd attributes', async () => {
    const id = await commitContainer(deps, { container: 'c1', repo: 'mine', tag: 'v1', comment: 'c', changes: [] });
    expect(s.service.resolve('mine:v1').id).toBe(id);
    expect(s.events.map((e) => `${e.Type} ${e.Action}`)).toEqual(['image tag', 'container commit']);
    expect(s.events[1]!.Actor).toEqual({ ID: s.rec.ID, Attributes: { team: 'a', image: 'base', name: 'c1', comment: 'c', imageID: id, imageRef: 'mine:v1' } });
    const untagged = await commitContainer(deps, { container: 'c1', changes: [] });
    expect(s.events.at(-1)!.Actor.Attributes).toMatchObject({ imageID: untagged, imageRef: '', comment: '' });
  });

  it('pauses a running container meanwhile unless told not to', async () => {
    s.rec.State = { ...s.rec.State, Running: true, Status: 'running' };
    await commitContainer(deps, { container: 'c1', changes: [] });
    expect(paused).toEqual([`pause ${s.rec.ID}`, `unpause ${s.rec.ID}`]);
    paused.length = 0;
    await commitContainer(deps, { container: 'c1', changes: [], pause: false });
    expect(paused).toEqual([]);
    s.rec.State = { ...s.rec.State, Paused: true, Status: 'paused' };
    await commitContainer(deps, { container: 'c1', changes: [] });
    expect(paused).toEqual([]);
  });

  it.each([
    ['an empty container name', { container: '' }, 'InvalidParameter'],
    ['a missing container', { container: 'nope' }, 'NotFound'],
    ['an invalid repository', { container: 'c1', repo: 'BAD' }, 'InvalidParameter'],
    ['a digest repository', { container: 'c1', repo: `x@sha256:${'a'.repeat(64)}` }, 'InvalidParameter'],
    ['an unknown change', { container: 'c1', changes: ['FROM x'] }, 'InvalidParameter'],
    ['a body that is not an object', { container: 'c1', config: [1] }, 'InvalidParameter'],
  ])('refuses %s before doing any work', async (_what, req, code) => {
    const layers = s.service.layers.all().length;
    const images = s.service.images.all().length;
    await expect(commitContainer(deps, { changes: [], ...req })).rejects.toMatchObject({ code });
    expect(s.service.layers.all()).toHaveLength(layers);
    expect(s.service.images.all()).toHaveLength(images);
    expect(s.events).toEqual([]);
  });

  it('refuses a container being removed or dead with Conflict', async () => {
    s.rec.State = { ...s.rec.State, Status: 'removing' };
    await expect(commitContainer(deps, { container: 'c1', changes: [] })).rejects.toMatchObject({ code: 'Conflict' });
    s.rec.State = { ...s.rec.State, Status: 'dead', Dead: true };
    await expect(commitContainer(deps, { container: 'c1', changes: [] })).rejects.toMatchObject({ code: 'Conflict' });
  });
});

describe('mergeConfig (dockerd merge rules)', () => {
  const container = { User: 'u', Env: ['A=1', 'B=2'], ExposedPorts: { '80/tcp': {} }, Labels: { l: '1' }, Cmd: ['c'], Entrypoint: ['e'], WorkingDir: '/w', Volumes: { '/v': {} }, StopSignal: 'SIGINT', Healthcheck: { Test: ['CMD', 'true'], Interval: 5, Retries: 3 } };

  it('fills what the user config leaves empty', () => {
    expect(mergeConfig({}, container)).toMatchObject({ User: 'u', Env: ['A=1', 'B=2'], ExposedPorts: { '80/tcp': {} }, Labels: { l: '1' }, Cmd: ['c'], Entrypoint: ['e'], WorkingDir: '/w', Volumes: { '/v': {} }, StopSignal: 'SIGINT', Healthcheck: container.Healthcheck });
  });

  it('keeps user values and adds the container\'s missing ones', () => {
    const m = mergeConfig({ Env: ['B=9'], ExposedPorts: { '81/tcp': {} }, Labels: { l: '2' }, Healthcheck: { Test: ['CMD', 'false'] }, Volumes: { '/u': {} } }, container);
    expect(m.Env).toEqual(['B=9', 'A=1']);
    expect(Object.keys(m.ExposedPorts!).sort()).toEqual(['80/tcp', '81/tcp']);
    expect(m.Labels).toEqual({ l: '2' });
    expect(m.Healthcheck).toMatchObject({ Test: ['CMD', 'false'], Interval: 5, Retries: 3 });
    expect(Object.keys(m.Volumes!).sort()).toEqual(['/u', '/v']);
  });

  it('takes neither Cmd nor Entrypoint from the container when the user sets an Entrypoint', () => {
    const m = mergeConfig({ Entrypoint: ['mine'] }, container);
    expect(m.Entrypoint).toEqual(['mine']);
    expect(m.Cmd).toBeUndefined();
    expect(mergeConfig({ Cmd: ['mine'] }, container)).toMatchObject({ Cmd: ['mine'], Entrypoint: ['e'] });
  });
});
