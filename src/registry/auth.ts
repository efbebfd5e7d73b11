import { InvalidParameterError, UnauthorizedError } from '../errors';
import { readBody, type RegistryTransport } from './transport';
import type { ConnectionOptions } from 'node:tls';

/** Credentials as the API carries them (X-Registry-Auth, POST /auth). */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Decode X-Registry-Auth: base64url (or base64) JSON; empty means anonymous. */
export function decodeAuthHeader(value: string | undefined): AuthConfig {
  if (!value) return {};
  try {
    const json = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const c = JSON.parse(json) as AuthConfig;
    if (c.auth && !c.username) {
      const [u, ...p] = Buffer.from(c.auth, 'base64').toString('utf8').split(':');
      c.username = u;
      c.password = p.join(':');
    }
    return c;
  } catch {
    throw new InvalidParameterError('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parse `WWW-Authenticate: Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g)) params[(p[1] ?? p[3])!.toLowerCase()] = p[2] ?? p[4] ?? '';
  return { scheme, params };
}

/**
 * Answers registry auth challenges for one registry session: basic credentials, or a bearer
 * token fetched from the challenge's realm for the needed scope (cached per scope).
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly transport: RegistryTransport,
    private readonly creds: AuthConfig,
    private readonly tls?: ConnectionOptions,
  ) {}

  setChallenge(c: Challenge | undefined): void {
    if (c) this.challenge = c;
  }

  get hasChallenge(): boolean {
    return this.challenge !== undefined;
  }

  private basic(): string | undefined {
    if (!this.creds.username) return undefined;
    return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
  }

  /** The Authorization header for `scopes`, fetching a token when the registry wants one. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (this.creds.registrytoken) return `Bearer ${this.creds.registrytoken}`;
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.basic();
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (cached) return `Bearer ${cached}`;
    const realm = c.params.realm;
    if (!realm) throw new UnauthorizedError('the registry asked for a bearer token without a realm');
    const url = new URL(realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { 'user-agent': 'tsdocker' };
    if (this.creds.identitytoken) {
      // OAuth2 refresh-token flow.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.creds.identitytoken, service: c.params.service ?? '', scope: scopes.join(' '), client_id: 'docker' });
      const res = await this.transport({ url: new URL(realm), method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), tls: this.tls });
      return this.takeToken(res.status, await readBody(res), key);
    }
    const basic = this.basic();
    if (basic) headers.authorization = basic;
    const res = await this.transport({ url, method: 'GET', headers, tls: this.tls });
    return this.takeToken(res.status, await readBody(res), key);
  }

  private takeToken(status: number, body: Buffer, key: string): string {
    if (status === 401 || status === 403) throw new UnauthorizedError('unauthorized: incorrect username or password');
    if (status >= 400) throw new UnauthorizedError(`token request failed with status ${status}`);
    const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
    const token = j.token ?? j.access_token;
    if (!token) throw new UnauthorizedError('the token server answered without a token');
    this.tokens.set(key, token);
    return `Bearer ${token}`;
  }
}
