/**
 * The one error catalogue. Engine and domain code throw these classes; only the API's
 * error handler turns them into HTTP status codes (see api/errors.ts). Tests check the
 * class or `code`, never the message text.
 */
export type ErrorCode =
  | 'NotFound'
  | 'InvalidParameter'
  | 'Conflict'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unavailable'
  | 'NotImplemented'
  | 'NotModified'
  | 'System';

export abstract class DockerError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The named object (container, image, network, volume, exec ...) does not exist. */
export class NotFoundError extends DockerError {
  readonly code = 'NotFound' as const;
}
/** The request names a bad value; the message names the field. */
export class InvalidParameterError extends DockerError {
  readonly code = 'InvalidParameter' as const;
}
/** The request conflicts with the current state (name in use, container running ...). */
export class ConflictError extends DockerError {
  readonly code = 'Conflict' as const;
}
export class ForbiddenError extends DockerError {
  readonly code = 'Forbidden' as const;
}
export class UnauthorizedError extends DockerError {
  readonly code = 'Unauthorized' as const;
}
/** A dependency (registry, runtime, kernel feature) is not available right now. */
export class UnavailableError extends DockerError {
  readonly code = 'Unavailable' as const;
}
/** The operation exists in Docker but this daemon or backend does not offer it. */
export class NotImplementedError extends DockerError {
  readonly code = 'NotImplemented' as const;
}
/** The request asked for the state the object is already in (start a running container). */
export class NotModifiedError extends DockerError {
  readonly code = 'NotModified' as const;
}
/** Anything else: an internal failure. */
export class SystemError extends DockerError {
  readonly code = 'System' as const;
}

export function isDockerError(err: unknown): err is DockerError {
  return err instanceof DockerError;
}

export function errorCode(err: unknown): ErrorCode {
  return isDockerError(err) ? err.code : 'System';
}

/** HTTP status for each class: the only place where this mapping lives. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  NotFound: 404,
  InvalidParameter: 400,
  Conflict: 409,
  Forbidden: 403,
  Unauthorized: 401,
  Unavailable: 503,
  NotImplemented: 501,
  NotModified: 304,
  System: 500,
};
