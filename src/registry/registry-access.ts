import type { AuthConfig } from './auth';
import { lookupEndpoints, type RegistryEndpoint } from './endpoints';
import type { RegistryRules } from './registry-config';
import { RepositorySession } from './session';
import type { RegistryTransport } from './transport';

/** What every registry operation needs: the wire, the insecure/mirror rules, and certs.d. */
export interface RegistryAccess {
  transport: RegistryTransport;
  rules: RegistryRules;
  certsDir: string;
}

/**
 * The endpoints to try for `registryHost`. Mirrors only serve pulls (Docker's
 * LookupPullEndpoints); push, login and inspect go to the registry itself (LookupPushEndpoints).
 */
export async function endpointsFor(access: RegistryAccess, registryHost: string, use: 'pull' | 'push'): Promise<RegistryEndpoint[]> {
  const all = await lookupEndpoints(registryHost, access.rules, access.certsDir);
  return use === 'pull' ? all : all.filter((e) => !e.mirror);
}

/** A session on `repository` (its path on the registry) of `registryHost`. */
export async function openRepository(
  access: RegistryAccess,
  registryHost: string,
  repository: string,
  creds: AuthConfig,
  actions: ('pull' | 'push')[],
): Promise<RepositorySession> {
  const endpoints = await endpointsFor(access, registryHost, actions.includes('push') ? 'push' : 'pull');
  return new RepositorySession(endpoints, repository, access.transport, creds, actions, access.certsDir);
}
