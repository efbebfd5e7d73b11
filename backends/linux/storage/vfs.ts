import type { Logger } from 'pino';
import { FullCopyDriver } from '../../../src/archive';
import { nodeHostFs } from '../../../src/kernel/node-host-fs';

/** Docker's vfs driver: every layer a full copy of its parent under `<home>/dir/<id>`. */
export async function createVfsDriver(home: string, log?: Logger): Promise<FullCopyDriver> {
  return new FullCopyDriver('vfs', nodeHostFs(), home, log).open();
}
