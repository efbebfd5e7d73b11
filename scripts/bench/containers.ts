import type { DockerClient } from '../../src/client/client';
import { BENCH_LABEL } from './test-image';

/**
 * Call `fn(i)` for i = 0..count-1 with at most `concurrency` calls in flight; no new call starts
 * after `deadline` (process.hrtime.bigint()). Resolves with how many calls were started; the first
 * failure rejects once the calls in flight have settled.
 */
export async function runPool(count: number, concurrency: number, fn: (i: number) => Promise<void>, deadline?: bigint): Promise<number> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < count && failure === undefined && (deadline === undefined || process.hrtime.bigint() < deadline)) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure !== undefined) throw failure;
  return next;
}

/** The create body of a benchmark container: `cmd` in `image`, no network (the pair that is fair until our bridge lands), labelled. */
export function containerConfig(image: string, cmd: readonly string[]): Record<string, unknown> {
  return { Image: image, Cmd: cmd, Labels: { [BENCH_LABEL]: '1' }, HostConfig: { NetworkMode: 'none' } };
}

/** POST /containers/create; resolves with the new container's id. */
export async function createContainer(client: DockerClient, image: string, cmd: readonly string[]): Promise<string> {
  const r = await client.json<{ Id: string }>('POST', '/containers/create', { body: containerConfig(image, cmd) });
  return r.Id;
}

/** DELETE /containers/{id}?force=1 for each id, `concurrency` at a time; a container already gone is fine. */
export async function removeContainers(client: DockerClient, ids: readonly string[], concurrency: number): Promise<void> {
  const failures: string[] = [];
  await runPool(ids.length, concurrency, async (i) => {
    const id = ids[i]!;
    const r = await client.raw('DELETE', `/containers/${id}`, { query: { force: true } });
    if (r.status !== 204 && r.status !== 404) failures.push(`${id.slice(0, 12)}: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
  });
  if (failures.length > 0) throw new Error(`could not remove ${failures.length} benchmark container(s): ${failures.slice(0, 3).join('; ')}`);
}

/**
 * Create `count` containers running `cmd` (not started), `concurrency` at a time, hand their ids
 * to `fn`, and remove them all afterwards, including those made before a failure.
 */
export async function withContainers<T>(client: DockerClient, image: string, cmd: readonly string[], count: number, concurrency: number, fn: (ids: string[]) => Promise<T>): Promise<T> {
  const ids: string[] = [];
  try {
    await runPool(count, concurrency, async () => {
      ids.push(await createContainer(client, image, cmd));
    });
    return await fn(ids);
  } finally {
    await removeContainers(client, ids, concurrency);
  }
}
