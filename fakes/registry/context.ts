import type { RegistryAuth } from './auth';
import { registryError } from './errors';
import type { RegistryStore } from './store';

/** What every route resolver works with. */
export interface RegistryContext {
  store: RegistryStore;
  auth: RegistryAuth;
}

/** A route's resolver: the request and its path params (`name`, `reference`, `digest`, `uuid`). */
export type Resolver = (ctx: RegistryContext, request: Request, params: Record<string, string>) => Promise<Response> | Response;

/** Repository name grammar of the distribution spec: lower-case path components joined by `/`. */
const NAME_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_PATTERN = /^[\w][\w.-]{0,127}$/;
const MAX_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/**
 * Checks the repository name and that the caller may perform `actions` on it.
 * Undefined when the request may go on; otherwise the error response to send.
 */
export function guardRepository(ctx: RegistryContext, request: Request, name: string, actions: string[]): Response | undefined {
  if (!isValidRepositoryName(name)) {
    return registryError(400, 'NAME_INVALID', { message: `invalid repository name: ${JSON.stringify(name)}`, detail: { name } });
  }
  return ctx.auth.authorize(request, { type: 'repository', name, actions });
}

/** `<origin>/v2/<name>/<rest>`: the absolute URLs put in `Location` headers. */
export function repositoryUrl(request: Request, name: string, rest: string): string {
  return `${new URL(request.url).origin}/v2/${name}/${rest}`;
}

/** Reads the whole request body (empty when there is none). */
export async function readBody(request: Request): Promise<Uint8Array> {
  return new Uint8Array(await request.arrayBuffer());
}
