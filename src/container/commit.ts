import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { ConflictError, InvalidParameterError } from '../errors';
import type { EventBus } from '../events/events';
import { applyChanges } from '../image/archive/changes';
import { goJson, sortedKeys } from '../image/archive/go-json';
import { goContainerConfig } from '../image/archive/legacy-v1';
import type { Digest } from '../image/digest';
import type { ContainerConfigJson, HistoryEntry } from '../image/image-config';
import type { ImageService } from '../image/image-service';
import { familiarName, familiarString, parseReference, withTag, type Reference } from '../image/reference';
import type { StorageDriver } from '../kernel/storage';
import { rfc3339Nano } from '../system/system-service';
import { DAEMON_VERSION } from '../version';
import type { ContainerRecord } from './container';
import type { ContainerStore } from './container-store';
import { publishContainerEvent } from './container-fs';
import { MANAGED_FILES } from './spec';

/** POST /commit's parameters. */
export interface CommitRequest {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause a running container while its layer is read (default true). */
  pause?: boolean;
  /** Dockerfile instructions (CMD, ENV, EXPOSE ...) applied to the config. */
  changes: string[];
  /** The request body: a container Config, or undefined/null for the container's own. */
  config?: unknown;
}

export interface CommitDeps {
  store: Pick<ContainerStore, 'get'>;
  storage: StorageDriver;
  images: ImageService;
  events: EventBus;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
}


/**
 * `docker commit` (dockerd's CreateImageFromContainer): a new image whose top layer is the
 * container's changes (its read-write layer against its init layer) on the container's image,
 * and whose config is the request's Config (or the container's) with `changes` applied and
 * then merged with the container's config (dockerd's merge rules). The image records the
 * container (`container`, `container_config`), its parent image, and one more history entry
 * (created_by is the container's command). Tagged when `repo` is given. A running container
 * is paused meanwhile unless `pause` is false. Publishes the container event `commit` (after
 * the image `tag` event). Everything the request can get wrong is refused before any work;
 * a failure after the layer is registered removes it again.
 */
export async function commitContainer(d: CommitDeps, req: CommitRequest): Promise<Digest> {
  if (!req.container) throw new InvalidParameterError('invalid name or ID supplied: ""');
  const rec = d.store.get(req.container);
  const ref = commitReference(req.repo, req.tag);
  const body = checkBodyConfig(req.config);
  if (rec.State.Dead) throw new ConflictError(`You cannot commit container ${rec.ID} which is Dead`);
  if (rec.State.Status === 'removing') throw new ConflictError(`You cannot commit container ${rec.ID} which is being removed`);
  const config = mergeConfig(applyChanges(req.changes, body ?? (rec.Config as ContainerConfigJson)), rec.Config as ContainerConfigJson);

  const pause = (req.pause ?? true) && rec.State.Running && !rec.State.Paused;
  if (pause) await d.pause(rec.ID);
  let id: Digest;
  try {
    id = await createImage(d, rec, config, req);
  } finally {
    if (pause) await d.unpause(rec.ID).catch(() => undefined);
  }
  if (ref) await d.images.tag(id, familiarName(ref), ref.tag);
  publishContainerEvent(d.events, rec, 'commit', { comment: req.comment ?? '', imageID: id, imageRef: ref ? familiarString(ref) : '' });
  return id;
}

