import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { HostFs } from './host-fs';

/** HostFs over the real filesystem (node:fs), used for the daemon's own state by both backends. */
export function nodeHostFs(): HostFs {
  return {
    readFile: (p) => fsp.readFile(p),
    async writeFileAtomic(p, data, mode = 0o600) {
      const tmp = join(dirname(p), `.${basename(p)}.${randomBytes(4).toString('hex')}.tmp`);
      const fh = await fsp.open(tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL, mode);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await fsp.rename(tmp, p);
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw e;
      }
      // Make the rename itself durable.
      const dir = await fsp.open(dirname(p), 'r').catch(() => undefined);
      await dir?.sync().catch(() => undefined);
      await dir?.close();
    },
    mkdir: async (p, opts) => {
      await fsp.mkdir(p, opts);
    },
    readdir: (p) => fsp.readdir(p),
    stat: (p) => fsp.stat(p),
    lstat: (p) => fsp.lstat(p),
    rm: (p, opts) => fsp.rm(p, opts),
    rename: (a, b) => fsp.rename(a, b),
    chmod: (p, m) => fsp.chmod(p, m),
    exists: (p) =>
      fsp.access(p).then(
        () => true,
        () => false,
      ),
  };
}
