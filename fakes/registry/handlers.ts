import { getResponse, http, type RequestHandler } from 'msw';
import { getBlob, deleteBlob } from './blobs';
import type { RegistryContext, Resolver } from './context';
import { registryError } from './errors';
import { catalog, listTags, ping, search, token } from './listing';
import { deleteManifest, getManifest, putManifest } from './manifests';
import { ROUTES, type RegistryOperation } from './routes';
import { cancelUpload, completeUpload, startUpload, uploadChunk, uploadStatus } from './uploads';

const RESOLVERS: Record<RegistryOperation, Resolver> = {
  ping,
  token,
  search,
  catalog,
  'tags.list': listTags,
  'manifest.get': getManifest,
  'manifest.head': getManifest,
  'manifest.put': putManifest,
  'manifest.delete': deleteManifest,
  'blob.get': getBlob,
  'blob.head': getBlob,
  'blob.delete': deleteBlob,
  'upload.start': startUpload,
  'upload.status': uploadStatus,
  'upload.chunk': uploadChunk,
  'upload.complete': completeUpload,
  'upload.cancel': cancelUpload,
};

/** The registry's msw request handlers, one per route of the route table (routes.ts). */
export function createRegistryHandlers(ctx: RegistryContext): RequestHandler[] {
  return ROUTES.map((route) =>
    http[route.method](route.pattern, ({ request, params }) => RESOLVERS[route.operation](ctx, request, params as Record<string, string>)),
  );
}

/** Answers one Fetch request; every response the registry sends goes through here. */
export type RegistryResponder = (request: Request) => Promise<Response>;

/**
 * Answers requests with `handlers` through msw's `getResponse` (no global interception).
 * Adds `Docker-Distribution-API-Version: registry/2.0` to every response, answers
 * unmatched requests with a 404 in the registry's error format (and a handler's crash
 * with a 500 UNKNOWN), and sends HEAD responses without a body.
 */
export function createRegistryResponder(handlers: RequestHandler[]): RegistryResponder {
  return async (request) => {
    let response: Response;
    try {
      response =
        (await getResponse(handlers, request)) ??
        registryError(404, 'UNSUPPORTED', { message: `no such endpoint: ${request.method} ${new URL(request.url).pathname}` });
    } catch (err) {
      response = registryError(500, 'UNKNOWN', { message: `emulated registry: ${(err as Error).message}` });
    }
    response.headers.set('Docker-Distribution-API-Version', 'registry/2.0');
    if (request.method !== 'HEAD' || response.body === null) return response;
    await response.body.cancel();
    return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