async function createImage(d: CommitDeps, rec: ContainerRecord, config: ContainerConfigJson, req: CommitRequest): Promise<Digest> {
  const parent = d.images.images.get(rec.Image);
  if (!parent) throw new ConflictError(`the image of container ${rec.ID} (${rec.Image}) no longer exists`);
  const top = parent.chain[parent.chain.length - 1] ?? null;
  const before = new Set(d.images.layers.all().map((l) => l.chainId));
  const diff = withoutManagedFiles(await d.storage.diff(rec.RWLayer, rec.InitLayer));
  const layer = await d.images.layers.register(top, { tar: diff });
  try {
    const created = rfc3339Nano(new Date());
    const p = parent.config;
    const history: HistoryEntry = { created, ...(req.author ? { author: req.author } : {}), created_by: [rec.Path, ...rec.Args].join(' '), ...(req.comment ? { comment: req.comment } : {}) };
    const raw = Buffer.from(
      goJson(
        sortedKeys({
          architecture: p.architecture,
          ...(p.variant ? { variant: p.variant } : {}),
          ...(req.author ? { author: req.author } : {}),
          config: goContainerConfig(config),
          container: rec.ID,
          container_config: goContainerConfig(rec.Config as ContainerConfigJson),
          created,
          docker_version: DAEMON_VERSION,
          history: [...(p.history ?? []), history],
          os: p.os,
          rootfs: { type: 'layers', diff_ids: [...p.rootfs.diff_ids, layer.diffId] },
        }),
      ),
    );
    return (await d.images.images.create(raw, parent.id)).id;
  } catch (e) {
    if (!before.has(layer.chainId) && !d.images.images.all().some((i) => i.chain.includes(layer.chainId))) await d.images.layers.remove(layer.chainId).catch(() => undefined);
    throw e;
  }
}

/** The tag to give the image: `repo` (no digest) with `tag` or its own tag, or none. */
function commitReference(repo: string | undefined, tag: string | undefined): Reference | undefined {
  if (!repo) {
    if (tag) throw new InvalidParameterError('invalid reference: a tag was given without a repository');
    return undefined;
  }
  const ref = parseReference(repo);
  if (ref.digest) throw new InvalidParameterError('cannot commit to a digest reference');
  return withTag(ref, tag || ref.tag || 'latest');
}

function checkBodyConfig(config: unknown): ContainerConfigJson | undefined {
  if (config === undefined || config === null) return undefined;
  if (typeof config !== 'object' || Array.isArray(config)) throw new InvalidParameterError('invalid commit config: the body must be a JSON object (a container Config)');
  return config as ContainerConfigJson;
}

/** dockerd's merge(userConf, imageConf): what the user config leaves empty comes from the container's. */
export function mergeConfig(user: ContainerConfigJson, container: ContainerConfigJson): ContainerConfigJson {
  const out: ContainerConfigJson = structuredClone(user);
  if (!out.User) out.User = container.User;
  if (!out.ExposedPorts || Object.keys(out.ExposedPorts).length === 0) out.ExposedPorts = container.ExposedPorts;
  else out.ExposedPorts = { ...container.ExposedPorts, ...out.ExposedPorts };
  if (!out.Env?.length) out.Env = container.Env;
  else {
    const keys = new Set(out.Env.map((e) => e.split('=')[0]));
    out.Env = [...out.Env, ...(container.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  }
  out.Labels = { ...(container.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = container.Cmd;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = container.Entrypoint;
  }
  if (container.Healthcheck) {
    const h = out.Healthcheck;
    out.Healthcheck = h
      ? {
          ...h,
          Test: h.Test?.length ? h.Test : container.Healthcheck.Test,
          Interval: h.Interval || container.Healthcheck.Interval,
          Timeout: h.Timeout || container.Healthcheck.Timeout,
          StartPeriod: h.StartPeriod || container.Healthcheck.StartPeriod,
          Retries: h.Retries || container.Healthcheck.Retries,
        }
      : container.Healthcheck;
  }
  if (!out.WorkingDir) out.WorkingDir = container.WorkingDir;
  if (!out.Volumes || Object.keys(out.Volumes).length === 0) out.Volumes = container.Volumes;
  else out.Volumes = { ...out.Volumes, ...container.Volumes };
  if (!out.StopSignal) out.StopSignal = container.StopSignal;
  return out;
}

/** The layer tar without Docker's managed files (written into the fake's rootfs at start). */
function withoutManagedFiles(source: Readable): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
    if (MANAGED_FILES.has(`/${name}`) && header.type === 'file') {
      stream.on('end', next).resume();
      return;
    }
    pipeline(stream, pack.entry(header)).then(() => next(), next);
  });
  const out = new PassThrough();
  extract.on('finish', () => pack.finalize());
  pipeline(source, extract).catch((e: Error) => out.destroy(e));
  pack.on('error', (e: Error) => out.destroy(e));
  pack.pipe(out);
  return out;
}
