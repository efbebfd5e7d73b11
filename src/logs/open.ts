import type { Logger } from 'pino';
import type { ContainerRecord } from '../container/container';
import { createLogDriver, type LogDriver } from './index';

/** The container's log driver from its LogConfig (json-file writes Docker's line format). */
export function openContainerLog(rec: ContainerRecord, dir: string, log?: Logger): LogDriver {
  return createLogDriver(rec.HostConfig.LogConfig.Type || 'json-file', rec.HostConfig.LogConfig.Config ?? {}, {
    dir,
    id: rec.ID,
    labels: rec.Config.Labels ?? {},
    env: rec.Config.Env ?? [],
    onError: (err) => log?.warn({ err, id: rec.ID }, 'could not write the container log'),
  });
}
