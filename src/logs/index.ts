/**
 * Log drivers: `createLogDriver(name, opts, ctx)` builds the driver a container's
 * HostConfig.LogConfig names. Usage:
 *
 *   validateLogConfig('json-file', opts)                 // at container create: option keys
 *   const log = createLogDriver('json-file', { 'max-size': '1m', 'max-file': '3' }, { dir, id })
 *   log.write('stdout', chunk)                           // from the container's pipes, never blocks
 *   for await (const e of log.read({ tail: 10, follow: true, signal, stopped })) ...
 *   await log.close()                                    // when the container's output has ended
 *
 * Unknown driver names are an InvalidParameterError with dockerd's message.
 */
import { InvalidParameterError } from '../errors';
import { createJsonFileLogger, validateJsonFileOptions } from './json-file';
import { NoneLogger, validateNoneOptions } from './none';
import type { LogContext, LogDriver, LogOptions } from './types';

export type { LogContext, LogDriver, LogEntry, LogOptions, LogStream, ReadOptions } from './types';
export { READING_NOT_SUPPORTED } from './none';
export { nowNs, formatRfc3339Nano, formatRfc3339NanoFixed, type NanoTime } from './timestamp';
export { parseTimeFilter, parseOptionalTimeFilter, formatTimeFilter } from './time-filter';

/** The drivers this daemon has, by their Docker name. */
export const LOG_DRIVERS = ['json-file', 'none'] as const;
export type LogDriverName = (typeof LOG_DRIVERS)[number];

function unknownDriver(name: string): InvalidParameterError {
  return new InvalidParameterError(`logger: no log driver named '${name}' is registered`);
}

/** Check a LogConfig's driver name and option keys (dockerd does this at container create). */
export function validateLogConfig(name: string, opts: LogOptions = {}): void {
  if (name === 'json-file') validateJsonFileOptions(opts);
  else if (name === 'none') validateNoneOptions(opts);
  else throw unknownDriver(name);
}

/** Build the driver (option values are checked here, as dockerd does when starting the container). */
export function createLogDriver(name: string, opts: LogOptions, ctx: LogContext): LogDriver {
  validateLogConfig(name, opts);
  return name === 'json-file' ? createJsonFileLogger(opts, ctx) : new NoneLogger();
}
