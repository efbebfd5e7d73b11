import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, beforeAll, afterAll } from 'vitest';
import { DockerClient } from '../src/client/client';
import { parseDaemonArgs, type DaemonConfig } from '../src/config/daemon-options';
import { startDaemon, type RunningDaemon } from '../src/daemon/daemon';
import type { KernelFactory } from '../src/kernel';
import { imagesArchiveCases } from './cases/images-archive';
import { systemCases } from './cases/system';
import { attachWsCases } from './cases/attach-ws';
import { imageCases } from './cases/images';
import { imagesRegistryCases } from './cases/images-registry';
import { volumeCases } from './cases/volumes';
import { containerFsCases } from './cases/container-fs';
import { containerStatsCases } from './cases/container-stats';
import { containerCases } from './cases/containers';
import { cliContainerCases } from './cases/cli-containers';
import { containerVolumeCases } from './cases/container-volumes';

/** What a case gets: a running daemon on a temp unix socket, and a client for it. */
export interface DaemonUnderTest {
  backend: string;
  socket: string;
  /** DOCKER_HOST for it, e.g. unix:///tmp/x/docker.sock */
  host: string;
  root: string;
  client: DockerClient;
  daemon: RunningDaemon;
  config: DaemonConfig;
  /** Start another daemon of the same backend with extra flags (stopped after the file). */
  extra(args: string[], opts?: TestDaemonOptions): Promise<DaemonUnderTest>;
  /**
   * Stop this daemon as an operator would (containers with a monitor keep running) and start a
   * new one with the same flags on the same graph root, exec root and socket; `daemon` is then
   * the new one. For restart-policy and restore cases, on a daemon made with `extra()`.
   */
  restart(): Promise<void>;
}

export interface SuiteContext {
  backend: string;
  supports: ReadonlySet<string>;
  /** The file's daemon, started once before its cases. */
  get(): DaemonUnderTest;
}

export type CaseGroup = (ctx: SuiteContext) => void;

/** The API areas, each defined once in conformance/cases and run against every backend. */
export const AREAS: Record<string, CaseGroup> = {
  system: systemCases,
  images: imageCases,
  'images-registry': imagesRegistryCases,
  volumes: volumeCases,
  'images-archive': imagesArchiveCases,
  'container-fs': containerFsCases,
  'container-stats': containerStatsCases,
  containers: containerCases,
  'cli-containers': cliContainerCases,
  'container-volumes': containerVolumeCases,
  // Runs late: it pulls the test image, which the image cases expect to be absent at first.
  'attach-ws': attachWsCases,
};

export interface SuiteOptions {
  name: 'fake' | 'linux';
  factory: () => Promise<KernelFactory>;
  /** Areas this backend claims; cases of other areas are not registered. */
  supports: string[];
  /** Why this backend cannot run here, or undefined. Printed when the suite skips. */
  unavailable?: () => Promise<string | undefined>;
  /** Extra daemon flags for every daemon of this suite. */
  args?: string[];
  /** Only these areas (to split a backend across files). */
  areas?: string[];
}

const quietLog = () => pino({ level: process.env.TEST_DAEMON_LOG ?? 'silent' });

export interface TestDaemonOptions {
  /** The registry certs.d directory (default: an empty one under the daemon's temp root). */
  certsDir?: string;
}

/** Start an in-process daemon on a temp root and socket. */
export async function startTestDaemon(backend: string, factory: KernelFactory, args: string[] = [], opts: TestDaemonOptions = {}): Promise<DaemonUnderTest & { stop(): Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), `tsd-${backend}-`));
  const socket = join(root, 'docker.sock');
  const { config } = parseDaemonArgs(
    ['--backend', backend, '-g', join(root, 'graph'), '--exec-root', join(root, 'exec'), '-p', join(root, 'docker.pid'), '-H', `unix://${socket}`, ...args],
    {},
  );
  const boot = () => startDaemon({ config, kernelFactory: factory, log: quietLog(), pidfile: true, certsDir: opts.certsDir ?? join(root, 'certs.d') });
  const daemon = await boot();
  const host = `unix://${socket}`;
  const extras: { stop(): Promise<void> }[] = [];
  const dut = {
    backend,
    socket,
    host,
    root,
    config,
    daemon,
    client: new DockerClient({ host: { proto: 'unix', path: socket } }),
    async extra(more: string[], extraOpts?: TestDaemonOptions) {
      const d = await startTestDaemon(backend, factory, more, extraOpts);
      extras.push(d);
      return d;
    },
    async restart() {
      await dut.daemon.stop(2000);
      dut.daemon = await boot();
    },
    async stop() {
      for (const e of extras) await e.stop();
      await dut.daemon.stop(2000);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return dut;
}

/**
 * Register the conformance cases for one backend. Each entry file is a few lines; the daemon
 * is started once per file, on temp roots, and stopped after it.
 */
export function defineConformanceSuite(opts: SuiteOptions): void {
  const areas = Object.entries(AREAS).filter(([name]) => opts.supports.includes(name) && (!opts.areas || opts.areas.includes(name)));
  describe(`conformance: ${opts.name}`, async () => {
    const reason = opts.unavailable ? await opts.unavailable() : undefined;
    if (reason) {
      console.warn(`[conformance] ${opts.name} backend skipped: ${reason}`);
      describe.skip(`${opts.name} backend unavailable: ${reason}`, () => {
        for (const [, group] of areas) group({ backend: opts.name, supports: new Set(opts.supports), get: () => { throw new Error(reason); } });
      });
      return;
    }
    let dut: (DaemonUnderTest & { stop(): Promise<void> }) | undefined;
    beforeAll(async () => {
      dut = await startTestDaemon(opts.name, await opts.factory(), opts.args);
    });
    afterAll(async () => {
      await dut?.stop();
    });
    const ctx: SuiteContext = {
      backend: opts.name,
      supports: new Set(opts.supports),
      get: () => {
        if (!dut) throw new Error('daemon not started');
        return dut;
      },
    };
    for (const [name, group] of areas) describe(name, () => group(ctx));
  });
}

export const DOCKER_CLI = '/usr/local/bin/docker';
export const hasDockerCli = existsSync(DOCKER_CLI);

/** Run the real docker CLI against a daemon, with its own empty config dir. */
export function dockerCli(host: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const configDir = mkdtempSync(join(tmpdir(), 'tsd-cli-'));
  return new Promise((resolve) => {
    const child = execFile(
      DOCKER_CLI,
      args,
      { env: { PATH: process.env.PATH, HOME: configDir, DOCKER_CONFIG: configDir, DOCKER_HOST: host, ...opts.env }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        rmSync(configDir, { recursive: true, force: true });
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
