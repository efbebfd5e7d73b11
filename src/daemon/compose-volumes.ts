import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonConfig } from '../config/daemon-options';
import type { EventBus } from '../events/events';
import type { Kernel } from '../kernel';
import { commandMounter } from '../volume/mount-command';
import { VolumeService } from '../volume/volume-service';

/**
 * The volume side of the daemon: the `local` driver under `<graph>/volumes/`, on the kernel's
 * HostFs for both backends (the fake keeps volume data on disk too, so containers of either
 * backend bind the same directories). Volumes with mount options (tmpfs, bind ...) are
 * mounted with `mount(8)` only by the Linux backend running as root; elsewhere using them
 * fails with a clear NotImplemented.
 */
export async function composeVolumes(opts: { config: DaemonConfig; kernel: Kernel; events: EventBus; log: Logger }): Promise<VolumeService> {
  const { config, kernel, events, log } = opts;
  const canMount = kernel.name === 'linux' && process.platform === 'linux' && process.getuid?.() === 0;
  return VolumeService.open({
    fs: kernel.hostFs,
    root: join(config.graph, 'volumes'),
    events,
    log: log.child({ component: 'volumes' }),
    mounter: canMount ? commandMounter() : undefined,
  });
}
