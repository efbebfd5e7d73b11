import { HttpResponse } from 'msw';

/** The error codes of the Registry HTTP API V2 (distribution-registry-api-v2.md, "Errors"). */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'PAGINATION_NUMBER_INVALID'
  | 'RANGE_INVALID'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNKNOWN';

const DEFAULT_MESSAGES: Record<RegistryErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  PAGINATION_NUMBER_INVALID: 'invalid number of results requested',
  RANGE_INVALID: 'invalid content range',
  SIZE_INVALID: 'provided length did not match content length',
  TAG_INVALID: 'manifest tag did not match URI',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'The operation is unsupported.',
  TOOMANYREQUESTS: 'too many requests',
  UNKNOWN: 'unknown error',
};

export interface RegistryErrorOptions {
  message?: string;
  detail?: unknown;
  headers?: Record<string, string>;
}

/**
 * A registry error response: `{"errors":[{"code","message","detail"}]}` with `status`.
 * The message defaults to the one the spec gives for `code`.
 */
export function registryError(status: number, code: RegistryErrorCode, options: RegistryErrorOptions = {}): Response {
  const error: { code: RegistryErrorCode; message: string; detail?: unknown } = {
    code,
    message: options.message ?? DEFAULT_MESSAGES[code],
  };
  // Like distribution (`json:"detail,omitempty"`), the field is left out when there is none.
  if (options.detail !== undefined) error.detail = options.detail;
  return HttpResponse.json({ errors: [error] }, { status, headers: options.headers });
}
