/**
 * The emulated registry's route table: which method and path pattern is which operation.
 * The msw handlers are built from it, and fault rules use it to name the operation a
 * request performs. Repository names may have several path components (`a/b/c`), so
 * the name is everything between `/v2/` and the last `/manifests/`, `/blobs/` or `/tags/`.
 */
export type RegistryOperation =
  | 'ping'
  | 'token'
  | 'search'
  | 'catalog'
  | 'tags.list'
  | 'manifest.get'
  | 'manifest.head'
  | 'manifest.put'
  | 'manifest.delete'
  | 'blob.get'
  | 'blob.head'
  | 'blob.delete'
  | 'upload.start'
  | 'upload.status'
  | 'upload.chunk'
  | 'upload.complete'
  | 'upload.cancel';

export type RouteMethod = 'get' | 'head' | 'put' | 'post' | 'patch' | 'delete';

export interface Route {
  method: RouteMethod;
  operation: RegistryOperation;
  /** Matched against the full URL without query; named groups become the handler's params. */
  pattern: RegExp;
}

const ORIGIN = String.raw`^[a-z]+:\/\/[^/]+`;
const NAME = String.raw`(?<name>.+)`;
const path = (rest: string): RegExp => new RegExp(`${ORIGIN}${rest}$`);

const PING = path(String.raw`\/v2\/?`);
const TOKEN = path(String.raw`\/token`);
const SEARCH = path(String.raw`\/v1\/search`);
const CATALOG = path(String.raw`\/v2\/_catalog`);
const TAGS = path(String.raw`\/v2\/${NAME}\/tags\/list`);
const MANIFEST = path(String.raw`\/v2\/${NAME}\/manifests\/(?<reference>[^/]+)`);
const UPLOADS = path(String.raw`\/v2\/${NAME}\/blobs\/uploads\/?`);
const UPLOAD = path(String.raw`\/v2\/${NAME}\/blobs\/uploads\/(?<uuid>[^/]+)`);
const BLOB = path(String.raw`\/v2\/${NAME}\/blobs\/(?<digest>[^/]+)`);

/** Order matters: upload routes come before the blob route, whose digest would match `uploads`. */
export const ROUTES: readonly Route[] = [
  { method: 'get', operation: 'ping', pattern: PING },
  { method: 'head', operation: 'ping', pattern: PING },
  { method: 'get', operation: 'token', pattern: TOKEN },
  { method: 'post', operation: 'token', pattern: TOKEN },
  { method: 'get', operation: 'search', pattern: SEARCH },
  { method: 'get', operation: 'catalog', pattern: CATALOG },
  { method: 'get', operation: 'tags.list', pattern: TAGS },
  { method: 'get', operation: 'manifest.get', pattern: MANIFEST },
  { method: 'head', operation: 'manifest.head', pattern: MANIFEST },
  { method: 'put', operation: 'manifest.put', pattern: MANIFEST },
  { method: 'delete', operation: 'manifest.delete', pattern: MANIFEST },
  { method: 'post', operation: 'upload.start', pattern: UPLOADS },
  { method: 'get', operation: 'upload.status', pattern: UPLOAD },
  { method: 'patch', operation: 'upload.chunk', pattern: UPLOAD },
  { method: 'put', operation: 'upload.complete', pattern: UPLOAD },
  { method: 'delete', operation: 'upload.cancel', pattern: UPLOAD },
  { method: 'get', operation: 'blob.get', pattern: BLOB },
  { method: 'head', operation: 'blob.head', pattern: BLOB },
  { method: 'delete', operation: 'blob.delete', pattern: BLOB },
];

export interface ClassifiedRequest {
  operation: RegistryOperation;
  /** The repository name, for operations on a repository. */
  repository?: string;
  params: Record<string, string>;
}

/** Which operation `request` performs, or undefined when no route matches. */
export function classifyRequest(request: Request): ClassifiedRequest | undefined {
  const method = request.method.toLowerCase();
  const url = new URL(request.url);
  const bare = `${url.protocol}//${url.host}${url.pathname}`;
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(bare);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(match.groups ?? {})) params[key] = decodeURIComponent(value);
    return { operation: route.operation, repository: params.name, params };
  }
  return undefined;
}
