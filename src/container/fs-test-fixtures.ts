/** Test helpers for container-fs and commit: an image stack on disk and one container on it. */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError } from '../errors';
import type { Digest } from '../image/digest';
import { configFor, makeStack, makeTar, type Stack, type TarMember } from '../image/archive/test-fixtures';
import { chrootFs } from '../kernel/chroot-fs';
import type { HostFs } from '../kernel/host-fs';
import type { StorageDriver } from '../kernel/storage';
import { newState, type ContainerRecord } from './container';

export interface ContainerStack extends Stack {
  rec: ContainerRecord;
  store: { get(ref: string): ContainerRecord };
  driver: StorageDriver;
  /** The container's filesystem (chroot view), mounted for `fn`. */
  withRoot<T>(fn: (fs: HostFs) => Promise<T>): Promise<T>;
  /** The host path of the container's root (for checks that nothing left it). */
  hostRoot(): Promise<string>;
}

/** The image's root filesystem: busybox-like names, a passwd with a user, a few links. */
export const IMAGE_MEMBERS: TarMember[] = [
  { name: 'bin/' },
  { name: 'bin/busybox', content: 'not really busybox\n', mode: 0o755 },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  { name: 'etc/' },
  { name: 'etc/motd', content: 'hello\n' },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001:Alice:/home/alice:/bin/sh\n' },
  { name: 'etc/group', content: 'root:x:0:\nstaff:x:50:\nalice:x:1001:\n' },
  { name: 'tmp/', mode: 0o1777 },
];

/** An image (tagged base:latest) and a created container `/c1` on it with an empty RW layer. */
export async function makeContainerStack(): Promise<ContainerStack> {
  const stack = await makeStack();
  const layerTar = await makeTar(IMAGE_MEMBERS);
  const layer = await stack.service.layers.register(null, { tar: Readable.from([layerTar]) });
  const { raw } = configFor([layerTar], { history: [{ created: '2024-01-02T03:04:05Z', created_by: 'base layer' }], config: { Cmd: ['sh'], Env: ['PATH=/bin', 'KEEP=image'] } });
  const image = await stack.service.images.create(raw);
  await stack.service.tag(image.id, 'base', 'latest');
  const driver = stack.service.layers.driver;
  const id = randomBytes(32).toString('hex');
  await driver.create(`${id}-init`, layer.cacheId);
  await driver.create(id, `${id}-init`);
  const rec = containerRecord(id, image.id);
  stack.events.length = 0;
  const withRoot = async <T>(fn: (fs: HostFs) => Promise<T>): Promise<T> => {
    const m = await driver.get(id);
    try {
      return await fn(chrootFs(m.fs, m.root));
    } finally {
      await driver.put(id);
    }
  };
  return {
    ...stack,
    rec,
    driver,
    store: {
      get(ref: string) {
        if (ref === id || ref === 'c1' || id.startsWith(ref)) return rec;
        throw new NotFoundError(`No such container: ${ref}`);
      },
    },
    withRoot,
    hostRoot: async () => {
      const m = await driver.get(id);
      await driver.put(id);
      return posix.normalize(m.root);
    },
  };
}

function containerRecord(id: string, image: Digest): ContainerRecord {
  return {
    ID: id,
    Created: '2024-01-02T03:04:05.000000000Z',
    Path: 'sh',
    Args: ['-c', 'echo hi > /data/a.txt'],
    Config: {
      Hostname: id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: ['PATH=/bin', 'KEEP=container'],
      Cmd: ['sh', '-c', 'echo hi > /data/a.txt'],
      Image: 'base',
      Volumes: null,
      WorkingDir: '',
      Entrypoint: null,
      OnBuild: null,
      Labels: { team: 'a' },
    },
    HostConfig: {
      Binds: null,
      NetworkMode: 'none',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      LogConfig: { Type: 'json-file', Config: {} },
      Privileged: false,
      ReadonlyRootfs: false,
    },
    Image: image,
    ImageName: 'base',
    Name: '/c1',
    RestartCount: 0,
    State: newState(),
    Networks: {},
    MountPoints: [],
    HasBeenManuallyStopped: false,
    HasBeenStartedBefore: false,
    RWLayer: id,
    InitLayer: `${id}-init`,
    Driver: 'vfs',
    LogPath: '',
  };
}
