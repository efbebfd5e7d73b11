/**
 * Registry error answers as Docker words them (docker/distribution's client
 * `HandleErrorResponse` + errcode's `Error()`):
 * - a body `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}` reads
 *   `manifest unknown: manifest unknown` (the code lower-cased, `_` as spaces);
 * - a 401 whose Bearer challenge says `error="insufficient_scope"` is DENIED
 *   (`denied: requested access to the resource is denied`), `error="invalid_token"` is
 *   UNAUTHORIZED; a 401 without a usable body is `unauthorized: authentication required`;
 * - any other answer without an error body is `unexpected status code N`.
 */
import { DockerError, ForbiddenError, InvalidParameterError, NotFoundError, SystemError, UnauthorizedError, UnavailableError } from '../errors';
import { parseChallenge } from './auth';
import { readBody, type RegistryResponse } from './transport';

const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  TOOMANYREQUESTS: 'too many requests',
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_UNKNOWN: 'repository name not known to registry',
  BLOB_UNKNOWN: 'blob unknown to registry',
};

/** errcode's `Code.Error()`: `MANIFEST_BLOB_UNKNOWN` → `manifest blob unknown`. */
export function errcodeText(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

/** The first error of a registry error body, or undefined when the body is not one. */
export function parseRegistryErrors(body: string): { code: string; message: string } | undefined {
  try {
    const first = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (!first?.code) return undefined;
    return { code: first.code, message: first.message || DEFAULT_MESSAGES[first.code] || '' };
  } catch {
    return undefined;
  }
}

/** Docker's text for a failed registry answer whose body is `body`. */
export function registryErrorText(status: number, headers: Record<string, string>, body: string): string {
  if (status === 401) {
    const c = parseChallenge(headers['www-authenticate']);
    const oauth = c?.scheme === 'bearer' ? c.params.error : undefined;
    if (oauth === 'insufficient_scope' || oauth === 'invalid_token') {
      const code = oauth === 'insufficient_scope' ? 'DENIED' : 'UNAUTHORIZED';
      return `${errcodeText(code)}: ${c?.params.error_description || DEFAULT_MESSAGES[code]}`;
    }
  }
  const parsed = parseRegistryErrors(body);
  if (parsed) return `${errcodeText(parsed.code)}: ${parsed.message}`;
  if (status === 401) return `${errcodeText('UNAUTHORIZED')}: ${DEFAULT_MESSAGES.UNAUTHORIZED}`;
  if (status === 429) return `${errcodeText('TOOMANYREQUESTS')}: ${DEFAULT_MESSAGES.TOOMANYREQUESTS}`;
  const text = body.trim();
  return `unexpected status code ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

/** The daemon error class for a registry status. */
export function registryErrorClass(status: number): new (message: string) => DockerError {
  if (status === 404) return NotFoundError;
  if (status === 401) return UnauthorizedError;
  if (status === 403) return ForbiddenError;
  if (status === 429 || status === 502 || status === 503 || status === 504) return UnavailableError;
  if (status === 400 || status === 405 || status === 416) return InvalidParameterError;
  return SystemError;
}

/** Reads a failed answer and returns the daemon error for it (`prefix: ` prepended when given). */
export async function registryFailure(res: RegistryResponse, prefix?: string): Promise<DockerError> {
  const body = (await readBody(res, 1024 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
  const text = registryErrorText(res.status, res.headers, body);
  const Cls = registryErrorClass(res.status);
  return new Cls(prefix ? `${prefix}: ${text}` : text);
}
