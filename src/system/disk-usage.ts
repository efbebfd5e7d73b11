import type { ImageService } from '../image/image-service';
import type { Digest } from '../image/digest';

type Json = Record<string, unknown>;

/** Where `GET /system/df` takes its numbers from; absent parts count as empty. */
export interface DiskUsageSources {
  images?: ImageService;
  /** The containers as `GET /containers/json?all=1&size=1` lists them. */
  containers?: { list(opts: { all: boolean; size: boolean; filters: Record<string, string[]> }): Promise<Json[]> };
  /** The local volumes with their UsageData (VolumeService.usage). */
  volumes?: { usage(): Promise<object[]> };
}

/** A list whose empty form dockerd's df leaves nil (it does not turn nil into `[]` as /images/json does). */
const nilIfEmpty = (v: unknown) => (Array.isArray(v) && v.length === 0 ? null : v);

/**
 * `GET /system/df` as dockerd 20.10 answers it (measured): `LayersSize` (every layer once),
 * `Images` (the top-level images with `Containers` counts and `SharedSize`: the size of their
 * layers that another listed image uses too), `Containers` (all, with sizes), `Volumes` (local
 * ones with UsageData), `BuildCache: null` and `BuilderSize: 0` (no builder cache here).
 */
export async function diskUsage(src: DiskUsageSources): Promise<Json> {
  const containers = src.containers ? await src.containers.list({ all: true, size: true, filters: {} }) : [];
  return {
    LayersSize: src.images ? src.images.layers.all().reduce((n, l) => n + l.size, 0) : 0,
    Images: src.images ? imageUsage(src.images, containers) : [],
    Containers: containers,
    Volumes: src.volumes ? await src.volumes.usage() : [],
    BuildCache: null,
    BuilderSize: 0,
  };
}

function imageUsage(images: ImageService, containers: Json[]): Json[] {
  const listed = images.list({ all: false });
  const chainOf = (id: unknown) => images.images.get(id as Digest)?.chain ?? [];
  const refs = new Map<Digest, number>();
  for (const img of listed) for (const c of chainOf(img.Id)) refs.set(c, (refs.get(c) ?? 0) + 1);
  return listed.map((img) => {
    const shared = chainOf(img.Id).reduce((n, c) => n + ((refs.get(c) ?? 0) > 1 ? (images.layers.get(c)?.size ?? 0) : 0), 0);
    return {
      ...img,
      Containers: containers.filter((c) => c.ImageID === img.Id).length,
      RepoDigests: nilIfEmpty(img.RepoDigests),
      RepoTags: nilIfEmpty(img.RepoTags),
      SharedSize: shared,
    };
  });
}
