/**
 * The legacy (v1) layer metadata that `docker save` keeps for old loaders: one `<v1 id>/json`
 * per layer and the v1 IDs that name the layer directories and fill `repositories`.
 * Computed as dockerd 20.10 does (image/tarexport/save.go, image/v1/imagev1.go CreateID), with
 * the image config re-encoded in Go's field order, so the IDs match dockerd's for the same image.
 */
import type { Digest } from '../digest';
import { chainIds, sha256 } from '../digest';
import type { ContainerConfigJson, ImageConfig } from '../image-config';
import { goJson, goTime, sortedKeys } from './go-json';

type Json = Record<string, unknown>;

const omitEmpty = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '' && v !== false && v !== 0));

/** Go's json.Marshal of a container.Config (api/types/container): field order and omitempty. */
export function goContainerConfig(c: ContainerConfigJson | undefined): Json {
  const x = (c ?? {}) as ContainerConfigJson & { MacAddress?: string };
  const map = <T>(m: Record<string, T> | null | undefined) => (m ? sortedKeys(m) : null);
  const strs = (v: string[] | string | null | undefined) => (v === undefined || v === null ? null : typeof v === 'string' ? [v] : v);
  const opt = (k: string, v: unknown, present: boolean): Json => (present ? { [k]: v } : {});
  const health = x.Healthcheck ? omitEmpty({ Test: x.Healthcheck.Test?.length ? x.Healthcheck.Test : undefined, Interval: x.Healthcheck.Interval, Timeout: x.Healthcheck.Timeout, StartPeriod: x.Healthcheck.StartPeriod, Retries: x.Healthcheck.Retries }) : undefined;
  return {
    Hostname: x.Hostname ?? '',
    Domainname: x.Domainname ?? '',
    User: x.User ?? '',
    AttachStdin: x.AttachStdin ?? false,
    AttachStdout: x.AttachStdout ?? false,
    AttachStderr: x.AttachStderr ?? false,
    ...opt('ExposedPorts', map(x.ExposedPorts), Boolean(x.ExposedPorts && Object.keys(x.ExposedPorts).length)),
    Tty: x.Tty ?? false,
    OpenStdin: x.OpenStdin ?? false,
    StdinOnce: x.StdinOnce ?? false,
    Env: x.Env ?? null,
    Cmd: strs(x.Cmd),
    ...opt('Healthcheck', health, health !== undefined),
    ...opt('ArgsEscaped', true, Boolean(x.ArgsEscaped)),
    Image: x.Image ?? '',
    Volumes: map(x.Volumes),
    WorkingDir: x.WorkingDir ?? '',
    Entrypoint: strs(x.Entrypoint),
    ...opt('NetworkDisabled', true, Boolean(x.NetworkDisabled)),
    ...opt('MacAddress', x.MacAddress, Boolean(x.MacAddress)),
    OnBuild: x.OnBuild ?? null,
    Labels: map(x.Labels),
    ...opt('StopSignal', x.StopSignal, Boolean(x.StopSignal)),
    ...opt('StopTimeout', x.StopTimeout, x.StopTimeout !== undefined && x.StopTimeout !== null),
    ...opt('Shell', x.Shell, Boolean(x.Shell?.length)),
  };
}

/** The fields of Go's image.V1Image that an image config fills, in field order (no id/parent). */
function v1ImageFields(c: ImageConfig): Json {
  return {
    ...omitEmpty({ comment: c.comment }),
    created: goTime(c.created),
    ...omitEmpty({ container: c.container }),
    container_config: goContainerConfig(c.container_config),
    ...omitEmpty({ docker_version: c.docker_version, author: c.author }),
    ...(c.config ? { config: goContainerConfig(c.config) } : {}),
    ...omitEmpty({ architecture: c.architecture, variant: c.variant, os: c.os }),
  };
}

/** A lower layer's V1Image: only the epoch as creation time (dockerd's backward-compat stub). */
const LOWER_LAYER_FIELDS: Json = { created: '1970-01-01T00:00:00Z', container_config: goContainerConfig(undefined) };

/** v1.CreateID: sha256 over the V1Image (without id) plus layer_id and parent, keys sorted. */
function createV1Id(fields: Json, chainId: Digest, parent: Digest | undefined): Digest {
  return sha256(goJson(sortedKeys({ ...fields, layer_id: chainId, ...(parent ? { parent } : {}) })));
}

export interface V1Layer {
  /** The layer directory's name (64 hex). */
  id: string;
  chainId: Digest;
  diffId: Digest;
  /** The `json` file's bytes. */
  json: Buffer;
}

/** The v1 layers of an image, bottom first; the last one's id is the image's v1 ID. */
export function v1Layers(config: ImageConfig): V1Layer[] {
  const diffIds = config.rootfs.diff_ids;
  const chains = chainIds(diffIds);
  const out: V1Layer[] = [];
  let parent: Digest | undefined;
  diffIds.forEach((diffId, i) => {
    const top = i === diffIds.length - 1;
    const fields = top ? v1ImageFields(config) : LOWER_LAYER_FIELDS;
    const v1 = createV1Id(fields, chains[i]!, parent);
    const id = v1.slice(7);
    // json.Marshal(V1Image): id, parent, then the fields in order, os always set from the image.
    const { os: _os, ...rest } = fields;
    const json = { id, ...(parent ? { parent: parent.slice(7) } : {}), ...rest, ...(config.os ? { os: config.os } : {}) };
    out.push({ id, chainId: chains[i]!, diffId, json: Buffer.from(goJson(json)) });
    parent = v1;
  });
  return out;
}
