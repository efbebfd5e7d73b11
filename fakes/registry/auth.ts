import { HttpResponse } from 'msw';
import { registryError } from './errors';
import type { AccessEntry, RegistryStore } from './store';

/**
 * How the emulated registry authenticates. Without these options every request is
 * allowed (and `/token` still hands out tokens, so a client following an injected 401
 * challenge can recover).
 */
export interface RegistryAuthOptions {
  /**
   * `token` (default): Docker Hub style. Every `/v2/` request needs a bearer token from
   * the `/token` endpoint; a missing or insufficient one gets a 401 with
   * `WWW-Authenticate: Bearer realm=...,service=...,scope=...`.
   * `basic`: credentials checked on each request, challenged with `Basic realm=...`.
   */
  scheme?: 'token' | 'basic';
  /** Accounts: username → password. An account may pull, push and delete everywhere. */
  users?: Record<string, string>;
  /** Pulls (and the catalog) without credentials: anonymous tokens get `pull`. Default false. */
  anonymousPull?: boolean;
  /** The `service` of bearer challenges and tokens. Default `tsdocker-registry`. */
  service?: string;
  /** The token endpoint's absolute URL (bearer) or the realm name (basic). Default `<origin>/token`. */
  realm?: string;
  /** Lifetime of issued bearer tokens. Default 300. */
  tokenTtlSeconds?: number;
}

/** An access request: `repository:library/busybox:pull,push` or `registry:catalog:*`. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** Parses `type:name:actions`; the name may itself contain `:` (a registry host with a port). */
export function parseScope(text: string): Scope | undefined {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = text.slice(last + 1).split(',').filter(Boolean);
  return { type: text.slice(0, first), name: text.slice(first + 1, last), actions };
}

const DEFAULT_SERVICE = 'tsdocker-registry';
const ALL_ACTIONS = ['pull', 'push', 'delete', '*'];

/** Authorization decisions and the `/token` endpoint, over the store's users and tokens. */
export class RegistryAuth {
  constructor(
    private readonly store: RegistryStore,
    private readonly options: RegistryAuthOptions | undefined,
  ) {
    for (const [username, password] of Object.entries(options?.users ?? {})) store.addUser(username, password);
  }

  get enabled(): boolean {
    return this.options !== undefined;
  }

  get scheme(): 'token' | 'basic' {
    return this.options?.scheme ?? 'token';
  }

  /**
   * Undefined when `request` may perform `scope` (no scope: the `/v2/` base check);
   * otherwise the 401 (challenge) or 403 response to send.
   */
  authorize(request: Request, scope: Scope | undefined): Response | undefined {
    if (!this.enabled) return undefined;
    return this.scheme === 'basic' ? this.authorizeBasic(request, scope) : this.authorizeBearer(request, scope);
  }

  /** A 401 carrying this registry's challenge (also used by injected faults). */
  challenge(request: Request, scope?: Scope, error?: 'invalid_token' | 'insufficient_scope'): Response {
    const detail = scope ? scope.actions.map((action) => ({ Type: scope.type, Name: scope.name, Action: action })) : undefined;
    return registryError(401, 'UNAUTHORIZED', {
      detail,
      headers: { 'WWW-Authenticate': this.challengeHeader(request, scope, error) },
    });
  }

  challengeHeader(request: Request, scope?: Scope, error?: string): string {
    if (this.scheme === 'basic') return `Basic realm="${this.options?.realm ?? 'tsdocker emulated registry'}"`;
    const parts = [`realm="${this.realm(request)}"`, `service="${this.service}"`];
    if (scope) parts.push(`scope="${formatScope(scope)}"`);
    if (error) parts.push(`error="${error}"`);
    return `Bearer ${parts.join(',')}`;
  }

