import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DockerClient } from '../../src/client/client';
import type { BenchContext } from './benchmark';
import { formatEndpoint, type Endpoint } from './http-probe';
import { nsToMs } from './stats';

/** What one CLI invocation printed, and how long it took from spawn to exit. */
export interface CliResult {
  stdout: string;
  stderr: string;
  ms: number;
}

/** No CLI command of a benchmark may run longer than this (a pull of the test image included). */
const CLI_TIMEOUT_MS = 180_000;

/**
 * The docker CLI pointed at one daemon: `DOCKER_HOST` = the daemon's endpoint and a private
 * `DOCKER_CONFIG` folder under the bench's work directory (so a user's config, credentials
 * helpers or contexts never change what is measured). Both daemons are driven by the same binary.
 */
export class DockerCli {
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly binary: string,
    readonly endpoint: Endpoint,
    configDir: string,
  ) {
    mkdirSync(configDir, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: formatEndpoint(endpoint), DOCKER_CONFIG: configDir };
    for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[k];
    this.env = env;
  }

  /** The CLI for `endpoint`, with its config folder in the bench's work directory. */
  static for(endpoint: Endpoint, ctx: BenchContext): DockerCli {
    return new DockerCli(ctx.options.dockerCli, endpoint, join(ctx.workDir, 'docker-config'));
  }

  /** Run `docker ARGS`; resolves with its output and wall time, rejects with its stderr when it fails. */
  run(args: readonly string[]): Promise<CliResult> {
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      execFile(this.binary, args, { env: this.env, timeout: CLI_TIMEOUT_MS, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const ms = nsToMs(process.hrtime.bigint() - t0);
        if (err) {
          reject(new Error(`docker ${args.join(' ')} on ${formatEndpoint(this.endpoint)} failed (${err.message.split('\n')[0]}): ${stderr.trim().slice(-500)}`));
          return;
        }
        resolve({ stdout, stderr, ms });
      });
    });
  }
}

/** Why the CLI benchmarks cannot run here, or undefined when the docker CLI exists. */
export function missingCli(ctx: BenchContext): string | undefined {
  return existsSync(ctx.options.dockerCli) ? undefined : `no docker CLI at ${ctx.options.dockerCli} (pass --docker-cli PATH)`;
}

/** A Remote API client (src/client) for `endpoint`, for the loops where the CLI would be the bottleneck. */
export function apiClient(endpoint: Endpoint): DockerClient {
  const host = endpoint.kind === 'unix' ? { proto: 'unix' as const, path: endpoint.path } : { proto: 'tcp' as const, host: endpoint.host, port: endpoint.port };
  return new DockerClient({ host, userAgent: 'tsdocker-bench' });
}
