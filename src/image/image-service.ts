import type { Logger } from 'pino';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors';
import type { EventBus } from '../events/events';
import type { StorageDriver } from '../kernel';
import { rfc3339Nano } from '../system/system-service';
import type { Digest } from './digest';
import type { ImageRecord, ImageStore } from './image-store';
import type { LayerStore } from './layer-store';
import { familiarName, familiarString, isImageIdLike, parseReference, withDefaultTag, withTag, type Reference } from './reference';
import type { ReferenceStore } from './reference-store';

/** Who else holds images (containers): asked before deleting. */
export interface ImageUsers {
  /** Containers using the image: id and whether it is running. */
  containersUsing(imageId: Digest): { id: string; running: boolean }[];
  /** Chain IDs that container layers stand on. */
  chainsInUse(): Set<Digest>;
}

const NO_USERS: ImageUsers = { containersUsing: () => [], chainsInUse: () => new Set() };

export interface Filters {
  [key: string]: string[];
}

/** Parse Docker's `filters` query value: {"key":["v"]} or the old {"key":{"v":true}} form. */
export function parseFilters(text: string | undefined): Filters {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidParameterError(`invalid filter: ${text}`);
  }
  const out: Filters = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.keys(v as object).filter((x) => (v as Record<string, unknown>)[x]);
    else throw new InvalidParameterError(`invalid filter: ${k}`);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

/**
 * Images: list, inspect, history, tag, remove, prune, over the image, layer and reference
 * stores. Pull, push, save and load build on it (see distribution/ and archive/).
 */
export class ImageService {
  users: ImageUsers = NO_USERS;

  constructor(
    readonly images: ImageStore,
    readonly layers: LayerStore,
    readonly refs: ReferenceStore,
    private readonly driver: StorageDriver,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  count(): number {
    return this.images.all().length;
  }

  /** Resolve a name, tag, digest reference, full ID or unique ID prefix to an image. */
  resolve(name: string): ImageRecord {
    const found = this.tryResolve(name);
    if (!found) throw new NotFoundError(`No such image: ${name}`);
    return found;
  }

  tryResolve(name: string): ImageRecord | undefined {
    if (isImageIdLike(name)) {
      const id = (name.startsWith('sha256:') ? name : `sha256:${name}`) as Digest;
      return this.images.get(id);
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(name);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.refs.get(withDefaultTag(ref));
      if (id) return this.images.get(id);
    }
    const prefix = name.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(prefix)) {
      const matches = this.images.byPrefix(prefix);
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new ConflictError(`multiple IDs found with provided prefix: ${prefix}`);
    }
    return undefined;
  }

  repoTags(id: Digest): string[] {
    return this.refs.referencesTo(id).filter((r) => r.tag && !r.digest).map(familiarString);
  }

  repoDigests(id: Digest): string[] {
    return this.refs.referencesTo(id).filter((r) => r.digest).map((r) => `${familiarName(r)}@${r.digest}`);
  }

  size(img: ImageRecord): number {
    const top = img.chain[img.chain.length - 1];
    return top ? this.layers.chainSize(top) : 0;
  }

  private created(img: ImageRecord): string {
    return img.config.created ?? '0001-01-01T00:00:00Z';
  }