  /** Answers `GET /token?service=&scope=` (Basic credentials optional) and the OAuth2 `POST /token` form. */
  async handleTokenRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'POST') return this.handleOAuthTokenRequest(request);
    const credentials = parseBasic(request.headers.get('authorization'));
    if (credentials && !this.store.checkPassword(credentials.username, credentials.password)) {
      return registryError(401, 'UNAUTHORIZED', { message: 'incorrect username or password' });
    }
    const subject = credentials?.username;
    const scopes = url.searchParams.getAll('scope').flatMap((text) => text.split(' '));
    const body = this.grant(subject, scopes);
    if (subject && url.searchParams.get('offline_token') === 'true') {
      body.refresh_token = this.store.issueRefreshToken(subject);
    }
    return HttpResponse.json({ token: body.access_token, ...body });
  }

  private async handleOAuthTokenRequest(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const grantType = form.get('grant_type');
    let subject: string | undefined;
    if (grantType === 'password') {
      const username = form.get('username') ?? '';
      if (!this.store.checkPassword(username, form.get('password') ?? '')) {
        return registryError(401, 'UNAUTHORIZED', { message: 'incorrect username or password' });
      }
      subject = username;
    } else if (grantType === 'refresh_token') {
      subject = this.store.refreshTokenSubject(form.get('refresh_token') ?? '');
      if (!subject) return registryError(401, 'UNAUTHORIZED', { message: 'invalid refresh token' });
    } else {
      return registryError(400, 'UNSUPPORTED', { message: `unsupported grant_type: ${JSON.stringify(grantType)}` });
    }
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const body = this.grant(subject, scopes);
    if (form.get('access_type') === 'offline') body.refresh_token = this.store.issueRefreshToken(subject);
    return HttpResponse.json({ ...body, scope: scopes.join(' ') });
  }

  private grant(subject: string | undefined, scopeTexts: string[]): TokenBody {
    const access: AccessEntry[] = [];
    for (const text of scopeTexts) {
      const scope = parseScope(text);
      if (!scope) continue;
      const allowed = this.allowedActions(subject, scope);
      const actions = scope.actions.filter((action) => allowed.includes(action));
      if (actions.length > 0) access.push({ type: scope.type, name: scope.name, actions });
    }
    const expiresInSeconds = this.options?.tokenTtlSeconds ?? 300;
    const { token, issuedAt } = this.store.issueToken({ subject, access, expiresInSeconds });
    return { access_token: token, expires_in: expiresInSeconds, issued_at: issuedAt.toISOString() };
  }

  /** What `subject` (undefined: anonymous) may do on `scope`'s resource. */
  private allowedActions(subject: string | undefined, scope: Scope): string[] {
    if (!this.enabled || subject !== undefined) return ALL_ACTIONS;
    if (!this.options?.anonymousPull) return [];
    if (scope.type === 'registry' && scope.name === 'catalog') return ['*'];
    return scope.type === 'repository' ? ['pull'] : [];
  }

  private authorizeBearer(request: Request, scope: Scope | undefined): Response | undefined {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) return this.challenge(request, scope);
    const grant = this.store.lookupToken(match[1]);
    if (!grant) return this.challenge(request, scope, 'invalid_token');
    if (!scope) return undefined;
    const granted = grant.access.find((entry) => entry.type === scope.type && entry.name === scope.name);
    const covers = scope.actions.every((action) => granted?.actions.includes(action) || granted?.actions.includes('*'));
    return covers ? undefined : this.challenge(request, scope, 'insufficient_scope');
  }

  private authorizeBasic(request: Request, scope: Scope | undefined): Response | undefined {
    const credentials = parseBasic(request.headers.get('authorization'));
    if (credentials && !this.store.checkPassword(credentials.username, credentials.password)) {
      return this.challenge(request, scope);
    }
    const subject = credentials?.username;
    if (!scope) return subject || this.options?.anonymousPull ? undefined : this.challenge(request);
    const allowed = this.allowedActions(subject, scope);
    if (scope.actions.every((action) => allowed.includes(action))) return undefined;
    return subject ? registryError(403, 'DENIED') : this.challenge(request, scope);
  }

  private realm(request: Request): string {
    return this.options?.realm ?? `${new URL(request.url).origin}/token`;
  }

  private get service(): string {
    return this.options?.service ?? DEFAULT_SERVICE;
  }
}

interface TokenBody {
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

function parseBasic(header: string | null): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
