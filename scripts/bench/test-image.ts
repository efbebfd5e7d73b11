import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../conformance/support/test-image';
import type { BenchContext } from './benchmark';
import type { DockerCli } from './docker-cli';

/**
 * The image every container benchmark runs, on both daemons alike: Debian's busybox-static
 * (`/bin/busybox` + applet symlinks, /etc/passwd, /tmp), the conformance suite's rootfs, brought
 * in with `docker import`, never pulled. Namespaced so that it cannot replace a `busybox:latest`
 * the measured daemon already has.
 */
export const BENCH_IMAGE = 'tsdocker-bench/busybox:latest';

/** Containers the benchmarks create carry this label, so that a reader of `docker ps` knows whose they are. */
export const BENCH_LABEL = 'tsdocker-bench';

/** The rootfs tar, written once per bench run into the work directory. */
async function rootfsTar(ctx: BenchContext): Promise<string> {
  const path = join(ctx.workDir, 'busybox-rootfs.tar');
  if (!existsSync(path)) writeFileSync(path, await busyboxRootfs());
  return path;
}

/**
 * Import BENCH_IMAGE through `cli`, run `fn`, and remove the image again (even when `fn` fails),
 * so that a benchmark leaves the daemon's images as it found them. `fn` must remove its containers.
 */
export async function withBusybox<T>(cli: DockerCli, ctx: BenchContext, fn: (image: string) => Promise<T>): Promise<T> {
  await cli.run(['import', await rootfsTar(ctx), BENCH_IMAGE]);
  try {
    return await fn(BENCH_IMAGE);
  } finally {
    await cli.run(['rmi', BENCH_IMAGE]).catch((e: unknown) => ctx.progress(`could not remove ${BENCH_IMAGE}: ${(e as Error).message}`));
  }
}
