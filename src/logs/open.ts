import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord } from '../container/container';
import type { LogSink } from '../container/runtime';
import { rfc3339Nano } from '../system/system-service';

/** The container's log driver from its LogConfig (json-file writes Docker's line format). */
export function openContainerLog(rec: ContainerRecord, dir: string): LogSink {
  if (rec.HostConfig.LogConfig.Type === 'none') return { write() {}, async close() {} };
  const file = join(dir, `${rec.ID}-json.log`);
  return {
    write(stream, chunk, time) {
      const lines = chunk.toString('utf8').split(/(?<=\n)/);
      appendFileSync(file, lines.map((l) => `${JSON.stringify({ log: l, stream, time: rfc3339Nano(time) })}\n`).join(''));
    },
    async close() {},
  };
}
