import { STATUS_BY_CODE, errorCode, isDockerError } from '../errors';

/** The catalogue's class decides the status; fastify's own errors keep theirs. */
export function toHttpError(err: unknown): { status: number; message: string } {
  if (isDockerError(err)) return { status: STATUS_BY_CODE[errorCode(err)], message: err.message };
  const e = err as { statusCode?: number; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, message: e.message ?? 'bad request' };
  }
  return { status: 500, message: (err as Error)?.message ?? String(err) };
}
