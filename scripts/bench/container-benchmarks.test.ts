import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchContext, Metric } from './benchmark';
import { containerChurn } from './container-churn';
import { containerList } from './container-list';
import { containerMemory } from './container-memory';
import { containerRun } from './container-run';
import { apiClient } from './docker-cli';
import { imagePull } from './image-pull';
import { imageSaveLoad } from './image-save-load';
import { DOCKER_REGISTRY_BIN } from './layered-image';
import { parseBenchArgs } from './options';
import { oursTarget, type Target } from './targets';

const bundle = join(process.cwd(), 'dist', 'docker.mjs');
const CLI = '/usr/local/bin/docker';
const canRun = existsSync(bundle) && existsSync(CLI);

/** The container and image benchmarks, end to end, on our daemon (fake backend) with small counts. */
describe.runIf(canRun)('container and image benchmarks on the fake backend', () => {
  let dir: string;
  let target: Target;
  let ctx: BenchContext;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-containers-'));
    const options = parseBenchArgs(['--runs', '2', '--warmup-runs', '1', '--containers', '6', '--concurrency', '3', '--running', '3', '--settle-ms', '0', '--image-runs', '1', '--docker-cli', CLI], {});
    ctx = { options, workDir: dir, progress: () => undefined };
    target = oursTarget({ node: process.execPath, nodeArgs: [], bundle, backend: 'fake', workDir: dir, timeoutMs: 30_000, pollMs: 1 });
  });
  afterAll(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keys = (ms: Metric[]) => ms.map((m) => m.key);
  /** What the benchmarks must leave behind: no container, no image. */
  async function expectNothingLeft(): Promise<void> {
    const client = apiClient((await target.session()).endpoint);
    expect(await client.json('GET', '/containers/json', { query: { all: 1 } })).toEqual([]);
    expect(await client.json('GET', '/images/json')).toEqual([]);
  }

  it('run-rm times docker run --rm and the CLI floor', async () => {
    const m = await containerRun.run(target, ctx);
    expect(keys(m)).toEqual(['run-rm.median', 'run-rm.p90', 'cli-floor.median', 'cli-floor.p90']);
    expect(m.every((x) => x.value > 0)).toBe(true);
    await expectNothingLeft();
  }, 60_000);

  it('churn runs every container through create, start, wait and remove', async () => {
    const m = await containerChurn.run(target, ctx);
    expect(keys(m)).toEqual(['churn.rate', 'churn.cycle.median', 'churn.cycle.p90']);
    expect(m[0]!.note).toMatch(/^6 containers in/);
    await expectNothingLeft();
  }, 60_000);

  it('ps lists the containers it created, then removes them', async () => {
    const m = await containerList.run(target, ctx);
    expect(keys(m)).toEqual(['ps.cli.median', 'ps.cli.p90', 'ps.api.median', 'ps.api.p90']);
    await expectNothingLeft();
  }, 60_000);

  it('container-memory measures the daemon with running containers (no monitors on the emulator)', async () => {
    const m = await containerMemory.run(target, ctx);
    expect(keys(m)).toEqual(['run-d.median', 'run-d.p90', 'cmem.before.rss', 'cmem.total.rss', 'cmem.total.pss', 'cmem.daemon.rss', 'cmem.marginal.rss', 'cmem.marginal.pss']);
    expect(m.find((x) => x.key === 'cmem.total.rss')!.note).toMatch(/no monitor processes/);
    await expectNothingLeft();
  }, 60_000);

  it.runIf(existsSync(DOCKER_REGISTRY_BIN))('pull and save-load move the layered image through a local docker-registry', async () => {
    const pull = await imagePull.run(target, ctx);
    expect(keys(pull)).toEqual(['pull.median', 'pull.p90', 'pull.peak-rss']);
    expect(pull[2]!.value).toBeGreaterThan(0);
    await expectNothingLeft();
    const saveLoad = await imageSaveLoad.run(target, ctx);
    expect(keys(saveLoad)).toEqual(['save.median', 'save.p90', 'load.median', 'load.p90']);
    expect(existsSync(join(dir, 'save-ours.tar'))).toBe(false);
    await expectNothingLeft();
  }, 180_000);
});
