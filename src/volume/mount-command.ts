import { execFile } from 'node:child_process';
import { SystemError } from '../errors';
import type { MountConfig, VolumeMounter } from './local-driver';

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(new Error(String(stderr).trim() || err.message));
    });
  });
}

/** Hide a password given in the mount options (cifs `password=`), as dockerd does. */
function redact(message: string, config: MountConfig): string {
  const pw = /(?:^|,)password=([^,]*)/.exec(config.options)?.[1];
  return pw ? message.split(`password=${pw}`).join('password=********') : message;
}

/**
 * Mounts `local` volumes with util-linux `mount`/`umount`, the way dockerd's local driver
 * calls mount(2): `mount -t <type> -o <o> <device> <_data>` (`type=none,o=bind` is a bind
 * mount, `type=tmpfs` a fresh tmpfs). Only for a daemon on Linux running as root; the
 * composition decides.
 */
export function commandMounter(): VolumeMounter {
  return {
    async mount(config, target) {
      const args = ['-t', config.type || 'none', ...(config.options ? ['-o', config.options] : []), config.device, target];
      try {
        await run('mount', args);
      } catch (e) {
        throw new SystemError(`failed to mount local volume: ${redact((e as Error).message, config)}`);
      }
    },
    async unmount(target) {
      try {
        await run('umount', [target]);
      } catch (e) {
        throw new SystemError(`failed to unmount local volume at ${target}: ${(e as Error).message}`);
      }
    },
  };
}
