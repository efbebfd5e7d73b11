/**
 * `POST /auth`: checks credentials against a registry the way dockerd's loginV2 does.
 *
 * The registry is `serveraddress` reduced to its host (`https://host:5000/v1/` → `host:5000`;
 * empty or Docker Hub's index URL → Docker Hub). Its endpoints are tried in order (https,
 * then plain http for an insecure registry; never a mirror): `GET /v2/` anonymously, then
 * - 200: the registry asks for nothing; "Login Succeeded" without checking the credentials
 *   (as dockerd);
 * - 401 with a Bearer challenge: a token is requested from the realm with the credentials
 *   (Basic, `offline_token=true&client_id=docker`), or with the identity token as an OAuth2
 *   refresh token; a refused token request is `Get "<endpoint>/v2/": unauthorized: <reason>`;
 *   `/v2/` is then retried with the token. A refresh token in the answer becomes the
 *   `IdentityToken`;
 * - 401 with a Basic challenge: `/v2/` is retried with the credentials.
 * A final answer other than 200 is `login attempt to <endpoint>/v2/ failed with status: 401
 * Unauthorized`. Wrong credentials are UnauthorizedError (401), as in current dockerd.
 */
import { STATUS_CODES } from 'node:http';
import { SystemError, UnauthorizedError, UnavailableError } from '../errors';
import { parseChallenge, type AuthConfig, type Challenge } from './auth';
import { tlsOptions, type RegistryEndpoint } from './endpoints';
import { endpointsFor, type RegistryAccess } from './registry-access';
import { OFFICIAL_INDEX_NAME, RegistryRules } from './registry-config';
import { registryErrorText } from './registry-errors';
import { readBody, type RegistryResponse } from './transport';

export interface LoginResult {
  Status: string;
  IdentityToken: string;
}

const UA = { 'user-agent': 'tsdocker' };

/** Docker's ConvertToHostname plus the Hub aliases: the registry a `serveraddress` names. */
export function loginRegistry(serverAddress: string | undefined): string {
  let s = (serverAddress ?? '').trim();
  if (s.startsWith('http://')) s = s.slice('http://'.length);
  else if (s.startsWith('https://')) s = s.slice('https://'.length);
  const host = s.split('/')[0] ?? '';
  if (host === '' || RegistryRules.isOfficial(host) || host === 'registry-1.docker.io') return OFFICIAL_INDEX_NAME;
  return host;
}

/** Checks `creds` against their registry. */
export async function login(access: RegistryAccess, creds: AuthConfig): Promise<LoginResult> {
  const endpoints = await endpointsFor(access, loginRegistry(creds.serveraddress), 'push');
  let lastError: unknown;
  for (const ep of endpoints) {
    const v2 = new URL('/v2/', ep.url);
    let res: RegistryResponse;
    try {
      res = await access.transport({ url: v2, method: 'GET', headers: { ...UA }, tls: tlsOptions(ep) });
    } catch (e) {
      lastError = e;
      continue;
    }
    await readBody(res).catch(() => undefined);
    if (res.status === 200) return { Status: 'Login Succeeded', IdentityToken: '' };
    const challenge = res.status === 401 ? parseChallenge(res.headers['www-authenticate']) : undefined;
    if (!challenge) throw failed(v2, res.status);
    return answerChallenge(access, ep, v2, challenge, creds);
  }
  const last = new URL('/v2/', endpoints[endpoints.length - 1]!.url);
  throw new UnavailableError(`Get "${last.href}": ${(lastError as Error)?.message ?? String(lastError)}`);
}

async function answerChallenge(access: RegistryAccess, ep: RegistryEndpoint, v2: URL, challenge: Challenge, creds: AuthConfig): Promise<LoginResult> {
  let authorization: string;
  let identityToken = '';
  if (challenge.scheme === 'basic') {
    authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
  } else {
    const token = await fetchToken(access, ep, v2, challenge, creds);
    authorization = `Bearer ${token.token}`;
    identityToken = token.refresh ?? '';
  }
  const res = await access.transport({ url: v2, method: 'GET', headers: { ...UA, authorization }, tls: tlsOptions(ep) });
  await readBody(res).catch(() => undefined);
  if (res.status !== 200) throw failed(v2, res.status);
  return { Status: 'Login Succeeded', IdentityToken: identityToken };
}

async function fetchToken(access: RegistryAccess, ep: RegistryEndpoint, v2: URL, challenge: Challenge, creds: AuthConfig): Promise<{ token: string; refresh?: string }> {
  const realm = challenge.params.realm;
  if (!realm) throw new UnauthorizedError(`Get "${v2.href}": the registry asked for a bearer token without a realm`);
  const service = challenge.params.service ?? '';
  let res: RegistryResponse;
  if (creds.identitytoken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identitytoken, service, client_id: 'docker' });
    res = await access.transport({ url: new URL(realm), method: 'POST', headers: { ...UA, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), tls: tlsOptions(ep) });
  } else {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    const headers: Record<string, string> = { ...UA };
    if (creds.username) {
      url.searchParams.set('offline_token', 'true');
      url.searchParams.set('client_id', 'docker');
      headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
    }
    res = await access.transport({ url, method: 'GET', headers, tls: tlsOptions(ep) });
  }
  const body = (await readBody(res)).toString('utf8');
  if (res.status !== 200) {
    const text = registryErrorText(res.status, res.headers, body);
    const Cls = res.status === 401 || res.status === 403 ? UnauthorizedError : SystemError;
    throw new Cls(`Get "${v2.href}": ${res.status === 401 && !text.startsWith('unauthorized') ? `unauthorized: ${text}` : text}`);
  }
  const j = JSON.parse(body) as { token?: string; access_token?: string; refresh_token?: string };
  const token = j.token ?? j.access_token;
  if (!token) throw new UnauthorizedError(`Get "${v2.href}": the token server answered without a token`);
  return { token, ...(j.refresh_token ? { refresh: j.refresh_token } : {}) };
}

function failed(v2: URL, status: number): Error {
  const message = `login attempt to ${v2.href} failed with status: ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  return status === 401 || status === 403 ? new UnauthorizedError(message) : new SystemError(message);
}
