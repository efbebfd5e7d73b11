import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine/engine';
import { abortOnClose } from './system';

/** What `GET /system/df` needs (see src/system/disk-usage.ts). */
export interface DiskUsageBackend {
  diskUsage(): Promise<Record<string, unknown>>;
}

export function registerDiskUsageRoutes(app: FastifyInstance, engine: Engine, b: DiskUsageBackend): void {
  app.get('/system/df', async (req) => engine.run('system.df', () => b.diskUsage(), { signal: abortOnClose(req.raw) }));
}
