import type { DockerClient } from '../../client/client';
import { API_VERSION, DAEMON_VERSION, GIT_COMMIT } from '../../version';
import type { CliIo } from '../io';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const goArch = (a: string) => ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[a] ?? a;

/** `docker version`: the client's facts, then the server's, laid out as the docker CLI does. */
export async function versionCommand(client: DockerClient, io: CliIo): Promise<number> {
  let negotiated = API_VERSION;
  let failure: unknown;
  let v: Json = {};
  try {
    negotiated = await client.apiVersion();
    v = await client.json<Json>('GET', '/version');
  } catch (e) {
    failure = e;
  }
  const out: string[] = [
    'Client:',
    ` Version:           ${DAEMON_VERSION}`,
    ` API version:       ${negotiated}${negotiated !== API_VERSION ? ` (downgraded from ${API_VERSION})` : ''}`,
    ` Go version:        node${process.versions.node}`,
    ` Git commit:        ${GIT_COMMIT}`,
    ` OS/Arch:           ${process.platform}/${goArch(process.arch)}`,
    ` Context:           default`,
    '',
  ];
  io.stdout.write(out.join('\n'));
  if (failure) throw failure;
  const lines = ['Server:'];
  for (const c of (v.Components ?? []) as Json[]) {
    lines.push(` ${c.Name}:`);
    if (c.Name === 'Engine') {
      lines.push(
        `  Version:          ${v.Version}`,
        `  API version:      ${v.ApiVersion} (minimum version ${v.MinAPIVersion})`,
        `  Go version:       ${v.GoVersion}`,
        `  Git commit:       ${v.GitCommit}`,
        `  Built:            ${new Date(v.BuildTime).toUTCString()}`,
        `  OS/Arch:          ${v.Os}/${v.Arch}`,
        `  Experimental:     ${c.Details?.Experimental ?? 'false'}`,
      );
    } else {
      lines.push(`  Version:          ${c.Version}`, `  GitCommit:        ${c.Details?.GitCommit ?? ''}`);
    }
  }
  io.stdout.write(`\n${lines.join('\n')}\n`);
  return 0;
}

function bytesHuman(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 100) / 100}${units[i]}`;
}

/** `docker info`, laid out as the docker CLI does. */
export async function infoCommand(client: DockerClient, io: CliIo, debug: boolean): Promise<number> {
  const i = await client.json<Json>('GET', '/info');
  const l: string[] = ['Client:', ` Version:    ${DAEMON_VERSION}`, ' Context:    default', ` Debug Mode: ${debug}`, '', 'Server:'];
  l.push(
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...((i.DriverStatus ?? []) as [string, string][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
    `  Volume: ${(i.Plugins?.Volume ?? []).join(' ')}`,
    `  Network: ${(i.Plugins?.Network ?? []).join(' ')}`,
    `  Log: ${(i.Plugins?.Log ?? []).join(' ')}`,
    ` Swarm: ${i.Swarm?.LocalNodeState ?? 'inactive'}`,
    ` Runtimes: ${Object.keys(i.Runtimes ?? {}).join(' ')}`,
    ` Default Runtime: ${i.DefaultRuntime}`,
    ` Init Binary: ${i.InitBinary}`,
    ` containerd version: ${i.ContainerdCommit?.ID ?? ''}`,
    ` runc version: ${i.RuncCommit?.ID ?? ''}`,
    ` init version: ${i.InitCommit?.ID ?? ''}`,
  );
  const sec = (i.SecurityOptions ?? []) as string[];
  if (sec.length) {
    l.push(' Security Options:');
    for (const s of sec) l.push(`  ${s.replace(/^name=/, '').split(',')[0]}`);
  }
  l.push(
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${bytesHuman(i.MemTotal)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Debug Mode: ${i.Debug}`,
  );
  if (i.HttpProxy) l.push(` HTTP Proxy: ${i.HttpProxy}`);
  if (i.HttpsProxy) l.push(` HTTPS Proxy: ${i.HttpsProxy}`);
  if (i.NoProxy) l.push(` No Proxy: ${i.NoProxy}`);
  if ((i.Labels ?? []).length) l.push(' Labels:', ...(i.Labels as string[]).map((x) => `  ${x}`));
  l.push(` Experimental: ${i.ExperimentalBuild}`);
  l.push(' Insecure Registries:');
  for (const [name, cfg] of Object.entries((i.RegistryConfig?.IndexConfigs ?? {}) as Record<string, Json>)) if (!cfg.Secure) l.push(`  ${name}`);
  for (const c of (i.RegistryConfig?.InsecureRegistryCIDRs ?? []) as string[]) l.push(`  ${c}`);
  const mirrors = (i.RegistryConfig?.Mirrors ?? []) as string[];
  if (mirrors.length) l.push(' Registry Mirrors:', ...mirrors.map((m) => `  ${m}`));
  l.push(` Live Restore Enabled: ${i.LiveRestoreEnabled}`);
  io.stdout.write(`${l.join('\n')}\n`);
  for (const w of (i.Warnings ?? []) as string[]) io.stderr.write(`${w}\n`);
  return 0;
}
