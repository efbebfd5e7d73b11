/**
 * The `none` log driver: the container's output is not stored anywhere. Reading fails with
 * dockerd's NotImplemented error (HTTP 501) "configured logging driver does not support reading".
 */
import { NotImplementedError } from '../errors';
import type { LogDriver, LogEntry, LogOptions } from './types';

export const READING_NOT_SUPPORTED = 'configured logging driver does not support reading';

/** dockerd ignores any options given with `none` (ValidateLogOpts returns early for it). */
export function validateNoneOptions(_opts: LogOptions): void {}

export class NoneLogger implements LogDriver {
  readonly name = 'none';
  readonly readable = false;

  write(): void {}

  async flush(): Promise<void> {}

  read(): AsyncIterable<LogEntry> {
    throw new NotImplementedError(READING_NOT_SUPPORTED);
  }

  async close(): Promise<void> {}
}
