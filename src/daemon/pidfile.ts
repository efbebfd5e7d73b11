import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

export class PidfileError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Write our PID to `path`, refusing when the file names another live process (a running
 * daemon). A file naming a dead process is stale and replaced. Returns the remover.
 */
export async function createPidfile(path: string): Promise<() => Promise<void>> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new PidfileError(`pid file found, ensure docker is not running or delete ${path}`);
    }
  } catch (e) {
    if (e instanceof PidfileError) throw e;
  }
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${process.pid}`, { mode: 0o644 });
  await rename(tmp, path);
  return async () => {
    try {
      if (Number((await readFile(path, 'utf8')).trim()) === process.pid) await rm(path, { force: true });
    } catch {
      /* already gone */
    }
  };
}
