import { InvalidParameterError } from '../errors';
import type { ContainerConfig, HostConfig, MountSpec, RestartPolicy } from './container';
import { validateHealthConfig } from './health';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function strList(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InvalidParameterError(`invalid ${field}: must be a list of strings`);
  return v as string[];
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new InvalidParameterError(`invalid ${field}: must be a string`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidParameterError(`invalid ${field}: must be a boolean`);
  return v;
}

function int(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidParameterError(`invalid ${field}: must be an integer`);
  return v;
}

/** `80`, `80/tcp`, `53/udp`, `8000-8010/tcp`. */
export function checkPortSpec(p: string): void {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(p);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535 || (m[2] && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) {
    throw new InvalidParameterError(`invalid port specification: "${p}"`);
  }
}

function restartPolicy(v: unknown): RestartPolicy {
  if (v === undefined || v === null) return { Name: 'no', MaximumRetryCount: 0 };
  if (!isObj(v)) throw new InvalidParameterError('invalid RestartPolicy: must be an object');
  const name = str(v.Name, 'RestartPolicy.Name');
  const max = int(v.MaximumRetryCount, 'RestartPolicy.MaximumRetryCount') ?? 0;
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) throw new InvalidParameterError(`invalid restart policy '${name}'`);
  if (max < 0) throw new InvalidParameterError('invalid restart policy: maximum retry count cannot be negative');
  if (max > 0 && name !== 'on-failure') throw new InvalidParameterError(`maximum retry count cannot be used with restart policy '${name}'`);
  return { Name: name === '' ? 'no' : (name as RestartPolicy['Name']), MaximumRetryCount: max };
}

