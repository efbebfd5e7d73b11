import { HttpResponse } from 'msw';
import { guardRepository, type Resolver } from './context';
import { isDigest } from './digest';
import { registryError } from './errors';

/**
 * `GET|HEAD /v2/<name>/blobs/<digest>`. Honours a single `Range: bytes=...` (206 with
 * `Content-Range`; 416 when unsatisfiable) so interrupted downloads can resume.
 */
export const getBlob: Resolver = (ctx, request, { name = '', digest = '' }) => {
  const denied = guardRepository(ctx, request, name, ['pull']);
  if (denied) return denied;
  if (!isDigest(digest)) return registryError(400, 'DIGEST_INVALID', { detail: { digest } });
  const bytes = ctx.store.getBlob(name, digest);
  if (!bytes) return registryError(404, 'BLOB_UNKNOWN', { detail: { digest } });
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
  };
  const range = parseRange(request.headers.get('range'), bytes.byteLength);
  if (range === 'unsatisfiable') {
    return new HttpResponse(null, { status: 416, headers: { ...headers, 'Content-Range': `bytes */${bytes.byteLength}` } });
  }
  if (!range) {
    return new HttpResponse(bytes, { status: 200, headers: { ...headers, 'Content-Length': String(bytes.byteLength) } });
  }
  const part = bytes.subarray(range.start, range.end + 1);
  return new HttpResponse(part, {
    status: 206,
    headers: {
      ...headers,
      'Content-Length': String(part.byteLength),
      'Content-Range': `bytes ${range.start}-${range.end}/${bytes.byteLength}`,
    },
  });
};

/** `DELETE /v2/<name>/blobs/<digest>`: unlinks the blob from the repository. */
export const deleteBlob: Resolver = (ctx, request, { name = '', digest = '' }) => {
  const denied = guardRepository(ctx, request, name, ['delete']);
  if (denied) return denied;
  if (!isDigest(digest)) return registryError(400, 'DIGEST_INVALID', { detail: { digest } });
  if (!ctx.store.unlinkBlob(name, digest)) return registryError(404, 'BLOB_UNKNOWN', { detail: { digest } });
  return new HttpResponse(null, { status: 202 });
};

/**
 * Parses a single-range `bytes=` header against a body of `size` bytes (inclusive
 * bounds). Undefined means "serve everything": no header, another unit, or several
 * ranges (which HTTP lets a server ignore).
 */
export function parseRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return 'unsatisfiable';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
