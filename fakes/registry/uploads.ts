import { HttpResponse } from 'msw';
import { guardRepository, readBody, repositoryUrl, type RegistryContext, type Resolver } from './context';
import { isDigest, sha256Digest } from './digest';
import { registryError } from './errors';
import type { BlobUpload } from './store';

/**
 * `POST /v2/<name>/blobs/uploads/`:
 * - `?mount=<digest>&from=<repo>`: links the blob from `from` when it is there and the
 *   caller may pull it (201); otherwise falls back to starting an upload (202), as the
 *   spec requires;
 * - `?digest=<digest>` with a body: a monolithic upload, verified (201 or 400 DIGEST_INVALID);
 * - otherwise: starts a resumable upload (202, `Location`, `Range: 0-0`, `Docker-Upload-UUID`).
 */
export const startUpload: Resolver = async (ctx, request, { name = '' }) => {
  const denied = guardRepository(ctx, request, name, ['pull', 'push']);
  if (denied) return denied;
  const query = new URL(request.url).searchParams;
  const mount = query.get('mount');
  const from = query.get('from');
  if (mount && from && tryMount(ctx, request, name, mount, from)) return blobCreated(request, name, mount);
  const digest = query.get('digest');
  if (digest) {
    const bytes = await readBody(request);
    return commitBlob(ctx, request, name, bytes, digest);
  }
  return uploadAccepted(request, ctx.store.startUpload(name), 202);
};

/** `GET /v2/<name>/blobs/uploads/<uuid>`: the upload's progress (204 with `Range`). */
export const uploadStatus: Resolver = (ctx, request, { name = '', uuid = '' }) => {
  const found = findUpload(ctx, request, name, uuid);
  if (found instanceof Response) return found;
  return uploadAccepted(request, found, 204);
};

/**
 * `PATCH /v2/<name>/blobs/uploads/<uuid>`: appends a chunk. With `Content-Range:
 * <start>-<end>`, start must equal the bytes received so far and the body must be
 * exactly that long, otherwise 416 with the current `Range`.
 */
export const uploadChunk: Resolver = async (ctx, request, { name = '', uuid = '' }) => {
  const found = findUpload(ctx, request, name, uuid);
  if (found instanceof Response) return found;
  const chunk = await readBody(request);
  const contentRange = request.headers.get('content-range');
  if (contentRange !== null) {
    const range = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(contentRange.trim());
    const start = Number(range?.[1]);
    const end = Number(range?.[2]);
    if (!range || start !== found.size || end - start + 1 !== chunk.byteLength) {
      return new HttpResponse(null, { status: 416, headers: progressHeaders(request, found) });
    }
  }
  ctx.store.appendUpload(found, chunk);
  return uploadAccepted(request, found, 202);
};

/**
 * `PUT /v2/<name>/blobs/uploads/<uuid>?digest=<digest>`: appends the body (if any) and
 * completes the upload. A digest that does not match the content is a 400 DIGEST_INVALID
 * and discards the upload.
 */
export const completeUpload: Resolver = async (ctx, request, { name = '', uuid = '' }) => {
  const found = findUpload(ctx, request, name, uuid);
  if (found instanceof Response) return found;
  ctx.store.appendUpload(found, await readBody(request));
  const bytes = ctx.store.finishUpload(found);
  return commitBlob(ctx, request, name, bytes, new URL(request.url).searchParams.get('digest') ?? '');
};

/** `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancels the upload (204). */
export const cancelUpload: Resolver = (ctx, request, { name = '', uuid = '' }) => {
  const found = findUpload(ctx, request, name, uuid);
  if (found instanceof Response) return found;
  ctx.store.cancelUpload(found);
  return new HttpResponse(null, { status: 204 });
};

function tryMount(ctx: RegistryContext, request: Request, name: string, digest: string, from: string): boolean {
  if (!isDigest(digest) || guardRepository(ctx, request, from, ['pull'])) return false;
  return ctx.store.getBlob(from, digest) !== undefined && ctx.store.linkBlob(name, digest);
}

function commitBlob(ctx: RegistryContext, request: Request, name: string, bytes: Uint8Array, digest: string): Response {
  if (!isDigest(digest)) {
    return registryError(400, 'DIGEST_INVALID', { message: `digest parameter missing or invalid: ${JSON.stringify(digest)}`, detail: { digest } });
  }
  const actual = sha256Digest(bytes);
  if (actual !== digest) return registryError(400, 'DIGEST_INVALID', { detail: { digest, actual } });
  ctx.store.putBlob(name, bytes);
  return blobCreated(request, name, digest);
}

function findUpload(ctx: RegistryContext, request: Request, name: string, uuid: string): BlobUpload | Response {
  const denied = guardRepository(ctx, request, name, ['pull', 'push']);
  if (denied) return denied;
  return ctx.store.getUpload(name, uuid) ?? registryError(404, 'BLOB_UPLOAD_UNKNOWN', { detail: { uuid } });
}

function blobCreated(request: Request, name: string, digest: string): Response {
  return new HttpResponse(null, {
    status: 201,
    headers: { Location: repositoryUrl(request, name, `blobs/${digest}`), 'Docker-Content-Digest': digest },
  });
}

function uploadAccepted(request: Request, upload: BlobUpload, status: 202 | 204): Response {
  return new HttpResponse(null, { status, headers: progressHeaders(request, upload) });
}

/** `Range: 0-<last byte received>` (`0-0` before any byte, as distribution answers). */
function progressHeaders(request: Request, upload: BlobUpload): Record<string, string> {
  return {
    Location: repositoryUrl(request, upload.repository, `blobs/uploads/${upload.uuid}`),
    Range: `0-${Math.max(upload.size - 1, 0)}`,
    'Docker-Upload-UUID': upload.uuid,
  };
}