  /** GET /images/json */
  list(opts: { all?: boolean; digests?: boolean; filters?: Filters } = {}): Record<string, unknown>[] {
    const f = opts.filters ?? {};
    for (const k of Object.keys(f)) {
      if (!['dangling', 'label', 'reference', 'before', 'since'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    }
    let imgs = this.images.all();
    const childOf = new Set(imgs.map((i) => i.parent).filter(Boolean));
    if (f.dangling) {
      const want = f.dangling.map((v) => v.toLowerCase());
      if (want.some((v) => !['true', 'false', '1', '0'].includes(v))) throw new InvalidParameterError(`Invalid filter 'dangling=${want[0]}'`);
      const dangling = want.includes('true') || want.includes('1');
      imgs = imgs.filter((i) => (this.repoTags(i.id).length === 0) === dangling);
    }
    if (f.label) imgs = imgs.filter((i) => f.label!.every((l) => labelMatches(i.config.config?.Labels ?? {}, l)));
    if (f.before) {
      const t = Date.parse(this.created(this.resolve(f.before[0]!)));
      imgs = imgs.filter((i) => Date.parse(this.created(i)) < t);
    }
    if (f.since) {
      const t = Date.parse(this.created(this.resolve(f.since[0]!)));
      imgs = imgs.filter((i) => Date.parse(this.created(i)) > t);
    }
    const out: Record<string, unknown>[] = [];
    for (const img of imgs) {
      let tags = this.repoTags(img.id);
      const digests = this.repoDigests(img.id);
      if (f.reference) {
        const pats = f.reference.map(globToRegExp);
        tags = tags.filter((t) => pats.some((p) => p.test(t) || p.test(t.slice(0, t.lastIndexOf(':')))));
        if (tags.length === 0) continue;
      }
      if (!opts.all && tags.length === 0 && digests.length === 0 && childOf.has(img.id)) continue;
      const size = this.size(img);
      out.push({
        Containers: -1,
        Created: Math.floor(Date.parse(this.created(img)) / 1000),
        Id: img.id,
        Labels: img.config.config?.Labels ?? null,
        ParentId: img.parent ?? '',
        RepoDigests: digests.length ? digests : tags.length ? [] : ['<none>@<none>'],
        RepoTags: tags.length ? tags : ['<none>:<none>'],
        SharedSize: -1,
        Size: size,
        VirtualSize: size,
      });
    }
    out.sort((a, b) => (b.Created as number) - (a.Created as number));
    return out;
  }

  /** GET /images/{name}/json */
  inspect(name: string): Record<string, unknown> {
    const img = this.resolve(name);
    const c = img.config;
    const size = this.size(img);
    return {
      Id: img.id,
      RepoTags: this.repoTags(img.id),
      RepoDigests: this.repoDigests(img.id),
      Parent: img.parent ?? '',
      Comment: c.comment ?? '',
      Created: this.created(img),
      Container: c.container ?? '',
      ContainerConfig: containerConfigShape(c.container_config),
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: containerConfigShape(c.config),
      Architecture: c.architecture,
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: { Data: null, Name: this.driver.name },
      RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }

  /** GET /images/{name}/history, newest first. */
  history(name: string): Record<string, unknown>[] {
    const img = this.resolve(name);
    const hist = img.config.history?.length
      ? img.config.history
      : img.config.rootfs.diff_ids.map(() => ({ created: img.config.created, created_by: '' }) as NonNullable<typeof img.config.history>[number]);
    let layerIdx = 0;
    const rows = hist.map((h) => {
      let size = 0;
      if (!h.empty_layer) {
        const chain = img.chain[layerIdx++];
        size = chain ? (this.layers.get(chain)?.size ?? 0) : 0;
      }
      return { Created: Math.floor(Date.parse(h.created ?? this.created(img)) / 1000), CreatedBy: h.created_by ?? '', Size: size, Comment: h.comment ?? '' };
    });
    const tags = this.repoTags(img.id);
    return rows.reverse().map((r, i) => ({ Id: i === 0 ? img.id : '<missing>', ...r, Tags: i === 0 && tags.length ? tags : null }));
  }

  /** POST /images/{name}/tag */
  async tag(name: string, repo: string, tag: string | undefined): Promise<void> {
    const img = this.resolve(name);
    if (!repo) throw new InvalidParameterError('repository name must have at least one component');
    let ref = parseReference(repo);
    if (ref.digest) throw new InvalidParameterError('refusing to create a tag with a digest reference');
    ref = tag ? withTag(ref, tag) : withDefaultTag(ref);
    await this.refs.add(ref, img.id, { force: true });
    await this.images.touchTagTime(img.id, rfc3339Nano(new Date()));
    this.events.publish('image', 'tag', img.id, { name: familiarString(ref) });
  }

  /** DELETE /images/{name}: Docker's untag-or-delete rules. */
  async remove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<Record<string, string>[]> {
    const img = this.resolve(name);
    const out: Record<string, string>[] = [];
    const byReference = !isImageIdLike(name) && !this.isIdPrefix(name, img);
    const refs = this.refs.referencesTo(img.id);
    const users = this.users.containersUsing(img.id);

    if (byReference) {
      const ref = withDefaultTag(parseReference(name));
      const sameRepoOrOther = refs.filter((r) => familiarString(r) !== familiarString(ref));
      if (sameRepoOrOther.length > 0 || opts.force || users.length === 0) {
        // Untag; delete the image only if that was its last reference.
        if (sameRepoOrOther.length === 0 && users.length > 0 && !opts.force) {
          throw new ConflictError(`conflict: unable to remove repository reference "${name}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}`);
        }
        await this.refs.delete(ref);
        out.push({ Untagged: familiarString(ref) });
        this.events.publish('image', 'untag', img.id, { name: familiarString(ref) });
        // Digest references of the same repository go with the last tag.
        if (sameRepoOrOther.every((r) => r.digest && familiarName(r) === familiarName(ref))) {
          for (const r of sameRepoOrOther) {
            await this.refs.delete(r);
            out.push({ Untagged: familiarString(r) });
          }
          if (users.length === 0 && this.images.children(img.id).length === 0) out.push(...(await this.deleteImage(img, opts.noprune ?? false)));
        }
        return out;
      }
      throw new ConflictError(`conflict: unable to remove repository reference "${name}" (must force) - container ${users[0]!.id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}`);
    }

    // By ID.
    const running = users.find((u) => u.running);
    if (running) throw new ConflictError(`conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
    if (users.length > 0 && !opts.force) throw new ConflictError(`conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is being used by stopped container ${users[0]!.id.slice(0, 12)}`);
    const repos = new Set(refs.filter((r) => r.tag).map(familiarName));
    if (repos.size > 1 && !opts.force) throw new ConflictError(`conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    if (this.images.children(img.id).length > 0) throw new ConflictError(`conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image has dependent child images`);
    for (const r of refs) {
      await this.refs.delete(r);
      out.push({ Untagged: familiarString(r) });
      this.events.publish('image', 'untag', img.id, { name: familiarString(r) });
    }
    if (users.length > 0) return out; // forced: untagged, kept for its stopped containers
    out.push(...(await this.deleteImage(img, opts.noprune ?? false)));
    return out;
  }

  private isIdPrefix(name: string, img: ImageRecord): boolean {
    const p = name.replace(/^sha256:/, '');
    return /^[a-f0-9]+$/.test(p) && img.id.slice(7).startsWith(p) && !this.refs.get(withDefaultTagSafe(name));
  }

  /** Delete an image record and every layer no longer used; then its dangling parents unless noprune. */
  private async deleteImage(img: ImageRecord, noprune: boolean): Promise<Record<string, string>[]> {
    const out: Record<string, string>[] = [];
    await this.images.delete(img.id);
    out.push({ Deleted: img.id });
    this.events.publish('image', 'delete', img.id, { name: img.id });
    await this.releaseLayers();
    if (!noprune && img.parent) {
      const parent = this.images.get(img.parent);
      if (parent && this.refs.referencesTo(parent.id).length === 0 && this.images.children(parent.id).length === 0 && this.users.containersUsing(parent.id).length === 0) {
        out.push(...(await this.deleteImage(parent, false)));
      }
    }
    return out;
  }

  /** Remove the layers that no image and no container stands on, top layers first. */
  async releaseLayers(): Promise<void> {
    const used = new Set<Digest>(this.users.chainsInUse());
    for (const i of this.images.all()) for (const c of i.chain) used.add(c);
    // A used layer keeps its parents.
    for (const c of [...used]) for (let l = this.layers.get(c); l?.parent; l = this.layers.get(l.parent)) used.add(l.parent);
    let removed = true;
    while (removed) {
      removed = false;
      for (const l of this.layers.all()) {
        if (used.has(l.chainId)) continue;
        if (this.layers.all().some((x) => x.parent === l.chainId)) continue;
        await this.layers.remove(l.chainId);
        removed = true;
      }
    }
  }

  /** POST /images/prune */
  async prune(filters: Filters): Promise<{ ImagesDeleted: Record<string, string>[] | null; SpaceReclaimed: number }> {
    for (const k of Object.keys(filters)) if (!['dangling', 'label', 'until', 'label!'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const danglingOnly = !(filters.dangling ?? ['true']).some((v) => ['false', '0'].includes(v.toLowerCase()));
    const until = filters.until?.[0] ? parseUntil(filters.until[0]) : undefined;
    const deleted: Record<string, string>[] = [];
    const before = this.layers.all().reduce((a, l) => a + l.size, 0);
    let progress = true;
    while (progress) {
      progress = false;
      for (const img of this.images.all()) {
        if (this.users.containersUsing(img.id).length > 0) continue;
        if (this.images.children(img.id).length > 0) continue;
        const tags = this.refs.referencesTo(img.id);
        if (danglingOnly && tags.length > 0) continue;
        if (filters.label && !filters.label.every((l) => labelMatches(img.config.config?.Labels ?? {}, l))) continue;
        if (filters['label!'] && filters['label!'].some((l) => labelMatches(img.config.config?.Labels ?? {}, l))) continue;
        if (until !== undefined && Date.parse(this.created(img)) >= until) continue;
        for (const r of tags) {
          await this.refs.delete(r);
          deleted.push({ Untagged: familiarString(r) });
        }
        deleted.push(...(await this.deleteImage(img, true)));
        progress = true;
      }
    }
    const after = this.layers.all().reduce((a, l) => a + l.size, 0);
    if (deleted.length) this.events.publish('image', 'prune', '', { reclaimed: String(before - after) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: before - after };
  }
}

function withDefaultTagSafe(name: string): Reference {
  try {
    return withDefaultTag(parseReference(name));
  } catch {
    return { domain: 'docker.io', path: 'library/-invalid-' };
  }
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** `until`: a Unix timestamp, an RFC 3339 date, or a duration like 10m (before now). */
export function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const mult = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 'ns'];
    return Date.now() - Number(d[1]) * mult;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameterError(`invalid filter 'until=${v}'`);
  return t;
}

/** Docker's container-config JSON with its null conventions. */
export function containerConfigShape(c: import('./image-config').ContainerConfigJson | undefined): Record<string, unknown> {
  const x = c ?? {};
  return {
    Hostname: x.Hostname ?? '',
    Domainname: x.Domainname ?? '',
    User: x.User ?? '',
    AttachStdin: x.AttachStdin ?? false,
    AttachStdout: x.AttachStdout ?? false,
    AttachStderr: x.AttachStderr ?? false,
    ...(x.ExposedPorts ? { ExposedPorts: x.ExposedPorts } : {}),
    Tty: x.Tty ?? false,
    OpenStdin: x.OpenStdin ?? false,
    StdinOnce: x.StdinOnce ?? false,
    Env: x.Env ?? null,
    Cmd: x.Cmd ?? null,
    ...(x.Healthcheck ? { Healthcheck: x.Healthcheck } : {}),
    ...(x.ArgsEscaped ? { ArgsEscaped: x.ArgsEscaped } : {}),
    Image: x.Image ?? '',
    Volumes: x.Volumes ?? null,
    WorkingDir: x.WorkingDir ?? '',
    Entrypoint: x.Entrypoint ?? null,
    OnBuild: x.OnBuild ?? null,
    Labels: x.Labels ?? null,
    ...(x.StopSignal ? { StopSignal: x.StopSignal } : {}),
    ...(x.Shell ? { Shell: x.Shell } : {}),
  };
}
