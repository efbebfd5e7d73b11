import type { Logger } from 'pino';
import { InvalidParameterError, UnavailableError } from '../../../src/errors';
import type { StorageDriver } from '../../../src/kernel/storage';
import { createOverlayDriver } from './overlay';
import { createVfsDriver } from './vfs';

/** Drivers Docker knows that this daemon does not offer (yet). */
const NOT_SUPPORTED = new Set(['btrfs', 'devicemapper', 'zfs', 'aufs']);

/**
 * The graph driver named by `--storage-driver` (`-s`), its layers under `home`
 * (`<graph>/<driver>` in Docker). `''` picks overlay2 where it works, else vfs; `overlay` and
 * `overlay2` are the same driver. Known but unsupported drivers fail with Unavailable, unknown
 * names with InvalidParameter. `opts` are the `--storage-opt` values (none are used yet).
 */
export async function createStorageDriver(name: string, home: string, _opts: Record<string, string> = {}, log?: Logger): Promise<StorageDriver> {
  const child = (driver: string) => log?.child({ driver });
  switch (name) {
    case '':
      try {
        return await createOverlayDriver(home, child('overlay2'));
      } catch (e) {
        if (!(e instanceof UnavailableError)) throw e;
        log?.info({ reason: e.message }, 'overlay2 is not available; using vfs');
        return createVfsDriver(home, child('vfs'));
      }
    case 'overlay':
    case 'overlay2':
      return createOverlayDriver(home, child('overlay2'));
    case 'vfs':
      return createVfsDriver(home, child('vfs'));
    default:
      if (NOT_SUPPORTED.has(name)) throw new UnavailableError(`driver not supported: ${name}`);
      throw new InvalidParameterError(`unknown storage driver "${name}" (--storage-driver)`);
  }
}