function mounts(v: unknown): MountSpec[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new InvalidParameterError('invalid Mounts: must be a list');
  return v.map((m, i) => {
    if (!isObj(m)) throw new InvalidParameterError(`invalid Mounts[${i}]: must be an object`);
    const type = str(m.Type, `Mounts[${i}].Type`);
    if (!['bind', 'volume', 'tmpfs'].includes(type)) throw new InvalidParameterError(`invalid mount config: mount type unknown: "${type}"`);
    const target = str(m.Target, `Mounts[${i}].Target`);
    if (!target) throw new InvalidParameterError('invalid mount config: Target must not be empty');
    if (!target.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "${type}": invalid mount path: '${target}' mount path must be absolute`);
    if (type === 'bind' && !str(m.Source, 'Source')) throw new InvalidParameterError('invalid mount config for type "bind": field Source must not be empty');
    if (type === 'tmpfs' && m.Source) throw new InvalidParameterError('invalid mount config for type "tmpfs": field Source must not be specified');
    return m as unknown as MountSpec;
  });
}

/** `-v` specs: `name:/path[:ro]`, `/host:/path[:ro|rw]`, `/path` (anonymous). */
export function parseBind(spec: string): { source: string; target: string; readonly: boolean; mode: string } {
  const parts = spec.split(':');
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0]!;
  else if (parts.length === 2) {
    if (['ro', 'rw', 'z', 'Z'].includes(parts[1]!) || !parts[1]!.startsWith('/')) {
      if (!parts[0]!.startsWith('/') || !['ro', 'rw', 'z', 'Z'].includes(parts[1]!)) {
        [source, target] = [parts[0]!, parts[1]!];
      } else {
        target = parts[0]!;
        mode = parts[1]!;
      }
    } else [source, target] = [parts[0]!, parts[1]!];
  } else if (parts.length === 3) [source, target, mode] = [parts[0]!, parts[1]!, parts[2]!];
  else throw new InvalidParameterError(`invalid volume specification: '${spec}'`);
  if (!target.startsWith('/')) throw new InvalidParameterError(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${target}' mount path must be absolute`);
  if (mode && !mode.split(',').every((m) => ['ro', 'rw', 'z', 'Z', 'shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'nocopy'].includes(m))) {
    throw new InvalidParameterError(`invalid mode: ${mode}`);
  }
  if (target === '/') throw new InvalidParameterError(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  return { source, target, readonly: mode.split(',').includes('ro'), mode };
}

/** Normalise and validate `POST /containers/create`'s body; errors name the field. */
export function parseCreateBody(body: unknown): { config: ContainerConfig; hostConfig: HostConfig; networking: Json } {
  if (!isObj(body)) throw new InvalidParameterError('config cannot be empty in order to create a container');
  const hc = isObj(body.HostConfig) ? body.HostConfig : {};
  const exposed = body.ExposedPorts;
  if (exposed !== undefined && exposed !== null) {
    if (!isObj(exposed)) throw new InvalidParameterError('invalid ExposedPorts: must be an object');
    for (const p of Object.keys(exposed)) checkPortSpec(p);
  }
  const labels = body.Labels ?? {};
  if (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string')) throw new InvalidParameterError('invalid Labels: must be an object of strings');
  const env = strList(body.Env, 'Env');
  for (const e of env ?? []) if (e.startsWith('=') || e === '') throw new InvalidParameterError(`invalid environment variable: ${e}`);
  const workingDir = str(body.WorkingDir, 'WorkingDir');
  if (workingDir && !workingDir.startsWith('/')) throw new InvalidParameterError(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
  const config: ContainerConfig = {
    ...body,
    Hostname: str(body.Hostname, 'Hostname'),
    Domainname: str(body.Domainname, 'Domainname'),
    User: str(body.User, 'User'),
    AttachStdin: bool(body.AttachStdin, 'AttachStdin'),
    AttachStdout: bool(body.AttachStdout, 'AttachStdout'),
    AttachStderr: bool(body.AttachStderr, 'AttachStderr'),
    ...(exposed ? { ExposedPorts: exposed as Record<string, object> } : {}),
    Tty: bool(body.Tty, 'Tty'),
    OpenStdin: bool(body.OpenStdin, 'OpenStdin'),
    StdinOnce: bool(body.StdinOnce, 'StdinOnce'),
    Env: env,
    Cmd: strList(body.Cmd, 'Cmd'),
    Image: str(body.Image, 'Image'),
    Volumes: isObj(body.Volumes) ? (body.Volumes as Record<string, object>) : null,
    WorkingDir: workingDir,
    Entrypoint: strList(body.Entrypoint, 'Entrypoint'),
    OnBuild: strList(body.OnBuild, 'OnBuild'),
    Labels: labels as Record<string, string>,
  };
  delete (config as Json).HostConfig;
  delete (config as Json).NetworkingConfig;
  if (body.StopTimeout !== undefined && body.StopTimeout !== null) config.StopTimeout = int(body.StopTimeout, 'StopTimeout');
  if (body.Healthcheck && !isObj(body.Healthcheck)) throw new InvalidParameterError('invalid Healthcheck: must be an object');
  validateHealthConfig(config.Healthcheck);

  const rp = restartPolicy(hc.RestartPolicy);
  const autoRemove = bool(hc.AutoRemove, 'HostConfig.AutoRemove');
  if (autoRemove && rp.Name !== 'no') throw new InvalidParameterError("can't create 'AutoRemove' container with restart policy");
  const memory = int(hc.Memory, 'HostConfig.Memory') ?? 0;
  if (memory > 0 && memory < 6 * 1024 * 1024) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
  const swap = int(hc.MemorySwap, 'HostConfig.MemorySwap') ?? 0;
  if (swap > 0 && memory > 0 && swap < memory) throw new InvalidParameterError('Minimum memoryswap limit should be larger than memory limit, see usage');
  const nano = int(hc.NanoCpus, 'HostConfig.NanoCpus') ?? 0;
  if (nano && (int(hc.CpuQuota, 'HostConfig.CpuQuota') || int(hc.CpuPeriod, 'HostConfig.CpuPeriod'))) {
    throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  const pb = hc.PortBindings ?? {};
  if (!isObj(pb)) throw new InvalidParameterError('invalid HostConfig.PortBindings: must be an object');
  for (const [p, binds] of Object.entries(pb)) {
    checkPortSpec(p);
    for (const b of (binds as { HostPort?: string }[] | null) ?? []) {
      if (b.HostPort && !/^\d+(-\d+)?$/.test(b.HostPort)) throw new InvalidParameterError(`invalid port specification: "${b.HostPort}"`);
    }
  }
  const binds = strList(hc.Binds, 'HostConfig.Binds');
  for (const b of binds ?? []) parseBind(b);
  const logConfig = isObj(hc.LogConfig) ? { Type: str(hc.LogConfig.Type, 'LogConfig.Type'), Config: (hc.LogConfig.Config ?? {}) as Record<string, string> } : { Type: '', Config: {} };
  if (logConfig.Type && !['json-file', 'none', 'local'].includes(logConfig.Type)) {
    throw new InvalidParameterError(`failed to create container: logger: no log driver named '${logConfig.Type}' is registered`);
  }
  const hostConfig: HostConfig = {
    ...hc,
    Binds: binds,
    NetworkMode: str(hc.NetworkMode, 'HostConfig.NetworkMode') || 'default',
    PortBindings: pb as HostConfig['PortBindings'],
    RestartPolicy: rp,
    AutoRemove: autoRemove,
    LogConfig: logConfig,
    Privileged: bool(hc.Privileged, 'HostConfig.Privileged'),
    ReadonlyRootfs: bool(hc.ReadonlyRootfs, 'HostConfig.ReadonlyRootfs'),
    Mounts: mounts(hc.Mounts),
  };
  if (!hostConfig.Mounts) delete hostConfig.Mounts;
  return { config, hostConfig, networking: isObj(body.NetworkingConfig) ? body.NetworkingConfig : {} };
}
