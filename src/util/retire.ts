import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Removing a directory tree in the background: it is first renamed (atomic, one syscall) to a
 * hidden sibling `.removing-<name>-<random>`, so that its name is free and its owner sees it
 * gone at once, then deleted while the caller goes on. A crash in between leaves only such
 * siblings, which `sweepRetired` deletes when their parent is opened again.
 */
export const RETIRED_PREFIX = '.removing-';

const pending = new Set<Promise<void>>();

/**
 * Rename `dir` aside and delete it in the background; a missing `dir` is not an error.
 * `before` runs in the background first, on the new path (e.g. an unmount of something mounted
 * inside); when it fails the directory is left for `sweepRetired`, never deleted through it.
 */
export async function retireDir(dir: string, opts: { before?: (aside: string) => Promise<void> } = {}): Promise<void> {
  const aside = join(dirname(dir), `${RETIRED_PREFIX}${basename(dir)}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(dir, aside); // one metadata call: not worth a thread-pool round trip
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const before = opts.before;
  const removal: Promise<void> = (before ? before(aside) : Promise.resolve())
    .then(() => rm(aside, { recursive: true, force: true, maxRetries: 3 }))
    .catch(() => undefined)
    .finally(() => pending.delete(removal));
  pending.add(removal);
}

/** Delete what `retireDir` left under `parent` (after a crash, or a removal still running), except what `keep` names. */
export async function sweepRetired(parent: string, keep: (name: string) => boolean = () => false): Promise<void> {
  const names = await readdir(parent).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(RETIRED_PREFIX) && !keep(n)).map((n) => rm(join(parent, n), { recursive: true, force: true })));
}

/** Resolves when every background removal started so far has ended. */
export async function retiredRemovals(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
}
