import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { steadyPids } from './container-memory';
import { runPool } from './containers';
import { DockerCli } from './docker-cli';
import { parseBenchArgs } from './options';
import { describeGroup, groupMemory, PeakRss } from './process-memory';
import { sleep } from './processes';

describe('runPool', () => {
  it('runs every call with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const started = await runPool(20, 3, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(1);
      seen.push(i);
      inFlight--;
    });
    expect(started).toBe(20);
    expect(most).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('starts nothing new after the deadline', async () => {
    expect(await runPool(10, 2, async () => undefined, process.hrtime.bigint() - 1n)).toBe(0);
  });

  it('rejects with the first failure once the calls in flight are done, and starts no more', async () => {
    const done: number[] = [];
    const p = runPool(50, 2, async (i) => {
      if (i === 3) throw new Error('boom at 3');
      await sleep(1);
      done.push(i);
    });
    await expect(p).rejects.toThrow('boom at 3');
    expect(done.length).toBeLessThan(10);
  });
});

describe('DockerCli', () => {
  // node stands in for the docker binary: what matters is the environment and the error text.
  const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
  const config = join(dir, 'config');
  const cli = new DockerCli(process.execPath, { kind: 'unix', path: '/tmp/bench-x.sock' }, config);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('points the CLI at the daemon with a private config folder', async () => {
    const { stdout, ms } = await cli.run(['-e', 'console.log(process.env.DOCKER_HOST, process.env.DOCKER_CONFIG, process.env.DOCKER_CONTEXT ?? "-")']);
    expect(stdout.trim()).toBe(`unix:///tmp/bench-x.sock ${config} -`);
    expect(ms).toBeGreaterThan(0);
  });

  it('fails with the command, the daemon and the CLI stderr', async () => {
    await expect(cli.run(['-e', 'process.stderr.write("no such image: x"); process.exit(1)'])).rejects.toThrow(/-e .*unix:\/\/\/tmp\/bench-x\.sock.*no such image: x/s);
  });
});

describe('process memory', () => {
  it('sums RSS and PSS over live pids and ignores gone ones', async () => {
    const g = await groupMemory([process.pid, 2 ** 22 + 1]);
    expect(g.procs.map((p) => p.pid)).toEqual([process.pid]);
    expect(g.rssMiB).toBeGreaterThan(1);
    expect(describeGroup(g)).toMatch(new RegExp(`\\[${process.pid}\\] \\d+\\.\\d MiB`));
  });

  it('reports a peak at least as large as the resident set during the period', async () => {
    const peak = await PeakRss.start([process.pid], 5);
    const ballast = Buffer.alloc(32 << 20, 1);
    const during = await groupMemory([process.pid]);
    await sleep(20);
    const { peakMiB, method } = await peak.stop();
    expect(ballast[ballast.length - 1]).toBe(1);
    expect(peakMiB).toBeGreaterThanOrEqual(during.rssMiB * 0.99);
    expect(method).toMatch(/VmHWM|sampled/);
  });
});

describe('options of the container and image benchmarks', () => {
  it('default to the issue-sized runs and refuse bad counts by name', () => {
    const o = parseBenchArgs([], {});
    expect([o.containers, o.running, o.imageRuns, o.dockerCli]).toEqual([200, 50, 3, '/usr/local/bin/docker']);
    expect(parseBenchArgs(['--containers', '1000', '--running', '5', '--image-runs', '1', '--docker-cli', '/x/docker'], {})).toMatchObject({ containers: 1000, running: 5, imageRuns: 1, dockerCli: '/x/docker' });
    expect(() => parseBenchArgs(['--containers', '0'], {})).toThrow(/--containers must be an integer >= 1/);
  });
});

describe('container-memory: the daemon processes counted on both sides', () => {
  it('counts only those alive at both moments', () => {
    // 10 the daemon, 11 a helper idling out after the image import, 12 one a run started.
    expect([...steadyPids([10, 11], [10, 12])]).toEqual([10]);
    expect([...steadyPids([10], [10])]).toEqual([10]);
  });
});
