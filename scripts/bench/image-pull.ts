import type { Benchmark, BenchContext } from './benchmark';
import { timeMetrics } from './container-run';
import { DockerCli, missingCli } from './docker-cli';
import { missingRegistry, withServedImage } from './layered-image';
import { PeakRss } from './process-memory';

/** `docker rmi REF`, ignoring "no such image": the image must be gone before a pull is timed. */
export async function removeImage(cli: DockerCli, reference: string): Promise<void> {
  await cli.run(['rmi', reference]).catch((e: unknown) => {
    if (!/no such image|not found/i.test((e as Error).message)) throw e;
  });
}

/** Why an image benchmark cannot run: no docker CLI, or no registry to serve the image. */
export const imageSkipReason = (_t: unknown, ctx: BenchContext): string | undefined => missingCli(ctx) ?? missingRegistry();

/**
 * `docker pull` of a 5 × 10 MiB incompressible image from Debian's docker-registry on 127.0.0.1,
 * one unmeasured pull then `--image-runs` measured ones, each into a daemon without the image
 * (removed before); and the daemon's peak RSS while pulling (VmHWM reset before each pull).
 */
export const imagePull: Benchmark = {
  name: 'pull',
  description: 'docker pull of a 5-layer 50 MiB image from a local docker-registry (median, p90 over --image-runs) and the daemon\'s peak RSS while pulling',
  skipReason: imageSkipReason,
  async run(target, ctx) {
    const session = await target.session();
    const cli = DockerCli.for(session.endpoint, ctx);
    return withServedImage(ctx, async ({ reference, summary }) => {
      const times: number[] = [];
      let peak = { peakMiB: 0, method: '' };
      try {
        for (let i = 0; i <= ctx.options.imageRuns; i++) {
          await removeImage(cli, reference);
          const rss = await PeakRss.start((await session.memoryPids()).pids);
          const { ms } = await cli.run(['pull', '-q', reference]);
          const p = await rss.stop();
          ctx.progress(`pull ${target.side} ${i === 0 ? 'warm-up' : `#${i}`}: ${ms.toFixed(0)} ms, peak RSS ${p.peakMiB.toFixed(1)} MiB`);
          if (i === 0) continue;
          times.push(ms);
          if (p.peakMiB > peak.peakMiB) peak = p;
        }
      } finally {
        await removeImage(cli, reference);
      }
      return [
        ...timeMetrics('pull', 'docker pull 50 MiB, 5 layers', times, summary),
        { key: 'pull.peak-rss', label: 'daemon peak RSS while pulling', unit: 'MiB', value: peak.peakMiB, better: 'lower', note: `largest over the measured pulls: ${peak.method}` },
      ];
    });
  },
};
