import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark } from './benchmark';
import { timeMetrics } from './container-run';
import { DockerCli } from './docker-cli';
import { imageSkipReason, removeImage } from './image-pull';
import { withServedImage } from './layered-image';

/**
 * `docker save -o FILE` of the pull benchmark's image (pulled first, untimed), then `docker rmi`
 * and `docker load -i FILE`, `--image-runs` round trips. The file is in the bench's work directory
 * (the same disk for both daemons) and removed afterwards.
 */
export const imageSaveLoad: Benchmark = {
  name: 'save-load',
  description: 'docker save -o FILE and docker load -i FILE of the 50 MiB pull image (median, p90 over --image-runs)',
  skipReason: imageSkipReason,
  async run(target, ctx) {
    const cli = DockerCli.for((await target.session()).endpoint, ctx);
    const file = join(ctx.workDir, `save-${target.side}.tar`);
    return withServedImage(ctx, async ({ reference, summary }) => {
      const saves: number[] = [];
      const loads: number[] = [];
      try {
        await cli.run(['pull', '-q', reference]);
        for (let i = 0; i < ctx.options.imageRuns; i++) {
          rmSync(file, { force: true });
          saves.push((await cli.run(['save', '-o', file, reference])).ms);
          await removeImage(cli, reference);
          loads.push((await cli.run(['load', '-q', '-i', file])).ms);
          ctx.progress(`save-load ${target.side} #${i + 1}: save ${saves.at(-1)!.toFixed(0)} ms, load ${loads.at(-1)!.toFixed(0)} ms`);
        }
      } finally {
        rmSync(file, { force: true });
        await removeImage(cli, reference);
      }
      return [...timeMetrics('save', 'docker save -o FILE (50 MiB)', saves, summary), ...timeMetrics('load', 'docker load -i FILE (50 MiB)', loads)];
    });
  },
};
